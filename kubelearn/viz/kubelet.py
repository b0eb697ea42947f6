"""Plots for lesson 05: heartbeats, a pod's start-up, and CrashLoopBackOff, from records alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

# The steps of a pod's start, in order, as the kubelet records them.
START_STEPS = ["SandboxCreated", "Pulling", "Pulled", "Created", "Started"]
STEP_COLOURS = {"SandboxCreated": "tab:gray", "Pulling": "tab:orange", "Pulled": "tab:blue",
                "Created": "tab:purple", "Started": "tab:green"}


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
    ready = mine[(mine["reason"] == "PodStatusUpdated") & mine["message"].map(_all_ready)]
    if len(ready):
        rows.append(("Ready", float(ready["time"].iloc[0]), ready["message"].iloc[0]))
    frame = pd.DataFrame(rows, columns=["step", "time", "message"])
    frame["took"] = frame["time"].diff().fillna(0.0).round(2)
    return frame


def start_timeline(events: pd.DataFrame, pods: Iterable[str], namespace: str = "default",
                   ) -> Figure:
    """Each pod's start as coloured segments: sandbox, image pull, create, start, until ready."""
    import matplotlib.pyplot as plt

    pods = list(pods)
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.6 * len(pods)))
    for row, pod in enumerate(pods):
        steps = start_steps(events, pod, namespace)
        times = steps["time"].tolist()
        for (step, start), end in zip(zip(steps["step"], times, strict=True), times[1:],
                                      strict=False):
            ax.barh(row, end - start, left=start, color=STEP_COLOURS.get(step, "tab:cyan"),
                    edgecolor="white", height=0.5)
        if times:
            ax.text(times[-1] + 0.1, row, f"ready at {times[-1]:.2f}s", va="center", fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour) for colour in STEP_COLOURS.values()]
    labels = ["sandbox → pulling", "pulling the image", "pulled → created", "created → started",
              "started → ready"]
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_yticks(range(len(pods)), pods)
    ax.margins(x=0.03)
    ax.invert_yaxis()
    ax.set_xlabel("simulated seconds")
    fig.tight_layout()
    return fig


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
