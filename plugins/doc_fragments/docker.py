# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options (and the author line) shared by the modules that drive a Docker engine."""


class ModuleDocFragment:
    """Documentation of the options in module_utils/docker_client.py."""

    DOCUMENTATION = r"""
author:
  - pirack.cluster contributors (@pirack)
options:
  docker_host:
    description:
      - Address of the Docker engine API, such as V(unix:///var/run/docker.sock)
        or V(tcp://127.0.0.1:2376).
      - When not given, the E(DOCKER_HOST) environment variable is used, then
        the local socket.
      - The modules run on the host whose engine they drive, so the local socket
        is the usual answer; the engine is never meant to listen on TCP without TLS.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  timeout:
    description:
      - Seconds to wait for an answer from the engine API before giving up.
      - When not given, the E(DOCKER_TIMEOUT) environment variable is used.
    type: int
    default: 60
requirements:
  - Docker SDK for Python 5.0 or newer (Debian and Raspberry Pi OS package C(python3-docker)).
notes:
  - If no engine answers, the module fails with a one-line message naming the
    address it tried.
"""
