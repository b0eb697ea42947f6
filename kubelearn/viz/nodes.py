"""Plots for lesson 06: a dead node's timeline, and how zones slow evictions, from records alone.

Everything here reads ``cluster.events()`` (the simulation's records): the
kubelet's ``LeaseRenewed`` and ``KubeletStopped``, the node lifecycle
controller's ``MonitorNodeHealth``, ``NodeStatusUnknown``, ``NoScheduleTaints``
and ``NoExecuteTaintAdded``, the taint eviction controller's
``PodEvictionScheduled`` and ``TaintManagerEviction``, the ReplicaSet
controller's ``SuccessfulCreate``, the scheduler's ``Scheduled`` and the new
pods' kubelets' ``PodStatusUpdated``. Nothing reaches into a component.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

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
    controller's checks, the grace period and Ready=Unknown; the node's taints;
    one lane per pod that was on the node (its toleration countdown and its
    eviction); one lane per replacement pod (created, scheduled where, Running).
    ``cluster`` may be a Cluster or its ``events()``. A node that never went
    Unknown gets its heartbeats and a title that says so.
    """
    import matplotlib.pyplot as plt

    events = cluster if isinstance(cluster, pd.DataFrame) else cluster.events()
    f = node_failure(events, node, namespace)
    pods, new = f.pods[:max_pods], f.replacements[:max_pods]
    labels = [f"kubelet on {node}\n(lease renewals)", "node lifecycle\ncontroller", "node taints"]
    labels += [f"pod {p.name}" for p in pods] + [f"new pod {p.name}" for p in new]
    fig, ax = plt.subplots(figsize=(11, 1.4 + 0.48 * len(labels)))
    if f.unknown is None:
        return _never_failed(fig, ax, f, labels[:1])
    start = (f.last_heartbeat if f.last_heartbeat is not None else f.unknown) - 35
    ends = [f.unknown, f.noexecute, f.untainted] + [p.evicted for p in pods] + \
        [p.cancelled for p in pods] + [p.countdown_to for p in pods] + \
        [p.running for p in new] + [p.scheduled for p in new] + f.restarted
    end = max(t for t in ends if t is not None) + 0.25 * (max(
        t for t in ends if t is not None) - start) + 10  # room for the labels
    _heartbeat_lane(ax, f, start, end)
    _controller_lane(ax, f, start, end)
    _taint_lane(ax, f)
    for row, lane in enumerate(pods, start=3):
        _pod_lane(ax, row, lane, f, start, end)
    for row, lane in enumerate(new, start=3 + len(pods)):
        _new_pod_lane(ax, row, lane)
    if f.last_heartbeat is not None:
        ax.axvline(f.last_heartbeat, color=COLOURS["lease"], lw=0.8, ls=":", zorder=0)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.4, -0.8)
    ax.set_xlim(start, end)
    ax.set_xlabel("simulated seconds")
    ax.grid(axis="x", alpha=0.25)
    ax.legend(handles=_legend_handles(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    grace = f"{f.grace:g}s" if f.grace else "the grace period"
    tol = {round(p.countdown_to - p.countdown_from) for p in pods
           if p.countdown_to is not None and p.countdown_from is not None}
    tolerated = " / ".join(f"{t:g}s" for t in sorted(tol)) or "no"
    if any(p.evicted is not None for p in pods):
        outcome = "pods evicted and replaced"
    elif any(p.cancelled is not None for p in pods) or f.untainted is not None:
        outcome = "node back in time: pods kept"
    else:
        outcome = "pods still waiting"
    ax.set_title(f"{node} stops: {grace} without a heartbeat → Ready=Unknown → "
                 f"NoExecute taint → {tolerated} toleration → {outcome}", fontsize=9)
    fig.tight_layout()
    return fig


def _never_failed(fig: Figure, ax: Axes, f: NodeFailure, labels: list[str]) -> Figure:
    ax.vlines(f.renewals, -0.3, 0.3, color=COLOURS["lease"])
    ax.set_yticks([0], labels, fontsize=8)
    ax.set_ylim(0.8, -0.8)
    ax.set_xlabel("simulated seconds")
    ax.set_title(f"{f.node} never went Ready=Unknown: nothing was tainted or evicted "
                 f"({len(f.renewals)} lease renewals)", fontsize=9)
    fig.tight_layout()
    return fig


def _heartbeat_lane(ax: Axes, f: NodeFailure, start: float, end: float) -> None:
    ticks = [t for t in f.renewals if start <= t <= end]
    ax.vlines(ticks, -0.3, 0.3, color=COLOURS["lease"], lw=1.5)
    for when in f.stopped:
        if start <= when <= end:
            ax.plot(when, 0, "x", color="tab:red", markersize=9, mew=2)
            ax.annotate("kubelet stops", (when, 0), xytext=(4, 7), textcoords="offset points",
                        fontsize=7, color="tab:red")
    for when in f.restarted:
        ax.annotate("kubelet back", (when, 0), xytext=(4, 7), textcoords="offset points",
                    fontsize=7, color="tab:green")


def _controller_lane(ax: Axes, f: NodeFailure, start: float, end: float) -> None:
    checks = [t for t in f.checks if start <= t <= end]
    ax.vlines(checks, 0.85, 1.15, color=COLOURS["check"], lw=0.8)
    if f.last_heartbeat is not None and f.grace:
        ax.barh(1, f.grace, left=f.last_heartbeat, height=0.5, color=COLOURS["grace"],
                alpha=0.35, edgecolor=COLOURS["grace"])
        ax.text(f.last_heartbeat + f.grace / 2, 1, f"{f.grace:g}s grace", ha="center",
                va="center", fontsize=8, fontweight="bold")
    ax.plot(f.unknown, 1, "D", color=COLOURS["unknown"], markersize=7)
    seen = f"{f.unknown - f.last_heartbeat:g}s" if f.last_heartbeat is not None else ""
    ax.annotate(f"Ready=Unknown (+{seen})", (f.unknown, 1), xytext=(6, -12),
                textcoords="offset points", fontsize=7, color=COLOURS["unknown"])


def _taint_lane(ax: Axes, f: NodeFailure) -> None:
    if f.noschedule is not None:
        ax.plot(f.noschedule, 2, "v", color=COLOURS["noschedule"], markersize=8)
        ax.annotate("NoSchedule", (f.noschedule, 2), xytext=(-4, 7), textcoords="offset points",
                    fontsize=7, ha="right", color=COLOURS["noschedule"])
    if f.noexecute is not None:
        ax.plot(f.noexecute, 2, "v", color=COLOURS["noexecute"], markersize=9)
        short = f.noexecute_key.removeprefix("node.kubernetes.io/")
        ax.annotate(f"{short}:NoExecute", (f.noexecute, 2), xytext=(6, -3),
                    textcoords="offset points", fontsize=7, color=COLOURS["noexecute"])
    if f.untainted is not None:
        ax.plot(f.untainted, 2, "^", color="tab:green", markersize=8)
        ax.annotate("taints removed", (f.untainted, 2), xytext=(6, -3),
                    textcoords="offset points", fontsize=7, color="tab:green")


def _pod_lane(ax: Axes, row: int, lane: PodLane, f: NodeFailure, start: float,
              end: float) -> None:
    gone = lane.evicted if lane.evicted is not None else end
    ax.hlines(row, start, gone, color=COLOURS["running"], lw=2, alpha=0.6)
    if lane.countdown_from is not None:
        stop = next(t for t in (lane.evicted, lane.cancelled, lane.countdown_to, end)
                    if t is not None)
        ax.barh(row, stop - lane.countdown_from, left=lane.countdown_from, height=0.45,
                color=COLOURS["countdown"], alpha=0.3, edgecolor=COLOURS["countdown"])
        if lane.countdown_to is not None:
            seconds = lane.countdown_to - lane.countdown_from
            ax.text(lane.countdown_from + (stop - lane.countdown_from) / 2, row,
                    f"{seconds:g}s toleration", ha="center", va="center", fontsize=8,
                    fontweight="bold", color="indigo")
    if lane.evicted is not None:
        ax.plot(lane.evicted, row, "X", color=COLOURS["evicted"], markersize=8)
        ax.hlines(row, lane.evicted, end, color="0.5", lw=1, ls=":")
        after = f" (+{lane.evicted - f.last_heartbeat:g}s)" if f.last_heartbeat is not None \
            else ""
        ax.annotate(f"evicted{after} → Terminating", (lane.evicted, row), xytext=(6, 5),
                    textcoords="offset points", fontsize=7)
    elif lane.cancelled is not None:
        ax.plot(lane.cancelled, row, "o", color=COLOURS["kept"], markersize=7)
        ax.annotate("kept: node back", (lane.cancelled, row), xytext=(6, 5),
                    textcoords="offset points", fontsize=7, color=COLOURS["kept"])


def _new_pod_lane(ax: Axes, row: int, lane: NewPodLane) -> None:
    ax.plot(lane.created, row, "P", color=COLOURS["created"], markersize=7)
    if lane.scheduled is not None:
        ax.plot(lane.scheduled, row, ">", color=COLOURS["scheduled"], markersize=7)
        ax.annotate(f"→ {lane.node}", (lane.scheduled, row), xytext=(-6, 6),
                    textcoords="offset points", fontsize=7, ha="right")
    if lane.scheduled is not None and lane.running is not None:
        ax.hlines(row, lane.scheduled, lane.running, color=COLOURS["starting"], lw=4)
    if lane.running is not None:
        ax.plot(lane.running, row, "o", color=COLOURS["running"], markersize=7)
        ax.annotate(f"Running (+{lane.running - lane.created:g}s)", (lane.running, row),
                    xytext=(6, -3), textcoords="offset points", fontsize=7,
                    color=COLOURS["running"])


def _legend_handles() -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def mark(marker: str, colour: str, label: str) -> Line2D:
        return Line2D([], [], marker=marker, color=colour, ls="none", label=label)

    return [Line2D([], [], color=COLOURS["lease"], marker="|", ls="none", markersize=10,
                   label="lease renewal (every 10s)"),
            Line2D([], [], color=COLOURS["check"], marker="|", ls="none", markersize=10,
                   label="controller check (every 5s)"),
            Patch(color=COLOURS["grace"], alpha=0.35, label="grace period"),
            mark("D", COLOURS["unknown"], "Ready → Unknown"),
            mark("v", COLOURS["noschedule"], "NoSchedule taint"),
            mark("v", COLOURS["noexecute"], "NoExecute taint"),
            Patch(color=COLOURS["countdown"], alpha=0.3, label="toleration countdown"),
            mark("X", COLOURS["evicted"], "evicted (TaintManagerEviction)"),
            mark("P", COLOURS["created"], "replacement created"),
            mark(">", COLOURS["scheduled"], "scheduled"),
            mark("o", COLOURS["running"], "Running")]


def evictions_over_time(runs: Mapping[str, pd.DataFrame], failed_at: float,
                        horizon: float = 600.0) -> Figure:
    """Nodes tainted NoExecute (node evictions, as upstream's evictions_total counts them).

    One staircase per run (``{label: cluster.events()}``), in seconds after the
    failure at ``failed_at``; each label gets the zone state and taint rate the
    node lifecycle controller last recorded.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.8))
    for label, events in runs.items():
        tainted = events[(events["component"] == LIFECYCLE)
                         & (events["reason"] == "NoExecuteTaintAdded")]
        times = sorted(float(t) - failed_at for t in tainted["time"]
                       if float(t) - failed_at <= horizon)
        states = events[(events["component"] == LIFECYCLE)
                        & (events["reason"] == "ZoneStateChanged")]
        state = ""
        if not states.empty:
            last = states["message"].iloc[-1]
            state = " — " + last.split("-> ", 1)[-1]
        if events["reason"].eq("MasterDisruptionMode").any():
            state = " — every zone down: tainting stopped"
        ax.step([0.0] + times + [horizon], list(range(len(times) + 1)) + [len(times)],
                where="post", label=f"{label}: {len(times)} node{'s' * (len(times) != 1)}{state}")
    ax.set_xlim(0, horizon)
    ax.set_xlabel("seconds after the nodes stopped")
    ax.set_ylabel("nodes tainted NoExecute")
    ax.set_title("A zone losing most of its nodes slows eviction down", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
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
    tolerations = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                    "effect": "NoExecute", "tolerationSeconds": int(toleration_seconds)}]
    cluster.apply({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
                   "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                                "tolerations": tolerations,
                                "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    cluster.run(stop_at)
    cluster.stop_node("node-1")
    if back_after is not None:
        cluster.run(back_after)
        cluster.start_node("node-1")
    cluster.run(grace_period + 10 + toleration_seconds + 20)
    return cluster


def failure_widget(grace_period: int = 50, toleration_seconds: int = 300):
    """Sliders for the grace period and the pods' toleration; each change re-runs and redraws."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    grace = widgets.IntSlider(value=grace_period, min=20, max=120, step=10,
                              description="grace (s)", continuous_update=False)
    toleration = widgets.IntSlider(value=toleration_seconds, min=0, max=600, step=30,
                                   description="toleration (s)", continuous_update=False)

    def draw(grace: int, toleration: int) -> None:
        cluster = simulate_node_failure(grace, toleration)
        node_failure_timeline(cluster, "node-1")
        plt.show()

    out = widgets.interactive_output(draw, {"grace": grace, "toleration": toleration})
    return widgets.VBox([widgets.HBox([grace, toleration]), out])


def replicaset_timeline(cluster: Cluster | pd.DataFrame, replicaset: str,
                        namespace: str = "default") -> Figure:
    """One lane per pod a ReplicaSet created: starting, Running, terminating, and who deleted it.

    From the records: the controller's ``SuccessfulCreate`` / ``SuccessfulDelete``, the
    kubelet's ``Running`` status, ``Killing`` and ``PodDeleted``.
    """
    import matplotlib.pyplot as plt

    events = cluster if isinstance(cluster, pd.DataFrame) else cluster.events()
    owner = f"replicaset/{namespace}/{replicaset}"
    mine = events[(events["component"] == REPLICASET) & (events["object"] == owner)]
    created = mine[mine["reason"] == "SuccessfulCreate"]
    scaled = mine[mine["reason"] == "SuccessfulDelete"]  # in the order the controller deleted
    deleted = {m.removeprefix("Deleted pod: "): (float(t), n) for n, (t, m) in
               enumerate(zip(scaled["time"], scaled["message"], strict=True), start=1)}
    end = float(events["time"].max())
    names = [m.removeprefix("Created pod: ") for m in created["message"]]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.42 * len(names)))
    for row, (name, born) in enumerate(zip(names, created["time"], strict=True)):
        pod = events[events["object"] == f"pod/{namespace}/{name}"]
        running = pod[(pod["reason"] == "PodStatusUpdated") & pod["message"].map(_is_running)]
        killing = pod[pod["reason"] == "Killing"]
        gone = pod[(pod["reason"] == "PodDeleted") & pod["component"].str.startswith("kubelet/")]
        up = float(running["time"].iloc[0]) if not running.empty else None
        kill = float(killing["time"].iloc[0]) if not killing.empty else None
        stop = float(gone["time"].iloc[0]) if not gone.empty else end
        ax.hlines(row, born, up if up is not None else (kill or stop),
                  color=COLOURS["starting"], lw=5)
        if up is not None:
            ax.hlines(row, up, kill if kill is not None else stop, color=COLOURS["running"], lw=5)
        if kill is not None:
            ax.hlines(row, kill, max(stop, kill + 0.5), color="0.6", lw=5)
        ax.plot(born, row, "P", color=COLOURS["created"], markersize=7)
        if name in deleted:
            when, order = deleted[name]
            ax.plot(when, row, "X", color="tab:red", markersize=8)
            ax.annotate(f"scale-down #{order}", (when, row), xytext=(6, 4),
                        textcoords="offset points", fontsize=7, color="tab:red")
        elif kill is not None:
            ax.plot(kill, row, "X", color=COLOURS["evicted"], markersize=8)
            ax.annotate("deleted (not by the ReplicaSet)", (kill, row), xytext=(6, 4),
                        textcoords="offset points", fontsize=7)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=COLOURS["starting"], label="created → Running"),
                       Patch(color=COLOURS["running"], label="Running"),
                       Patch(color="0.6", label="terminating")],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(len(names) - 0.4, -0.7)
    ax.set_xlim(float(created["time"].min()) - 2 if len(created) else 0, end + 0.1 * end + 5)
    ax.set_xlabel("simulated seconds")
    ax.set_title(f"ReplicaSet {replicaset}: every pod it created", fontsize=10)
    ax.grid(axis="x", alpha=0.25)
    fig.tight_layout()
    return fig
