"""Tables, plots and a widget for lesson 03: the API server's pipeline, RBAC and audit.

And :func:`kubectl`, which runs the real kubectl against a served cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation

    from kubelearn.apiserver.authn import UserInfo
    from kubelearn.apiserver.serve import Server
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


# The StatusReason an error code stands for in the pipeline's answers (apimachinery's
# api/errors, v1.32): 409 is AlreadyExists for a create and Conflict for a stale update.
REASON_BY_CODE = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                  405: "MethodNotAllowed", 406: "NotAcceptable", 410: "Gone",
                  413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
                  429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                  504: "Timeout"}


def _reason(code: int, verb: str) -> str:
    if code == 409:
        return "AlreadyExists" if verb == "create" else "Conflict"
    return REASON_BY_CODE.get(code, "")


def _rejection(rows: pd.DataFrame) -> str:
    """One line per kind of rejection: ``403 Forbidden: jane delete pods``, ``×2`` if repeated."""
    lines = []
    for (code, verb), group in rows.groupby(["code", "verb"], sort=False):
        who = group["user"].iloc[0] or "no valid credentials:"
        what = ", ".join(dict.fromkeys(group["resource"]))
        times = f" ×{len(group)}" if len(group) > 1 else ""
        lines.append(f"{int(code)} {_reason(int(code), verb)}{times} · {who} {verb} {what}")
    return "\n".join(lines)


def stage_funnel(audit: pd.DataFrame, stages: Iterable[str]) -> Figure:
    """How many requests entered each stage of the pipeline, and which ones it turned away.

    One bar per stage, top to bottom in the order requests walk them: the
    requests that went on to the next stage (blue) and, at its end, those the
    stage rejected (red), so the whole bar is the requests that entered. Each
    stage's rejections are written next to it: status code, reason, who, what.
    """
    import matplotlib.pyplot as plt

    stages = list(stages)
    order = {stage: index for index, stage in enumerate(stages)}
    reached = audit["stage"].map(order)
    stopped = audit[audit["decision"] != "allow"]
    entered = [int((reached >= index).sum()) for index in range(len(stages))]
    rejected = [int((stopped["stage"] == stage).sum()) for stage in stages]
    passed = [n - bad for n, bad in zip(entered, rejected, strict=True)]
    height = 0.9 + 0.2 * len(stages) + 0.16 * int(sum(
        max(len(_rejection(stopped[stopped["stage"] == s]).splitlines()), 1) for s in stages))
    fig, ax = plt.subplots(figsize=(9, height), layout="constrained")
    ax.barh(stages, passed, color="tab:blue", alpha=0.45, label="went on to the next stage")
    ax.barh(stages, rejected, left=passed, color="tab:red", label="rejected at this stage")
    widest = max(entered, default=1) or 1
    notes = []
    for y, stage in enumerate(stages):
        ax.annotate(f"{entered[y]} in", (entered[y], y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)
        mine = stopped[stopped["stage"] == stage]
        if len(mine):  # past the longest bar and its "N in"; placed by _fit_notes
            notes.append(ax.annotate(_rejection(mine), (widest, y), xytext=(36, 0),
                                     textcoords="offset points", va="center", fontsize=8,
                                     color="tab:red", in_layout=False))
    ax.invert_yaxis()
    ax.set_xlim(0, widest * 2.35)
    ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= widest])
    ax.set_xlabel("requests (the whole bar: requests that entered the stage)")
    ax.set_ylabel("pipeline stage, in order")
    last = stages[-1] if stages else ""
    answered = passed[-1] if passed else 0
    ax.set_title(f"{len(audit)} requests: {int(sum(rejected))} turned away (red; why on the "
                 f"right), {answered} got through {last}", fontsize=10)
    fig.legend(fontsize=8, loc="outside lower center", ncol=2)
    _fit_notes(ax, notes)
    return fig


def _wrap_wide_lines(note: Annotation, limit: float) -> int:
    """Break each line of ``note`` wider than ``limit`` px after its `` · ``; the lines added."""
    renderer = note.figure.canvas.get_renderer()
    font = note.get_fontproperties()
    lines, added = [], 0
    for line in note.get_text().split("\n"):
        wide = renderer.get_text_width_height_descent(line, font, ismath=False)[0]
        if wide > limit and " · " in line:
            line, added = line.replace(" · ", " ·\n    ", 1), added + 1
        lines.append(line)
    note.set_text("\n".join(lines))
    return added


def _fit_notes(ax: Axes, notes: list[Annotation], pad: float = 20.0) -> None:
    """Widen the x axis (and heighten the figure) until every note lies inside the axes.

    A note is anchored at a data x and shifted a fixed number of points to the
    right, and keeps its width in pixels while the axis scales: a note ``w`` px
    wide, ``offset`` px past an anchor ``x`` data units from the left edge of an
    axes ``W`` px wide, ends ``pad`` px inside it once the axis spans
    ``x * W / (W - offset - w - pad)``; the widest note sets the span. A line
    wider than 60 % of the axes would squeeze the bars, so it is first broken
    after its `` · `` (code and reason, then who and what); a note taller than
    its row's room makes the figure taller.
    """
    fig = ax.figure
    for _ in range(6):  # each change moves the layout a little: measure again
        fig.draw_without_rendering()
        box = ax.get_window_extent()
        extents = [note.get_window_extent() for note in notes]
        if all(e.x1 <= box.x1 - pad and e.y0 >= box.y0 and e.y1 <= box.y1 for e in extents):
            return
        low, high = ax.get_xlim()
        span = high - low
        for note, extent in zip(notes, extents, strict=True):
            added = _wrap_wide_lines(note, 0.6 * box.width)
            if added:
                fig.set_figheight(fig.get_figheight() + 0.16 * added)
                continue
            start = note.xy[0] - low  # the anchor, in data units from the left edge
            offset = extent.x0 - (box.x0 + start / (high - low) * box.width)
            room = box.width - offset - extent.width - pad  # pixels left for the anchor
            if room > 0:
                span = max(span, start * box.width / room)
        if any(e.y0 < box.y0 or e.y1 > box.y1 for e in extents):
            fig.set_figheight(fig.get_figheight() + 0.25)
        ax.set_xlim(low, low + span)


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
    from html import escape

    import ipywidgets as widgets
    from IPython.display import HTML

    from kubelearn.apiserver.rbac import Attributes, forbidden

    user = widgets.Dropdown(options=[(u.name, u) for u in users], description="user")
    verb = widgets.Dropdown(options=["get", "list", "watch", "create", "update", "patch",
                                     "delete"], description="verb")
    resource = widgets.Dropdown(options=["pods", "deployments", "services", "secrets",
                                         "nodes", "pods/log"], description="resource")
    def answer(who: UserInfo, verb: str, resource: str) -> HTML:
        name, _, sub = resource.partition("/")
        group = "apps" if name == "deployments" else ""
        namespaced = name not in ("nodes",)
        attrs = Attributes(who.with_group("system:authenticated"), verb, name, sub,
                           namespace if namespaced else "", "", group)
        decider, decision = cluster.api.authorizer.decide(attrs)
        if decision.allowed:
            why = decision.reason or f"the {decider.mode} authorizer allows it (it gives no reason)"
            return HTML(f"<b style='color:green'>yes</b> — {escape(why)}")
        return HTML(f"<b style='color:red'>no</b> — {escape(forbidden(attrs, decision.reason))}")

    # The answer is a plain output above the dropdowns (kubelearn.viz.interact).
    return redrawn(answer, {"who": user, "verb": verb, "resource": resource})


def kubectl(server: Server, *args: str, timeout: float = 30.0) -> None:
    """Run the real ``kubectl`` on a served cluster; print the command line and what it answered.

    It only sets ``KUBECONFIG`` to the server's admin kubeconfig, as you would
    in a terminal (``export KUBECONFIG=...``). Where kubectl is not installed,
    or does not answer within ``timeout`` seconds, it says so instead.
    """
    import os
    import shlex
    import shutil
    import subprocess

    print("$", shlex.join(["kubectl", *args]))
    program = shutil.which("kubectl")
    if program is None:
        print("(kubectl is not installed here; `kubelearn serve` in a terminal prints how to "
              "point yours at a cluster)\n")
        return
    env = dict(os.environ, KUBECONFIG=str(server.kubeconfig_path))
    try:
        done = subprocess.run([program, *args], env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"(no answer within {timeout:g} s)\n")
        return
    print(done.stdout or done.stderr)
