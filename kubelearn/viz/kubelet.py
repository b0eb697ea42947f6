"""Plots for lesson 05: heartbeats, a pod's start-up, and CrashLoopBackOff, from records alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
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
    for row, node in enumerate(nodes):
        times = renewals[renewals["component"] == f"kubelet/{node}"]["time"]
        ax.vlines(times, row - 0.3, row + 0.3, color="tab:green")
        stopped = events[(events["component"] == f"kubelet/{node}")
                         & (events["reason"] == "KubeletStopped")]["time"]
        for when in stopped:
            ax.plot(when, row, "x", color="tab:red", markersize=9)
    ax.set_yticks(range(len(nodes)), nodes)
    ax.set_xlabel("simulated seconds")
    ax.set_title("Lease renewals (kube-node-lease), one tick each")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _all_ready(message: str) -> bool:
    """Whether a kubelet status message says ``Running n/n`` (every container ready)."""
    phase, _, counts = message.partition(" ")
    ready, _, total = counts.partition("/")
    return phase == "Running" and ready == total != ""


def start_steps(events: pd.DataFrame, pod: str, namespace: str = "default") -> pd.DataFrame:
    """When each start-up step of a pod's first start happened, and how long it took."""
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
    frame["took"] = frame["time"].diff().fillna(0.0).round(2)
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

    The wait runs from the container's death to the kubelet's next attempt
    (its image check, ``Pulled``), so it excludes the time to create and start.
    """
    mine = events[events["object"] == pod_object(pod, namespace)]
    started = mine[mine["reason"] == "Started"]["time"].tolist()
    died = mine[mine["reason"] == "ContainerDied"]["time"].tolist()
    attempts = mine[mine["reason"].isin(["Pulling", "Pulled"])]["time"].tolist()
    rows = []
    for index, start in enumerate(started):
        waited = None
        if 0 < index <= len(died):
            death = died[index - 1]
            waited = round(min(t for t in attempts if t >= death) - death, 2)
        rows.append((index, float(start), waited))
    return pd.DataFrame(rows, columns=["restarts", "started at", "back-off before it"])


def crashloop_plot(events: pd.DataFrame, pod: str, namespace: str = "default") -> Figure:
    """RESTARTS over time as a staircase, each step labelled with the back-off before it."""
    import matplotlib.pyplot as plt

    table = restarts(events, pod, namespace)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    end = float(events["time"].max())
    counts = list(table["restarts"])
    ax.step(list(table["started at"]) + [end], counts + counts[-1:], where="post",
            color="tab:red")
    for _, row in table.iterrows():
        if row["restarts"] > 0:
            ax.annotate(f"+{row['back-off before it']:.0f}s",
                        (row["started at"], row["restarts"]), textcoords="offset points",
                        xytext=(-4, 6), fontsize=8, ha="right")
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("RESTARTS")
    ax.set_ylim(-0.3, counts[-1] + 1.2)
    ax.set_title(f"{pod}: CrashLoopBackOff, the wait doubles up to 5 minutes")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
