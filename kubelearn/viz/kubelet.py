"""Plots and tables for lesson 05, from the kubelet's records alone.

Heartbeats; a pod's start-up; ImagePullBackOff and CrashLoopBackOff; probes (and a
widget for a slow starter's liveness probe); and termination: preStop, stop signal, SIGKILL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from kubelearn.kubelet.behaviour import ANNOTATION_PREFIX
from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The steps of a pod's start, in order, as the kubelet records them.
START_STEPS = ["SandboxCreated", "Pulling", "Pulled", "Created", "Started"]
# The stretch of a start that each record ends, and its colour: the pod's creation opens the
# first stretch, and each kubelet record closes one (the runtime's fixed times are in
# kubelearn/kubelet/runtime.py: sandbox 0.5 s, create 0.25 s, start 0.25 s).
START_STRETCHES = {
    "Scheduled": ("waiting for the scheduler", "tab:olive"),
    "SandboxCreated": ("pod sandbox (pause container, IP)", "tab:gray"),
    "Pulling": ("sandbox → pull begins", "tab:brown"),
    "Pulled": ("pulling the image", "tab:orange"),
    "Created": ("creating the container", "tab:purple"),
    "Started": ("starting the container", "tab:green"),
    "Ready": ("started → Ready", "tab:cyan"),
}


def pod_object(name: str, namespace: str = "default") -> str:
    """The record ``object`` of a pod."""
    return f"pod/{namespace}/{name}"


def lease_renewals_plot(events: pd.DataFrame, nodes: Iterable[str]) -> Figure:
    """One row per node, a tick at each Lease renewal its kubelet wrote."""
    import matplotlib.pyplot as plt

    nodes = list(nodes)
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(nodes)))
    renewals = events[events["reason"] == "LeaseRenewed"]
    handles: dict[str, Any] = {}
    for row, node in enumerate(nodes):
        times = renewals[renewals["component"] == f"kubelet/{node}"]["time"]
        if len(times):
            handles["Lease renewed"] = ax.vlines(times, row - 0.3, row + 0.3, color="tab:green")
        stopped = events[(events["component"] == f"kubelet/{node}")
                         & (events["reason"] == "KubeletStopped")]["time"]
        for when in stopped:
            handles["kubelet stopped"], = ax.plot(when, row, "x", color="tab:red", markersize=9)
    ax.set_yticks(range(len(nodes)), nodes)
    ax.set_xlabel("simulated seconds")
    ax.set_title("Lease renewals (kube-node-lease): a tick every 10 s per kubelet, none once "
                 "it stops")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles.values(), handles.keys(), fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def _all_ready(message: str) -> bool:
    """Whether a kubelet status message says ``Running n/n`` (every container ready)."""
    phase, _, counts = message.partition(" ")
    ready, _, total = counts.partition("/")
    return phase == "Running" and ready == total != ""


def start_steps(events: pd.DataFrame, pod: str, namespace: str = "default") -> pd.DataFrame:
    """When each start-up step of a pod's first start happened, and how long it took:
    ``took`` is the time since the step before, for the first step since the create."""
    mine = events[events["object"] == pod_object(pod, namespace)]
    rows = []
    for step in START_STEPS:
        found = mine[mine["reason"] == step]
        if len(found):
            rows.append((step, float(found["time"].iloc[0]), found["message"].iloc[0]))
    all_ready = mine["message"].map(_all_ready).astype(bool)
    ready = mine[(mine["reason"] == "PodStatusUpdated") & all_ready]
    if len(ready):
        rows.append(("Ready", float(ready["time"].iloc[0]), ready["message"].iloc[0]))
    frame = pd.DataFrame(rows, columns=["step", "time", "message"])
    born = created_at(events, pod, namespace)
    frame["took"] = frame["time"].diff()
    if len(frame):
        frame.loc[0, "took"] = frame["time"].iloc[0] - (born if born is not None else
                                                        frame["time"].iloc[0])
    frame["took"] = frame["took"].round(2)
    return frame


def created_at(events: pd.DataFrame, pod: str, namespace: str = "default") -> float | None:
    """When the pod was created, as the records show it: the first record about the pod.

    No record is written for the create itself, so the first reaction stands in: the
    scheduler queueing the pod or, when the pod names its node in ``spec.nodeName``, that
    node's kubelet taking it up. Both come at the instant of the create, because the watch
    delivers the new pod at once. ``None`` if no record mentions the pod.
    """
    times = events[events["object"] == pod_object(pod, namespace)]["time"]
    return float(times.min()) if len(times) else None


def start_stretches(events: pd.DataFrame, pod: str, namespace: str = "default") -> pd.DataFrame:
    """A pod's first start as stretches of time, each from its creation: ``what``, ``from``, ``to``.

    Each stretch ends at a step of :func:`start_steps` and is named after it in
    :data:`START_STRETCHES`; a stretch that took no time (a cached image's check) is kept
    with ``from == to``. A pod that named no node first waits for the scheduler's
    ``Scheduled`` (no time at all when a node fits at once).
    """
    born = created_at(events, pod, namespace)
    steps = start_steps(events, pod, namespace)
    mine = events[events["object"] == pod_object(pod, namespace)]
    bound = mine[mine["reason"] == "Scheduled"]["time"]
    times = ([("Scheduled", bound.iloc[0])] if len(bound) else []) + list(
        zip(steps["step"], steps["time"], strict=True))
    rows, previous = [], 0.0
    for step, time in times:
        since = round(float(time) - born, 2)
        rows.append((step, START_STRETCHES[step][0], previous, since))
        previous = since
    return pd.DataFrame(rows, columns=["step", "what", "from", "to"])


def start_timeline(events: pd.DataFrame, pods: Iterable[str], namespace: str = "default",
                   title: str = "Each pod from its creation to Ready: where the seconds go",
                   ) -> Figure:
    """Each pod's start as coloured stretches, every pod measured from its own creation.

    Pods created at different moments line up at 0, so their starts compare directly;
    the label under each name keeps the absolute time of the creation.
    """
    import matplotlib.pyplot as plt

    pods = list(pods)
    stretches = {pod: start_stretches(events, pod, namespace) for pod in pods}
    longest = max([float(s["to"].max()) for s in stretches.values() if len(s)] + [1.0])
    fig, ax = plt.subplots(figsize=(8.5, 1.6 + 0.6 * len(pods)), layout="constrained")
    drawn: set[str] = set()
    for row, pod in enumerate(pods):
        for step, begin, end in stretches[pod][["step", "from", "to"]].itertuples(index=False):
            if end > begin:
                _draw_stretch(ax, row, step, begin, end, longest)
                drawn.add(step)
        end = float(stretches[pod]["to"].max()) if len(stretches[pod]) else 0.0
        ax.text(end + longest * 0.02, row, _start_outcome(stretches[pod]), va="center",
                fontsize=8)
    ax.set_yticks(range(len(pods)), [_pod_label(events, pod, namespace) for pod in pods],
                  fontsize=8)
    ax.set_xlim(0, longest * 1.3)
    ax.invert_yaxis()
    shown = [step for step in START_STRETCHES if step in drawn]
    fig.legend([plt.Rectangle((0, 0), 1, 1, color=START_STRETCHES[s][1]) for s in shown],
               [START_STRETCHES[s][0] for s in shown], fontsize=8, ncols=min(len(shown), 4),
               loc="outside lower center")
    ax.set_xlabel("seconds since the pod was created (simulated)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _draw_stretch(ax: Axes, row: int, step: str, begin: float, end: float, longest: float) -> None:
    """One coloured bar; its length in seconds written on it when there is room."""
    ax.barh(row, end - begin, left=begin, color=START_STRETCHES[step][1], edgecolor="white",
            height=0.5)
    if end - begin >= 0.12 * longest:
        ax.text((begin + end) / 2, row, f"{end - begin:.2f} s", ha="center", va="center",
                fontsize=8, color="white")


def _pod_label(events: pd.DataFrame, pod: str, namespace: str) -> str:
    """A pod's name and, under it, the simulated second it was created."""
    born = created_at(events, pod, namespace)
    return pod if born is None else f"{pod}\ncreated at {born:g} s"


def _start_outcome(stretches: pd.DataFrame) -> str:
    """The words after a pod's bar: when it became Ready, or how far it got."""
    if not len(stretches):
        return "no records"
    last, steps = stretches.iloc[-1], set(stretches["step"])
    cached = "Pulled" in steps and "Pulling" not in steps  # no pull: the node had the image
    note = "\n(image already on the node)" if cached else ""
    if last["step"] == "Ready":
        return f"Ready after {last['to']:.2f} s{note}"
    return f"not Ready: last step {last['step']} at {last['to']:.2f} s{note}"


def restarts(events: pd.DataFrame, pod: str, namespace: str = "default") -> pd.DataFrame:
    """Every start of a pod's container, and the back-off the kubelet waited before it.

    Indexed by the RESTARTS count each start makes; times are seconds since the pod was
    created. The wait runs from the container's death to the kubelet's next attempt (its
    image check, ``Pulled``), so it leaves out the half second to create and start.
    """
    mine = events[events["object"] == pod_object(pod, namespace)]
    born = created_at(events, pod, namespace) or 0.0
    started = mine[mine["reason"] == "Started"]["time"].tolist()
    died = mine[mine["reason"] == "ContainerDied"]["time"].tolist()
    attempts = mine[mine["reason"].isin(["Pulling", "Pulled"])]["time"].tolist()
    rows = []
    for index, start in enumerate(started):
        waited = None
        if 0 < index <= len(died):
            death = died[index - 1]
            waited = round(min(t for t in attempts if t >= death) - death, 2)
        rows.append((index, round(float(start) - born, 2), waited))
    return pd.DataFrame(rows, columns=["restarts", "started (s after creation)",
                                       "back-off before it (s)"]).set_index("restarts")


def crashloop_plot(events: pd.DataFrame, pod: str, namespace: str = "default") -> Figure:
    """RESTARTS over time as a staircase, each step labelled with the back-off before it."""
    import matplotlib.pyplot as plt

    table = restarts(events, pod, namespace)
    born = created_at(events, pod, namespace) or 0.0
    fig, ax = plt.subplots(figsize=(8, 3.4))
    end = float(events["time"].max()) - born
    counts, starts = list(table.index), list(table["started (s after creation)"])
    ax.step(starts + [end], counts + counts[-1:], where="post", color="tab:red",
            label="RESTARTS")
    for count, start, waited in zip(counts, starts, table["back-off before it (s)"],
                                    strict=True):
        if count > 0:
            ax.annotate(f"waited {waited:g} s", (start, count), textcoords="offset points",
                        xytext=(3, 4), fontsize=8, ha="left")
    ax.set_xlabel("seconds since the pod was created (simulated)")
    ax.set_ylabel("RESTARTS")
    ax.set_ylim(-0.3, counts[-1] + 1.2)
    ax.set_xlim(0, end * 1.02)
    ax.set_title(f"{pod}: CrashLoopBackOff, each wait twice the last, capped at 300 s")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# -- a lesson's shorthand for a one-container pod ---------------------------------------------

def app_pod(name: str, *, node: str = "node-1", image: str = "nginx:1.27",
            sim: Mapping[str, str] | None = None, spec: Mapping[str, Any] | None = None,
            **container: Any) -> dict:
    """A pod with one container, ``app``, bound to ``node``: the manifest, as a dict.

    ``sim`` says how the simulated process behaves (the settings of
    :mod:`kubelearn.kubelet.behaviour`, e.g. ``{"startup-seconds": "45"}``) and becomes
    ``sim.kubelearn.io/app.<setting>`` annotations; ``spec`` adds pod fields
    (``terminationGracePeriodSeconds``); the other keywords are container fields
    (``livenessProbe=...``, ``lifecycle=...``).
    """
    annotations = {f"{ANNOTATION_PREFIX}app.{k}": str(v) for k, v in (sim or {}).items()}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
            "spec": {"nodeName": node, **(spec or {}),
                     "containers": [{"name": "app", "image": image, **container}]}}


# -- ImagePullBackOff and restartPolicy ----------------------------------------------------------

def pull_attempts(events: pd.DataFrame, pod: str, namespace: str = "default") -> pd.DataFrame:
    """Each pull of a pod's image: when it began and failed, and the back-off before it.

    Times are seconds since the pod was created. The image back-off counts from the
    failed pull (``IsInBackOffSinceUpdate``), so the wait runs from the previous failure
    to this pull; the kubelet looks again at each pod sync, every 10 s while it fails.
    """
    mine = events[events["object"] == pod_object(pod, namespace)]
    born = created_at(events, pod, namespace) or 0.0
    began = mine[mine["reason"] == "Pulling"]["time"].tolist()
    failed = mine[(mine["reason"] == "Failed") & (mine["message"] == "Error: ErrImagePull")]
    failures = failed["time"].tolist()
    rows, previous = [], None
    for number, start in enumerate(began, 1):
        end = next((t for t in failures if t >= start), None)
        waited = None if previous is None else round(start - previous, 2)
        rows.append((number, round(start - born, 2),
                     None if end is None else round(end - born, 2), waited))
        previous = end
    return pd.DataFrame(rows, columns=["pull", "began (s)", "failed (s)",
                                       "back-off before it (s)"]).set_index("pull")


def restart_policy_table() -> pd.DataFrame:
    """What the kubelet does with an exited container, by restartPolicy and exit code.

    From :func:`kubelearn.kubelet.podstatus.should_restart` (upstream's
    ``ShouldContainerBeRestarted``); the pod's STATUS after the exit is ``Completed`` for
    code 0 and ``Error`` otherwise, until a restart.
    """
    from kubelearn.kubelet.podstatus import should_restart

    def outcome(policy: str, code: int) -> str:
        if should_restart(policy, code):
            return "restarted (with back-off)"
        return f"stays stopped: {'Completed' if code == 0 else 'Error'}"

    policies = {"Always": "the default; the only one a Deployment allows",
                "OnFailure": "a Job: retry failures in place",
                "Never": "a Job: a new pod per retry"}
    rows = [(policy, outcome(policy, 0), outcome(policy, 1), who)
            for policy, who in policies.items()]
    return pd.DataFrame(rows, columns=["restartPolicy", "exit code 0", "exit code 1",
                                       "used for"]).set_index("restartPolicy")


# -- probes ----------------------------------------------------------------------------------

# A failed probe's marker: (marker, colour, legend label, offset from the lane's middle).
PROBE_MARKS = {
    "Startup": ("s", "tab:purple", "startup probe failed", 0.0),
    "Liveness": ("x", "tab:red", "liveness probe failed", -0.12),
    "Readiness": ("v", "tab:orange", "readiness probe failed", 0.12),
}
RUNNING_COLOURS = {True: ("tab:green", "running, Ready (in the Service)"),
                   False: ("#b7dfb0", "running, not Ready (out of the Service)")}


def container_runs(events: pd.DataFrame, pod: str, namespace: str = "default",
                   until: float | None = None) -> pd.DataFrame:
    """Stretches of a pod's life while its container ran: ``from``, ``to``, ``ready``.

    Seconds since the pod was created. A run begins at ``Started`` and ends at
    ``ContainerDied`` (or ``until``, default the last record); within it, the kubelet's
    status updates (``Running 1/1``, ``Running 0/1``) say whether the pod was Ready.
    """
    mine = events[events["object"] == pod_object(pod, namespace)]
    born = created_at(events, pod, namespace) or 0.0
    end = float(events["time"].max() if until is None else until)
    statuses = mine[mine["reason"] == "PodStatusUpdated"]
    changes = list(zip(statuses["time"], statuses["message"].map(_all_ready), strict=True))
    died = mine[mine["reason"] == "ContainerDied"]["time"].tolist()
    rows = []
    for start in mine[mine["reason"] == "Started"]["time"]:
        stop = min([t for t in died if t >= start] + [end])
        cuts = sorted({start, stop} | {t for t, _ in changes if start < t < stop})
        for a, b in zip(cuts, cuts[1:], strict=False):
            ready = [r for t, r in changes if t <= a]
            rows.append((round(a - born, 2), round(b - born, 2), bool(ready and ready[-1])))
    return pd.DataFrame(rows, columns=["from", "to", "ready"])


def probe_failures(events: pd.DataFrame, pod: str, namespace: str = "default") -> pd.DataFrame:
    """Each failed probe of a pod (its ``Unhealthy`` events): ``time`` since creation,
    ``probe`` (Startup, Liveness, Readiness) and the kubelet's message."""
    mine = events[(events["object"] == pod_object(pod, namespace))
                  & (events["reason"] == "Unhealthy")]
    born = created_at(events, pod, namespace) or 0.0
    return pd.DataFrame({"time": (mine["time"] - born).round(2).to_numpy(),
                         "probe": mine["message"].str.split(" ").str[0].to_numpy(),
                         "message": mine["message"].to_numpy()})


def probe_timeline(events: pd.DataFrame, pods: Iterable[str], namespace: str = "default",
                   title: str = "What failing probes do: readiness takes the pod out of the "
                   "Service,\nliveness (and startup) kill the container",
                   labels: Mapping[str, str] | None = None) -> Figure:
    """One lane per pod: when its container ran, whether it was Ready, each failed probe,
    and each kill, every pod measured from its own creation."""
    import matplotlib.pyplot as plt

    pods = list(pods)
    labels = dict(labels or {})
    fig, ax = plt.subplots(figsize=(8.5, 1.7 + 0.75 * len(pods)), layout="constrained")
    handles: dict[str, Any] = {}
    longest = 1.0
    for row, pod in enumerate(pods):
        born = created_at(events, pod, namespace) or 0.0
        for begin, end, ready in container_runs(events, pod, namespace).itertuples(index=False):
            colour, label = RUNNING_COLOURS[ready]
            handles[label] = ax.barh(row, end - begin, left=begin, height=0.5, color=colour,
                                     edgecolor="white")
            longest = max(longest, end)
        for time, probe in probe_failures(events, pod, namespace)[["time", "probe"]].itertuples(
                index=False):
            marker, colour, label, offset = PROBE_MARKS[probe]
            handles[label], = ax.plot(time, row + offset, marker, color=colour, markersize=7,
                                      markeredgewidth=2, linestyle="none")
        mine = events[events["object"] == pod_object(pod, namespace)]
        for when in mine[mine["reason"] == "Killing"]["time"] - born:
            handles["killed by the kubelet"] = ax.vlines(when, row - 0.38, row + 0.38,
                                                         color="black", linewidth=2.5)
    names = [labels.get(pod, pod) + f"\n{_restart_count(events, pod, namespace)} restarts"
             for pod in pods]
    ax.set_yticks(range(len(pods)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, longest * 1.01)
    ax.set_xlabel("seconds since the pod was created (simulated)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    order = [RUNNING_COLOURS[True][1], RUNNING_COLOURS[False][1]] + [
        mark[2] for mark in PROBE_MARKS.values()] + ["killed by the kubelet"]
    shown = [label for label in order if label in handles]
    fig.legend([handles[label] for label in shown], shown, fontsize=8, loc="outside lower center",
               ncols=min(len(shown), 3))
    return fig


def _restart_count(events: pd.DataFrame, pod: str, namespace: str) -> int:
    """RESTARTS: the container's starts after the first."""
    mine = events[(events["object"] == pod_object(pod, namespace))
                  & (events["reason"] == "Started")]
    return max(len(mine) - 1, 0)


def slow_start(startup_seconds: float = 45, period: int = 10, failure_threshold: int = 3,
               startup_probe: bool = False, seconds: float = 180, seed: int = 0
               ) -> pd.DataFrame:
    """A slow starter with a liveness probe on a fresh one-node cluster: its records.

    The app answers nothing for ``startup_seconds`` after each start; the liveness probe
    runs every ``period`` s and kills after ``failure_threshold`` failures in a row. With
    ``startup_probe``, a startup probe on the same endpoint (every 10 s, 30 failures
    allowed: 5 minutes) holds the liveness probe back until the app answers.
    """
    from kubelearn.cluster import Cluster

    healthz = {"httpGet": {"path": "/healthz", "port": 80}}
    probes: dict[str, Any] = {"livenessProbe": {**healthz, "periodSeconds": int(period),
                                                "failureThreshold": int(failure_threshold)}}
    if startup_probe:
        probes["startupProbe"] = {**healthz, "failureThreshold": 30}
    cluster = Cluster(seed=seed, nodes=1)
    cluster.apply(app_pod("slow", sim={"startup-seconds": f"{startup_seconds:g}"}, **probes))
    cluster.run(seconds)
    return cluster.events()


def slow_start_figure(startup_seconds: float = 45, period: int = 10, failure_threshold: int = 3,
                      startup_probe: bool = False) -> Figure:
    """The widget's picture for one setting: the slow starter's lane, the outcome in the title."""
    events = slow_start(startup_seconds, period, failure_threshold, startup_probe)
    mine = events[events["object"] == pod_object("slow")]
    first = (f"app answers {startup_seconds:g} s after each start · liveness every {period} s, "
             f"kills at the {_ordinal(failure_threshold)} failure")
    if startup_probe and (mine["reason"] == "Killing").any():
        second = "killed: even the startup probe's 30 × 10 s were too short"
    elif (mine["reason"] == "Killing").any():
        second = (f"killed at every start: ({failure_threshold} − 1) × {period} = "
                  f"{(failure_threshold - 1) * period} s after liveness's first run, which comes "
                  f"up to {period} s after the start")
    elif startup_probe:
        second = "with a startupProbe (30 × 10 s): never killed, liveness waited for the app"
    else:
        second = "never killed: the app answered before liveness gave up"
    return probe_timeline(events, ["slow"], title=f"{first}\n{second}")


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def slow_start_widget(startup_seconds: int = 45, period: int = 10, failure_threshold: int = 3
                      ) -> ipywidgets.Widget:
    """Sliders for the app's start-up time and the liveness probe; a startupProbe checkbox."""
    import ipywidgets as widgets

    controls = {
        "startup_seconds": widgets.IntSlider(value=startup_seconds, min=0, max=120, step=5,
                                             description="starts in (s)",
                                             continuous_update=False),
        "period": widgets.IntSlider(value=period, min=1, max=30, description="periodSeconds",
                                    continuous_update=False),
        "failure_threshold": widgets.IntSlider(value=failure_threshold, min=1, max=10,
                                               description="failureThreshold",
                                               continuous_update=False),
        "startup_probe": widgets.Checkbox(value=False, description="startupProbe"),
    }
    style = {"description_width": "initial"}
    for control in controls.values():
        control.style = style

    # Through the module, so a test may replace slow_start_figure.
    return redrawn(lambda **setting: slow_start_figure(**setting), controls, rows=(2,))


# -- termination -----------------------------------------------------------------------------

# pods.py's records: "preStop hook of container app runs 5s", "... exited with code 137 (Error)"
_HOOK = re.compile(r"runs ([\d.]+)s")
_EXIT = re.compile(r"exited with code (\d+)")


def termination_steps(events: pd.DataFrame, pods: Iterable[str],
                      namespace: str = "default") -> pd.DataFrame:
    """How each pod stopped, in seconds from the kubelet's ``Killing`` (the delete).

    Columns: how long the preStop hook ran (``none`` for a container without one), when
    the image's stop signal was sent (after the hook: SIGTERM unless the image names
    another, SIGQUIT for nginx), when the process exited, its exit code, and when the
    pod left the API.
    """
    rows = []
    for pod in pods:
        mine = events[events["object"] == pod_object(pod, namespace)]
        killing = mine[mine["reason"] == "Killing"]["time"]
        if not len(killing):
            continue
        zero = float(killing.iloc[-1])
        later = mine[mine["time"] >= zero]
        hooks = later[later["reason"] == "PreStopHook"]["message"].str.extract(_HOOK)[0]
        hook = float(hooks.iloc[0]) if len(hooks) else None
        died = later[later["reason"] == "ContainerDied"]
        code = died["message"].str.extract(_EXIT)[0]
        gone = later[later["reason"] == "PodDeleted"]["time"]
        rows.append((pod, "none" if hook is None else f"{hook:g} s", hook or 0.0,
                     round(float(died["time"].iloc[0]) - zero, 2) if len(died) else None,
                     int(code.iloc[0]) if len(code) else -1,
                     round(float(gone.iloc[0]) - zero, 2) if len(gone) else None))
    return pd.DataFrame(rows, columns=["pod", "preStop hook", "stop signal at", "exited at",
                                       "exit code", "removed from the API at"]).set_index("pod")


def termination_timeline(events: pd.DataFrame, pods: Iterable[str], grace: float = 30,
                         namespace: str = "default") -> Figure:
    """One lane per pod from its delete: the preStop hook, the wait after the stop signal, the exit.

    A dashed line marks the end of the grace period (``terminationGracePeriodSeconds``),
    where SIGKILL ends whatever still runs (exit code 137 = 128 + 9).
    """
    import matplotlib.pyplot as plt

    steps = termination_steps(events, pods, namespace)
    fig, ax = plt.subplots(figsize=(8.5, 1.9 + 0.6 * len(steps)), layout="constrained")
    handles: dict[str, Any] = {}
    for row, (_, step) in enumerate(steps.iterrows()):
        hook, exited, code = step["stop signal at"], step["exited at"], int(step["exit code"])
        if pd.isna(exited):
            ax.text(hook, row, "  still stopping when the records end", va="center", fontsize=8)
            continue
        if hook > 0:
            handles["preStop hook runs"] = ax.barh(row, hook, height=0.5, color="tab:blue")
        if exited > hook:
            handles["stop signal sent; waiting for the process to exit"] = ax.barh(
                row, exited - hook, left=hook, height=0.5, color="tab:orange")
        killed = code == 137
        label = "SIGKILL: exit code 137" if killed else f"exited by itself: code {code}"
        handles[label], = ax.plot(exited, row, "X" if killed else "o",
                                  color="tab:red" if killed else "tab:green", markersize=9)
        ax.text(exited + grace * 0.03, row, f"exit {code} after {exited:g} s", va="center",
                fontsize=8)
    handles[f"grace period ends: {grace:g} s"] = ax.axvline(grace, color="gray",
                                                             linestyle="--")
    ax.set_yticks(range(len(steps)), list(steps.index), fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(-1, grace * 1.35)
    ax.set_xlabel("seconds since the pod was deleted (simulated)")
    ax.set_title("Deleting a pod: preStop, then the stop signal, then SIGKILL when the "
                 "grace period is up")
    ax.grid(axis="x", alpha=0.3)
    shown = sorted(handles, key=lambda label: _TERMINATION_ORDER.index(label.split(":")[0]))
    fig.legend([handles[label] for label in shown], shown, fontsize=8,
               loc="outside lower center", ncols=3)
    return fig


# The termination plot's legend, in the order things happen.
_TERMINATION_ORDER = ["preStop hook runs", "stop signal sent; waiting for the process to exit",
                      "exited by itself", "SIGKILL", "grace period ends"]
