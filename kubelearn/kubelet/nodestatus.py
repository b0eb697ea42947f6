"""Node status: what a kubelet says about its node -- capacity, conditions, addresses, images.

Upstream a list of *setters* fills in the node's status each time it is
computed (pkg/kubelet/nodestatus/setters.go, in the order
kubelet_node_status.go ``defaultNodeStatusFuncs`` runs them):

- addresses: ``InternalIP`` and ``Hostname``;
- capacity and allocatable, with ::

      allocatable = capacity - kube-reserved - system-reserved - eviction-hard

  (pkg/kubelet/cm ``GetNodeAllocatableReservation``);
- ``nodeInfo`` (kubelet and runtime versions, OS, kernel, boot ID) and the
  ``images`` on the node, biggest first, at most 50;
- the conditions, always in this order: ``MemoryPressure``, ``DiskPressure``,
  ``PIDPressure`` and, last, ``Ready`` -- with upstream's reasons and messages
  (``KubeletReady``, "kubelet is posting ready status"). Each computation moves
  ``lastHeartbeatTime``; ``lastTransitionTime`` moves only when the status flips,
  and a flip is an event (``NodeReady``, ``NodeHasSufficientMemory``...).

The kubelet computes this every ``nodeStatusUpdateFrequency`` (10 s) but sends
it only if something other than a heartbeat time changed, or when
``nodeStatusReportFrequency`` (5 min) has passed (:func:`changed`). The lease
is the frequent heartbeat; the status is the slow one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from kubelearn.api import Quantity, parse_quantity
from kubelearn.kubelet.config import KubeletConfig

KUBELET_PORT = 10250
# setters.go messages.
READY_MESSAGE = "kubelet is posting ready status"
NETWORK_NOT_READY_MESSAGE = ("container runtime network not ready: NetworkReady=false "
                             "reason:NetworkPluginNotReady message:Network plugin returns error: "
                             "cni plugin not initialized")
PRESSURE_CONDITIONS = (
    # type, reason and message when fine, event when fine
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
     "NodeHasSufficientMemory"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
     "NodeHasNoDiskPressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
     "NodeHasSufficientPID"),
)


def capacity(cpu: Any, memory: Any, pods: int, ephemeral_storage: Any) -> dict[str, str]:
    """The node's capacity, as the kubelet reads it from the machine (cadvisor)."""
    return {"cpu": str(parse_quantity(str(cpu))), "ephemeral-storage":
            str(parse_quantity(str(ephemeral_storage))), "hugepages-1Gi": "0",
            "hugepages-2Mi": "0", "memory": str(parse_quantity(str(memory))), "pods": str(pods)}


def allocatable(cap: Mapping[str, str], config: KubeletConfig) -> dict[str, str]:
    """capacity - kubeReserved - systemReserved - evictionHard, per resource (never below 0)."""
    out = {}
    for name, value in cap.items():
        left = parse_quantity(value)
        for reserved in (config.kube_reserved, config.system_reserved, config.eviction_hard):
            if name in reserved:
                left = left - parse_quantity(str(reserved[name]))
        out[name] = str(left) if left.sign() >= 0 else str(Quantity(0))
    return out


def _uuid(*parts: object) -> str:
    return str(uuid.UUID(hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()))


def node_info(name: str, config: KubeletConfig, boots: int) -> dict[str, str]:
    """status.nodeInfo: versions and identities (a new boot ID after each power-on)."""
    return {"architecture": "amd64", "bootID": _uuid(name, "boot", boots),
            "containerRuntimeVersion": config.container_runtime_version,
            "kernelVersion": config.kernel_version, "kubeletVersion": config.kubelet_version,
            "machineID": hashlib.md5(name.encode()).hexdigest(), "operatingSystem": "linux",
            "osImage": config.os_image, "systemUUID": _uuid(name, "system")}


def conditions(old: list[Mapping[str, Any]], now: str, ready: bool
               ) -> tuple[list[dict], list[str]]:
    """The four conditions after one computation, and the events their flips make."""
    before = {c.get("type"): c for c in old if isinstance(c, Mapping)}
    out, events = [], []
    for kind, reason, message, event in PRESSURE_CONDITIONS:
        cond = {"type": kind, "status": "False", "lastHeartbeatTime": now,
                "lastTransitionTime": now, "reason": reason, "message": message}
        prior = before.get(kind)
        if prior is not None and prior.get("status") == "False":
            cond["lastTransitionTime"] = prior.get("lastTransitionTime") or now
        else:
            events.append(event)  # a new condition starts Unknown, so it flips now
        out.append(cond)
    status, reason, message = ("True", "KubeletReady", READY_MESSAGE) if ready else (
        "False", "KubeletNotReady", NETWORK_NOT_READY_MESSAGE)
    cond = {"type": "Ready", "status": status, "lastHeartbeatTime": now,
            "lastTransitionTime": now, "reason": reason, "message": message}
    prior = before.get("Ready")
    if prior is not None and prior.get("status") == status:
        cond["lastTransitionTime"] = prior.get("lastTransitionTime") or now
    elif prior is not None:  # ReadyCondition: only a flip of an existing condition is an event
        events.append("NodeReady" if ready else "NodeNotReady")
    out.append(cond)
    return out, events


def _without_heartbeats(status: Mapping[str, Any]) -> dict:
    out = dict(status)
    out["conditions"] = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                         for c in status.get("conditions") or ()]
    return out


def changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """nodeStatusHasChanged: anything but the conditions' heartbeat times differs."""
    return old is None or _without_heartbeats(old) != _without_heartbeats(new)
