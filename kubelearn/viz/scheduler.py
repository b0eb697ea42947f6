"""Plots and a widget for lesson 04: filter and rank, placements, and when pods got scheduled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster

META = ("total", "feasible", "chosen")


def score_columns(table: pd.DataFrame) -> list[str]:
    """The score plugins' columns of an explain table."""
    return [c for c in table.columns if not c.startswith("filter:") and c not in META]


def score_bars(table: pd.DataFrame, weights: Mapping[str, int], title: str = "") -> Figure:
    """Each node's total as stacked bars of score × weight per plugin; infeasible nodes hatched."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.55 * len(table)))
    left = pd.Series(0.0, index=table.index)
    for plugin in score_columns(table):
        part = table[plugin].fillna(0).astype(float) * weights.get(plugin, 1)
        if not part.any():
            continue
        ax.barh(table.index, part, left=left, label=f"{plugin} ×{weights.get(plugin, 1)}")
        left += part
    for row, (node, info) in enumerate(table.iterrows()):
        if not info["feasible"]:
            ax.barh(node, left[node], color="none", hatch="///", edgecolor="tab:red")
            reasons = [v for k, v in info.items() if k.startswith("filter:")
                       and v not in ("passed", "skipped")]
            ax.text(left[node] + 5, row, "✗ " + "; ".join(reasons), va="center", fontsize=8,
                    color="tab:red")
        elif info["chosen"]:
            ax.text(left[node] + 5, row, f"★ chosen ({int(info['total'])})", va="center",
                    fontsize=8, color="tab:green")
        else:
            ax.text(left[node] + 5, row, str(int(info["total"])), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(left.max(), 1) * 1.45)
    ax.set_xlabel("weighted score (Σ score × weight)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def what_if_widget(cluster: Cluster, profiles: list[str], cpu: int = 500,
                   memory: int = 1024) -> ipywidgets.Widget:
    """Sliders for a pod's CPU (m) and memory (Mi) requests and a profile; redraws the scores."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    cpu_slider = widgets.IntSlider(value=cpu, min=0, max=8000, step=100, description="cpu (m)",
                                   continuous_update=False)
    memory_slider = widgets.IntSlider(value=memory, min=0, max=16384, step=256,
                                      description="memory (Mi)", continuous_update=False)
    profile = widgets.Dropdown(options=profiles, description="profile")
    out = widgets.Output()

    def redraw(change: dict | None = None) -> None:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "what-if"},
               "spec": {"schedulerName": profile.value, "containers": [{
                   "name": "app", "image": "nginx:1.27", "resources": {"requests": {
                       "cpu": f"{cpu_slider.value}m", "memory": f"{memory_slider.value}Mi"}}}]}}
        table = cluster.scheduler.explain(pod)
        weights = cluster.scheduler.profiles[profile.value].score_weights
        out.clear_output(wait=True)
        with out:
            figure = score_bars(table, weights, f"{profile.value}: where would the pod go?")
            display(figure)
            plt.close(figure)

    for control in (cpu_slider, memory_slider, profile):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([cpu_slider, memory_slider, profile]), out])


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
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), label="requested / allocatable")
    return fig


def scheduling_timeline(events: pd.DataFrame, pods: list[str], namespace: str = "default",
                        ) -> Figure:
    """Per pod: waiting in the scheduler (created → scheduled), then on its node until started."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.45 * len(pods)))
    for row, pod in enumerate(pods):
        mine = events[events["object"] == f"pod/{namespace}/{pod}"]

        def first(reason: str, frame: pd.DataFrame = mine) -> float | None:
            found = frame[frame["reason"] == reason]["time"]
            return float(found.iloc[0]) if len(found) else None

        queued, scheduled, started = first("Queued"), first("Scheduled"), first("Started")
        end = float(events["time"].max())
        if queued is not None:
            ax.barh(row, (scheduled if scheduled is not None else end) - queued, left=queued,
                    color="tab:orange", height=0.5,
                    label="Pending: waiting for a node" if row == 0 else None)
        if scheduled is not None:
            ax.barh(row, (started if started is not None else end) - scheduled, left=scheduled,
                    color="tab:blue", height=0.5,
                    label="scheduled: the kubelet pulls and starts" if row == 0 else None)
        if started is not None:
            ax.plot(started, row, "o", color="tab:green",
                    label="container started" if row == 0 else None)
    ax.set_yticks(range(len(pods)), pods)
    ax.invert_yaxis()
    ax.set_xlabel("simulated seconds")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig
