"""Plots and a widget for lesson 07: a Deployment's rollout, from records alone.

Everything here reads ``cluster.events()``: the Deployment controller's
``ReplicaSetScaled`` (which ReplicaSet it resized, old or new, its revision),
``DeploymentStatus`` (replicas, maxSurge, maxUnavailable at each status write)
and ``ProgressDeadlineExceeded``; the ReplicaSet controller's
``ReplicaSetStatus`` (each ReplicaSet's pods, ready and available pods, image).
Nothing reaches into a component.

- :func:`rollout_frame`: per ReplicaSet over time -- desired, pods, available;
- :func:`rollouts`: each rollout's start, end, revisions, the fenceposts and
  what was observed (most pods, fewest available);
- :func:`rollout_timeline`: the picture: pods stacked by ReplicaSet, available
  pods, the maxSurge ceiling and the minimum-available floor;
- :func:`web_deployment`: the lesson's Deployment, as YAML;
- :func:`simulate_rollout` and :func:`rollout_widget`: a small rollout re-run
  for other settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from kubelearn.controllers.deployment.util import parse_fields
from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster

DEPLOYMENT = "deployment-controller"
REPLICASET = "replicaset-controller"

FRAME_COLUMNS = ["time", "rs", "revision", "image", "desired", "replicas", "ready", "available"]
ROLLOUT_COLUMNS = ["start", "end", "duration", "outcome", "strategy", "from_revision",
                   "to_revision", "new_replicaset", "reuses_replicaset", "desired", "max_surge",
                   "max_unavailable", "ceiling", "floor", "max_pods", "min_available",
                   "deadline_exceeded"]
# One colour per role, in every rollout plot: the ReplicaSet of the Deployment's current
# template (new) and every other one (old). Light and opaque, so nothing drawn behind the
# pods (the shading of a stretch with no available pod) mixes into a colour of its own.
OLD_COLOUR = "#a6c8e4"  # tab:blue on white at 45 %
NEW_COLOUR = "#a4d7a4"  # tab:green on white at 45 %
# When one role passes from a ReplicaSet to another inside the window (an undo), each
# ReplicaSet also gets a pattern of its own, so it can be followed across the change.
HATCHES = ["", "///", "...", "xxx", "\\\\\\", "ooo"]


def _events(cluster: Cluster | pd.DataFrame) -> pd.DataFrame:
    return cluster if isinstance(cluster, pd.DataFrame) else cluster.events()


def _status_records(events: pd.DataFrame, deployment: str, namespace: str) -> pd.DataFrame:
    """The Deployment's DeploymentStatus records, parsed, the last one of each instant."""
    mine = events[(events["component"] == DEPLOYMENT) & (events["reason"] == "DeploymentStatus")
                  & (events["object"] == f"deployment/{namespace}/{deployment}")]
    rows = [{"time": float(t), **parse_fields(m)} for t, m in zip(mine["time"], mine["message"],
                                                                  strict=True)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    # records within one instant pass through half-done states; what counts is where it ends
    return frame.groupby("time", sort=True).last().reset_index()


def _strategy(max_surge: int, max_unavailable: int, desired: int) -> str:
    """Recreate's records say maxSurge=0 maxUnavailable=0; a RollingUpdate never does.

    ResolveFenceposts turns 0 and 0 into maxUnavailable 1, so (0, 0) with replicas
    to run can only be Recreate (whose MaxSurge and MaxUnavailable are 0).
    """
    return "Recreate" if desired > 0 and max_surge == 0 and max_unavailable == 0 \
        else "RollingUpdate"


def rollout_frame(cluster: Cluster | pd.DataFrame, deployment: str,
                  namespace: str = "default") -> pd.DataFrame:
    """Each of the Deployment's ReplicaSets over time, one row per ReplicaSet per change.

    Columns: ``time``; ``rs``; ``revision`` (it changes when a rollback reuses a
    ReplicaSet); ``image``; ``desired`` (its spec.replicas, as the Deployment
    controller set it); ``replicas``, ``ready``, ``available`` (its status, as
    the ReplicaSet controller last wrote it: pods not terminating, ready,
    available). Values hold until the next row; a ReplicaSet's rows start when
    it first appears. Empty (same columns) if the records know no ReplicaSet of it.
    """
    events = _events(cluster)
    prefix = f"replicaset/{namespace}/"
    scaled = events[(events["component"] == DEPLOYMENT) & (events["reason"] == "ReplicaSetScaled")
                    & events["object"].str.startswith(prefix)
                    & events["message"].str.startswith(f"deployment={deployment} ")]
    objects = set(scaled["object"])
    statuses = _status_records(events, deployment, namespace)
    if not statuses.empty:
        objects |= {prefix + n for n in statuses["newReplicaSet"] if n != "<none>"}
    written = events[(events["component"] == REPLICASET) & (events["reason"] == "ReplicaSetStatus")
                     & events["object"].isin(objects)]
    both = pd.concat([scaled, written]).sort_index()  # record order: time, then sequence
    state: dict[str, dict[str, Any]] = {}
    images: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for time, group in both.groupby("time", sort=True):
        for _, record in group.iterrows():
            name = record["object"].removeprefix(prefix)
            fields = parse_fields(record["message"])
            rs = state.setdefault(name, {"revision": 0, "desired": 0, "replicas": 0,
                                         "ready": 0, "available": 0})
            if record["reason"] == "ReplicaSetScaled":
                rs.update(revision=fields["revision"], desired=fields["to"])
            else:
                rs.update(desired=fields["desired"], replicas=fields["replicas"],
                          ready=fields["readyReplicas"], available=fields["availableReplicas"])
                images.setdefault(name, str(fields.get("images", "")))
        rows += [{"time": float(time), "rs": name, **rs} for name, rs in state.items()]
    frame = pd.DataFrame(rows, columns=[c for c in FRAME_COLUMNS if c != "image"])
    frame.insert(3, "image", frame["rs"].map(images).fillna(""))
    return frame[FRAME_COLUMNS]


def totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Per time, over every ReplicaSet: pods (not terminating), ready and available pods."""
    out = frame.groupby("time", sort=True)[["replicas", "ready", "available"]].sum()
    return out.rename(columns={"replicas": "pods"}).reset_index()


def _complete(row: pd.Series) -> bool:
    """DeploymentComplete, from a status record: all updated, all available, no old pods."""
    want = int(row["desired"])
    return (int(row["updatedReplicas"]) == want and int(row["replicas"]) == want
            and int(row["availableReplicas"]) == want)


def rollouts(cluster: Cluster | pd.DataFrame, deployment: str,
             namespace: str = "default") -> pd.DataFrame:
    """Each rollout of the Deployment: from its first unfinished status to complete or replaced.

    A rollout starts at the first status write that is not complete (a new
    template, the creation, a scale) and ends at the next complete one, or when
    another template takes over before that (an undo, another change):
    ``outcome`` says which (``end`` NaN while in progress). ``reuses_replicaset``:
    the new ReplicaSet is an old one scaled up again (what an undo does).
    ``ceiling`` is desired + maxSurge, ``floor`` desired - maxUnavailable (as
    the controller resolved them; 0 for Recreate); ``max_pods`` and
    ``min_available`` are what the ReplicaSets' statuses showed in between;
    ``deadline_exceeded`` the time of ``ProgressDeadlineExceeded``.
    """
    events = _events(cluster)
    statuses = _status_records(events, deployment, namespace)
    if statuses.empty:
        return pd.DataFrame(columns=ROLLOUT_COLUMNS)
    sums = totals(rollout_frame(events, deployment, namespace))
    obj = f"deployment/{namespace}/{deployment}"
    deadlines = events[(events["component"] == DEPLOYMENT) & (events["object"] == obj)
                       & (events["reason"] == "ProgressDeadlineExceeded")]["time"].tolist()
    out: list[dict[str, Any]] = []
    revision, current, targets = 0, None, set()
    for _, row in statuses.iterrows():
        done, target = _complete(row), row["newReplicaSet"]
        if current is not None and "<none>" not in (target, current["new_replicaset"]) \
                and target != current["new_replicaset"]:  # another template took over
            current.update(end=row["time"], outcome=f"replaced by rev {row['revision']}")
            out.append(current)
            current = None
        if current is None and not done:
            desired, surge, unavailable = (int(row[k]) for k in
                                           ("desired", "maxSurge", "maxUnavailable"))
            strategy = _strategy(surge, unavailable, desired)
            current = {"start": row["time"], "end": float("nan"), "outcome": "in progress",
                       "strategy": strategy, "from_revision": revision,
                       "reuses_replicaset": target in targets, "desired": desired,
                       "max_surge": surge, "max_unavailable": unavailable,
                       "ceiling": desired + surge,
                       "floor": desired - unavailable if strategy == "RollingUpdate" else 0}
        if current is not None:
            current.update(to_revision=int(row["revision"]), new_replicaset=target)
            if done:
                current.update(end=row["time"], outcome="complete")
                out.append(current)
                current = None
        revision = int(row["revision"])
        targets.add(target)
    if current is not None:
        out.append(current)
    for r in out:
        end = r["end"] if r["end"] == r["end"] else float("inf")
        during = sums[(sums["time"] >= r["start"]) & (sums["time"] < end)]
        before = sums[sums["time"] < r["start"]].tail(1)  # what held when it started
        seen = pd.concat([before, during, sums[sums["time"] == end]])
        r["duration"] = r["end"] - r["start"]
        r["max_pods"] = int(seen["pods"].max()) if len(seen) else 0
        r["min_available"] = int(seen["available"].min()) if len(seen) else 0
        hit = [t for t in deadlines if r["start"] <= t <= end]
        r["deadline_exceeded"] = hit[0] if hit else float("nan")
    return pd.DataFrame(out, columns=ROLLOUT_COLUMNS)


def rollout_timeline(cluster: Cluster | pd.DataFrame, deployment: str,
                     namespace: str = "default", *, since: float | None = None,
                     until: float | None = None) -> Figure:
    """A rollout on one time axis, from the records alone.

    Pods stacked by ReplicaSet (labelled with revision and image; old ones blue
    below, the one being rolled out green on top: :func:`_pods_by_role`), the
    available pods as a black line, the maxSurge ceiling (desired + maxSurge) and the
    minimum-available floor (desired - maxUnavailable) dashed, each rollout's
    start and end, a ``ProgressDeadlineExceeded``, and any stretch with no
    available pod shaded. By default the window holds every rollout after the
    Deployment's creation (the creation itself if there is nothing else);
    ``since``/``until`` (simulated seconds) choose another.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    events = _events(cluster)
    frame = rollout_frame(events, deployment, namespace)
    table = rollouts(events, deployment, namespace)
    fig, ax = plt.subplots(figsize=(10, 4.6))
    if frame.empty or table.empty:
        return _no_rollout(fig, ax, deployment, namespace, events)
    now = cluster.now if not isinstance(cluster, pd.DataFrame) else float(events["time"].max())
    table["until"] = table["end"].fillna(now)
    shown = table[table["from_revision"] > 0] if (table["from_revision"] > 0).any() else table
    start, end = float(shown["start"].min()), float(shown["until"].max())
    pad = max(2.0, 0.08 * (end - start))
    x0 = start - pad if since is None else since
    x1 = min(end + pad, max(now, end)) if until is None else until
    if x1 <= x0:
        x1 = x0 + 1.0
    if since is not None or until is not None:  # the rollouts inside the window chosen
        inside = table[(table["start"] <= x1) & (table["until"] >= x0)]
        shown = inside if len(inside) else shown
    statuses = _status_records(events, deployment, namespace)
    bottom, keys = _pods_by_role(ax, frame, statuses, shown.iloc[0], x0, x1)
    available = _wide(frame, "available", x0, x1).sum(axis=1)
    ax.step(available.index, available, where="post", color="black", lw=2,
            label="available pods (all ReplicaSets)")
    _fenceposts(ax, events, deployment, namespace, x0, x1)
    _gaps(ax, available, bottom, x0, x1)
    marks = [m for _, r in table.iterrows() for m in _marks(r, x0, x1)]
    top = max(float(bottom.max()), float(table["ceiling"].max()))
    ax.set_ylim(0, top * 1.3 + 1.5)
    ax.set_xlim(x0, x1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("pods")
    ax.grid(alpha=0.25)
    ax.legend(handles=keys + ax.get_legend_handles_labels()[0], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1))
    ax.set_title(_title(deployment, shown), fontsize=9)
    fig.tight_layout()
    _draw_marks(ax, marks)  # after the layout: label widths depend on the axes' width
    return fig


def _wide(frame: pd.DataFrame, column: str, x0: float, x1: float) -> pd.DataFrame:
    """``column`` per ReplicaSet (columns) over time (index), held from x0 to x1."""
    wide = frame.pivot_table(index="time", columns="rs", values=column, aggfunc="last")
    wide = wide.ffill().fillna(0)
    held = wide[wide.index <= x0].tail(1)
    inside = wide[(wide.index > x0) & (wide.index <= x1)]
    out = pd.concat([held.set_axis([x0]) if len(held) else
                     pd.DataFrame(0.0, index=[x0], columns=wide.columns), inside])
    last = out.tail(1).set_axis([x1])
    return pd.concat([out, last]).astype(float)


def _label(frame: pd.DataFrame, name: str, role: str = "") -> str:
    mine = frame[frame["rs"] == name]
    revisions = list(dict.fromkeys(int(r) for r in mine["revision"] if r))
    image = mine["image"].iloc[-1] or "?"
    return (f"{name} · rev {' → '.join(map(str, revisions)) or '?'} · {image}"
            + (f" ({role})" if role else ""))


def _pods_by_role(ax: Axes, frame: pd.DataFrame, statuses: pd.DataFrame, first: pd.Series,
                  x0: float, x1: float) -> tuple[pd.Series, list]:
    """Pods stacked by ReplicaSet: old ones (blue) below, the new one (green) on top.

    A ReplicaSet is new while the Deployment's status names it ``newReplicaSet``
    (before the ``first`` rollout shown starts: that rollout's target, so the
    ReplicaSet it replaces is old from the left edge on); after an undo the same
    ReplicaSet changes colour. When that happens (or
    several ReplicaSets share a role) each one also gets a hatch, and the legend
    explains colours and hatches apart. Returns the total pods over time, and the
    legend keys for colours and hatches (none when each layer carries its own label).
    """
    from matplotlib.patches import Patch

    wide = _wide(frame, "replicas", x0, x1)
    changes = [t for t in statuses["time"] if x0 < t < x1 and t not in wide.index]
    wide = pd.concat([wide, pd.DataFrame(index=changes, columns=wide.columns, dtype=float)])
    wide = wide.sort_index().ffill()
    targets = statuses.set_index("time")["newReplicaSet"].astype(str)
    new = targets.reindex(wide.index, method="ffill").fillna(targets.iloc[0])
    new[new.index < first["start"]] = first["new_replicaset"]
    layers = []  # (role, ReplicaSet, pods), old ones first, oldest first
    for role in ("old", "new"):
        for name in dict.fromkeys(frame["rs"]):
            if name in wide:
                pods = wide[name].where((new == name) == (role == "new"), 0.0)
                if pods.any():
                    layers.append((role, name, pods))
    names = list(dict.fromkeys(name for _, name, _ in layers))
    roles = {role for role, _, _ in layers}
    hatched = len(layers) > len(roles)  # a ReplicaSet changed role, or two share one
    bottom = pd.Series(0.0, index=wide.index)
    for role, name, pods in layers:
        hatch = HATCHES[names.index(name) % len(HATCHES)] if hatched else None
        label = "_" if hatched else _label(frame, name, role)
        top = bottom + pods
        ax.fill_between(wide.index, bottom, top, step="post", lw=0, hatch=hatch,
                        facecolor=NEW_COLOUR if role == "new" else OLD_COLOUR,
                        edgecolor="0.35", label=label)
        bottom = top
    if not hatched:
        return bottom, []
    # the legend: what a colour means, then which hatch is which ReplicaSet
    keys = [Patch(facecolor=colour, label=f"{role} ReplicaSet{'s' * (role == 'old')} "
                  f"at the time{' (current template)' * (role == 'new')}")
            for role, colour in (("old", OLD_COLOUR), ("new", NEW_COLOUR)) if role in roles]
    keys += [Patch(facecolor="white", edgecolor="0.35", hatch=HATCHES[i % len(HATCHES)],
                   label=_label(frame, name)) for i, name in enumerate(names)]
    return bottom, keys


def _fenceposts(ax: Axes, events: pd.DataFrame, deployment: str, namespace: str,
                x0: float, x1: float) -> None:
    """The ceiling and the floor as dashed steps, labelled with their arithmetic at the left.

    Each label sits just clear of its line (the ceiling's above, the floor's below), so
    its box hides neither that line nor the available pods running along it; the box
    lies under every line, so a line crossing a label (a rollout's start) stays drawn.
    """
    statuses = _status_records(events, deployment, namespace)
    times = [x0] + [t for t in statuses["time"] if x0 < t <= x1] + [x1]
    rows = [statuses[statuses["time"] <= t].tail(1) for t in times]
    rows = [r if len(r) else statuses.head(1) for r in rows]
    desired = [int(r["desired"].iloc[0]) for r in rows]
    surge = [int(r["maxSurge"].iloc[0]) for r in rows]
    unavailable = [int(r["maxUnavailable"].iloc[0]) for r in rows]
    recreate = _strategy(surge[0], unavailable[0], desired[0]) == "Recreate"
    ceiling = [d + s for d, s in zip(desired, surge, strict=True)]
    # Recreate has no maxSurge: its ceiling is the replicas themselves
    ax.step(times, ceiling, where="post", color="tab:red", ls="--", lw=1.3,
            label="ceiling = replicas (Recreate: no surge)" if recreate
            else "maxSurge ceiling (replicas + maxSurge)")
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}
    # 3 points off the line: the box (1 point of pad) ends clear of the 2-point available line;
    # zorder: above the pods (1), below the lines (2)
    style = {"xycoords": "data", "textcoords": "offset points", "ha": "left", "fontsize": 8,
             "bbox": box, "zorder": 1.9}
    ax.annotate(f" {desired[0]} + {surge[0]} = {ceiling[0]} pods at most"
                if not recreate else f" {ceiling[0]} pods at most (Recreate: no surge)",
                (x0, ceiling[0]), xytext=(0, 3), va="bottom", color="tab:red", **style)
    if recreate:
        return  # Recreate promises nothing about availability: no floor
    floor = [d - u for d, u in zip(desired, unavailable, strict=True)]
    ax.step(times, floor, where="post", color="tab:orange", ls="--", lw=1.3,
            label="minimum available (replicas − maxUnavailable)")
    below = floor[0] > 0  # a floor of 0 is the x axis: its label goes above it
    ax.annotate(f" {desired[0]} − {unavailable[0]} = {floor[0]} available at least",
                (x0, floor[0]), xytext=(0, -3 if below else 3), va="top" if below else "bottom",
                color="tab:orange", **style)


def _gaps(ax: Axes, available: pd.Series, pods: pd.Series, x0: float, x1: float) -> None:
    """Shade each stretch with no available pod (Recreate's gap, a rollout gone wrong).

    The shading lies behind the (opaque) pods, so it shows above them and never
    tints them; its length is written above the pods.
    """
    times = list(available.index)
    first = True
    for (t, value), t_next in zip(available.items(), times[1:] + [x1], strict=True):
        if value == 0 and t_next > t:
            ax.axvspan(t, t_next, color="#fbdada", lw=0, zorder=0,  # tab:red at 15 %
                       label="no pod available" if first else None)
            if t_next - t > 0.02 * (x1 - x0):
                during = pods[(pods.index >= t) & (pods.index < t_next)]
                ax.text((t + t_next) / 2, float(during.max()) + 0.3 if len(during) else 0.3,
                        f"{t_next - t:.1f}s with none", ha="center", va="bottom", fontsize=8,
                        color="tab:red")
            first = False


def _marks(r: pd.Series, x0: float, x1: float) -> list[tuple[float, str, str, str]]:
    """A rollout's start, its end and a ProgressDeadlineExceeded: (time, text, side, colour)."""
    marks = []
    if x0 <= r["start"] <= x1:
        what = "created" if r["from_revision"] == 0 else f"rev {r['from_revision']} → " \
                                                         f"{r['to_revision']} starts"
        if r["reuses_replicaset"]:
            what += f":\nback to {r['new_replicaset']}"
        marks.append((r["start"], what, "right", "0.3"))
    if r["outcome"] == "complete" and x0 <= r["end"] <= x1:
        marks.append((r["end"], f"complete (+{r['duration']:.1f}s)", "left", "darkgreen"))
    deadline = r["deadline_exceeded"]
    if deadline == deadline and x0 <= deadline <= x1:
        marks.append((deadline, f"ProgressDeadlineExceeded (+{deadline - r['start']:.0f}s):\n"
                                "nothing rolls back by itself", "left", "tab:red"))
    return marks


def _draw_marks(ax: Axes, marks: list[tuple[float, str, str, str]]) -> None:
    """Each mark a dotted line with its label at the top, labels moved down a row to not overlap.

    ``side`` is where the label goes from its line. Widths are estimated from the
    number of characters (0.6 em each), enough to keep labels apart.
    """
    x0, x1 = ax.get_xlim()
    per_point = (x1 - x0) / (ax.bbox.width * 72 / ax.figure.dpi)  # data units per point
    rows: list[list[tuple[float, float]]] = []
    for time, text, side, colour in sorted(marks, key=lambda m: m[0]):
        ax.axvline(time, color=colour, lw=1.1 if colour == "tab:red" else 1,
                   ls="-" if colour == "tab:red" else ":")
        lines = text.split("\n")
        width = (max(map(len, lines)) * 0.6 * 8 + 6) * per_point
        if side == "right" and time + width > x1:
            side = "left"  # no room before the right edge
        elif side == "left" and time - width < x0:
            side = "right"
        span = (time, time + width) if side == "right" else (time - width, time)
        row = 0
        while any(any(a < span[1] and span[0] < b for a, b in rows[r])
                  for r in range(row, min(row + len(lines), len(rows)))):
            row += 1
        while len(rows) < row + len(lines):
            rows.append([])
        for r in range(row, row + len(lines)):
            rows[r].append(span)
        ax.annotate(text, (time, 1), xycoords=("data", "axes fraction"),
                    xytext=(3 if side == "right" else -3, -3 - 11 * row), va="top",
                    ha="left" if side == "right" else "right", textcoords="offset points",
                    fontsize=8, color=colour, linespacing=1.05)


def _title(deployment: str, shown: pd.DataFrame) -> str:
    r = shown.iloc[-1]
    first = shown.iloc[0]
    revs = f"rev {first['from_revision']} → {r['to_revision']}" if first["from_revision"] \
        else f"rev {r['to_revision']}"
    if r["strategy"] == "Recreate":
        how = f"Recreate, {r['desired']} replicas"
    else:
        how = (f"RollingUpdate, {r['desired']} replicas, maxSurge {r['max_surge']}, "
               f"maxUnavailable {r['max_unavailable']}")
    seen = (f"observed: at most {int(shown['max_pods'].max())} pods, never fewer than "
            f"{int(shown['min_available'].min())} available")
    return f"deployment/{deployment}: {revs}, {how}\n{seen}"


def _no_rollout(fig: Figure, ax: Axes, deployment: str, namespace: str,
                events: pd.DataFrame) -> Figure:
    """A figure that says why there is nothing to draw."""
    has_status = not _status_records(events, deployment, namespace).empty
    why = ("its Deployment controller has scaled no ReplicaSet yet (paused? 0 replicas?)"
           if has_status else
           "the Deployment controller never wrote its status (does it exist in this namespace? "
           "has the cluster run since it was applied?)")
    ax.set_axis_off()
    ax.text(0.5, 0.5, f'No rollout to draw for deployment "{deployment}" in namespace '
                      f'"{namespace}":\n{why}', ha="center", va="center", fontsize=10,
            wrap=True, transform=ax.transAxes)
    fig.set_size_inches(10, 1.6)
    return fig


# -- the lesson's Deployment, and a small rollout re-run on demand ------------------------------

WEB_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubernetes.io/change-cause: "{cause}"
spec:
  replicas: 10
  progressDeadlineSeconds: 120
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
      annotations:
        sim.kubelearn.io/web.ready-after: 5s
    spec:
      containers:
      - name: web
        image: {image}
        readinessProbe:
          httpGet:
            path: /
            port: 80
          periodSeconds: 1
"""


def web_deployment(image: str = "nginx:1.27", cause: str = "first version") -> str:
    """Lesson 07's Deployment ``web`` as YAML: 10 nginx pods of ``image``, a readiness probe,
    a 5 s warm-up, a short ``progressDeadlineSeconds`` (120) and ``cause`` as the
    ``kubernetes.io/change-cause`` that ``rollout history`` shows."""
    return WEB_DEPLOYMENT.format(image=image, cause=cause)


def deployment_manifest(name: str = "web", image: str = "nginx:1.27", replicas: int = 10, *,
                        strategy: dict | None = None, ready_after: str | None = None,
                        **spec: Any) -> dict:
    """A Deployment of nginx; ``ready_after`` makes each new pod take that long to be ready."""
    annotations = {"sim.kubelearn.io/web.ready-after": ready_after} if ready_after else {}
    container: dict[str, Any] = {"name": "web", "image": image}
    if ready_after:
        container["readinessProbe"] = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}
    template = {"metadata": {"labels": {"app": name}, **(
        {"annotations": annotations} if annotations else {})},
                "spec": {"containers": [container]}}
    body: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                            "template": template, **spec}
    if strategy is not None:
        body["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": body}


def simulate_rollout(replicas: int = 10, max_surge: int | str = "25%",
                     max_unavailable: int | str = "25%", *, strategy: str = "RollingUpdate",
                     ready_after: str | None = "5s", nodes: int = 3, seed: int = 0,
                     seconds: float = 120) -> Cluster:
    """A Deployment rolled out, then updated from nginx:1.27 to nginx:1.28.

    Runs 60 s for the first version, changes the image, runs ``seconds`` more.
    """
    from kubelearn.cluster import Cluster

    if strategy == "Recreate":
        chosen: dict[str, Any] = {"type": "Recreate"}
    else:
        chosen = {"type": "RollingUpdate",
                  "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable}}
    cluster = Cluster(seed=seed, nodes=nodes)
    cluster.apply(deployment_manifest(replicas=replicas, strategy=chosen,
                                      ready_after=ready_after))
    cluster.run(60)
    cluster.apply(deployment_manifest(image="nginx:1.28", replicas=replicas, strategy=chosen,
                                      ready_after=ready_after))
    cluster.run(seconds)
    return cluster


def rollout_widget(replicas: int = 10, max_surge: int = 3,
                   max_unavailable: int = 2) -> ipywidgets.Widget:
    """Sliders for replicas, maxSurge and maxUnavailable (counts); a change re-runs and redraws."""
    import ipywidgets as widgets

    from kubelearn.api import StatusError

    size = widgets.IntSlider(value=replicas, min=1, max=20, description="replicas",
                             continuous_update=False)
    surge = widgets.IntSlider(value=max_surge, min=0, max=10, description="maxSurge",
                              continuous_update=False)
    unavailable = widgets.IntSlider(value=max_unavailable, min=0, max=10,
                                    description="maxUnavailable", continuous_update=False)

    def picture(replicas: int, surge: int, unavailable: int) -> Figure | str:
        try:
            cluster = simulate_rollout(replicas, surge, unavailable)
        except StatusError as error:  # 0 and 0: the API server says why
            return str(error)
        return rollout_timeline(cluster, "web")

    # The timeline is a plain output above the sliders (kubelearn.viz.interact).
    return redrawn(picture, {"replicas": size, "surge": surge, "unavailable": unavailable})
