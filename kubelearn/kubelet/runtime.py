"""The container runtime: sandboxes, images and containers of one node, on the virtual clock.

Upstream the kubelet drives containerd (or CRI-O) through the Container Runtime
Interface: ``RunPodSandbox`` (the pause container and, through the CNI plugin,
the pod's network and IP), ``PullImage``, ``CreateContainer``,
``StartContainer``, ``StopContainer``. This module plays containerd. It never
talks to the API server -- only the kubelet does -- and it schedules nothing:
a container is a small timeline (created, started, will exit at ...) that the
kubelet reads, as its PLEG (pod lifecycle event generator) relists upstream.

How long things take (containerd on a laptop-sized node, roughly):

- a sandbox: :data:`SANDBOX_SECONDS`; its IP comes from the node's pod CIDR,
  handed out in order from ``.2`` like the ``host-local`` CNI IPAM plugin;
- a pull: :data:`~kubelearn.kubelet.images.RESOLVE_SECONDS` to resolve the
  manifest, plus ``image size / node bandwidth`` unless the layers are already
  on the node. With ``serializeImagePulls`` (the default) pulls queue one
  behind the other, so "Successfully pulled image ... in 2.97s (5.94s
  including waiting)";
- create and start: :data:`CREATE_SECONDS` and :data:`START_SECONDS`;
- stop: the image's stop signal (``STOPSIGNAL``; SIGTERM unless it names
  another -- nginx's is SIGQUIT), once, then SIGKILL after the grace period if
  the process is still there (exit code 137 = 128 + 9). What the stop signal
  does is the process's business (:mod:`kubelearn.kubelet.signals`): a handler
  shuts it down (exit 0), else PID 1 ignores it, else it dies (128 + N).

A container's environment is set when it is created and never changes after:
containerd starts from the OCI default ``PATH``, adds ``HOSTNAME`` (the
sandbox's hostname), then the variables the kubelet passes
(:mod:`kubelearn.kubelet.envvars`), each replacing a variable of the same
name where it stands; runc adds ``HOME=/root`` when nothing set it.
:meth:`Runtime.exec` runs ``env`` (and ``printenv``) against that record.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubelearn.kubelet import signals
from kubelearn.kubelet.behaviour import Behaviour
from kubelearn.kubelet.images import (
    PAUSE_IMAGE,
    RESOLVE_SECONDS,
    Reference,
    digest_of,
    parse_reference,
    pull_error,
    size_bytes,
    stop_signal,
)

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.sim import Simulation

SANDBOX_SECONDS = 0.5  # RunPodSandbox: the pause container plus CNI ADD
CREATE_SECONDS = 0.25  # CreateContainer
START_SECONDS = 0.25  # StartContainer
DEFAULT_BANDWIDTH_MIB = 25.0  # MiB/s from the registry to a node (about 200 Mbit/s)
SIGKILL_EXIT_CODE = signals.exit_code(signals.SIGKILL)  # 137 = 128 + SIGKILL (9)
UNKNOWN_EXIT_CODE = 255  # containerd's answer for a container lost with its node
# containerd's default CNI config (10-containerd-net.conflist) uses this range; a node
# the control plane gave no podCIDR falls back to it.
DEFAULT_POD_CIDR = "10.88.0.0/16"
# The OCI runtime spec's default environment (containerd oci.populateDefaultUnixSpec) and the
# HOME that runc sets for root when the environment has none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT_HOME = "/root"
RESOLV_CONF_PATH = "/etc/resolv.conf"  # bind-mounted from the sandbox into each container
# What a shell says when exec names a program the simulated image does not have (exit 127).
EXEC_NOT_FOUND = ("OCI runtime exec failed: exec failed: unable to start container process: "
                  'exec: "{}": executable file not found in $PATH: unknown')


def _id(*parts: object) -> str:
    """A stable 64-hex-digit id, like containerd's."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _dotted(address: int) -> str:
    """An IPv4 address from its number, quickly."""
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


class Sandbox:
    """A pod's sandbox: the pause container holding the pod's network namespace and IP."""

    __slots__ = ("id", "pod_uid", "pod", "ip", "created_at", "stopped", "host_network",
                 "hostname", "resolv_conf")

    def __init__(self, sandbox_id: str, pod_uid: str, ip: str, created_at: float,
                 pod: str = "", hostname: str = "") -> None:
        self.id = sandbox_id
        self.pod_uid = pod_uid
        self.pod = pod  # namespace/name, as the sandbox's metadata says
        self.hostname = hostname or pod.rpartition("/")[2]
        self.ip = ip
        self.created_at = created_at
        self.stopped = False
        self.host_network = False
        self.resolv_conf = ""  # the /etc/resolv.conf every container of the pod reads


class Container:
    """One run of one container: when it was created and started, and when it exits."""

    __slots__ = ("id", "pod_uid", "name", "ref", "behaviour", "attempt", "created_at",
                 "started_at", "exit_at", "exit_code", "reason", "stop_at", "env",
                 "stop_signal", "signals_sent", "exit_signal", "draining")

    def __init__(self, container_id: str, pod_uid: str, name: str, ref: Reference,
                 behaviour: Behaviour, attempt: int, created_at: float,
                 env: tuple[tuple[str, str], ...] = ()) -> None:
        self.id = container_id
        self.pod_uid = pod_uid
        self.name = name
        self.ref = ref
        self.behaviour = behaviour
        self.attempt = attempt  # 0 for the first run, then the restart count
        self.created_at = created_at
        self.started_at: float | None = None
        self.exit_at = math.inf  # when the process exits (inf: not planned)
        self.exit_code = 0
        self.reason = ""
        self.stop_at: float | None = None  # when StopContainer sent the stop signal
        self.env = env  # the process's environment, fixed at CreateContainer
        self.stop_signal = stop_signal(ref)  # from the image config, as containerd reads it
        self.signals_sent: tuple[str, ...] = ()  # what StopContainer sent, in order
        self.exit_signal = ""  # the signal that ends the process, if one does
        self.draining = False  # a handler is shutting it down: no new connections

    def __repr__(self) -> str:
        return f"Container({self.name}#{self.attempt}, {self.state(self.created_at)})"

    @property
    def container_id(self) -> str:
        """``containerd://<id>``, as container statuses show it."""
        return f"containerd://{self.id}"

    def state(self, now: float) -> str:
        """``created``, ``running`` or ``exited`` at time ``now``."""
        if now >= self.exit_at - 1e-9:
            return "exited"
        if self.started_at is not None and now >= self.started_at:
            return "running"
        return "created"

    def age(self, now: float) -> float:
        """Seconds since the process started (0 if it has not)."""
        return 0.0 if self.started_at is None else now - self.started_at

    def _exit(self, at: float, code: int, reason: str = "", signal: str = "") -> None:
        """Plan the exit at ``at`` unless the process exits sooner anyway.

        ``signal`` is the one that ends it there (SIGKILL, or a signal whose default
        action kills), if it is not exiting by itself.
        """
        if at < self.exit_at:
            self.exit_at = at
            self.exit_code = code
            self.reason = reason or ("Completed" if code == 0 else "Error")
            self.exit_signal = signal

    def stopped_by(self) -> str:
        """The signals that stopped it, for the kubelet's record: ``SIGQUIT, then SIGKILL``."""
        sent = list(self.signals_sent)
        if self.exit_signal and self.exit_signal not in sent:
            sent.append(self.exit_signal)
        return ", then ".join(sent)


class ExecError(Exception):
    """An exec the runtime could not run: the container is gone, or the program is missing."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CommandTerminated(ExecError):
    """The command ran and exited non-zero: ``kubectl exec`` prints what it wrote, then
    ``command terminated with exit code N`` (and exits N)."""

    def __init__(self, output: str, exit_code: int = 1) -> None:
        ending = f"command terminated with exit code {exit_code}"
        super().__init__(f"{output}{ending}" if output else ending, exit_code)
        self.output = output


def process_env(hostname: str, env: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The process environment containerd and runc build around the kubelet's variables.

    ``PATH`` (the OCI default), ``HOSTNAME``, then ``env``: a name already
    there is replaced where it stands (containerd's ``WithEnv``), a new one is
    appended; ``HOME=/root`` last unless set.
    """
    out = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    for name, value in env:
        out[name] = value
    out.setdefault("HOME", ROOT_HOME)
    return tuple(out.items())


class Runtime:
    """containerd for one node: sandboxes with IPs, an image store, containers."""

    def __init__(self, sim: Simulation, node_name: str, *, pod_cidr: str | None = None,
                 bandwidth_mib: float = DEFAULT_BANDWIDTH_MIB, serialize_pulls: bool = True
                 ) -> None:
        self.sim = sim
        self.node_name = node_name
        self.bandwidth = bandwidth_mib * 1024 * 1024  # bytes per second
        self.serialize_pulls = serialize_pulls
        self.network = ipaddress.ip_network(pod_cidr or DEFAULT_POD_CIDR)
        self._next_host = 2  # host-local starts after the gateway (.1)
        self._ips_in_use: set[int] = set()
        # normalised image name -> (size in bytes, time it is on the node from)
        self.images: dict[str, tuple[int, float]] = {}
        self._puller_free_at = -math.inf
        self.sandboxes: dict[str, Sandbox] = {}  # pod uid -> its running sandbox
        self.by_ip: dict[str, Sandbox] = {}  # pod IP -> its running sandbox (not hostNetwork)
        self.containers: dict[str, list[Container]] = {}  # pod uid -> its containers, oldest first
        self._counter = 0
        pause = parse_reference(PAUSE_IMAGE)
        self.images[pause.name] = (size_bytes(pause), -math.inf)  # kubeadm pre-pulls it

    # -- sandboxes ---------------------------------------------------------------------------
    def run_pod_sandbox(self, pod_uid: str, host_ip: str | None = None, pod: str = "",
                        hostname: str = "", resolv_conf: str = "") -> Sandbox:
        """Start a pod's sandbox now (the caller waited SANDBOX_SECONDS) and give it an IP.

        A ``hostNetwork`` pod shares the node's network: pass the node's address as
        ``host_ip`` and no pod IP is taken from the range. ``pod`` is its namespace/name,
        ``hostname`` the name its containers see (default: the pod's name).
        ``resolv_conf`` is the file containerd writes into the sandbox from the DNS
        settings the kubelet passes (PodSandboxConfig.DnsConfig); it goes with the sandbox.
        """
        self._counter += 1
        sandbox = Sandbox(_id(self.node_name, pod_uid, self._counter), pod_uid,
                          host_ip or self.allocate_ip(), self.sim.now, pod, hostname)
        sandbox.host_network = host_ip is not None
        sandbox.resolv_conf = resolv_conf
        self.sandboxes[pod_uid] = sandbox
        if not sandbox.host_network:
            self.by_ip[sandbox.ip] = sandbox
        return sandbox

    def stop_pod_sandbox(self, sandbox: Sandbox) -> None:
        """Stop a sandbox and give its IP back (CNI DEL)."""
        if sandbox.stopped:
            return
        sandbox.stopped = True
        if not sandbox.host_network:
            self.release_ip(sandbox.ip)
        if self.sandboxes.get(sandbox.pod_uid) is sandbox:
            del self.sandboxes[sandbox.pod_uid]
        if self.by_ip.get(sandbox.ip) is sandbox:
            del self.by_ip[sandbox.ip]

    def release_ip(self, ip: str) -> None:
        """Give an address back to the range (CNI DEL)."""
        a, b, c, d = (int(part) for part in ip.split("."))
        self._ips_in_use.discard((a << 24) | (b << 16) | (c << 8) | d)

    def allocate_ip(self) -> str:
        """The next free address after the last one handed out (host-local's order)."""
        base = int(self.network.network_address)
        size = self.network.num_addresses
        for _ in range(size):
            host = self._next_host
            self._next_host = host + 1 if host + 1 < size - 1 else 2
            if base + host not in self._ips_in_use:
                self._ips_in_use.add(base + host)
                return _dotted(base + host)
        raise RuntimeError(f"failed to allocate for range 0: no IP addresses available in "
                           f"range set: {self.network}")

    # -- images ------------------------------------------------------------------------------
    def image_present(self, ref: Reference) -> bool:
        """Is the image on the node now?"""
        entry = self.images.get(ref.name)
        return entry is not None and entry[1] <= self.sim.now

    def pull_image(self, ref: Reference, size: int | None = None
                   ) -> tuple[float, float, str | None]:
        """Queue a pull: ``(start, done, error)`` -- the pull runs from start to done.

        With serialised pulls a pull starts when the one before it is done.
        Layers already on the node are not fetched again, so re-pulling an image
        (``imagePullPolicy: Always``) costs only the manifest round trip.
        """
        now = self.sim.now
        start = max(now, self._puller_free_at) if self.serialize_pulls else now
        error = pull_error(ref)
        nbytes = size if size is not None else size_bytes(ref)
        entry = self.images.get(ref.name)
        if error is not None or (entry is not None and entry[1] <= start):
            duration = RESOLVE_SECONDS
        else:
            duration = RESOLVE_SECONDS + nbytes / self.bandwidth
        done = start + duration
        if self.serialize_pulls:
            self._puller_free_at = done
        if error is None and (entry is None or entry[1] > done):
            self.images[ref.name] = (nbytes, done)
        return start, done, error

    def image_list(self, now: float | None = None) -> list[dict]:
        """The images on the node, biggest first, as node status lists them."""
        now = self.sim.now if now is None else now
        present = [(size, name) for name, (size, since) in self.images.items() if since <= now]
        present.sort(key=lambda item: (-item[0], item[1]))
        out = []
        for size, name in present:
            ref = parse_reference(name)
            out.append({"names": [f"{ref.repository}@sha256:{digest_of(ref)}", name],
                        "sizeBytes": size})
        return out

    # -- containers --------------------------------------------------------------------------
    def create_container(self, sandbox: Sandbox, name: str, ref: Reference,
                         behaviour: Behaviour, attempt: int,
                         env: Sequence[tuple[str, str]] = ()) -> Container:
        """A created (not yet started) container, now, with the kubelet's ``env`` in it."""
        container = Container(_id(sandbox.id, name, attempt), sandbox.pod_uid, name, ref,
                              behaviour, attempt, self.sim.now,
                              process_env(sandbox.hostname, env))
        self.containers.setdefault(sandbox.pod_uid, []).append(container)
        return container

    def start_container(self, container: Container) -> None:
        """Start the process now; plan its exit if it is one that exits on its own."""
        now = self.sim.now
        container.started_at = now
        run = container.behaviour.run_seconds
        if run is not None:
            container._exit(now + run, container.behaviour.exit_code)

    def stop_container(self, container: Container, grace: float) -> float:
        """The stop signal now, SIGKILL after ``grace`` seconds; returns when the process is gone.

        A second stop (a delete with a shorter grace period) sends no second stop
        signal -- containerd sends it once -- but brings SIGKILL forward.
        """
        now = self.sim.now
        if container.state(now) == "exited":
            return container.exit_at
        if container.started_at is None:  # created, never started: just removed
            container.stop_at = now
            container._exit(now, 0)
            return now
        signal = container.stop_signal
        if container.stop_at is None:
            container.stop_at = now
            container.signals_sent += (signal,)
        reaction = container.behaviour.on_signal(signal)
        shutdown = container.behaviour.shutdown_seconds
        if reaction == signals.TERMINATE:  # the default action: it dies at once
            container._exit(container.stop_at, signals.exit_code(signal), signal=signal)
        elif reaction == signals.HANDLE and container.stop_at + shutdown <= now + grace + 1e-9:
            container.draining = True
            container._exit(container.stop_at + shutdown, 0)
        else:  # ignored, or its shutdown outlasts the grace period
            container.draining = reaction == signals.HANDLE
            container._exit(now + grace, SIGKILL_EXIT_CODE, signal=signals.SIGKILL)
        return container.exit_at

    def lose_everything(self) -> None:
        """The node lost power: every process is gone (exit 255, reason Unknown)."""
        now = self.sim.now
        for containers in self.containers.values():
            for container in containers:
                if container.state(now) != "exited":
                    container._exit(now, UNKNOWN_EXIT_CODE, "Unknown")
        for sandbox in list(self.sandboxes.values()):
            self.stop_pod_sandbox(sandbox)

    def remove_container(self, container: Container) -> None:
        """Forget a container that has exited (container garbage collection)."""
        containers = self.containers.get(container.pod_uid)
        if containers and container in containers:
            containers.remove(container)
            if not containers:
                del self.containers[container.pod_uid]

    def forget_pod(self, pod_uid: str) -> None:
        """Remove everything left of a pod: its sandbox and its containers."""
        sandbox = self.sandboxes.get(pod_uid)
        if sandbox is not None:
            self.stop_pod_sandbox(sandbox)
        self.containers.pop(pod_uid, None)

    # -- the network, as a connection sees it ------------------------------------------------
    def accepting(self, sandbox: Sandbox, port: int, at: float | None = None
                  ) -> Container | None:
        """The container that would accept a TCP connection to ``port`` now (or ``at``).

        A process accepts on the ports it serves (:meth:`Behaviour.serves`) once it is
        listening, until its stop signal if it handles that signal (it closes its
        listener and drains, as nginx does on SIGQUIT), else until it is killed.
        """
        now = self.sim.now if at is None else at
        for container in self.containers.get(sandbox.pod_uid, ()):
            if container.started_at is None or now >= container.exit_at - 1e-9 \
                    or now < container.started_at:
                continue
            if container.draining:
                continue
            if container.behaviour.serves(port, now - container.started_at):
                return container
        return None

    def exec(self, container: Container, command: Sequence[str]) -> str:
        """What ``command`` prints in the running container: ``env``, ``printenv [NAME...]``
        or ``cat /etc/resolv.conf``.

        The simulated images hold no programs besides these; any other
        command fails as containerd reports it. ``printenv NAME`` prints
        nothing for a variable that is not set (and exits 1); ``cat`` knows
        only the file its sandbox gave the container.
        """
        if container.state(self.sim.now) != "running":
            raise ExecError(f"container not found ({container.name!r})")
        program, args = (command[0], list(command[1:])) if command else ("", [])
        if program in ("env", "/usr/bin/env") and not args:
            return "".join(f"{k}={v}\n" for k, v in container.env)
        if program in ("printenv", "/usr/bin/printenv"):
            values = dict(container.env)
            names = args or list(values)
            return "".join(f"{values[n]}\n" if args else f"{n}={values[n]}\n"
                           for n in names if n in values)
        if program in ("cat", "/bin/cat") and args:
            return "".join(self._read_file(container, path) for path in args)
        raise ExecError(EXEC_NOT_FOUND.format(program), exit_code=127)

    def _read_file(self, container: Container, path: str) -> str:
        """A file of the container's as ``cat`` prints it: /etc/resolv.conf is its sandbox's."""
        sandbox = self.sandboxes.get(container.pod_uid)
        if path == RESOLV_CONF_PATH and sandbox is not None:
            return sandbox.resolv_conf
        raise CommandTerminated(f"cat: {path}: No such file or directory\n")

    def containers_of(self, pod_uid: str) -> list[Container]:
        """A pod's containers the runtime still knows, oldest first."""
        return list(self.containers.get(pod_uid, ()))
