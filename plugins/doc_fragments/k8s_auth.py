# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options (and the author line) shared by the modules that talk to a k3s API server."""


class ModuleDocFragment:
    """Documentation of the options in module_utils/k8s/client.py."""

    DOCUMENTATION = r"""
author:
  - pirack.cluster contributors (@pirack)
options:
  kubeconfig:
    description:
      - Path to the kubeconfig file, on the controller, that reaches the cluster.
      - The k3s_server role fetches one per cluster, by default to
        C(~/.kube/pirack-<cluster>.yaml).
      - When not given, the E(K8S_AUTH_KUBECONFIG) environment variable is used,
        then the Kubernetes client's own default (E(KUBECONFIG) or C(~/.kube/config)).
      - A file that cannot be read, is not YAML or is not a kubeconfig fails the
        task with one line naming the file and what is wrong.
    type: path
  context:
    description:
      - Name of the kubeconfig context to use; the fetched files name theirs
        C(pirack-<cluster>).
      - When not given, the E(K8S_AUTH_CONTEXT) environment variable is used,
        then the file's current context.
    type: str
  request_timeout:
    description:
      - Seconds to wait for each answer from the API server, from 1 to 3600. A
        Pi 3B+ API server under load can take several seconds.
      - A request that gets no answer in time is not sent again, so this is the
        whole wait; a refused connection is retried three times at once.
      - When the API server cannot be reached, the task fails with one line
        naming the server address and the kubeconfig, and why - connection
        refused, no answer in time, the name does not resolve, or TLS.
    type: int
    default: 30
requirements:
  - kubernetes (the Kubernetes Python client) on the controller.
notes:
  - "These modules run on the controller (C(delegate_to: localhost)); the Pis
    need no Python Kubernetes client."
"""
