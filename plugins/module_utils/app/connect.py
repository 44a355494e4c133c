# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app engine's driver for a module's options, connected, and closed after use.

Shared by the app and app_info modules, so both reach an orchestrator the
same way: Swarm through the engine the module runs next to, Kubernetes
through the kubeconfig on the controller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

from ansible_collections.pirack.cluster.plugins.module_utils.app.driver import Driver, Settings
from ansible_collections.pirack.cluster.plugins.module_utils.docker_client import client_from_module
from ansible_collections.pirack.cluster.plugins.module_utils.k8s.client import core_api_from_module


def driver_for(module: Any, secrets: Optional[dict[str, str]] = None) -> Driver:
    """The driver of the orchestrator the module was asked for, connected."""
    settings = Settings(check_mode=module.check_mode, secrets=dict(secrets or {}),
                        namespace=module.params["namespace"], request_timeout=module.params["request_timeout"])
    if module.params["orchestrator"] == "swarm":
        from ansible_collections.pirack.cluster.plugins.module_utils.app.swarm_driver import SwarmDriver

        return SwarmDriver(client_from_module(module), settings)
    from ansible_collections.pirack.cluster.plugins.module_utils.app.k8s_driver import K8sDriver

    return K8sDriver(core_api_from_module(module), settings)


@contextmanager
def closing(driver: Driver) -> Iterator[Driver]:
    """The driver, with its client's connection closed afterwards whatever happens."""
    try:
        yield driver
    finally:
        close = getattr(driver.client, "close", None)
        if close is not None:
            close()
