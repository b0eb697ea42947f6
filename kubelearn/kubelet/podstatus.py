"""Pod status: what the kubelet writes to ``pods/status`` -- phase, conditions, containers.

The kubelet turns what the runtime tells it into the API's ``PodStatus``
(pkg/kubelet/kubelet_pods.go ``generateAPIPodStatus``, ``getPhase``,
``convertToAPIContainerStatuses``; pkg/kubelet/status/generate.go):

- each container's ``state`` -- ``waiting`` (``ContainerCreating``,
  ``ErrImagePull``, ``ImagePullBackOff``, ``CrashLoopBackOff``...), ``running``
  or ``terminated`` (``Completed`` for exit 0, else ``Error``) -- with its
  ``lastState``, ``restartCount``, ``ready`` and ``started``;
- the ``phase``: ``Pending`` while a container waits, ``Running`` once all
  started and one runs, ``Succeeded``/``Failed`` once all stopped for good;
- conditions in upstream's order: ``PodReadyToStartContainers`` (the sandbox
  and its network exist), ``Initialized``, ``Ready``, ``ContainersReady``,
  ``PodScheduled``; ``lastTransitionTime`` moves only when the status flips;
- ``hostIP``, ``podIP`` (once the sandbox has one), ``startTime``, ``qosClass``.

The kubelet PATCHes the status with a JSON merge patch of what changed
(:func:`merge_diff`), as its status manager does with a strategic one; an
unchanged status is not written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.kubelet.pods import ContainerSlot, PodWorker

# status/generate.go reasons.
POD_COMPLETED = "PodCompleted"
POD_FAILED = "PodFailed"
CONTAINERS_NOT_READY = "ContainersNotReady"
# kubelet_pods.go: the waiting reason of a container that was never created.
CONTAINER_CREATING = "ContainerCreating"
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                      "PodScheduled")


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """ShouldContainerBeRestarted for an exited container, by the pod's restartPolicy."""
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True  # Always


def _terminated(container: Any, timestamp: Any) -> dict:
    return {"terminated": {"exitCode": container.exit_code, "reason": container.reason,
                           "startedAt": timestamp(container.started_at)
                           if container.started_at is not None else None,
                           "finishedAt": timestamp(container.exit_at),
                           "containerID": container.container_id}}


def container_status(slot: ContainerSlot, now: float, restart_policy: str, deleting: bool,
                     timestamp: Any) -> dict:
    """One container's status, as convertToAPIContainerStatuses builds it."""
    current, previous = slot.current, slot.previous
    status: dict[str, Any] = {"name": slot.name, "image": slot.spec.get("image") or "",
                              "imageID": "", "ready": False, "restartCount": slot.restarts,
                              "started": False}
    last: dict = _terminated(previous, timestamp) if previous is not None else {}
    state: dict
    if current is None or current.started_at is None or current.started_at > now:
        state = {"waiting": {"reason": CONTAINER_CREATING}}
    else:
        status["image"] = current.ref.name
        status["imageID"] = current.ref.image_id
        status["containerID"] = current.container_id
        if current.state(now) == "exited":
            state = _terminated(current, timestamp)
        else:
            state = {"running": {"startedAt": timestamp(current.started_at)}}
            status["started"] = slot.started
            status["ready"] = slot.started and slot.readiness
    # A container the kubelet will start again shows why it has not yet (the reason cache).
    if slot.waiting is not None and not deleting and (
            current is None or (current.state(now) == "exited"
                                and should_restart(restart_policy, current.exit_code))):
        if "terminated" in state:
            last = state
        reason, message = slot.waiting
        state = {"waiting": {"reason": reason, "message": message} if message
                 else {"reason": reason}}
    status["state"] = state
    status["lastState"] = last
    return status


def pod_phase(statuses: list[dict], restart_policy: str, terminal: bool) -> str:
    """getPhase (for pods without init containers)."""
    running = waiting = stopped = succeeded = 0
    for status in statuses:
        state = status["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif status["lastState"].get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if restart_policy == "Always":
            return "Running"  # all of them on their way back
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if restart_policy == "Never" else "Running"
    return "Pending"


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> dict:
    out: dict[str, Any] = {"type": kind, "status": "True" if ok else "False",
                           "lastProbeTime": None}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def pod_conditions(statuses: list[dict], phase: str, sandbox_ready: bool) -> list[dict]:
    """The kubelet's conditions, in upstream's order (generate.go)."""
    unready = [s["name"] for s in statuses if not s["ready"]]
    if phase == "Succeeded":
        containers = _condition("ContainersReady", False, POD_COMPLETED)
        initialized = _condition("Initialized", True, POD_COMPLETED)
    elif phase == "Failed":
        containers = _condition("ContainersReady", False, POD_FAILED)
        initialized = _condition("Initialized", True)
    elif unready:
        containers = _condition("ContainersReady", False, CONTAINERS_NOT_READY,
                                f"containers with unready status: [{' '.join(unready)}]")
        initialized = _condition("Initialized", True)
    else:
        containers = _condition("ContainersReady", True)
        initialized = _condition("Initialized", True)
    ready = {**containers, "type": "Ready"}
    return [_condition("PodReadyToStartContainers", sandbox_ready), initialized, ready,
            containers, _condition("PodScheduled", True)]


def _carry_transition_times(conditions: list[dict], before: Mapping[str, tuple], now: str
                            ) -> None:
    """updateLastTransitionTime: keep the old time when the status did not flip."""
    for cond in conditions:
        prior = before.get(cond["type"])
        if prior is not None and prior[0] == cond["status"] and prior[1]:
            cond["lastTransitionTime"] = prior[1]
        else:
            cond["lastTransitionTime"] = now


def generate(worker: PodWorker, now: float) -> dict:
    """The pod's status right now (generateAPIPodStatus)."""
    sim = worker.kubelet.sim
    policy = worker.effective_policy()
    deleting = bool(worker.deletion_timestamp)
    statuses = [container_status(slot, now, policy, deleting, sim.timestamp)
                for slot in worker.slots]
    phase = pod_phase(statuses, policy, worker.terminal)
    if worker.observed_phase in ("Succeeded", "Failed"):
        phase = worker.observed_phase  # pods never leave a terminal phase
    sandbox = worker.sandbox
    sandbox_ready = sandbox is not None and not sandbox.stopped
    conditions = [dict(c) for c in worker.foreign_conditions]
    ours = pod_conditions(statuses, phase, sandbox_ready)
    _carry_transition_times(ours, worker.condition_times, sim.timestamp(now))
    conditions += ours
    node_ip = worker.kubelet.node_ip
    status: dict[str, Any] = {"phase": phase, "conditions": conditions, "hostIP": node_ip,
                              "hostIPs": [{"ip": node_ip}]}
    if worker.pod_ip:
        status["podIP"] = worker.pod_ip
        status["podIPs"] = [{"ip": worker.pod_ip}]
    status["startTime"] = sim.timestamp(worker.start_time)
    status["containerStatuses"] = statuses
    if worker.qos_class:
        status["qosClass"] = worker.qos_class
    if phase == worker.observed_phase:  # the reason and message of a phase stay with it
        if worker.observed_reason:
            status["reason"] = worker.observed_reason
        if worker.observed_message:
            status["message"] = worker.observed_message
    return status


def merge_diff(old: Any, new: Any) -> Any:
    """A JSON merge patch (RFC 7386) turning ``old`` into ``new``; ``{}`` if equal."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return new
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            if isinstance(value, Mapping) and isinstance(old[key], Mapping):
                patch[key] = merge_diff(old[key], value)
            else:
                patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def summary(status: Mapping[str, Any], deleting: bool = False) -> str:
    """kubectl's READY and STATUS for a pod with this status: ``Running 1/1`` (printPod)."""
    reason = status.get("reason") or status.get("phase") or ""
    statuses = status.get("containerStatuses") or []
    ready, has_running = 0, False
    for cs in reversed(statuses):
        state = cs.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            reason = f"ExitCode:{terminated.get('exitCode')}"
        elif cs.get("ready") and "running" in state:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        ready_condition = any(c.get("type") == "Ready" and c.get("status") == "True"
                              for c in status.get("conditions") or ())
        reason = "Running" if ready_condition else "NotReady"
    if deleting:
        reason = "Terminating"
    return f"{reason} {ready}/{len(statuses)}"
