"""Behaviour: how a simulated container's process behaves, declared on the pod.

Nothing really runs in a kubelearn container, so a pod says what its process
would do. Three sources, the first that speaks wins:

1. **Annotations** on the pod, one per container and setting,
   ``sim.kubelearn.io/<container>.<setting>``::

       metadata:
         annotations:
           sim.kubelearn.io/web.crash-after: "30s"
           sim.kubelearn.io/web.exit-code: "1"

   ==========================  ==========  ==================================================
   setting                     example     meaning
   ==========================  ==========  ==================================================
   ``crash-after``             ``30s``     the process exits this long after each start
   ``exit-code``               ``1``       ...with this code (default 1 for a crash)
   ``startup-seconds``         ``20``      until then it answers no probe (slow start)
   ``ready-after``             ``15s``     readiness succeeds only from then on
   ``fail-readiness-after``    ``2m``      readiness fails from then on (HTTP 503)
   ``fail-liveness-after``     ``5m``      liveness (and readiness) fail from then on (HTTP 500)
   ``ignore-stop-signal``      ``"true"``  its stop signal does nothing (SIGTERM, or the
                                           one its image names: nginx's SIGQUIT), so
                                           only SIGKILL stops it (137)
   ``shutdown-seconds``        ``5``       from the stop signal to a clean exit (code 0)
   ``image-size``              ``700Mi``   the image's size, for the pull time
   ``listen``                  ``8080``    the TCP port(s) it serves on (``80,443``)
   ``cpu-usage``               ``250m``    the CPU it keeps busy while it runs (what
                                           ``kubectl top`` would show; a CPU limit caps it)
   ==========================  ==========  ==================================================

   Times are Go durations (``90s``, ``1m30s``) or plain seconds; each counts
   from the container's start.

2. **The command**, when it is one a shell would run: ``sleep N`` (runs N
   seconds, ``sleep infinity`` forever), ``exit N``, ``true``, ``false``; e.g.
   ``command: [sh, -c, "sleep 30; exit 1"]`` runs 30 s and exits 1. A shell or
   ``sleep`` as PID 1 ignores SIGTERM (the kernel gives PID 1 no default
   action) unless the script ``trap``\\ s TERM -- and only the signals it
   traps: in the ``nginx`` image, whose stop signal is SIGQUIT, a shell that
   traps TERM still waits for SIGKILL.

3. **The image**'s default (:mod:`kubelearn.kubelet.images`): ``nginx`` serves
   forever, ``busybox`` exits 0 at once -- under ``restartPolicy: Always``
   that is the classic CrashLoopBackOff of a "Completed" container. The image
   also says which signals its program shuts down on.

One pod field counts too: with ``shareProcessNamespace: true`` the pause
container is PID 1 and the app is not, so a stop signal it has no handler
for kills it (exit 128 + the signal's number, 143 for SIGTERM) instead of
being ignored; see :mod:`kubelearn.kubelet.signals`.

Which ports a server answers on is the process's business, not the pod's:
``containerPort`` is documentation (and a name for ``targetPort`` to point
at), so nginx serves on 80 even where the pod declares 8080 -- the classic
"wrong targetPort, connection refused". The ``listen`` setting wins, then the
image's port; an image the catalogue does not know serves on the ports its
container declares, or on any port if it declares none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelearn.api import parse_quantity
from kubelearn.api.quantity import QuantityError
from kubelearn.kubelet import signals
from kubelearn.kubelet.images import ImageSpec

ANNOTATION_PREFIX = "sim.kubelearn.io/"
FOREVER = None

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


@dataclass(frozen=True)
class Behaviour:
    """What one container's process does, in seconds from its start."""

    run_seconds: float | None = FOREVER  # exits after this long; None: runs until stopped
    exit_code: int = 0
    startup_seconds: float = 0.0  # answers probes from then on
    ready_after: float = 0.0  # readiness succeeds from then on
    fail_readiness_after: float | None = None
    fail_liveness_after: float | None = None
    handles: frozenset[str] = frozenset({signals.SIGTERM})  # it shuts down cleanly on these
    ignores: frozenset[str] = frozenset()  # set to SIG_IGN: they do nothing
    pid1: bool = True  # the first process of its PID namespace (no shareProcessNamespace)
    shutdown_seconds: float = 0.0  # from a handled signal to its clean exit
    image_size: int | None = None  # bytes, overriding the catalogue
    ports: frozenset[int] | None = None  # the TCP ports it serves on; None: any
    cpu_usage: int = 0  # millicores it keeps busy while it runs (no scheduler reads this)

    def listening(self, age: float) -> bool:
        """Does the process answer at all ``age`` seconds after its start?"""
        return age >= self.startup_seconds - 1e-9

    def serves(self, port: int, age: float) -> bool:
        """Would a connection to ``port`` be accepted ``age`` seconds after the start?"""
        return (self.ports is None or port in self.ports) and age >= self.startup_seconds - 1e-9

    def live(self, age: float) -> bool:
        """Would a liveness check pass at this age?"""
        return self.fail_liveness_after is None or age < self.fail_liveness_after - 1e-9

    def ready(self, age: float) -> bool:
        """Would a readiness check pass at this age (listening and not failing)?"""
        return (age >= max(self.ready_after, self.startup_seconds) - 1e-9 and self.live(age)
                and (self.fail_readiness_after is None
                     or age < self.fail_readiness_after - 1e-9))

    def on_signal(self, signal: str) -> str:
        """What the process does with ``signal``: ``handle``, ``ignore`` or ``terminate``."""
        return signals.reaction(signal, self.handles, self.ignores, self.pid1)

    def changes(self) -> list[float]:
        """The ages at which a probe's answer may change (for skipping steady probes)."""
        out = [self.startup_seconds, max(self.ready_after, self.startup_seconds)]
        out += [t for t in (self.fail_readiness_after, self.fail_liveness_after) if t is not None]
        return sorted(set(out))


def parse_duration(text: Any) -> float:
    """Seconds from a Go duration (``1m30s``) or a plain number (``90``)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    value = str(text).strip()
    try:
        return float(value)
    except ValueError:
        pass
    total, pos = 0.0, 0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise ValueError(f"time: invalid duration {value!r}")
    return total


def annotations_for(pod: Mapping[str, Any], container: str) -> dict[str, str]:
    """The ``sim.kubelearn.io/<container>.*`` settings of one container, by setting name."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    prefix = f"{ANNOTATION_PREFIX}{container}."
    return {k[len(prefix):]: str(v) for k, v in annotations.items() if k.startswith(prefix)}


def from_command(container: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a shell-like command does (sleep, exit, true, false), or None if it says nothing."""
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    if not words:
        return None
    script = " ".join(words)
    sleeps = re.findall(r"\bsleep\s+(infinity|\d+(?:\.\d+)?[smh]?)", script)
    exits = re.findall(r"\bexit\s+(\d+)", script)
    flags = re.findall(r"(?:^|[\s;&|])(true|false)(?=$|[\s;&|])", script)
    if not (sleeps or exits or flags):
        return None
    out: dict[str, Any] = {"exit_code": 0}
    if "infinity" in sleeps:
        out["run_seconds"] = FOREVER
    else:
        out["run_seconds"] = sum(parse_duration(s) for s in sleeps)
    if exits:
        out["exit_code"] = int(exits[-1])
    elif flags:
        out["exit_code"] = 0 if flags[-1] == "true" else 1
    pid1 = words[0].rsplit("/", 1)[-1]
    if pid1 in ("sh", "bash", "ash", "dash", "sleep"):
        out["handles"], out["ignores"] = _trapped(script)
    return out


# ``trap ACTION SIGNAL...``: the action (quoted, or one word), then the signals it catches.
_TRAP = re.compile(r"""\btrap\s+('[^']*'|"[^"]*"|\S+)((?:\s+(?:SIG)?[A-Z0-9]+\b)+)""")
_BY_NUMBER = {str(number): name for name, number in signals.NUMBERS.items()}


def _trapped(script: str) -> tuple[frozenset[str], frozenset[str]]:
    """The signals a shell script ``trap``\\ s (``TERM``, ``SIGTERM`` or ``15``): caught, ignored.

    ``trap '' TERM`` ignores the signal (SIG_IGN); ``trap - TERM`` puts the
    default action back, so it catches nothing.
    """
    caught: set[str] = set()
    ignored: set[str] = set()
    for match in _TRAP.finditer(script):
        action = match.group(1)
        if action == "-":
            continue
        for word in match.group(2).split():
            name = _BY_NUMBER.get(word) or ("" if word.startswith("SIG") else "SIG") + word
            if name in signals.NUMBERS:
                (ignored if action in ("''", '""') else caught).add(name)
    return frozenset(caught), frozenset(ignored)


def behaviour_for(pod: Mapping[str, Any], container: Mapping[str, Any],
                  image: ImageSpec | None) -> Behaviour:
    """The behaviour of ``container``: annotations over command over image default."""
    fields: dict[str, Any] = {}
    if image is not None:
        fields.update(run_seconds=FOREVER if image.serves else 0.0, exit_code=image.exit_code,
                      startup_seconds=image.startup_seconds,
                      shutdown_seconds=image.shutdown_seconds,
                      handles=image.handles)
    if ((pod.get("spec") or {}).get("shareProcessNamespace")) is True:
        fields["pid1"] = False  # the pause container is PID 1 of the pod's shared namespace
    command = from_command(container)
    if command is not None:
        fields.update(command)
    name = str(container.get("name") or "")
    for setting, text in annotations_for(pod, name).items():
        parse = _SETTINGS.get(setting)
        if parse is None:
            continue  # an unknown setting is ignored, as Kubernetes ignores unknown annotations
        try:
            fields.update(parse(text))
        except (ValueError, QuantityError) as error:
            raise ValueError(f"annotation {ANNOTATION_PREFIX}{name}.{setting}: "
                             f"invalid value {text!r}: {error}") from None
    if fields.pop("ignore_stop_signal", False):
        stop = image.stop_signal if image is not None else signals.DEFAULT_STOP_SIGNAL
        fields["ignores"] = frozenset({signals.SIGTERM, stop})
    if "ports" not in fields:
        fields["ports"] = _declared_ports(container, image)
    return Behaviour(**fields)


def _listen(text: str) -> dict[str, Any]:
    ports = frozenset(int(p) for p in text.replace(" ", "").split(",") if p)
    if not ports or not all(1 <= p <= 65535 for p in ports):
        raise ValueError("want TCP ports from 1 to 65535, e.g. 8080 or 80,443")
    return {"ports": ports}


def _cpu_usage(text: str) -> dict[str, Any]:
    milli = parse_quantity(text).milli_value()
    if milli < 0:
        raise ValueError("want a CPU quantity of 0 or more, e.g. 250m or 1.5")
    return {"cpu_usage": milli}


def cpu_in_use(pod: Mapping[str, Any], container: Mapping[str, Any]) -> int:
    """Millicores a running ``container`` of ``pod`` uses: its ``cpu-usage``, capped at its limit.

    A CPU limit is a CFS quota: the kernel lets the container run that much CPU
    time per period and no more, so a process that would use more is throttled
    to the limit. A request caps nothing (it is a share under contention and the
    scheduler's bookkeeping). Contention between containers on a full node is
    not modelled.
    """
    usage = behaviour_for(pod, container, None).cpu_usage
    limit = ((container.get("resources") or {}).get("limits") or {}).get("cpu")
    return usage if limit is None else min(usage, parse_quantity(str(limit)).milli_value())


def _yes(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


# setting -> the Behaviour fields its text sets
_SETTINGS: dict[str, Any] = {
    "crash-after": lambda t: {"run_seconds": parse_duration(t), "exit_code": 1},
    "exit-code": lambda t: {"exit_code": int(t)},
    "startup-seconds": lambda t: {"startup_seconds": parse_duration(t)},
    "ready-after": lambda t: {"ready_after": parse_duration(t)},
    "fail-readiness-after": lambda t: {"fail_readiness_after": parse_duration(t)},
    "fail-liveness-after": lambda t: {"fail_liveness_after": parse_duration(t)},
    "shutdown-seconds": lambda t: {"shutdown_seconds": parse_duration(t)},
    "ignore-stop-signal": lambda t: {"ignore_stop_signal": _yes(t)},
    "image-size": lambda t: {"image_size": parse_quantity(t).value()},
    "listen": _listen,
    "cpu-usage": _cpu_usage,
}
SETTINGS = tuple(_SETTINGS)


def _declared_ports(container: Mapping[str, Any], image: ImageSpec | None
                    ) -> frozenset[int] | None:
    """The image's server ports, else the container's declared TCP ports, else None (any)."""
    if image is not None and image.ports:
        return frozenset(image.ports)
    declared = {p.get("containerPort") for p in container.get("ports") or ()
                if isinstance(p, Mapping) and (p.get("protocol") or "TCP") == "TCP"}
    declared = {p for p in declared if isinstance(p, int)}
    return frozenset(declared) if declared else None
