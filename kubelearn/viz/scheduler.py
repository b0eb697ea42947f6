"""Plots and a widget for lesson 04: filter and rank, placements, and when pods got scheduled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation

    from kubelearn.cluster import Cluster

META = ("nominated", "total", "feasible", "chosen")  # explain columns that are not scores


def score_columns(table: pd.DataFrame) -> list[str]:
    """The score plugins' columns of an explain table."""
    return [c for c in table.columns if not c.startswith("filter:") and c not in META]


def _filtered_out(info: pd.Series) -> str:
    """Why a node failed the filters: the failing plugins' reasons."""
    return "; ".join(str(v) for k, v in info.items() if k.startswith("filter:")
                     and v not in ("passed", "skipped")) or "failed a filter"


def weighted_scores(table: pd.DataFrame, weights: Mapping[str, int]) -> pd.DataFrame:
    """Score × weight per plugin (columns) for the nodes that passed the filters (rows).

    Plugins that skipped the pod (no score on any node) are left out.
    """
    feasible = table[table["feasible"].astype(bool)]
    scored = [p for p in score_columns(table) if feasible[p].notna().any()]
    return pd.DataFrame({p: feasible[p].fillna(0).astype(float) * weights.get(p, 1)
                         for p in scored}, index=feasible.index)


def score_bars(table: pd.DataFrame, weights: Mapping[str, int], title: str = "") -> Figure:
    """Per score plugin, each feasible node's score × weight, side by side.

    A plugin that gives every feasible node the same points cannot change the
    choice: it is left out of the bars and named below the plot with its points
    (TaintToleration's 3 × 100 = 300 would squash the differences that decide).
    Nodes that failed a filter get no bar, only their reason. The legend gives
    each node's total and the chosen one.
    """
    import matplotlib.pyplot as plt

    weighted = weighted_scores(table, weights)
    nodes = list(weighted.index)
    same = [p for p in weighted.columns if len(nodes) > 1 and weighted[p].nunique() == 1]
    plugins = [p for p in weighted.columns if p not in same]
    colours = {node: f"C{i % 10}" for i, node in enumerate(table.index)}
    step = 0.8 / max(len(nodes), 1)
    fig, ax = plt.subplots(figsize=(9, 1.7 + len(plugins) * (0.3 + 0.28 * len(nodes))),
                           layout="constrained")
    for i, node in enumerate(nodes):
        info = table.loc[node]
        label = f"{node}: total {int(info['total'])}" + (" ★ chosen" if info["chosen"] else "")
        ys = [g + (i - (len(nodes) - 1) / 2) * step for g in range(len(plugins))]
        bars = ax.barh(ys, [weighted.at[node, p] for p in plugins], height=step * 0.9,
                       color=colours[node], label=label)
        ax.bar_label(bars, fmt="%g", fontsize=8, padding=2)
    ax.set_yticks(range(len(plugins)), [f"{p} ×{weights.get(p, 1)}" for p in plugins])
    ax.invert_yaxis()
    ax.set_xlabel("points for the node (score 0–100 × the plugin's weight)")
    ax.set_ylabel("score plugin × weight")
    if plugins:
        ax.set_xlim(0, float(weighted[plugins].to_numpy().max()) * 1.12 + 1)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1),
                  title="node (highest total wins)", title_fontsize=8)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no plugin tells the feasible nodes apart" if len(nodes) > 1 else
                "no node passed the filters" if not nodes else f"only {nodes[0]} passed",
                ha="center", va="center", transform=ax.transAxes)
    notes = []
    if same:
        notes.append("same on every node, left out: " + ", ".join(
            f"{p} ×{weights.get(p, 1)} = {weighted[p].iloc[0]:g}" for p in same))
    notes += [f"{node}: filtered out ({_filtered_out(info)}), not scored"
              for node, info in table.iterrows() if not info["feasible"]]
    if notes:
        fig.supxlabel("\n".join(notes), x=0.01, ha="left", fontsize=8, color="0.25")
    chosen = table[table["chosen"].astype(bool)]
    verdict = (f"{chosen.index[0]} wins with {int(chosen['total'].iloc[0])} points"
               if len(chosen) else "no node fits: the pod stays Pending")
    ax.set_title(f"{title}: {verdict}" if title else verdict, fontsize=10)
    return fig


def what_if_widget(cluster: Cluster, profiles: list[str], cpu: int = 500,
                   memory: int = 1024) -> ipywidgets.Widget:
    """Sliders for a pod's CPU (m) and memory (Mi) requests and a profile; redraws the scores."""
    import ipywidgets as widgets

    cpu_slider = widgets.IntSlider(value=cpu, min=0, max=8000, step=100, description="cpu (m)",
                                   continuous_update=False)
    memory_slider = widgets.IntSlider(value=memory, min=0, max=16384, step=256,
                                      description="memory (Mi)", continuous_update=False)
    profile = widgets.Dropdown(options=profiles, description="profile")

    def picture(cpu: int, memory: int, profile: str) -> Figure:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "what-if"},
               "spec": {"schedulerName": profile, "containers": [{
                   "name": "app", "image": "nginx:1.27", "resources": {"requests": {
                       "cpu": f"{cpu}m", "memory": f"{memory}Mi"}}}]}}
        weights = cluster.scheduler.profiles[profile].score_weights
        return score_bars(cluster.scheduler.explain(pod), weights, profile)

    # The bars are a plain output above the controls (kubelearn.viz.interact).
    return redrawn(picture, {"cpu": cpu_slider, "memory": memory_slider, "profile": profile})


def allocation(cluster: Cluster) -> pd.DataFrame:
    """Per node: pods, and the fraction of allocatable CPU and memory that pods request."""
    from kubelearn.api import node_allocatable, pod_requests

    nodes = {n["metadata"]["name"]: node_allocatable(n)
             for n in cluster.admin.list("nodes")["items"]}
    used: dict[str, dict[str, float]] = {name: {"pods": 0, "cpu": 0.0, "memory": 0.0}
                                         for name in nodes}
    for pod in cluster.admin.list("pods")["items"]:
        node = pod["spec"].get("nodeName")
        if node in used and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
            requests = pod_requests(pod)
            used[node]["pods"] += 1
            for resource in ("cpu", "memory"):
                if resource in requests:
                    used[node][resource] += float(requests[resource].milli_value())
    rows = []
    for name, alloc in sorted(nodes.items()):
        rows.append({"node": name, "pods": used[name]["pods"],
                     "cpu": used[name]["cpu"] / alloc["cpu"].milli_value(),
                     "memory": used[name]["memory"] / alloc["memory"].milli_value()})
    return pd.DataFrame(rows).set_index("node")


def balanced_allocation_versions(cluster: Cluster, pod: Mapping[str, Any]) -> pd.DataFrame:
    """NodeResourcesBalancedAllocation for ``pod`` on every node, as v1.32 and v1.36 score it.

    Per node: the requested fraction of CPU and memory with the pod on it, the
    node's balance without and with the pod (``int((1 - |cpu - memory| / 2) * 100)``),
    the score up to v1.35 (the balance with the pod; the version kubelearn models)
    and from v1.36 (the change in balance, ``50 + (50 + with - without) / 2``).
    Computed by the plugin's own functions from the scheduler's view of each node.
    """
    from kubelearn.scheduler.plugins.balanced_allocation import (
        balance_change_score,
        balanced_resource_score,
    )
    from kubelearn.scheduler.plugins.resource_allocation import (
        DEFAULT_RESOURCES,
        pod_resource_requests,
        resource_vectors,
    )

    scheduler = cluster.scheduler
    assert scheduler is not None, "the cluster runs no scheduler"
    requests = pod_resource_requests(pod, DEFAULT_RESOURCES, True)
    rows = []
    for info in scheduler.cache.snapshot().node_infos:
        requested, allocated, allocatable = resource_vectors(info, DEFAULT_RESOURCES, requests,
                                                             True)
        with_pod = balanced_resource_score(requested, allocatable)
        without_pod = balanced_resource_score(allocated, allocatable)
        cpu, memory = (min(r / a, 1.0) if a else 0.0 for r, a in zip(requested, allocatable,
                                                                     strict=True))
        rows.append({"node": info.name, "cpu with pod": round(cpu, 3),
                     "memory with pod": round(memory, 3), "balance without": without_pod,
                     "balance with": with_pod, "score v1.32 (balance with)": with_pod,
                     "score v1.36 (change)": balance_change_score(with_pod, without_pod)})
    return pd.DataFrame(rows).set_index("node")


def placement_plot(clusters: Mapping[str, Cluster]) -> Figure:
    """Requested share of each node's CPU and memory: a heatmap per cluster, pods in labels."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(clusters), figsize=(4.6 * len(clusters), 3.4), squeeze=False,
                             layout="constrained")
    image: Any = None
    for ax, (title, cluster) in zip(axes[0], clusters.items(), strict=True):
        table = allocation(cluster)
        image = ax.imshow(table[["cpu", "memory"]].to_numpy(), vmin=0, vmax=1, cmap="Blues",
                          aspect="auto")
        for row, (_, info) in enumerate(table.iterrows()):
            for col, resource in enumerate(("cpu", "memory")):
                ax.text(col, row, f"{info[resource]:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if info[resource] > 0.6 else "black")
        ax.set_yticks(range(len(table)), [f"{n} ({int(p)} pods)"
                                           for n, p in zip(table.index, table["pods"],
                                                           strict=True)])
        ax.set_xticks([0, 1], ["cpu", "memory"])
        ax.set_xlabel("resource")
        ax.set_title(title, fontsize=10)
    axes[0][0].set_ylabel("node (pods bound to it)")
    fig.colorbar(image, ax=axes[0].tolist(), label="requested / allocatable")
    fig.suptitle("How much of each node the pods request: spread evenly, or packed onto "
                 "few nodes", fontsize=10)
    return fig


def scheduling_timeline(events: pd.DataFrame, pods: list[str], namespace: str = "default",
                        ) -> Figure:
    """Per pod: waiting in the scheduler (created → scheduled), then on its node until started.

    Each lane says how long each part took, right of the lane, or left of it when
    there is no room before the end of the data (:func:`_notes_inside`). The legend,
    under the plot, names only the parts some pod went through.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 1.9 + 0.55 * len(pods)), layout="constrained")
    end = float(events["time"].max())
    labelled: set[str] = set()
    notes: list[Annotation] = []
    starts: list[float] = []  # where each lane's first bar or dot is
    right = 1.0

    def once(label: str) -> str:
        seen = label in labelled
        labelled.add(label)
        return "_" + label if seen else label

    for row, pod in enumerate(pods):
        mine = events[events["object"] == f"pod/{namespace}/{pod}"]

        def first(reason: str, frame: pd.DataFrame = mine) -> float | None:
            found = frame[frame["reason"] == reason]["time"]
            return float(found.iloc[0]) if len(found) else None

        queued, scheduled, started = first("Queued"), first("Scheduled"), first("Started")
        parts = []
        if queued is not None:
            waited = (scheduled if scheduled is not None else end) - queued
            if waited > 0:
                ax.barh(row, waited, left=queued, color="tab:orange", height=0.5,
                        label=once("Pending: waiting for a node"))
            parts.append(f"{waited:.3g} s for a node" + ("" if scheduled is not None
                                                       else " (still waiting)"))
        if scheduled is not None:
            starting = (started if started is not None else end) - scheduled
            ax.barh(row, starting, left=scheduled, color="tab:blue", height=0.5,
                    label=once("scheduled: its kubelet pulls the image and starts it"))
            parts.append(f"{starting:.3g} s to start")
        if started is not None:
            ax.plot(started, row, "o", color="tab:green", label=once("container started"))
        last = max(t for t in (queued, scheduled, started, 0.0) if t is not None)
        starts.append(min(t for t in (queued, scheduled, started, last) if t is not None))
        right = max(right, last if started is not None else end)
        notes.append(ax.annotate(", ".join(parts), (last, row), xytext=(8, 0),
                                 textcoords="offset points", va="center", fontsize=8))
    ax.set_yticks(range(len(pods)), pods)
    ax.set_ylim(len(pods) - 0.4, -0.6)
    ax.set_xlim(0, right * 1.03)  # the notes are fitted in once the legend is in place
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("pod")
    ax.set_title("How long each pod waited for a node, then for its container to start",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    order = ["Pending: waiting for a node", "scheduled: its kubelet pulls the image and starts it",
             "container started"]
    handles, labels = ax.get_legend_handles_labels()
    ranked = sorted(zip(handles, labels, strict=True), key=lambda hl: order.index(hl[1]))
    fig.legend([h for h, _ in ranked], [label for _, label in ranked], fontsize=8,
               loc="outside lower center", ncol=3)
    _notes_inside(ax, notes, starts)
    return fig


def _notes_inside(ax: Axes, notes: list[Annotation], starts: list[float],
                  pad: float = 8.0) -> None:
    """End the x axis at the data: notes that would run past it go left of their lanes.

    Each note starts just right of its lane. If every note that would end past the
    axis (less than ``pad`` px inside it) has room left of its lane (which starts at
    ``starts``), those notes move there; if one has not, the axis keeps room for
    them on the right instead (40 % past the data).
    """
    fig = ax.figure
    least = ax.get_xlim()[1]  # the data, with its margin
    for note in notes:
        note.set_in_layout(False)  # the axes keep their width whatever the notes do
    fig.draw_without_rendering()
    box = ax.get_window_extent()
    moves = []
    for note, start in zip(notes, starts, strict=True):
        extent = note.get_window_extent()
        if extent.x1 > box.x1 - pad:
            offset = extent.x0 - (box.x0 + note.xy[0] / least * box.width)
            room = start / least * box.width - offset - extent.width  # px left of it, moved
            moves.append((note, start, room >= pad))
    if not all(fits for _, _, fits in moves):
        ax.set_xlim(0, least * 1.4)
        return
    for note, start, _ in moves:
        note.xy = (start, note.xy[1])
        note.xyann = (-note.xyann[0], note.xyann[1])
        note.set_horizontalalignment("right")


# -- requests, not usage --------------------------------------------------------------------------

def failed_scheduling(events: pd.DataFrame, pod: str, namespace: str = "default") -> str:
    """The newest ``FailedScheduling`` message of a pod: what ``kubectl describe pod`` shows."""
    mine = events[(events["object"] == f"pod/{namespace}/{pod}")
                  & (events["reason"] == "FailedScheduling")]
    if mine.empty:
        raise LookupError(f"pod {namespace}/{pod} has no FailedScheduling event")
    return str(mine["message"].iloc[-1])


def node_cpu(cluster: Cluster) -> pd.DataFrame:
    """Per node, in CPUs: allocatable and requested as the scheduler sees them, limits, used.

    ``requested`` is the scheduler's own sum of the requests of the pods on the node
    (its cache, assumed pods included): all the NodeResourcesFit filter compares
    with ``allocatable``. ``limits`` sums the pods' CPU limits (a container without
    one counts 0, as ``kubectl describe node`` does). ``used`` is what the running
    containers use (their ``sim.kubelearn.io/<container>.cpu-usage``, capped at
    their limit; :func:`kubelearn.kubelet.behaviour.cpu_in_use`), never more than
    the node's CPU capacity: what ``kubectl top node`` would show, and what the
    scheduler never reads.
    """
    from kubelearn.api import pod_limits, resource_list
    from kubelearn.kubelet.behaviour import cpu_in_use

    scheduler = cluster.scheduler
    assert scheduler is not None, "the cluster runs no scheduler"
    rows = {info.name: {"pods": len(info.pods), "allocatable": info.allocatable.milli_cpu / 1000,
                        "requested": info.requested.milli_cpu / 1000, "limits": 0.0, "used": 0.0}
            for info in scheduler.cache.snapshot().node_infos}
    for pod in cluster.admin.list("pods", namespace=None)["items"]:
        row = rows.get(pod["spec"].get("nodeName"))
        if row is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        limit = pod_limits(pod).get("cpu")
        row["limits"] += limit.milli_value() / 1000 if limit is not None else 0.0
        running = {s.get("name") for s in (pod.get("status") or {}).get("containerStatuses") or []
                   if "running" in (s.get("state") or {})}
        row["used"] += sum(cpu_in_use(pod, c) for c in pod["spec"]["containers"]
                           if c.get("name") in running) / 1000
    for node in cluster.admin.list("nodes")["items"]:  # a node cannot run more CPU than it has
        row = rows.get(node["metadata"]["name"])
        capacity = resource_list((node.get("status") or {}).get("capacity")).get("cpu")
        if row is not None and capacity is not None:
            row["used"] = min(row["used"], capacity.milli_value() / 1000)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "node"
    return frame.sort_index()


def cpu_bars(cluster: Cluster, incoming: Mapping[str, Any] | None = None,
             title: str = "") -> Figure:
    """Per node: allocatable, requested and used CPU side by side; the incoming pod on top.

    The requested bar is what the scheduler sees; the used bar is what runs. An
    ``incoming`` pod's CPU request is drawn on top of each node's requested bar,
    green where it fits under allocatable (the black line) and red where it does
    not: the NodeResourcesFit filter's question, node by node.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from kubelearn.api import pod_requests

    table = node_cpu(cluster)
    xs = list(range(len(table)))
    fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    width = 0.26
    ax.bar([x - width for x in xs], table["allocatable"], width, color="0.8")
    ax.bar(xs, table["requested"], width, color="tab:blue")
    ax.bar([x + width for x in xs], table["used"], width, color="tab:orange")
    ax.hlines(table["allocatable"], [x - 1.5 * width for x in xs],
              [x + 1.5 * width for x in xs], color="black", linewidth=1)
    handles: list[Any] = [
        Patch(facecolor="0.8", edgecolor="black", label="allocatable (and the black line)"),
        Patch(color="tab:blue", label="requested: what the scheduler adds up"),
        Patch(color="tab:orange", label="used: what the containers run")]
    cpu, name = 0.0, ""
    if incoming is not None:
        wanted = pod_requests(incoming).get("cpu")
        cpu = wanted.milli_value() / 1000 if wanted is not None else 0.0
        name = (incoming.get("metadata") or {}).get("name", "the pod")
        fits = table["requested"] + cpu <= table["allocatable"]
        ax.bar(xs, [cpu] * len(xs), width, bottom=table["requested"], fill=False, hatch="//",
               edgecolor=["tab:green" if f else "tab:red" for f in fits], linewidth=1.2)
        handles += [Patch(fill=False, hatch="//", edgecolor=colour, label=f"{name}: {label}")
                    for colour, label, shown in (
                        ("tab:green", f"its {cpu:g} CPU fits", fits.any()),
                        ("tab:red", f"its {cpu:g} CPU would go past allocatable",
                         (~fits).any())) if shown]
    for x, (_, row) in zip(xs, table.iterrows(), strict=True):
        ax.text(x - width, row["allocatable"], f"{row['allocatable']:g}", ha="center",
                va="bottom", fontsize=8)
        requested = f"{row['requested']:g}" + (f" + {cpu:g}" if incoming is not None else "")
        ax.text(x, row["requested"] + cpu, requested, ha="center", va="bottom", fontsize=8)
        ax.text(x + width, row["used"], f"{row['used']:g}", ha="center", va="bottom",
                fontsize=8)
    top = float(max(table["allocatable"].max(), (table["requested"] + cpu).max(),
                    table["used"].max()))
    ax.set_xticks(xs, [f"{node}\n({int(row['pods'])} pod{'' if row['pods'] == 1 else 's'})"
                       for node, row in table.iterrows()])
    ax.set_ylim(0, top * 1.18)
    ax.set_xlabel("node (pods on it)")
    ax.set_ylabel("CPU (cores)")
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title or "Per node: the scheduler adds up requests; usage does not count",
                 fontsize=10)
    return fig


# -- reading a FailedScheduling message -----------------------------------------------------------

def filter_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Nodes × the filters that rejected some node, and the reason each node is counted under.

    From an :func:`~kubelearn.scheduler.explain` table: ``✓`` where the filter
    passed (or had nothing to check), ``✗`` where it rejected the node. The
    scheduler runs a node's filters in the profile's order and stops at the first
    rejection, so ``counted under`` -- the reason the FailedScheduling message
    counts the node under -- is the first ✗ in that order (the explain table's
    column order). Filters that rejected no node are left out.
    """
    filters = [c for c in table.columns if c.startswith("filter:")]
    failed = {c: ~table[c].isin(["passed", "skipped"]) for c in filters}
    shown = [c for c in filters if failed[c].any()]
    frame = pd.DataFrame({c.removeprefix("filter:"): failed[c].map({True: "✗", False: "✓"})
                          for c in shown}, index=table.index)
    frame["counted under"] = [next((str(table.at[node, c]) for c in filters
                                    if failed[c][node]), "fits") for node in table.index]
    return frame


# -- the 100m / 200Mi a pod without requests counts for scoring -----------------------------------

def request_defaults(cluster: Cluster, pod: Mapping[str, Any],
                     profile: str = "default-scheduler") -> pd.DataFrame:
    """Per node: what the Fit filter counts, what scoring counts, and the scores for ``pod``.

    Columns in three groups (a two-level header); rows ``node (n pods)``. A
    container that sets no CPU or memory request counts 0 for the NodeResourcesFit
    filter but 100m and 200Mi for the NodeResourcesFit score (the non-zero requests;
    pkg/scheduler/util/pod_resources.go), both for the pods on the node and for
    ``pod``. ``NodeResourcesFit`` is the score as the scheduler computes it, by
    the plugin's own scorer; ``NodeResourcesFit, unset as 0`` is what the same
    scorer would give with the raw requests. NodeResourcesBalancedAllocation counts the raw
    requests in v1.32; its score and the total come from explain.
    """
    from kubelearn.scheduler.explain import as_pod
    from kubelearn.scheduler.plugins.resource_allocation import (
        pod_resource_requests,
        resource_vectors,
    )

    scheduler = cluster.scheduler
    assert scheduler is not None, "the cluster runs no scheduler"
    pod = as_pod(pod)
    fit = next(p for p in scheduler.profiles[profile].score_plugins
               if p.name == "NodeResourcesFit")
    explained = scheduler.explain({**pod, "spec": {**pod["spec"], "schedulerName": profile}})

    def fit_score(info: Any, use_requested: bool) -> int:
        """The plugin's scorer on the node with the pod: raw requests, or non-zero ones."""
        requests = pod_resource_requests(pod, fit.resources, use_requested)
        requested, _, allocatable = resource_vectors(info, fit.resources, requests,
                                                     use_requested)
        return fit.scorer(requested, allocatable)

    name = pod["metadata"].get("name", "the pod")
    filter_, scoring, scores = "the Fit filter counts", "the Fit score counts", f"scores for {name}"
    rows = {}
    for info in scheduler.cache.snapshot().node_infos:
        pods = len(info.pods)
        rows[f"{info.name} ({pods} pod{'' if pods == 1 else 's'})"] = {
            (filter_, "cpu"): f"{info.requested.milli_cpu}m",
            (filter_, "memory"): f"{info.requested.memory // 2**20}Mi",
            (scoring, "cpu"): f"{info.non_zero_requested.milli_cpu}m",
            (scoring, "memory"): f"{info.non_zero_requested.memory // 2**20}Mi",
            (scores, "NodeResourcesFit"): fit_score(info, False),
            (scores, "NodeResourcesFit, unset as 0"): fit_score(info, True),
            (scores, "NodeResourcesBalancedAllocation"):
                explained.at[info.name, "NodeResourcesBalancedAllocation"],
            (scores, "total"): explained.at[info.name, "total"],
            (scores, "chosen"): explained.at[info.name, "chosen"]}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "node (pods on it)"
    return frame


# -- the same pods, other seeds -------------------------------------------------------------------

def placements_by_seed(clusters: Mapping[int, Cluster]) -> pd.DataFrame:
    """One row per seed: the pods on each node, the sorted counts, and the groups compared.

    ``clusters`` maps a seed to a cluster that ran the same workload with it. A
    cell lists the pods on that node by the part of their name after the common
    prefix (``app-3`` → ``3``). ``groups as seed N`` says whether the same pods
    share a node as in the first seed, whatever the node is called.
    """
    import os

    placed = {seed: {p["metadata"]["name"]: p["spec"].get("nodeName")
                     for p in cluster.admin.list("pods")["items"]}
              for seed, cluster in clusters.items()}
    names = sorted({name for pods in placed.values() for name in pods})
    prefix = os.path.commonprefix(names)
    prefix = prefix[:prefix.rfind("-") + 1]

    def order(name: str) -> tuple[int, str]:
        rest = name[len(prefix):]
        return (int(rest), rest) if rest.isdigit() else (-1, rest)

    nodes = sorted({node for pods in placed.values() for node in pods.values() if node})
    first = next(iter(placed), None)

    def groups(pods: Mapping[str, str | None]) -> set[frozenset[str]]:
        return {frozenset(p for p, n in pods.items() if n == node) for node in nodes} - {
            frozenset()}

    rows = []
    for seed, pods in placed.items():
        row: dict[str, Any] = {"seed": seed}
        for node in nodes:
            row[node] = " ".join(name[len(prefix):] for name in sorted(
                (p for p, n in pods.items() if n == node), key=order))
        row["pods per node, sorted"] = sorted(sum(1 for n in pods.values() if n == node)
                                              for node in nodes)
        row[f"groups as seed {first}"] = "same" if groups(pods) == groups(placed[first]) \
            else "different"
        rows.append(row)
    return pd.DataFrame(rows).set_index("seed")


# -- many nodes -----------------------------------------------------------------------------------

def pods_per_node(cluster: Cluster) -> pd.Series:
    """How many nodes hold 0, 1, 2... pods, in the scheduler's view (every node counted).

    Read from the scheduler's cache (the pods it bound or assumed on each node),
    which is quicker than listing thousands of pods through the API server.
    """
    scheduler = cluster.scheduler
    assert scheduler is not None, "the cluster runs no scheduler"
    counts = pd.Series([len(info.pods) for info in scheduler.cache.snapshot().node_infos])
    spread = counts.value_counts().sort_index()
    spread.index.name, spread.name = "pods on the node", "nodes"
    return spread


def pods_per_node_plot(cluster: Cluster) -> Figure:
    """A bar per pod count: how many nodes ended with that many pods."""
    import matplotlib.pyplot as plt

    spread = pods_per_node(cluster)
    pods, nodes = int((spread.index * spread).sum()), int(spread.sum())
    fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
    bars = ax.bar(spread.index, spread.to_numpy(), color="tab:blue")
    ax.bar_label(bars, fmt="{:,.0f}", fontsize=8, padding=2)
    ax.set_xticks(spread.index)
    ax.set_xlabel("pods on the node")
    ax.set_ylabel("nodes")
    ax.set_ylim(0, float(spread.max()) * 1.15)
    most = int(spread.idxmax())
    others = [str(k) for k in spread.index if k != most]
    rest = f", the others {', '.join(others[:-1])} or {others[-1]}" if len(others) > 1 else \
        f", the others {others[0]}" if others else ""
    ax.set_title(f"{pods:,} pods over {nodes:,} nodes: most nodes got {most} "
                 f"pod{'' if most == 1 else 's'}{rest}", fontsize=10)
    return fig
