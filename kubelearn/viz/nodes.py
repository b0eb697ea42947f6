"""Plots for lesson 06: a dead node's timeline, and how zones slow evictions, from records alone.

Everything here reads ``cluster.events()`` (the simulation's records): the
kubelet's ``LeaseRenewed`` and ``KubeletStopped``, the node lifecycle
controller's ``MonitorNodeHealth``, ``NodeStatusUnknown``, ``NoScheduleTaints``
and ``NoExecuteTaintAdded``, the taint eviction controller's
``PodEvictionScheduled`` and ``TaintManagerEviction``, the ReplicaSet
controller's ``SuccessfulCreate``, the scheduler's ``Scheduled`` and the new
pods' kubelets' ``PodStatusUpdated``. Nothing reaches into a component.

The lesson's stories, as calls: :func:`replicaset_manifest` writes its
ReplicaSet, :func:`simulate_node_failure` kills a node under it,
:func:`zone_failure` stops many nodes of a 63-node cluster; :func:`zone_states`
and :func:`ranking_table` put their results in tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from kubelearn.controllers.nodelifecycle import NODE_MONITOR_PERIOD
from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster

LIFECYCLE = "node-lifecycle-controller"
TAINT_EVICTION = "taint-eviction-controller"
REPLICASET = "replicaset-controller"
SCHEDULER = "kube-scheduler"

COLOURS = {"lease": "tab:green", "check": "0.6", "grace": "tab:orange", "unknown": "tab:red",
           "noschedule": "tab:orange", "noexecute": "tab:red", "countdown": "tab:purple",
           "evicted": "black", "kept": "tab:green", "created": "tab:blue",
           "scheduled": "tab:blue", "starting": "tab:cyan", "running": "tab:green"}


@dataclass
class PodLane:
    """One pod of the dead node: its toleration countdown, and how it ended."""

    name: str
    owner: str | None = None  # "replicaset/default/web", from the SuccessfulCreate record
    countdown_from: float | None = None
    countdown_to: float | None = None  # when the deletion was due
    evicted: float | None = None
    cancelled: float | None = None


@dataclass
class NewPodLane:
    """One replacement pod: created, scheduled (where), Running."""

    name: str
    owner: str
    created: float
    scheduled: float | None = None
    node: str | None = None
    running: float | None = None


@dataclass
class NodeFailure:
    """What the records say happened to one node, in the order it happened."""

    node: str
    renewals: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)
    restarted: list[float] = field(default_factory=list)
    checks: list[float] = field(default_factory=list)
    last_heartbeat: float | None = None
    grace: float | None = None
    unknown: float | None = None
    noschedule: float | None = None
    noexecute: float | None = None
    noexecute_key: str = ""
    untainted: float | None = None
    pods: list[PodLane] = field(default_factory=list)
    replacements: list[NewPodLane] = field(default_factory=list)


def _times(frame: pd.DataFrame) -> list[float]:
    return [float(t) for t in frame["time"]]


def _first_at_or_after(frame: pd.DataFrame, at: float) -> pd.Series | None:
    later = frame[frame["time"] >= at]
    return None if later.empty else later.iloc[0]


def _is_running(message: str) -> bool:
    """A kubelet status message ``Running n/n``: every container ready."""
    phase, _, counts = message.partition(" ")
    ready, _, total = counts.partition("/")
    return phase == "Running" and ready == total != ""


def node_failure(events: pd.DataFrame, node: str, namespace: str = "default") -> NodeFailure:
    """Read one node's failure, and what followed, out of the records."""
    out = NodeFailure(node)
    kubelet = events[events["component"] == f"kubelet/{node}"]
    out.renewals = _times(kubelet[kubelet["reason"] == "LeaseRenewed"])
    out.stopped = _times(kubelet[kubelet["reason"] == "KubeletStopped"])
    lifecycle = events[events["component"] == LIFECYCLE]
    out.checks = _times(lifecycle[lifecycle["reason"] == "MonitorNodeHealth"])
    mine = lifecycle[lifecycle["object"] == f"node/{node}"]
    unknown = mine[mine["reason"] == "NodeStatusUnknown"]
    if unknown.empty:
        return out
    out.unknown = float(unknown["time"].iloc[0])
    found = re.search(r"grace period ([\d.]+)s", unknown["message"].iloc[0])
    out.grace = float(found.group(1)) if found else None
    out.last_heartbeat = max((t for t in out.renewals if t <= out.unknown), default=None)
    stop = max((t for t in out.stopped if t <= out.unknown), default=out.unknown)
    out.restarted = [t for t in _times(kubelet[kubelet["reason"] == "Starting"]) if t > stop]
    noschedule = mine[(mine["reason"] == "NoScheduleTaints")
                      & mine["message"].str.contains("unreachable|not-ready")]
    row = _first_at_or_after(noschedule, out.unknown)
    out.noschedule = None if row is None else float(row["time"])
    row = _first_at_or_after(mine[mine["reason"] == "NoExecuteTaintAdded"], out.unknown)
    if row is not None:
        out.noexecute = float(row["time"])
        out.noexecute_key = row["message"].split(" ")[0].removesuffix(":NoExecute")
    row = _first_at_or_after(mine[mine["reason"] == "NoExecuteTaintRemoved"], out.unknown)
    out.untainted = None if row is None else float(row["time"])
    out.pods = _pods_on(events, node, namespace, stop)
    out.replacements = _replacements(events, out.pods, namespace)
    return out


def _pods_on(events: pd.DataFrame, node: str, namespace: str, before: float) -> list[PodLane]:
    """The pods bound to ``node`` before ``before``, with their countdowns and evictions."""
    bound = events[(events["component"] == SCHEDULER) & (events["reason"] == "Scheduled")
                   & (events["time"] <= before)
                   & events["message"].str.endswith(f" to {node}")]
    created = events[(events["component"] == REPLICASET) & (events["reason"] == "SuccessfulCreate")]
    owners = {m.removeprefix("Created pod: "): o
              for o, m in zip(created["object"], created["message"], strict=True)}
    eviction = events[events["component"] == TAINT_EVICTION]
    lanes = []
    for obj in dict.fromkeys(bound["object"]):
        name = obj.split("/")[-1]
        if not obj.startswith(f"pod/{namespace}/"):
            continue
        lane = PodLane(name, owners.get(name))
        mine = eviction[eviction["object"] == obj]
        scheduled = mine[mine["reason"] == "PodEvictionScheduled"]
        if not scheduled.empty:
            lane.countdown_from = float(scheduled["time"].iloc[0])
            due = re.search(r"deletion at ([\d.]+)s", scheduled["message"].iloc[0])
            lane.countdown_to = float(due.group(1)) if due else None
        marking = mine[(mine["reason"] == "TaintManagerEviction")
                       & mine["message"].str.startswith("Marking for deletion")]
        lane.evicted = None if marking.empty else float(marking["time"].iloc[0])
        cancelling = mine[(mine["reason"] == "TaintManagerEviction")
                          & mine["message"].str.startswith("Cancelling deletion")]
        lane.cancelled = None if cancelling.empty else float(cancelling["time"].iloc[0])
        lanes.append(lane)
    return lanes


def _replacements(events: pd.DataFrame, pods: list[PodLane], namespace: str) -> list[NewPodLane]:
    """The pods each evicted pod's ReplicaSet created after the eviction."""
    created = events[(events["component"] == REPLICASET) & (events["reason"] == "SuccessfulCreate")]
    evicted_at: dict[str, float] = {}
    for lane in pods:
        if lane.evicted is not None and lane.owner is not None:
            evicted_at[lane.owner] = min(evicted_at.get(lane.owner, lane.evicted), lane.evicted)
    wanted = {o: sum(1 for p in pods if p.owner == o and p.evicted is not None)
              for o in evicted_at}
    out = []
    for owner, since in sorted(evicted_at.items(), key=lambda item: item[1]):
        mine = created[(created["object"] == owner) & (created["time"] >= since)]
        for time, message in list(zip(mine["time"], mine["message"], strict=True))[:wanted[owner]]:
            lane = NewPodLane(message.removeprefix("Created pod: "), owner, float(time))
            obj = f"pod/{namespace}/{lane.name}"
            pod = events[events["object"] == obj]
            bound = pod[(pod["component"] == SCHEDULER) & (pod["reason"] == "Scheduled")]
            if not bound.empty:
                lane.scheduled = float(bound["time"].iloc[0])
                lane.node = bound["message"].iloc[0].rsplit(" to ", 1)[-1]
            running = pod[(pod["reason"] == "PodStatusUpdated") & pod["message"].map(_is_running)]
            lane.running = None if running.empty else float(running["time"].iloc[0])
            out.append(lane)
    return out


def failure_steps(events: pd.DataFrame, node: str, namespace: str = "default") -> pd.DataFrame:
    """The failure as a table: each step, when, and how long after the last heartbeat."""
    f = node_failure(events, node, namespace)
    rows: list[tuple[str, float | None]] = [
        ("last lease renewal (heartbeat)", f.last_heartbeat),
        (f"Ready=Unknown (grace period {f.grace:g}s)" if f.grace else "Ready=Unknown", f.unknown),
        ("tainted NoSchedule (no new pods)", f.noschedule),
        (f"tainted {f.noexecute_key}:NoExecute" if f.noexecute_key else "tainted NoExecute",
         f.noexecute)]
    rows += [(f"{p.name} evicted (TaintManagerEviction)", p.evicted) for p in f.pods]
    rows += [(f"{p.name} kept: node back in time", p.cancelled) for p in f.pods
             if p.cancelled is not None]
    for new in f.replacements:
        rows += [(f"{new.name} created by {new.owner.split('/')[-1]}", new.created),
                 (f"{new.name} scheduled to {new.node}", new.scheduled),
                 (f"{new.name} Running", new.running)]
    frame = pd.DataFrame([r for r in rows if r[1] is not None], columns=["step", "time"])
    base = f.last_heartbeat
    frame["after last heartbeat"] = frame["time"] - base if base is not None else None
    return frame


def node_failure_timeline(cluster: Cluster | pd.DataFrame, node: str, *,
                          namespace: str = "default", max_pods: int = 6) -> Figure:
    """A dead node's story on one time axis, from the records alone.

    Lanes, top to bottom: the kubelet's lease renewals; the node lifecycle
    controller's checks, the grace period and Ready=Unknown; the node's taints
    (one bar each, from added to removed); one lane per pod that was on the node
    (its toleration countdown and its eviction); one lane per replacement pod
    (created, where it was scheduled, Running). The legend, under the plot,
    names only what was drawn. ``cluster`` may be a Cluster or its ``events()``.
    A node that never went Unknown gets its heartbeats and a title that says so.
    The axis runs to :func:`timeline_span`'s end; a run that stopped sooner has
    the time after it shaded as not simulated, so no lane seems to stop for a reason.
    """
    import matplotlib.pyplot as plt

    events = cluster if isinstance(cluster, pd.DataFrame) else cluster.events()
    f = node_failure(events, node, namespace)
    pods, new = f.pods[:max_pods], f.replacements[:max_pods]
    labels = [f"kubelet on {node}\n(lease renewals)", "node lifecycle\ncontroller",
              f"taints on {node}"]
    labels += [f"pod {p.name}" for p in pods]
    labels += [f"new pod {p.name}" + (f" → {p.node}" if p.node else "") for p in new]
    fig, ax = plt.subplots(figsize=(9, 2.3 + 0.4 * len(labels)), layout="constrained")
    if f.unknown is None:
        return _never_failed(fig, ax, f, labels[:1])
    start, end = timeline_span(f, max_pods)
    ax.set_xlim(start, end)  # first: text is placed by what fits at this scale
    # Lanes stop where the run stopped: nothing is drawn that the run did not record.
    ran_to = float(events["time"].max()) if cluster is events else cluster.now
    until = min(end, ran_to)
    _heartbeat_lane(ax, f, start, until)
    _controller_lane(ax, f, start, until)
    _taint_lane(ax, f, until)
    for row, lane in enumerate(pods, start=3):
        _pod_lane(ax, row, lane, f, start, until)
    for row, lane in enumerate(new, start=3 + len(pods)):
        _new_pod_lane(ax, row, lane, until)
    if f.last_heartbeat is not None:
        ax.axvline(f.last_heartbeat, color=COLOURS["lease"], lw=0.8, ls=":", zorder=0,
                   label="last heartbeat")
    if end - until > NODE_MONITOR_PERIOD:  # a run shorter than the axis: say where it ended
        ax.axvspan(until, end, color="0.9", zorder=0, lw=0, label="not simulated (the run ended)")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.4, -0.8)
    ax.set_xlabel("simulated seconds")
    ax.grid(axis="x", alpha=0.25)
    fig.legend(*_drawn(ax), fontsize=7, loc="outside lower center", ncol=3)
    ax.set_title(_failure_title(f, pods), fontsize=9)
    return fig


def timeline_span(f: NodeFailure, max_pods: int = 6) -> tuple[float, float]:
    """The time axis of :func:`node_failure_timeline`: from 35 s before the last heartbeat
    to the last step, plus room for the labels written right of the last marks."""
    pods, new = f.pods[:max_pods], f.replacements[:max_pods]
    start = (f.last_heartbeat if f.last_heartbeat is not None else f.unknown or 0.0) - 35
    ends = [f.unknown, f.noexecute, f.untainted] + [p.evicted for p in pods] + \
        [p.cancelled for p in pods] + [p.countdown_to for p in pods] + \
        [p.running for p in new] + [p.scheduled for p in new] + f.restarted
    last = max((t for t in ends if t is not None), default=start + 35)
    return start, last + 0.3 * (last - start) + 10


def _failure_title(f: NodeFailure, pods: list[PodLane]) -> str:
    """What to see (how it ended, and when), then the chain of steps that led there."""
    grace = f"{f.grace:g}s" if f.grace else "the grace period"
    tol = {round(p.countdown_to - p.countdown_from) for p in pods
           if p.countdown_to is not None and p.countdown_from is not None}
    tolerated = " / ".join(f"{t:g}s" for t in sorted(tol)) or "no"
    evicted = [p.evicted for p in pods if p.evicted is not None]
    if evicted:
        outcome = "evicted"
        after = [f"{t:g}s" for t in sorted({t - f.last_heartbeat for t in evicted})] \
            if f.last_heartbeat is not None else []
        headline = f"{f.node}'s kubelet stops: its pods are evicted " + (
            f"{' and '.join(after)} after the last heartbeat, " if after else "") + \
            "and replaced elsewhere"
    elif any(p.cancelled is not None for p in pods) or f.untainted is not None:
        outcome = "node back in time: kept"
        headline = f"{f.node}'s kubelet stops and comes back in time: its pods stay"
    else:
        outcome = "still waiting"
        headline = f"{f.node}'s kubelet stops: its pods are still waiting out their toleration"
    return (f"{headline}\n{grace} without a heartbeat → Ready=Unknown → NoExecute taint → "
            f"{tolerated} toleration → {outcome}")


def _drawn(ax: Axes) -> tuple[list, list[str]]:
    """The labelled artists drawn, each label once, in the order they were drawn."""
    handles, labels = ax.get_legend_handles_labels()
    first: dict[str, object] = {}
    for handle, label in zip(handles, labels, strict=True):
        first.setdefault(label, handle)
    return list(first.values()), list(first)


def _once(ax: Axes, label: str) -> str:
    """``label`` the first time it is drawn on ``ax``; hidden from the legend after that."""
    return "_" + label if label in ax.get_legend_handles_labels()[1] else label


def _fits(ax: Axes, width: float, text: str, fontsize: float = 8) -> bool:
    """Whether ``text`` fits in ``width`` data units of the x axis (0.6 em a character)."""
    x0, x1 = ax.get_xlim()
    points = width / (x1 - x0) * ax.bbox.width * 72 / ax.figure.dpi
    return points >= len(text) * 0.6 * fontsize + 4


def _never_failed(fig: Figure, ax: Axes, f: NodeFailure, labels: list[str]) -> Figure:
    ax.vlines(f.renewals, -0.3, 0.3, color=COLOURS["lease"])
    ax.set_yticks([0], labels, fontsize=8)
    ax.set_ylim(0.8, -0.8)
    ax.set_xlabel("simulated seconds")
    ax.set_title(f"{f.node} never went Ready=Unknown: nothing was tainted or evicted "
                 f"({len(f.renewals)} lease renewals)", fontsize=9)
    fig.set_size_inches(9, 2)
    return fig


def _heartbeat_lane(ax: Axes, f: NodeFailure, start: float, end: float) -> None:
    ticks = [t for t in f.renewals if start <= t <= end]
    ax.vlines(ticks, -0.3, 0.3, color=COLOURS["lease"], lw=1.5,
              label="lease renewal (every 10s)")
    stops = [t for t in f.stopped if start <= t <= end]
    if stops:
        ax.plot(stops, [0] * len(stops), "x", color="tab:red", markersize=9, mew=2, ls="none",
                label="kubelet stops")
    if f.restarted:
        ax.plot(f.restarted, [0] * len(f.restarted), "o", color=COLOURS["lease"],
                markersize=6, ls="none", label="kubelet back")


def _controller_lane(ax: Axes, f: NodeFailure, start: float, end: float) -> None:
    checks = [t for t in f.checks if start <= t <= end]
    ax.vlines(checks, 0.85, 1.15, color=COLOURS["check"], lw=0.8,
              label="controller check (every 5s)")
    if f.last_heartbeat is not None and f.grace:
        ax.barh(1, f.grace, left=f.last_heartbeat, height=0.5, color="#fdd0a2",  # orange, light
                edgecolor=COLOURS["grace"], label="grace period")
        text = f"{f.grace:g}s grace"
        if _fits(ax, f.grace, text):
            ax.text(f.last_heartbeat + f.grace / 2, 1, text, ha="center", va="center",
                    fontsize=8, fontweight="bold")
        else:
            ax.annotate(text, (f.last_heartbeat, 1), xytext=(-4, 0), textcoords="offset points",
                        ha="right", va="center", fontsize=8)
    ax.plot(f.unknown, 1, "D", color=COLOURS["unknown"], markersize=7, label="Ready → Unknown")
    seen = f"{f.unknown - f.last_heartbeat:g}s" if f.last_heartbeat is not None else ""
    # above the lane, clear of the check ticks (0.85 is their top: the y axis points down)
    ax.annotate(f"Ready=Unknown (+{seen})", (f.unknown, 0.85), xytext=(4, 2),
                textcoords="offset points", va="bottom", fontsize=7, color=COLOURS["unknown"],
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def _taint_lane(ax: Axes, f: NodeFailure, end: float) -> None:
    """Each taint a bar from when it was added to when it was removed (or the end)."""
    until = f.untainted if f.untainted is not None else end
    if f.noschedule is not None:
        ax.barh(1.85, until - f.noschedule, left=f.noschedule, height=0.25,
                color=COLOURS["noschedule"], label="NoSchedule taint (no new pods)")
    if f.noexecute is not None:
        short = f.noexecute_key.removeprefix("node.kubernetes.io/")
        ax.barh(2.15, until - f.noexecute, left=f.noexecute, height=0.25,
                color=COLOURS["noexecute"],
                label=f"{short}:NoExecute taint (evicts pods once their toleration ends)")
    if f.untainted is not None:
        ax.plot(f.untainted, 2, "^", color="tab:green", markersize=8, label="taints removed")


def _pod_lane(ax: Axes, row: int, lane: PodLane, f: NodeFailure, start: float,
              end: float) -> None:
    gone = lane.evicted if lane.evicted is not None else end
    ax.hlines(row, start, gone, color=COLOURS["running"], lw=2,
              label=_once(ax, "pod Running (as the API shows it)"))
    if lane.countdown_from is not None:
        stop = next(t for t in (lane.evicted, lane.cancelled, lane.countdown_to, end)
                    if t is not None)
        ax.barh(row, stop - lane.countdown_from, left=lane.countdown_from, height=0.45,
                color="#dcd0ea", edgecolor=COLOURS["countdown"],  # purple, light
                label=_once(ax, "toleration countdown"))
        if lane.countdown_to is not None:
            text = f"{lane.countdown_to - lane.countdown_from:g}s toleration"
            if _fits(ax, stop - lane.countdown_from, text):
                ax.text(lane.countdown_from + (stop - lane.countdown_from) / 2, row, text,
                        ha="center", va="center", fontsize=8, fontweight="bold",
                        color="indigo")
            else:  # too short to hold its label: write it just above the bar (top: row - 0.225)
                ax.annotate(text, (lane.countdown_from, row - 0.225), xytext=(0, 1),
                            textcoords="offset points", ha="left", va="bottom", fontsize=8,
                            fontweight="bold", color="indigo")
    if lane.evicted is not None:
        ax.plot(lane.evicted, row, "X", color=COLOURS["evicted"], markersize=8,
                label=_once(ax, "evicted (TaintManagerEviction)"))
        ax.hlines(row, lane.evicted, end, color="0.5", lw=1, ls=":",
                  label=_once(ax, "Terminating: only the dead kubelet could confirm"))
        after = f" (+{lane.evicted - f.last_heartbeat:g}s)" if f.last_heartbeat is not None \
            else ""
        ax.annotate(f"evicted{after} → Terminating", (lane.evicted, row), xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=7,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    elif lane.cancelled is not None:
        ax.plot(lane.cancelled, row, "s", color=COLOURS["kept"], markersize=7, mew=2,
                markerfacecolor="white", label=_once(ax, "eviction cancelled"))
        ax.annotate("kept: node back", (lane.cancelled, row), xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=7, color=COLOURS["kept"],
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})


def _new_pod_lane(ax: Axes, row: int, lane: NewPodLane, end: float) -> None:
    ax.plot(lane.created, row, "P", color=COLOURS["created"], markersize=7,
            label=_once(ax, "replacement created by the ReplicaSet"))
    if lane.running is not None:
        ax.hlines(row, lane.running, end, color=COLOURS["running"], lw=2,
                  label=_once(ax, "pod Running (as the API shows it)"))
        ax.annotate(f"Running (+{lane.running - lane.created:g}s)", (lane.running, row),
                    xytext=(8, 5), textcoords="offset points", fontsize=7,
                    color=COLOURS["running"])


def evictions_over_time(runs: Mapping[str, pd.DataFrame], failed_at: float,
                        horizon: float = 600.0) -> Figure:
    """Nodes tainted NoExecute (node evictions, as upstream's evictions_total counts them).

    One panel per run (``{label: cluster.events()}``), side by side on the same
    axes, so no staircase hides another: the count in seconds after the failure
    at ``failed_at``, with the zone state and taint rate the node lifecycle
    controller last recorded. Each tainted node's pods are evicted when their
    toleration of the taint runs out (300 s by default).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(9, 3.4), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    for ax, (label, events) in zip(axes[0], runs.items(), strict=True):
        tainted = events[(events["component"] == LIFECYCLE)
                         & (events["reason"] == "NoExecuteTaintAdded")]
        times = sorted(float(t) - failed_at for t in tainted["time"]
                       if float(t) - failed_at <= horizon)
        states = events[(events["component"] == LIFECYCLE)
                        & (events["reason"] == "ZoneStateChanged")]
        state = ""
        if not states.empty:
            state = states["message"].iloc[-1].split("-> ", 1)[-1].replace(" (", "\n(")
        if events["reason"].eq("MasterDisruptionMode").any():
            state = "every zone down:\ntainting stopped"
        ax.step([0.0] + times + [horizon], list(range(len(times) + 1)) + [len(times)],
                where="post", color="tab:red", lw=1.8, label="nodes tainted NoExecute")
        ax.set_title(label, fontsize=9)
        ax.text(0.04, 0.96, f"{len(times)} node{'s' * (len(times) != 1)}\n{state}",
                transform=ax.transAxes, va="top", fontsize=7)
        ax.grid(alpha=0.3)
        ax.set_xlim(0, horizon)
        ax.tick_params(labelsize=8)
    axes[0][0].set_ylabel("nodes tainted NoExecute")
    fig.supxlabel("seconds after the nodes stopped", fontsize=9)
    fig.suptitle("How fast failed nodes get tainted NoExecute (their pods are evicted when "
                 "their toleration ends):\nthe state of the zone sets the pace", fontsize=10)
    return fig


def simulate_node_failure(grace_period: float = 50, toleration_seconds: int = 300, *,
                          replicas: int = 6, nodes: int = 3, stop_at: float = 60,
                          back_after: float | None = None, seed: int = 0) -> Cluster:
    """The lesson's story as one call: a ReplicaSet on ``nodes`` nodes, node-1's kubelet dies.

    ``grace_period`` is ``--node-monitor-grace-period``; ``toleration_seconds`` goes
    into the pods' unreachable toleration (300 is what admission would add);
    ``back_after`` restarts the kubelet that many seconds after it died. Runs
    until the replacements are up (or, for a node back, a while after).
    """
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=seed, nodes=nodes, node_monitor_grace_period=grace_period)
    cluster.apply(replicaset_manifest("web", replicas, toleration_seconds=toleration_seconds))
    cluster.run(stop_at)
    cluster.stop_node("node-1")
    if back_after is not None:
        cluster.run(back_after)
        cluster.start_node("node-1")
    cluster.run(grace_period + 10 + toleration_seconds + 20)
    # On to the end of the timeline's axis, so the controller's checks cover all of it.
    _, end = timeline_span(node_failure(cluster.events(), "node-1"))
    if end > cluster.now:
        cluster.run(end - cluster.now)
    return cluster


def replicaset_manifest(name: str = "web", replicas: int = 6, *,
                        toleration_seconds: int | None = None, image: str = "nginx:1.27") -> str:
    """The lesson's ReplicaSet of nginx pods labelled ``app: <name>``, as YAML.

    ``toleration_seconds`` writes the pods' toleration of the ``unreachable``
    NoExecute taint; without it, admission (DefaultTolerationSeconds) adds 300 s.
    """
    tolerations = "" if toleration_seconds is None else (
        "\n      tolerations:\n      - {key: node.kubernetes.io/unreachable, operator: Exists, "
        f"effect: NoExecute, tolerationSeconds: {int(toleration_seconds)}}}")
    return f"""
apiVersion: apps/v1
kind: ReplicaSet
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{tolerations}
      containers: [{{name: web, image: "{image}"}}]
"""


def failure_widget(grace_period: int = 50, toleration_seconds: int = 300):
    """Sliders for the grace period and the pods' toleration; each change re-runs and redraws."""
    import ipywidgets as widgets

    grace = widgets.IntSlider(value=grace_period, min=20, max=120, step=10,
                              description="grace (s)", continuous_update=False)
    toleration = widgets.IntSlider(value=toleration_seconds, min=0, max=600, step=30,
                                   description="toleration (s)", continuous_update=False)

    def picture(grace: int, toleration: int) -> Figure:
        return node_failure_timeline(simulate_node_failure(grace, toleration), "node-1")

    # The timeline is a plain output above the sliders (kubelearn.viz.interact).
    return redrawn(picture, {"grace": grace, "toleration": toleration})


def replicaset_timeline(cluster: Cluster | pd.DataFrame, replicaset: str,
                        namespace: str = "default") -> Figure:
    """One lane per pod a ReplicaSet created: starting, Running, terminating, and who deleted it.

    From the records: the controller's ``SuccessfulCreate`` / ``SuccessfulDelete``, the
    kubelet's ``Running`` status, ``Killing`` and ``PodDeleted``. The title counts
    what happened: pods created, deleted by someone else, removed by scale-down.
    """
    import matplotlib.pyplot as plt

    events = cluster if isinstance(cluster, pd.DataFrame) else cluster.events()
    owner = f"replicaset/{namespace}/{replicaset}"
    mine = events[(events["component"] == REPLICASET) & (events["object"] == owner)]
    created = mine[mine["reason"] == "SuccessfulCreate"]
    scaled = mine[mine["reason"] == "SuccessfulDelete"]  # in the order the controller deleted
    deleted = {m.removeprefix("Deleted pod: "): (float(t), n) for n, (t, m) in
               enumerate(zip(scaled["time"], scaled["message"], strict=True), start=1)}
    # up to the cluster's clock, when given one: the records may end earlier
    end = float(events["time"].max()) if isinstance(cluster, pd.DataFrame) else cluster.now
    names = [m.removeprefix("Created pod: ") for m in created["message"]]
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.42 * len(names)), layout="constrained")
    # the axis ends at the clock; a label with no room right of its mark goes left of it
    ax.set_xlim(float(created["time"].min()) - 2 if len(created) else 0, end)
    others = 0  # pods deleted, not by the ReplicaSet
    for row, (name, born) in enumerate(zip(names, created["time"], strict=True)):
        pod = events[events["object"] == f"pod/{namespace}/{name}"]
        running = pod[(pod["reason"] == "PodStatusUpdated") & pod["message"].map(_is_running)]
        killing = pod[pod["reason"] == "Killing"]
        gone = pod[(pod["reason"] == "PodDeleted") & pod["component"].str.startswith("kubelet/")]
        up = float(running["time"].iloc[0]) if not running.empty else None
        kill = float(killing["time"].iloc[0]) if not killing.empty else None
        stop = float(gone["time"].iloc[0]) if not gone.empty else end
        ax.hlines(row, born, up if up is not None else (kill or stop),
                  color=COLOURS["starting"], lw=5, label=_once(ax, "created → Running"))
        if up is not None:
            ax.hlines(row, up, kill if kill is not None else stop, color=COLOURS["running"], lw=5,
                      label=_once(ax, "Running"))
        if kill is not None and stop - kill >= 1:  # shorter: hidden under the deletion mark
            ax.hlines(row, kill, stop, color="0.6", lw=5, label=_once(ax, "terminating"))
        ax.plot(born, row, "P", color=COLOURS["created"], markersize=7,
                label=_once(ax, "created by the ReplicaSet"))
        if name in deleted:
            when, order = deleted[name]
            ax.plot(when, row, "X", color="tab:red", markersize=8,
                    label=_once(ax, "deleted by the ReplicaSet (scale-down)"))
            _mark_label(ax, f"scale-down #{order}", when, row, end, color="tab:red")
        elif kill is not None:
            others += 1
            ax.plot(kill, row, "X", color=COLOURS["evicted"], markersize=8,
                    label=_once(ax, "deleted by someone else"))
            _mark_label(ax, "deleted (not by the ReplicaSet)", kill, row, end)
    ax.legend(*_drawn(ax), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(len(names) - 0.4, -0.7)
    ax.set_xlabel("simulated seconds")
    ax.set_title(_replicaset_title(replicaset, len(names), others, len(deleted)), fontsize=10)
    ax.grid(axis="x", alpha=0.25)
    return fig


def _mark_label(ax: Axes, text: str, at: float, row: int, end: float, **style: str) -> None:
    """``text`` above and right of the mark at ``at``, or left of it if it would pass ``end``."""
    right = _fits(ax, end - at, text, fontsize=7)
    ax.annotate(text, (at, row), xytext=(6 if right else -6, 4), textcoords="offset points",
                ha="left" if right else "right", fontsize=7, **style)


def _replicaset_title(replicaset: str, created: int, others: int, scaled: int) -> str:
    """What the lanes show, counted: the pods created, and who deleted which."""
    parts = [f"{created} pods created"]
    if others:
        parts.append(f"{others} deleted by someone else")
    if scaled:
        parts.append(f"{scaled} removed by scale-down (#1 first)")
    return f"ReplicaSet {replicaset}: " + "; ".join(parts)


# -- many nodes fail: the zone states and the rate of NoExecute taints ----------------------------

ZONE_A_NODES = 60  # above --large-cluster-size-threshold (50): a partial disruption slows down
ZONE_B_NODES = 3


def zone_failure(failing: int, zone_b_fails: bool = False, *, stop_at: float = 30,
                 seconds: float = 560) -> pd.DataFrame:
    """The records of a cluster with zone-a of 60 nodes and zone-b of 3, where ``failing``
    nodes of zone-a (and every node of zone-b, with ``zone_b_fails``) stop at ``stop_at``.

    Runs ``seconds`` more. No pods: only the node lifecycle controller's zone
    states and NoExecute taints matter here. The kubelets write no events and
    no heartbeat records, so 63 nodes run in well under a second.
    """
    from kubelearn.cluster import Cluster
    from kubelearn.kubelet import KubeletConfig

    quiet = KubeletConfig(events=False, record_heartbeats=False)
    cluster = Cluster(seed=0, zones=("zone-a",), kubelet_config=quiet)
    zone_a = [cluster.add_node(f"a-{i:02d}").node_name for i in range(1, ZONE_A_NODES + 1)]
    zone_b = [cluster.add_node(f"b-{i}", zone="zone-b").node_name
              for i in range(1, ZONE_B_NODES + 1)]
    cluster.run(stop_at)
    for name in zone_a[:failing] + (zone_b if zone_b_fails else []):
        cluster.stop_node(name)
    cluster.run(seconds)
    return cluster.events()


def zone_failures(cases: Mapping[str, tuple[int, ...]]) -> dict[str, pd.DataFrame]:
    """``{label: zone_failure(*args)}`` for each case: independent clusters, so they are
    simulated side by side on the machine's cores (:mod:`kubelearn.viz.parallel`)."""
    from kubelearn.viz.parallel import run_each

    return dict(zip(cases, run_each(zone_failure, list(cases.values())), strict=True))


def zone_states(runs: Mapping[str, pd.DataFrame], zone: str = "zone-a") -> pd.DataFrame:
    """For each run (``{label: events}``): the last state change the node lifecycle
    controller recorded for ``zone``, and whether it entered master disruption mode."""
    rows = []
    for label, events in runs.items():
        changes = events[events["object"] == f"zone/{zone}"]["message"]
        rows.append((label, changes.iloc[-1] if len(changes) else "(no change recorded)",
                     bool(events["reason"].eq("MasterDisruptionMode").any())))
    return pd.DataFrame(rows, columns=["run", f"{zone}'s last state change",
                                       "master disruption mode"])


# -- scale-down: the order the ReplicaSet controller deletes its pods in --------------------------

def ranking_table(ranked: list[Mapping], pods: list[Mapping]) -> pd.DataFrame:
    """``ranked`` (pods in the order the controller would delete them, first to go first)
    as a table: each pod's node, how many of ``pods`` share that node, its
    ``controller.kubernetes.io/pod-deletion-cost``, since when it has been Ready (its
    Ready condition's ``lastTransitionTime``, empty if not ready) and when it was created."""
    def on_node(pod: Mapping) -> int:
        return sum(q["spec"].get("nodeName") == pod["spec"].get("nodeName") for q in pods)

    def ready_since(pod: Mapping) -> str:
        for condition in (pod.get("status") or {}).get("conditions") or ():
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                return condition.get("lastTransitionTime") or ""
        return ""

    rows = [(p["metadata"]["name"], p["spec"].get("nodeName"), on_node(p),
             (p["metadata"].get("annotations") or {}).get(
                 "controller.kubernetes.io/pod-deletion-cost", "0"),
             ready_since(p), p["metadata"]["creationTimestamp"]) for p in ranked]
    return pd.DataFrame(rows, columns=["pod (first to go at the top)", "node",
                                       "pods on that node", "deletion cost", "ready since",
                                       "created"])
