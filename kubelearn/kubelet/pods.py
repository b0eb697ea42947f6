"""Pod workers: one per pod on the node -- start it, keep it running, stop it, report it.

Upstream each pod gets a goroutine (pkg/kubelet/pod_workers.go) that runs
``SyncPod`` whenever something about the pod changes; ``SyncPod`` is
level-triggered -- it looks at what runs and what should run, and acts
(pkg/kubelet/kuberuntime/kuberuntime_manager.go ``computePodActions``):

1. write the pod's status as it is now (the status manager PATCHes
   ``pods/status`` if anything changed);
2. no sandbox yet? create one (the pause container and the pod's IP);
3. for each container, in order, that is not running and should run
   (``restartPolicy``): unless it is in back-off (``CrashLoopBackOff``),
   ensure its image (``Pulling``, ``Pulled``; or ``ErrImagePull`` and then
   ``ImagePullBackOff``), create it (``Created``) and start it (``Started``).
   One step at a time -- a pull blocks the pod's worker, as upstream;
4. a container that started, or one that exited, makes the worker sync
   again (upstream's PLEG notices it); a failed start retries after 10 s.

Beside it run the probes (:mod:`kubelearn.kubelet.prober`) and, when the pod is
deleted, the termination: for each container ``Killing``, the ``preStop``
hook, the image's stop signal (SIGTERM unless its ``STOPSIGNAL`` says
otherwise), and SIGKILL once ``terminationGracePeriodSeconds`` (less the
hook's time, at least 2 s) is up; then the final status and -- as upstream's
status manager does once the containers are gone -- a DELETE with
``gracePeriodSeconds: 0`` that removes the pod from the API.

Nothing polls: a worker sets a timer only for the next moment something is
due (a container's exit, a probe, a retry) and has no timers at all while its
containers just run.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

import simpy

from kubelearn.api import NotFound, StatusError
from kubelearn.apiserver import printers
from kubelearn.kubelet import envvars, podstatus, prober
from kubelearn.kubelet.behaviour import ANNOTATION_PREFIX, Behaviour, behaviour_for, from_command
from kubelearn.kubelet.events import NORMAL, WARNING
from kubelearn.kubelet.images import (
    go_duration,
    invalid_image_message,
    is_valid,
    parse_reference,
    spec_for,
)
from kubelearn.kubelet.runtime import CREATE_SECONDS, SANDBOX_SECONDS, START_SECONDS, Container
from kubelearn.sim import EPOCH

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.kubelet.admission import Usage
    from kubelearn.kubelet.dns import DNSConfig
    from kubelearn.kubelet.kubelet import Kubelet

# The container fields the kubelet acts on. It keeps these and a few pod fields, not the
# whole pod: 150,000 decoded pods would not fit in memory.
CONTAINER_FIELDS = ("name", "image", "imagePullPolicy", "command", "args", "ports",
                    "lifecycle", "startupProbe", "livenessProbe", "readinessProbe", "env",
                    "envFrom")
_NONE: dict = {}  # shared by the many pods without sim annotations
# kuberuntime_container.go minimumGracePeriodInSeconds: even a 0 s grace leaves 2 s to stop.
MINIMUM_GRACE_PERIOD = 2.0
DEFAULT_TERMINATION_GRACE = 30.0  # v1.DefaultTerminationGracePeriodSeconds
_EPOCH_SECONDS = EPOCH.timestamp()


class ContainerSlot:
    """The kubelet's memory of one container of the pod: its runs, back-off reason, probes."""

    __slots__ = ("name", "spec", "current", "previous", "restarts", "waiting", "probes",
                 "origins", "streaks", "started", "readiness", "exit_seen", "killing",
                 "probe_killed", "pull_error")

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.name = str(spec.get("name") or "")
        self.spec = spec
        self.current: Container | None = None  # the latest run
        self.previous: Container | None = None  # the run before it (lastState)
        self.restarts = 0
        self.waiting: tuple[str, str] | None = None  # why the last start failed (reasonCache)
        self.probes: list[prober.Probe] = []
        self.origins: dict[str, float] = {}  # each probe worker's first tick, by kind
        self.streaks: dict[str, tuple[int, int]] = {}  # each worker's run of results, by kind
        self.started = False
        self.readiness = False
        self.exit_seen = False
        self.killing = False
        self.probe_killed = False
        self.pull_error = ""  # the last failed pull, quoted while backing off (v1.32)

    def __repr__(self) -> str:
        return f"ContainerSlot({self.name}, {self.current!r}, restarts={self.restarts})"


def prestop_seconds(container: Mapping[str, Any]) -> float:
    """How long a container's preStop hook runs: a ``sleep`` action or a sleeping command."""
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if isinstance(hook.get("sleep"), Mapping):
        return float(hook["sleep"].get("seconds") or 0)
    if isinstance(hook.get("exec"), Mapping):
        command = from_command({"command": hook["exec"].get("command") or []})
        if command and command.get("run_seconds"):
            return float(command["run_seconds"])
    return 0.0


def _images(spec: Mapping[str, Any]) -> tuple:
    """The containers' images: what an update to a running pod's containers may change."""
    return tuple(c.get("image") for c in spec.get("containers") or ())


def _container(spec: Mapping[str, Any]) -> dict:
    """The fields of a container spec the kubelet uses."""
    return {k: spec[k] for k in CONTAINER_FIELDS if k in spec}


def _env_pod(pod: Mapping[str, Any]) -> dict | None:
    """What a container's ``env`` may read of its pod (the downward API), if any container
    has an ``env``: names, labels, annotations, and the containers' resources."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or ()
    if not any(isinstance(c, Mapping) and c.get("env") for c in containers):
        return None
    meta = pod["metadata"]
    return {"metadata": {k: meta[k] for k in ("name", "namespace", "uid", "labels",
                                              "annotations") if k in meta},
            "spec": {"nodeName": spec.get("nodeName"),
                     "serviceAccountName": spec.get("serviceAccountName"),
                     "containers": [{"name": c.get("name"), "resources": c.get("resources")}
                                    for c in containers if isinstance(c, Mapping)]}}


_KEY_SETS: dict[frozenset, frozenset] = {}


def _keys(status: Mapping[str, Any]) -> frozenset:
    """The keys of a status, as one shared set per shape (most pods have the same)."""
    keys = frozenset(status)
    return _KEY_SETS.setdefault(keys, keys)


# json.dumps(status, sort_keys=True, separators=(",", ":")), with one encoder made once
# (not one per call); a status holds no cycles, so the circular check is left out.
_FINGERPRINT_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"),
                                        check_circular=False)


def fingerprint(status: Mapping[str, Any]) -> int:
    """A hash of a status, to tell whether it changed since it was last written."""
    return hash(_FINGERPRINT_ENCODER.encode(status))


def parse_timestamp(text: Any) -> float | None:
    """Virtual seconds of an RFC 3339 timestamp the simulation wrote."""
    moment = printers.parse_time(text)
    return None if moment is None else moment.timestamp() - _EPOCH_SECONDS


class PodWorker:
    """Runs one pod on the node through the runtime, and reports it."""

    __slots__ = ("kubelet", "uid", "name", "namespace", "full_name", "obj", "images",
                 "restart_policy", "host_network", "slots", "sandbox", "pod_ip", "request",
                 "counted",
                 "start_time", "resource_version", "deletion_timestamp", "deletion_grace",
                 "termination_grace", "annotations", "observed_phase", "observed_reason",
                 "observed_message", "qos_class", "foreign_conditions", "sent", "sent_keys",
                 "condition_times", "terminal", "terminating", "dead", "busy", "sync_due",
                 "_timers", "service_links", "env_pod", "dns", "share_process_namespace")

    def __init__(self, kubelet: Kubelet, pod: Mapping[str, Any], request: Usage) -> None:
        self.kubelet = kubelet
        meta, spec = pod["metadata"], pod.get("spec") or {}
        status = pod.get("status") or {}
        self.uid = str(meta.get("uid") or "")
        self.name = str(meta.get("name") or "")
        self.namespace = str(meta.get("namespace") or "default")
        self.full_name = f"{self.name}_{self.namespace}({self.uid})"  # format.Pod
        self.obj = f"pod/{self.namespace}/{self.name}"  # how records name it
        self.images = _images(spec)
        self.restart_policy = str(spec.get("restartPolicy") or "Always")
        self.host_network = bool(spec.get("hostNetwork"))
        # one PID namespace for the pod, pause as its PID 1 (immutable, like hostNetwork)
        self.share_process_namespace = spec.get("shareProcessNamespace") is True
        self.slots = [ContainerSlot(_container(c)) for c in spec.get("containers") or ()]
        self.sandbox = None
        self.dns: DNSConfig | None = None  # set by the kubelet on admission (kubelet/dns.py)
        self.pod_ip = str(status.get("podIP") or "")
        self.request = request
        self.counted = True  # its request counts against the node's allocatable
        started = parse_timestamp(status.get("startTime"))
        self.start_time = started if started is not None else kubelet.sim.now
        self._observe(pod)
        # What was last written: a fingerprint, the keys, and the conditions' transitions.
        self.sent = fingerprint(status)
        self.sent_keys = _keys(status)
        self.condition_times = {c.get("type"): (c.get("status"), c.get("lastTransitionTime"))
                                for c in status.get("conditions") or ()}
        self.terminal = False  # every container stopped for good (podIsTerminal)
        self.terminating = False
        self.dead = False  # the kubelet stopped, or the pod is gone
        self.busy = False
        self.sync_due = math.inf
        self._timers: set[float] = set()
        self._start_probe_workers()
        self._adopt()

    def __repr__(self) -> str:
        return f"PodWorker({self.namespace}/{self.name}, {self.slots})"

    # -- plumbing ----------------------------------------------------------------------------
    def _observe(self, pod: Mapping[str, Any]) -> None:
        """Keep the few fields of the API object the kubelet needs (not the object)."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        status = pod.get("status") or {}
        self.resource_version = meta.get("resourceVersion")
        self.deletion_timestamp = meta.get("deletionTimestamp")
        self.deletion_grace = meta.get("deletionGracePeriodSeconds")
        self.termination_grace = spec.get("terminationGracePeriodSeconds")
        self.service_links = spec.get("enableServiceLinks") is not False  # default true
        self.env_pod = _env_pod(pod)
        annotations = {k: v for k, v in (meta.get("annotations") or _NONE).items()
                       if k.startswith(ANNOTATION_PREFIX)}
        self.annotations = annotations or _NONE
        self.observed_phase = status.get("phase")
        self.observed_reason = status.get("reason")
        self.observed_message = status.get("message")
        self.qos_class = status.get("qosClass")
        # conditions other components own (DisruptionTarget...) are kept as they are
        self.foreign_conditions = tuple(
            c for c in status.get("conditions") or () if isinstance(c, Mapping)
            and c.get("type") not in podstatus.KUBELET_CONDITIONS)

    def _ref(self, slot: ContainerSlot | None = None) -> dict:
        """The ObjectReference events point at (GenerateContainerRef for a container)."""
        ref = {"kind": "Pod", "namespace": self.namespace, "name": self.name, "uid": self.uid,
               "apiVersion": "v1", "resourceVersion": self.resource_version}
        if slot is not None:
            ref["fieldPath"] = f"spec.containers{{{slot.name}}}"
        return ref

    def _event(self, slot: ContainerSlot | None, kind: str, reason: str, message: str) -> None:
        self.kubelet.recorder.event(self._ref(slot), kind, reason, message, self.obj)

    def _record(self, reason: str, message: str) -> None:
        """A simulation record with no Event object (a step upstream only logs)."""
        if len(message) < 48:
            message = sys.intern(message)
        self.kubelet.sim.record(self.kubelet.recorder.record_as, reason, self.obj, message)

    def _stopped(self) -> bool:
        """Should an in-flight sync give up (kubelet stopped, pod gone or being deleted)?"""
        return self.dead or self.terminating

    def effective_policy(self) -> str:
        """The restart policy, except that a probe-killed container always comes back."""
        policy = self.restart_policy
        if policy == "OnFailure" and any(slot.probe_killed for slot in self.slots):
            return "Always"
        return policy

    def _should_restart(self, slot: ContainerSlot) -> bool:
        current = slot.current
        if current is None:
            return True
        if slot.probe_killed and self.restart_policy != "Never":
            return True
        return podstatus.should_restart(self.restart_policy, current.exit_code)

    def _start_probe_workers(self) -> None:
        """prober_manager.go AddPod: a worker per probe, ticking from the pod's first sync.

        worker.go run: a kubelet that started less than one period ago lets each worker
        sleep a random part of a period first, so that its probes do not all fire at once.
        """
        kubelet = self.kubelet
        now = kubelet.sim.now
        for slot in self.slots:
            for kind, field in prober.SPEC_FIELDS.items():
                spec = slot.spec.get(field)
                if isinstance(spec, Mapping):
                    period = prober.period(spec)
                    sleep = kubelet.prober_rng.random() * period \
                        if period > now - kubelet.started_at else 0.0
                    slot.origins[kind] = now + sleep

    def _adopt(self) -> None:
        """After a kubelet restart: take over the sandbox and containers the runtime still has."""
        runtime = self.kubelet.runtime
        self.sandbox = runtime.sandboxes.get(self.uid)
        if self.sandbox is not None:
            self.pod_ip = self.sandbox.ip
        runs = runtime.containers_of(self.uid)
        for slot in self.slots:
            mine = sorted((c for c in runs if c.name == slot.name), key=lambda c: c.attempt)
            if mine:
                slot.current = mine[-1]
                slot.previous = mine[-2] if len(mine) > 1 else None
                slot.restarts = slot.current.attempt
                if slot.current.started_at is not None:
                    # new probe workers; the first status written triggers a readiness run
                    now = self.kubelet.sim.now
                    slot.probes = prober.probes_for(slot.spec, slot.current.started_at,
                                                    slot.origins)
                    for probe in slot.probes:
                        probe.next_at = now if probe.kind == prober.READINESS and \
                            probe.base <= now else probe.tick_after(max(probe.base, now))
                slot.started = not any(p.kind == prober.STARTUP for p in slot.probes)
                slot.readiness = not any(p.kind == prober.READINESS for p in slot.probes)

    # -- timers (the pod worker's queue and the PLEG) ------------------------------------------
    def enqueue(self, delay: float = 0.0) -> None:
        """Ask for a sync ``delay`` seconds from now (upstream: workQueue.Enqueue)."""
        self.sync_due = min(self.sync_due, self.kubelet.sim.now + delay)
        self._plan()

    def _plan(self) -> None:
        """Set one timer for the earliest thing due: a sync, an exit, a probe."""
        if self.dead:
            return
        now = self.kubelet.sim.now
        due = self.sync_due if not (self.busy or self.terminating) else math.inf
        for slot in self.slots:
            current = slot.current
            if current is None or slot.exit_seen:
                continue
            due = min(due, current.exit_at)
            if not slot.killing:
                for probe in slot.probes:
                    due = min(due, probe.next_at)
        if due == math.inf or due in self._timers:
            return
        self._timers.add(due)
        self.kubelet.after(max(0.0, due - now), lambda: self._tick(due))

    def _tick(self, at: float) -> None:
        self._timers.discard(at)
        if self.dead:
            return
        now = self.kubelet.sim.now
        if self._observe_exits() and not self.terminating:
            self.sync_due = min(self.sync_due, now)
        self._run_probes(now)
        if self.sync_due <= now + 1e-9 and not self.busy and not self.terminating:
            self.kubelet.sim.process(self._sync_runner())
        self._plan()

    def _observe_exits(self) -> bool:
        """The PLEG: notice containers that exited since last time (ContainerDied)."""
        now = self.kubelet.sim.now
        changed = False
        for slot in self.slots:
            current = slot.current
            if current is not None and not slot.exit_seen and current.exit_at <= now + 1e-9:
                slot.exit_seen = True
                slot.streaks = {p.kind: (p.successes, p.failures) for p in slot.probes}
                slot.probes = []
                changed = True
                self._record("ContainerDied", self._died(slot.name, current))
        return changed

    @staticmethod
    def _died(name: str, container: Container) -> str:
        """The ContainerDied record: the exit code and, after a stop, the signals sent."""
        message = f"container {name} exited with code {container.exit_code} ({container.reason})"
        stopped_by = container.stopped_by()
        return f"{message} after {stopped_by}" if stopped_by else message

    # -- the API object ----------------------------------------------------------------------
    def update(self, pod: Mapping[str, Any]) -> None:
        """A newer version of the pod arrived from the watch."""
        self._observe(pod)
        if self.deletion_timestamp:
            if not self.terminating:
                self.begin_termination()
            else:
                self._shorten_grace()
            return
        images = _images(pod.get("spec") or {})
        if images != self.images:  # a new image changes the container's hash (v1.32 pods
            self.images = images    # carry no metadata.generation to say the spec changed)
            specs = {c.get("name"): _container(c)
                     for c in (pod.get("spec") or {}).get("containers") or ()}
            for slot in self.slots:
                slot.spec = specs.get(slot.name, slot.spec)
            self.enqueue()

    def write_status(self) -> None:
        """Generate the status and PATCH it if it changed (the status manager's syncPod).

        The patch is a JSON merge patch of the whole status -- its lists (conditions,
        containerStatuses) replace the old ones -- with ``null`` for what went away.
        """
        if self.dead:
            return
        status = podstatus.generate(self, self.kubelet.sim.now)
        printed = fingerprint(status)
        if printed == self.sent:
            return
        patch: dict[str, Any] = dict(status)
        for key in self.sent_keys - status.keys():
            patch[key] = None
        try:
            self.kubelet.client.patch("pods", self.name, {"status": patch}, self.namespace,
                                      patch_type="merge", subresource="status")
        except StatusError:
            return  # gone, or refused: the next sync tries again
        self.sent, self.sent_keys = printed, _keys(status)
        self.condition_times = {c["type"]: (c["status"], c["lastTransitionTime"])
                                for c in status["conditions"]}
        self._record("PodStatusUpdated", podstatus.summary(status,
                                                           bool(self.deletion_timestamp)))

    # -- SyncPod -----------------------------------------------------------------------------
    def _sync_runner(self) -> Generator[simpy.Event, Any, None]:
        self.busy = True
        try:
            yield from self._sync_pod()
        finally:
            self.busy = False
        self._plan()

    def _finished(self) -> bool:
        """Every container ran and none is to run again: the pod is done."""
        return bool(self.slots) and all(
            slot.current is not None and slot.current.state(self.kubelet.sim.now) == "exited"
            and not self._should_restart(slot) for slot in self.slots)

    def _sync_pod(self) -> Generator[simpy.Event, Any, None]:
        """One SyncPod: write the status, then create what is missing, one step at a time."""
        kubelet, sim = self.kubelet, self.kubelet.sim
        self.sync_due = math.inf
        self._observe_exits()
        if self._stopped() or self.terminal:
            return
        if self._finished():
            self._finish()
            return
        self.write_status()
        new_sandbox = self.sandbox is None or self.sandbox.stopped
        if new_sandbox:
            for slot in self.slots:  # a new sandbox means every container starts afresh
                if slot.current is not None and slot.current.state(sim.now) != "exited":
                    yield from self._stop_container(slot, MINIMUM_GRACE_PERIOD,
                                                    f"Stopping container {slot.name}")
            yield sim.timeout(SANDBOX_SECONDS)
            if self._stopped():
                return
            self.sandbox = kubelet.runtime.run_pod_sandbox(
                self.uid, kubelet.node_ip if self.host_network else None,
                f"{self.namespace}/{self.name}",
                kubelet.node_name if self.host_network else self.name[:63].rstrip("-."),
                self.dns.resolv_conf() if self.dns is not None else "")
            self.pod_ip = self.sandbox.ip
            self._record("SandboxCreated", f"pod sandbox created with IP {self.pod_ip}")
            self.enqueue()  # the PLEG sees the sandbox: another sync once this one is done
        started = failed = False
        for slot in self.slots:
            current = slot.current
            if current is not None and current.state(sim.now) != "exited":
                if current.ref.name == parse_reference(str(slot.spec.get("image") or "")).name:
                    continue
                yield from self._stop_container(  # computePodActions: the spec changed
                    slot, self._grace(), f"Container {slot.name} definition changed, will be "
                    "restarted")
                if self._stopped():
                    return
                self._observe_exits()
            elif current is not None:
                if not self._should_restart(slot):
                    continue
                if self._in_backoff(slot, current):
                    failed = True
                    continue
            ok = yield from self._start_container(slot)
            if self._stopped():
                return
            started, failed = started or ok, failed or not ok
        if started:
            self.enqueue()  # the PLEG sees ContainerStarted: sync again, report Running
        if failed:
            self.enqueue(kubelet.config.pod_sync_backoff_period)

    def _in_backoff(self, slot: ContainerSlot, current: Container) -> bool:
        """doBackOff: an exited container waits out its back-off before it is restarted."""
        backoff = self.kubelet.container_backoff
        key = (self.uid, slot.name)
        if backoff.in_backoff_since(key, current.exit_at):
            delay = go_duration(backoff.get(key))
            slot.waiting = ("CrashLoopBackOff", f"back-off {delay} restarting failed "
                            f"container={slot.name} pod={self.full_name}")
            self._event(slot, WARNING, "BackOff", f"Back-off restarting failed container "
                        f"{slot.name} in pod {self.full_name}")
            return True
        backoff.next(key, current.exit_at)
        return False

    def _fail_start(self, slot: ContainerSlot, reason: str, message: str) -> bool:
        """The start failed: the status waits with ``reason``; a Warning event says why.

        Upstream's event quotes the reason for image errors (``Error: ErrImagePull``)
        and the message itself for a CreateContainerConfigError (startContainer).
        """
        slot.waiting = (reason, message)
        said = message if reason == "CreateContainerConfigError" else reason
        self._event(slot, WARNING, "Failed", f"Error: {said}")
        return False

    def environment(self, slot: ContainerSlot) -> list[tuple[str, str]]:
        """The container's environment as the kubelet would pass it now (makeEnvironmentVariables).

        Raises :class:`~kubelearn.kubelet.envvars.EnvError` (a missing
        ConfigMap, say): the container cannot be created yet.
        """
        kubelet = self.kubelet
        pod = self.env_pod or {"metadata": {"name": self.name, "namespace": self.namespace,
                                            "uid": self.uid}, "spec": {}}
        pod = {"metadata": pod["metadata"],
               "spec": {**pod["spec"], "enableServiceLinks": self.service_links}}
        return envvars.make_environment(
            pod, slot.spec, services=kubelet.services(), config_map=kubelet.config_map_data,
            secret=kubelet.secret_data, pod_ips=[self.pod_ip] if self.pod_ip else [],
            host_ips=[kubelet.node_ip], allocatable=kubelet.allocatable)

    def _start_container(self, slot: ContainerSlot) -> Generator[simpy.Event, Any, bool]:
        """EnsureImageExists, CreateContainer, StartContainer (kuberuntime startContainer)."""
        kubelet, sim = self.kubelet, self.kubelet.sim
        runtime = kubelet.runtime
        image = str(slot.spec.get("image") or "")
        if not is_valid(image):
            message = invalid_image_message(image)
            self._event(slot, WARNING, "InspectFailed", message)
            return self._fail_start(slot, "InvalidImageName", message)
        ref = parse_reference(image)
        try:
            behaviour = behaviour_for(
                {"metadata": {"annotations": self.annotations},
                 "spec": {"shareProcessNamespace": self.share_process_namespace}},
                slot.spec, spec_for(ref))
        except ValueError as error:  # a sim.kubelearn.io annotation that does not parse
            return self._fail_start(slot, "CreateContainerConfigError", str(error))
        policy = str(slot.spec.get("imagePullPolicy") or "")
        if not policy:
            policy = "Always" if ref.tag == "latest" else "IfNotPresent"
        present = runtime.image_present(ref)
        if policy == "Never" and not present:
            message = f'Container image "{image}" is not present with pull policy of Never'
            self._event(slot, WARNING, "ErrImageNeverPull", message)
            return self._fail_start(slot, "ErrImageNeverPull", message)
        if present and policy != "Always":
            self._event(slot, NORMAL, "Pulled",
                        f'Container image "{image}" already present on machine')
        else:
            ok = yield from self._pull(slot, image, ref, behaviour)
            if not ok:
                return False
        try:  # generateContainerConfig, before CreateContainer
            env = self.environment(slot)
        except envvars.EnvError as error:
            return self._fail_start(slot, "CreateContainerConfigError", str(error))
        yield sim.timeout(CREATE_SECONDS)
        if self._stopped():
            return False
        attempt = slot.restarts + 1 if slot.current is not None else 0
        container = runtime.create_container(self.sandbox, slot.name, ref, behaviour, attempt,
                                             env)
        self._event(slot, NORMAL, "Created", f"Created container: {slot.name}")
        yield sim.timeout(START_SECONDS)
        if self._stopped():
            runtime.remove_container(container)
            return False
        runtime.start_container(container)
        self._event(slot, NORMAL, "Started", f"Started container {slot.name}")
        if slot.previous is not None:  # keep one dead container (minDeadContainerInPod)
            runtime.remove_container(slot.previous)
        if slot.current is not None:
            slot.previous = slot.current
        slot.current, slot.restarts, slot.waiting = container, attempt, None
        slot.exit_seen = slot.killing = slot.probe_killed = False
        slot.probes = prober.probes_for(slot.spec, sim.now, slot.origins, slot.streaks)
        slot.started = not any(p.kind == prober.STARTUP for p in slot.probes)
        slot.readiness = not any(p.kind == prober.READINESS for p in slot.probes)
        return True

    def _pull(self, slot: ContainerSlot, image: str, ref: Any, behaviour: Behaviour
              ) -> Generator[simpy.Event, Any, bool]:
        """Pull an image, or say why not: ImagePullBackOff, ErrImagePull (images.imageManager)."""
        kubelet, sim = self.kubelet, self.kubelet.sim
        key = (self.uid, image)
        backoff = kubelet.image_backoff
        if backoff.in_backoff_since_update(key, sim.now):
            message = f'Back-off pulling image "{image}"'
            self._event(slot, NORMAL, "BackOff", message)
            if slot.pull_error:  # image_manager.go prevPullErrMsg (v1.32, PR #127918)
                message = f"{message}: ErrImagePull: {slot.pull_error}"
            return self._fail_start(slot, "ImagePullBackOff", message)
        self._event(slot, NORMAL, "Pulling", f'Pulling image "{image}"')
        asked = sim.now
        start, done, error = kubelet.runtime.pull_image(ref, behaviour.image_size)
        yield sim.timeout(done - asked)
        if self._stopped():
            return False
        if error is not None:
            self._event(slot, WARNING, "Failed", f'Failed to pull image "{image}": {error}')
            backoff.next(key, sim.now)
            slot.pull_error = error
            return self._fail_start(slot, "ErrImagePull", error)
        size = kubelet.runtime.images[ref.name][0]
        self._event(slot, NORMAL, "Pulled", f'Successfully pulled image "{image}" in '
                    f"{go_duration(done - start)} ({go_duration(done - asked)} including "
                    f"waiting). Image size: {size} bytes.")
        backoff.gc()
        slot.pull_error = ""
        return True

    def _finish(self) -> None:
        """All containers are done for good: stop the sandbox, free the node, report."""
        self.terminal = True
        if self.sandbox is not None:
            self.kubelet.runtime.stop_pod_sandbox(self.sandbox)
        self.kubelet.release(self)
        self.write_status()

    # -- probes ------------------------------------------------------------------------------
    def _run_probes(self, now: float) -> None:
        for slot in self.slots:
            current = slot.current
            if current is None or slot.killing or current.state(now) != "running":
                continue
            for probe in list(slot.probes):
                if probe.next_at > now + 1e-9:
                    continue
                if probe.kind != prober.STARTUP and not slot.started:
                    probe.next_at = probe.next_tick(now)  # worker.go: wait for startup
                    continue
                ok, output = prober.check(probe, current, slot.spec, now, self.pod_ip)
                changed = probe.observe(ok)
                if not ok:
                    self._event(slot, WARNING, "Unhealthy", f"{probe.kind} probe failed: {output}")
                probe.plan(now, ok, current)
                if changed:
                    self._probe_result(slot, probe)

    def _probe_result(self, slot: ContainerSlot, probe: prober.Probe) -> None:
        """A probe's result flipped: readiness and startup change the status, failures kill."""
        if probe.kind == prober.READINESS:
            slot.readiness = bool(probe.result)
            self._record("ContainerReady" if slot.readiness else "ContainerNotReady",
                         f"container {slot.name} is {'' if slot.readiness else 'not '}ready")
            self.write_status()
        elif probe.kind == prober.STARTUP and probe.result:
            slot.started = True
            self.write_status()
            now = self.kubelet.sim.now
            for other in slot.probes:  # the status written triggers a readiness run
                if other.kind == prober.READINESS and other.base <= now:
                    other.next_at = now
        elif probe.result is False:  # liveness or startup failed: kill, the sync restarts it
            probe.successes = probe.failures = 0  # worker.go: onHold, resultRun = 0
            grace = probe.spec.get("terminationGracePeriodSeconds")
            grace = float(grace) if grace is not None else self._grace()
            slot.probe_killed = self.restart_policy != "Never"
            self.kubelet.sim.process(self._stop_container(
                slot, grace, f"Container {slot.name} failed {probe.kind.lower()} probe, will "
                "be restarted"))

    # -- stopping ----------------------------------------------------------------------------
    def _grace(self) -> float:
        """The grace period: the deletion's, else terminationGracePeriodSeconds (30)."""
        grace = self.deletion_grace
        if grace is None:
            grace = self.termination_grace
        return float(grace) if grace is not None else DEFAULT_TERMINATION_GRACE

    def _stop_container(self, slot: ContainerSlot, grace: float, message: str
                        ) -> Generator[simpy.Event, Any, None]:
        """killContainer: Killing, the preStop hook, the stop signal, SIGKILL when grace is up."""
        sim = self.kubelet.sim
        current = slot.current
        if current is None or current.state(sim.now) == "exited":
            return
        slot.killing = True
        self._event(slot, NORMAL, "Killing", message)
        hook = prestop_seconds(slot.spec)
        if hook > 0 and grace > 0 and current.started_at is not None:
            ran = min(hook, grace)
            self._record("PreStopHook", f"preStop hook of container {slot.name} runs {ran:g}s")
            yield sim.timeout(ran)
            if self.dead:
                return
            grace -= math.floor(ran)  # upstream counts whole seconds
        exit_at = self.kubelet.runtime.stop_container(current, max(grace, MINIMUM_GRACE_PERIOD))
        self._plan()
        if exit_at > sim.now:
            yield sim.timeout(exit_at - sim.now)

    def begin_termination(self) -> None:
        """The pod has a deletionTimestamp: stop it gracefully, then remove it."""
        self.terminating = True
        self.kubelet.sim.process(self._terminate())

    def _shorten_grace(self) -> None:
        """A second delete with a shorter grace period: SIGKILL sooner."""
        grace = self._grace()
        for slot in self.slots:
            current = slot.current
            if current is not None and current.stop_at is not None \
                    and current.state(self.kubelet.sim.now) != "exited":
                self.kubelet.runtime.stop_container(current, max(grace, MINIMUM_GRACE_PERIOD))
        self._plan()

    def _terminate(self) -> Generator[simpy.Event, Any, None]:
        """syncTerminatingPod, then the status manager's final status and DELETE."""
        sim = self.kubelet.sim
        grace = self._grace()
        stops = [sim.process(self._stop_container(slot, grace, f"Stopping container {slot.name}"))
                 for slot in self.slots if slot.current is not None
                 and slot.current.state(sim.now) != "exited"]
        if stops:
            yield sim.env.all_of(stops)
        if self.dead:
            return
        self._observe_exits()
        self.terminal = True
        if self.sandbox is not None:
            self.kubelet.runtime.stop_pod_sandbox(self.sandbox)
        self.kubelet.release(self)
        self.write_status()
        try:
            self.kubelet.client.delete("pods", self.name, self.namespace, grace_period_seconds=0,
                                       preconditions={"uid": self.uid})
        except (NotFound, StatusError):
            return
        self._record("PodDeleted", "containers stopped; pod removed from the API")

    def removed(self) -> None:
        """The pod is gone from the API (force-deleted, or deleted by us): clean up."""
        kubelet = self.kubelet
        runtime, now = kubelet.runtime, kubelet.sim.now
        linger = 0.0
        if not self.terminal:  # force-deleted: stop what still runs, quickly
            for slot in self.slots:
                current = slot.current
                if current is not None and current.state(now) != "exited":
                    self._event(slot, NORMAL, "Killing", f"Stopping container {slot.name}")
                    linger = max(linger, runtime.stop_container(current, MINIMUM_GRACE_PERIOD)
                                 - now)
        kubelet.release(self)
        self.dead = self.terminating = True
        if linger > 0:  # the processes die first, then the runtime forgets them
            kubelet.after(linger, lambda: runtime.forget_pod(self.uid))
        else:
            runtime.forget_pod(self.uid)
        for slot in self.slots:
            kubelet.container_backoff.forget((self.uid, slot.name))
            kubelet.image_backoff.forget((self.uid, str(slot.spec.get("image") or "")))
        kubelet.recorder.forget(self.uid)
