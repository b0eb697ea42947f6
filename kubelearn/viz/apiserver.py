"""Tables, plots and a widget for lesson 03: the API server's pipeline, RBAC and audit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.figure import Figure

    from kubelearn.apiserver.authn import UserInfo
    from kubelearn.cluster import Cluster


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Every leaf of a nested object by its path (``spec.containers[0].image``)."""
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for key, child in value.items():
            out.update(_flatten(child, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, child in enumerate(value):
            out.update(_flatten(child, f"{prefix}[{index}]"))
        return out
    return {prefix: json.dumps(value)}


def compare(submitted: Mapping[str, Any], stored: Mapping[str, Any]) -> pd.DataFrame:
    """The fields of an object as submitted and as stored, side by side, with what changed."""
    before, after = _flatten(submitted), _flatten(stored)
    rows = []
    for path in sorted(before.keys() | after.keys()):
        was, now = before.get(path, ""), after.get(path, "")
        change = "" if was == now else ("added" if not was else ("removed" if not now else "set"))
        rows.append((path, was, now, change))
    return pd.DataFrame(rows, columns=["field", "submitted", "stored", "change"])


def stage_funnel(audit: pd.DataFrame, stages: Iterable[str]) -> Figure:
    """How many requests reached each stage of the pipeline, and where they stopped."""
    import matplotlib.pyplot as plt

    stages = list(stages)
    order = {stage: index for index, stage in enumerate(stages)}
    reached = audit["stage"].map(order)
    stopped = audit[audit["decision"] != "allow"]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    through = [int((reached >= index).sum()) for index in range(len(stages))]
    rejected = [int((stopped["stage"] == stage).sum()) for stage in stages]
    ax.barh(stages, through, color="tab:blue", alpha=0.35, label="requests reaching the stage")
    ax.barh(stages, rejected, color="tab:red", label="rejected at the stage")
    for y, (total, bad) in enumerate(zip(through, rejected, strict=True)):
        ax.text(total + 0.2, y, f"{total}" + (f"  ({bad} rejected)" if bad else ""),
                va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("requests")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xlim(0, max(through, default=1) * 1.3)
    fig.tight_layout()
    return fig


def requests_over_time(audit: pd.DataFrame, bucket: float = 10.0,
                       title: str = "Requests to the API server every 10 s, by user") -> Figure:
    """Requests per user (component) per ``bucket`` seconds of simulated time, stacked."""
    import matplotlib.pyplot as plt

    frame = audit.assign(bucket=(audit["time"] // bucket) * bucket)
    counts = frame.pivot_table(index="bucket", columns="user", values="verb",
                               aggfunc="count", fill_value=0)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    bottom = None
    for user in counts.columns:
        ax.bar(counts.index, counts[user], width=bucket * 0.9, align="edge",
               bottom=bottom, label=user)
        bottom = counts[user] if bottom is None else bottom + counts[user]
    ax.set_xlabel(f"simulated seconds ({bucket:g}s buckets)")
    ax.set_ylabel("requests")
    ax.set_title(title.replace("10 s", f"{bucket:g} s"))
    ax.legend(title="user", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def access_matrix(cluster: Cluster, users: Iterable[UserInfo], verbs: Iterable[str],
                  resource: str, namespace: str = "default", group: str = "") -> pd.DataFrame:
    """``kubectl auth can-i`` for every user and verb on one resource: yes or no."""
    verbs = list(verbs)
    rows = {}
    for user in users:
        rows[user.name] = ["yes" if cluster.api.can_i(user, verb, resource, namespace=namespace,
                                                      group=group)
                           else "no" for verb in verbs]
    return pd.DataFrame.from_dict(rows, orient="index", columns=verbs)


def can_i_widget(cluster: Cluster, users: Iterable[UserInfo], namespace: str = "default",
                 ) -> ipywidgets.Widget:
    """Dropdowns for user, verb and resource; shows the authorizers' answer and its reason."""
    import ipywidgets as widgets

    from kubelearn.apiserver.rbac import Attributes, forbidden

    user = widgets.Dropdown(options=[(u.name, u) for u in users], description="user")
    verb = widgets.Dropdown(options=["get", "list", "watch", "create", "update", "patch",
                                     "delete"], description="verb")
    resource = widgets.Dropdown(options=["pods", "deployments", "services", "secrets",
                                         "nodes", "pods/log"], description="resource")
    answer = widgets.HTML()

    def show(change: dict | None = None) -> None:
        who = user.value.with_group("system:authenticated")
        name, _, sub = resource.value.partition("/")
        group = "apps" if name == "deployments" else ""
        namespaced = name not in ("nodes",)
        attrs = Attributes(who, verb.value, name, sub, namespace if namespaced else "", "",
                           group)
        decision = cluster.api.authorizer.authorize(attrs)
        if decision.allowed:
            answer.value = f"<b style='color:green'>yes</b> — {decision.reason}"
        else:
            answer.value = f"<b style='color:red'>no</b> — {forbidden(attrs, decision.reason)}"

    for control in (user, verb, resource):
        control.observe(show, names="value")
    show()
    return widgets.VBox([widgets.HBox([user, verb, resource]), answer])
