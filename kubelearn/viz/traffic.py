"""Plots and a widget for lesson 08: simulated requests, and what the cluster did meanwhile.

Everything here reads records: each :class:`~kubelearn.proxy.traffic.Traffic`'s
requests (when, to which pod, what became of them) and ``cluster.events()`` --
the EndpointSlice controller's ``EndpointSliceUpdated``, each kube-proxy's
``SyncProxyRules`` (when its rules landed), the kubelets' ``Killing`` and
``PreStopHook`` (a pod being stopped), ``KubeletStopped``, and the Deployment
controller's ``ScalingReplicaSet`` -- and each kube-proxy's sync history
(``proxy.syncs``, ``proxy.rules_after``: which rules landed when). Nothing reaches
into a component.

- :func:`per_second`: requests per time bin and outcome;
- :func:`marks`: the cluster's events that matter to a Service's traffic;
- :func:`traffic_timeline`: the picture -- requests per second by outcome,
  latency, and a lane per component; :func:`traffic_timelines`: several runs
  side by side, on the same scales;
- :func:`spread`: requests per backend pod, against 1/n;
- :func:`simulate_rolling_update`, :func:`rollout_race_figure` and
  :func:`rollout_race_widget`: a rolling update under traffic, re-run for other
  settings; :func:`race_windows`: when each old pod stopped answering, and when
  the last node's rules stopped sending to it;
- :func:`simulate_power_off` and :func:`error_window`: a node losing power
  under traffic, and what closed the window of failed requests;
- :func:`rules_for`: one Service's rules in the order a packet meets them;
  :func:`probability_table`: the ``--probability`` of each endpoint rule, for 1 to
  n endpoints; :func:`routes`: every way a node's rules can send a connection,
  with its chance;
- :func:`paths`: how many requests took each path (outcome, backend node, the
  source address the pod saw); :func:`from_outside`: a client outside the
  cluster tries a NodePort on every node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster
    from kubelearn.proxy.dataplane import Dataplane
    from kubelearn.proxy.iptables import Rule, RuleSet
    from kubelearn.proxy.traffic import Traffic

OUTCOME_COLOURS = {"ok": "tab:green", "refused": "tab:orange", "timeout": "tab:red",
                   "nxdomain": "tab:purple"}
LANE_COLOURS = {"rollout": "tab:blue", "pods stopping": "black",
                "EndpointSlice": "tab:purple", "node": "tab:red", "node controller": "tab:brown",
                "kube-proxy": "tab:gray"}
LEASE_RENEWED = "lease renewed"  # a node lane's heartbeat marks
MARK_COLUMNS = ["time", "lane", "what", "object"]


def _traffics(cluster: Cluster, name: str | Traffic | Iterable[Traffic]) -> list[Traffic]:
    """The Traffic objects a name means (``traffic.name``), or the ones given."""
    if isinstance(name, str):
        found = [t for t in cluster.traffics if t.name == name]
        if not found:
            known = ", ".join(sorted({t.name for t in cluster.traffics})) or "none"
            raise ValueError(f"no traffic named {name!r} in this cluster (known: {known})")
        return found
    if hasattr(name, "requests"):
        return [name]  # type: ignore[list-item]
    return list(name)  # type: ignore[arg-type]


def requests(cluster: Cluster, name: str | Traffic | Iterable[Traffic]) -> pd.DataFrame:
    """Every request of the traffic ``name`` (all of them, if several share it), by time."""
    frames = [t.requests() for t in _traffics(cluster, name)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def per_second(frame: pd.DataFrame, bin: float = 1.0) -> pd.DataFrame:
    """Requests per second in bins of ``bin`` seconds: one column per outcome seen."""
    if frame.empty:
        return pd.DataFrame(columns=list(OUTCOME_COLOURS))
    start = (frame["time"] // bin) * bin
    table = frame.assign(bin=start).pivot_table(index="bin", columns="outcome", values="time",
                                                aggfunc="count", fill_value=0)
    full = pd.RangeIndex(0, int(round((start.max() - start.min()) / bin)) + 1)
    table = table.reindex(start.min() + full * bin, fill_value=0) / bin
    ordered = [o for o in OUTCOME_COLOURS if o in table] + [o for o in table
                                                            if o not in OUTCOME_COLOURS]
    return table[ordered]


def _backends(frame: pd.DataFrame) -> set[str]:
    return {p for p in frame["pod"].unique() if p}


def marks(cluster: Cluster, name: str | Traffic | Iterable[Traffic],
          since: float | None = None, until: float | None = None) -> pd.DataFrame:
    """The events that matter to this traffic: time, lane, what, object.

    Lanes, in the order cause follows cause: ``rollout`` (a ReplicaSet scaled),
    ``pods stopping`` (a backend pod's preStop hook or SIGTERM), ``node <name>``
    for a node that stopped or started in the window (its lease renewals -- the
    heartbeats -- and the stop or start), ``node controller`` (a node marked
    NotReady, or Ready again), ``EndpointSlice`` (the Service's slices written),
    ``kube-proxy <node>`` (a node's rules landed).
    """
    frame = requests(cluster, name)
    events = cluster.events()
    if since is not None:
        events = events[events["time"] >= since]
    if until is not None:
        events = events[events["time"] <= until]
    services = {s.split(":")[0] for s in frame["service"].unique() if s}
    pods = {f"pod/{p}" for p in _backends(frame)}
    slice_name = re.compile("^endpointslice/(" + "|".join(
        re.escape(s) for s in services) + r")-[a-z0-9]{5}$") if services else None
    stopped = {obj.removeprefix("node/") for component, reason, obj in
               zip(events["component"], events["reason"], events["object"], strict=True)
               if reason in ("KubeletStopped", "Starting") and component.startswith("kubelet")
               and obj.startswith("node/")}
    leases = {f"lease/kube-node-lease/{node}": node for node in stopped}
    rows = []
    for time, component, reason, obj, message in events.itertuples(index=False):
        lane = None
        if reason == "ScalingReplicaSet" and component == "deployment-controller":
            lane, what = "rollout", message
        elif reason in ("Killing", "PreStopHook") and obj in pods:
            lane, what = "pods stopping", f"{reason}: {obj.removeprefix('pod/')}"
        elif reason in ("EndpointSliceUpdated", "EndpointSliceCreated") and slice_name \
                and slice_name.match(obj):
            lane, what = "EndpointSlice", message
        elif reason == "SyncProxyRules":
            lane, what = f"kube-proxy {obj.removeprefix('node/')}", message
        elif reason == "LeaseRenewed" and obj in leases:
            lane, what = f"node {leases[obj]}", LEASE_RENEWED
        elif reason in ("KubeletStopped", "Starting") and obj.startswith("node/") \
                and component.startswith("kubelet"):
            lane, what = f"node {obj.removeprefix('node/')}", message or reason
        elif reason in ("NodeNotReady", "NodeReady") and component == "node-lifecycle-controller":
            lane, what = "node controller", message
        if lane is not None:
            rows.append((float(time), lane, what, obj))
    return pd.DataFrame(rows, columns=MARK_COLUMNS)


def traffic_timeline(cluster: Cluster, name: str | Traffic | Iterable[Traffic] = "web", *,
                     since: float | None = None, until: float | None = None,
                     bin: float = 1.0, title: str | None = None) -> Figure:
    """Requests per second, the failed ones, latency, and what the cluster did, on one axis.

    From the top: requests answered per second (green); requests failed per
    second, stacked by outcome (refused orange, timeout red, nxdomain purple),
    on a scale of their own so that a few stand out; latency -- the median of
    the answered requests, and the slowest request of each bin, where a
    timeout counts its full wait; and a lane per component (see :func:`marks`).
    Each bin shows the requests *sent* in it.
    """
    return traffic_timelines([(cluster, name, title)], since=since, until=until, bin=bin)


def traffic_timelines(panels: Iterable[tuple[Cluster, str | Traffic | Iterable[Traffic],
                                             str | None]], *,
                      since: float | None = None, until: float | None = None,
                      bin: float = 1.0) -> Figure:
    """:func:`traffic_timeline` for several runs, side by side, on the same scales.

    ``panels``: ``(cluster, traffic name, title)`` for each column (title None:
    the requests sent and failed). Each column shows the requests sent from
    ``since`` up to, not including, ``until``; the legends, on the right, name
    what any column drew.
    """
    import matplotlib.pyplot as plt

    columns = []
    for cluster, name, title in panels:
        frame = requests(cluster, name)
        if since is not None:
            frame = frame[frame["time"] >= since]
        if until is not None:  # a bin that starts at until would fall outside the axes
            frame = frame[frame["time"] < until]
        columns.append((cluster, name, title, frame))
    frames = [frame for *_, frame in columns]
    x0 = since if since is not None else min(
        (float(f["time"].min()) for f in frames if len(f)), default=0.0)
    x1 = until if until is not None else max(  # the end of the last bin drawn
        ((float(f["time"].max()) // bin + 1) * bin for f in frames if len(f)), default=x0 + 1.0)
    x1 = max(x1, x0 + 1.0)
    lanes = [marks(cluster, name, x0, x1) for cluster, name, _, _ in columns]
    lane_names = _lane_order(pd.concat(lanes, ignore_index=True))
    n = len(columns)
    fig, axes = plt.subplots(
        4, n, sharex=True, sharey="row", squeeze=False,
        figsize=(10 if n == 1 else 6.2 * n, 7.4 + 0.18 * len(lane_names)),
        gridspec_kw={"height_ratios": [2, 1.6, 1.4, 0.6 + 0.35 * max(len(lane_names), 1)]})
    rates = [per_second(frame, bin) for frame in frames]
    peak_answered = max((float(r.sum(axis=1).max()) for r in rates if len(r)), default=1.0)
    peak_failed = max((float(r.drop(columns="ok", errors="ignore").sum(axis=1).max())
                       for r in rates if len(r)), default=0.0)
    for col, ((_, name, title, frame), rate, lane) in enumerate(
            zip(columns, rates, lanes, strict=True)):
        answered, failed, latency, events = axes[:, col]
        _draw_answered(answered, rate, bin, peak_answered)
        _draw_failed(failed, rate, bin, peak_failed)
        _draw_latency(latency, frame, bin, legend=col == n - 1)
        _draw_lanes(events, lane, lane_names)
        events.set_xlabel("simulated seconds (when each request was sent)")
        n_failed = int((frame["outcome"] != "ok").sum())
        target = ", ".join(sorted(set(frame["target"]))) or str(name)
        answered.set_title(title or f"Requests to {target}: {len(frame):,} sent, {n_failed:,} "
                           f"failed ({n_failed / max(len(frame), 1):.1%})", fontsize=10)
        if col:
            for ax in (answered, failed, latency):
                ax.set_ylabel("")
    _failed_legend(axes[1, -1], rates)
    axes[-1, 0].set_xlim(x0, x1)
    fig.tight_layout()
    return fig


def _failed_legend(ax: Axes, rates: list[pd.DataFrame]) -> None:
    """One legend, right of the last column, for the outcomes any column drew as failed."""
    from matplotlib.patches import Patch

    drawn = [o for o in dict.fromkeys(o for r in rates for o in r.columns)
             if o != "ok" and any(o in r and r[o].any() for r in rates)]
    if drawn:
        ax.legend(handles=[Patch(color=OUTCOME_COLOURS.get(o, "tab:gray"), alpha=0.8, label=o,
                                 lw=0) for o in drawn],
                  fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="failed",
                  title_fontsize=8)


def _steps(table: pd.DataFrame | pd.Series, bin: float):
    """``table`` with one more row, a bin after its last, so a ``post`` step draws the last bin."""
    if not len(table):
        return table
    extra = table.iloc[[-1]].copy()
    extra.index = [table.index[-1] + bin]
    return pd.concat([table, extra])


def _draw_answered(ax: Axes, table: pd.DataFrame, bin: float, peak: float) -> None:
    values = table["ok"] if "ok" in table else pd.Series(0.0, index=table.index)
    values = _steps(values, bin)
    ax.fill_between(values.index, 0, values, step="post", lw=0, alpha=0.7,
                    color=OUTCOME_COLOURS["ok"])
    ax.set_ylabel("answered\nper second")
    ax.set_ylim(0, max(peak, 1.0) * 1.15)
    ax.grid(alpha=0.25)


def _draw_failed(ax: Axes, table: pd.DataFrame, bin: float, peak: float) -> None:
    table = _steps(table, bin)
    bottom = None
    for outcome in table.columns:
        values = table[outcome]
        if outcome == "ok" or not values.any():
            continue
        base = bottom if bottom is not None else values * 0
        ax.fill_between(table.index, base, base + values, step="post", lw=0, alpha=0.8,
                        color=OUTCOME_COLOURS.get(outcome, "tab:gray"), label=outcome)
        bottom = base + values
    ax.set_ylabel("failed\nper second")
    ax.grid(alpha=0.25)
    ax.set_ylim(0, peak * 1.2 if peak else 1)
    if bottom is None:
        ax.text(0.5, 0.5, "no request failed", transform=ax.transAxes, ha="center",
                va="center", fontsize=9, color="gray")


def _draw_latency(ax: Axes, frame: pd.DataFrame, bin: float, legend: bool = True) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if len(frame):
        bins = (frame["time"] // bin) * bin
        latency = frame["latency"] * 1000
        slowest = latency.groupby(bins).max()
        answered = frame["outcome"] == "ok"
        # a bin where nothing was answered has no median: a gap, not the last bin's value
        median = _steps(latency[answered].groupby(bins[answered]).median()
                        .reindex(slowest.index), bin)
        slowest = _steps(slowest, bin)
        ax.step(slowest.index, slowest, where="post", color="tab:red", lw=0.9,
                label="slowest request")
        if median.notna().any():
            ax.step(median.index, median, where="post", color="tab:blue", lw=1.3,
                    label="median, answered")
        ax.set_yscale("log")
        # ticks at 1-2-5 steps when the range is narrow, so that it still gets numbers
        low, high = ax.get_ylim()
        narrow = high / max(low, 1e-9) < 300
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if narrow else (1.0,)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        if legend:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.25)


def _natural(lane: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", lane)]


def _is_node_lane(lane: str) -> bool:
    """``node <name>``: one node's heartbeats and power (not the node controller's lane)."""
    return lane.startswith("node ") and lane != "node controller"


def _lane_order(lanes: pd.DataFrame) -> list[str]:
    """Cause before effect: what happened, the node controller, the slices, the proxies."""
    present = set(lanes["lane"])
    nodes = sorted((lane for lane in present if _is_node_lane(lane)), key=_natural)
    proxies = sorted((lane for lane in present if lane.startswith("kube-proxy")), key=_natural)
    first = [lane for lane in ("rollout", "pods stopping") if lane in present]
    middle = [lane for lane in ("node controller", "EndpointSlice") if lane in present]
    return first + nodes + middle + proxies


def _lane_colour(lane: str) -> str:
    if _is_node_lane(lane):
        return LANE_COLOURS["node"]
    return LANE_COLOURS.get(lane, LANE_COLOURS.get(lane.split(" ")[0], "tab:gray"))


def _draw_lanes(ax: Axes, lanes: pd.DataFrame, names: list[str]) -> None:
    for row, lane in enumerate(names):
        mine = lanes[lanes["lane"] == lane]
        beats = mine["what"] == LEASE_RENEWED
        ax.plot(mine.loc[~beats, "time"], [row] * int((~beats).sum()), "|",
                color=_lane_colour(lane), ms=9, mew=1.5)
        if beats.any():  # a node's heartbeats: small grey ticks, its stop or start big
            ax.plot(mine.loc[beats, "time"], [row] * int(beats.sum()), "|", color="tab:gray",
                    ms=5, mew=1)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.25)
    if not names:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no cluster events in this window", transform=ax.transAxes,
                ha="center", va="center", fontsize=8, color="gray")


def spread(*traffics: Traffic, labels: Iterable[str] | None = None,
           title: str | None = None) -> Figure:
    """Requests per backend pod for each traffic, side by side, against an even 1/n split."""
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(labels) if labels is not None else [t.name for t in traffics]
    tables = [t.requests() for t in traffics]
    pods = sorted({p for f in tables for p in f["pod"] if p})
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / max(len(tables), 1)
    x = np.arange(len(pods))
    for i, (frame, label) in enumerate(zip(tables, labels, strict=True)):
        counts = frame[frame["outcome"] == "ok"]["pod"].value_counts()
        share = [counts.get(p, 0) / max(len(frame), 1) for p in pods]
        ax.bar(x + (i - (len(tables) - 1) / 2) * width, share, width, label=label)
    if pods:
        ax.axhline(1 / len(pods), color="black", ls="--", lw=1, label=f"1/{len(pods)}")
    ax.set_xticks(x, [p.split("/")[-1] for p in pods], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("share of requests")
    ax.set_xlabel("backend pod")
    ax.set_title(title or "Requests per pod", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.25)
    fig.tight_layout()
    return fig


# -- a rolling update under traffic ---------------------------------------------------------------

def web_manifests(replicas: int = 3, image: str = "nginx:1.27", prestop: float = 0.0,
                  ready_after: str = "2s", *, probe_period: int = 1,
                  toleration_seconds: int | None = None) -> str:
    """A Deployment ``web`` (readiness probe, optional preStop sleep) and its Service: the app
    of lessons 08 and 09.

    ``toleration_seconds`` writes the pods' NoExecute tolerations of ``not-ready``
    and ``unreachable`` nodes (without it, admission adds them with 300 s);
    ``probe_period`` is the readiness probe's ``periodSeconds``.
    """
    hook = (f"\n        lifecycle:\n          preStop:\n            sleep: {{seconds: {prestop:g}}}"
            if prestop else "")
    tolerations = "" if toleration_seconds is None else "\n      tolerations:" + "".join(
        f"\n      - {{key: node.kubernetes.io/{key}, operator: Exists, effect: NoExecute, "
        f"tolerationSeconds: {int(toleration_seconds)}}}" for key in ("not-ready", "unreachable"))
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata:
      labels: {{app: web}}
      annotations: {{sim.kubelearn.io/web.ready-after: "{ready_after}"}}
    spec:{tolerations}
      containers:
      - name: web
        image: {image}
        ports: [{{name: http, containerPort: 80}}]
        readinessProbe:
          httpGet: {{path: /, port: http}}
          periodSeconds: {int(probe_period)}{hook}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def simulate_rolling_update(replicas: int = 3, prestop: float = 0.0, *, nodes: int = 3,
                            rate: float = 200.0, seed: int = 0,
                            keepalive: bool = False) -> Cluster:
    """A cluster where ``web`` rolls from nginx:1.27 to 1.28 under ``rate`` requests a second.

    The traffic (named ``web``) starts once the first version is up and runs
    until the rollout is done and 10 seconds more.
    """
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=seed, nodes=nodes)
    cluster.apply(web_manifests(replicas, prestop=prestop))
    cluster.run(30)
    traffic = cluster.traffic(to="web", rate=rate, keepalive=keepalive)
    cluster.run(5)
    cluster.apply(web_manifests(replicas, image="nginx:1.28", prestop=prestop))
    for _ in range(60):
        cluster.run(5)
        deployment = cluster.admin.get("deployments", "web")
        status = deployment.get("status") or {}
        if status.get("updatedReplicas") == replicas and status.get("replicas") == replicas \
                and status.get("availableReplicas") == replicas:
            break
    cluster.run(10 + prestop)
    traffic.stop()
    return cluster


def failures(cluster: Cluster, name: str = "web") -> int:
    """How many requests of the traffic ``name`` failed."""
    frame = requests(cluster, name)
    return int((frame["outcome"] != "ok").sum())


def rollout_race_figure(replicas: int = 3, prestop: float = 0) -> Figure:
    """The widget's picture for one setting: the rollout's traffic timeline, failures counted."""
    cluster = simulate_rolling_update(replicas, prestop)
    return traffic_timeline(cluster, "web", title=f"{replicas} replicas, preStop sleep "
                            f"{prestop:g} s: {failures(cluster)} failed requests")


def rollout_race_widget(replicas: int = 3, prestop: int = 0) -> ipywidgets.Widget:
    """Sliders for replicas and the preStop sleep; each change re-runs the rollout under traffic."""
    import ipywidgets as widgets

    size = widgets.IntSlider(value=replicas, min=1, max=10, description="replicas",
                             continuous_update=False)
    sleep = widgets.IntSlider(value=prestop, min=0, max=10, description="preStop (s)",
                              continuous_update=False)

    return redrawn(rollout_race_figure, {"replicas": size, "prestop": sleep})


# -- lesson 08's tables: one Service's rules, where requests went, the error windows ---------------

def rules_for(rules: RuleSet, service: str) -> str:
    """The rules about one Service (``ns/name``) as iptables-save lines, in the order a packet
    meets them: the entry rules that name it, then each chain they jump to, depth first.

    Like ``iptables-save | grep default/web``, but in the order of a packet's walk,
    and without the chains every Service shares (``KUBE-MARK-MASQ``...).
    """
    from kubelearn.proxy.iptables import KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_SERVICES

    def names_it(rule: Rule) -> bool:
        comment = rule.comment or ""
        return comment == service or comment.startswith((f"{service}:", f"{service} "))

    lines: list[str] = []
    for table in rules.tables:
        seen: set[str] = set()
        for entry in (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_EXTERNAL_SERVICES):
            for rule in rules.chain(entry, table):
                if names_it(rule):
                    lines.append(rule.text())
                    _follow(rules, table, rule.target, seen, lines)
    return "\n".join(lines)


def _follow(rules: RuleSet, table: str, chain: str | None, seen: set[str],
            lines: list[str]) -> None:
    """The rules of a per-service chain and of the chains it jumps to (shared ones left out)."""
    from kubelearn.proxy.iptables import SERVICE_CHAIN_PREFIXES

    if chain is None or chain in seen or not chain.startswith(SERVICE_CHAIN_PREFIXES):
        return
    seen.add(chain)
    body = rules.chain(chain, table)
    lines.extend(rule.text() for rule in body)
    for rule in body:
        _follow(rules, table, rule.target, seen, lines)


def probability_table(up_to: int = 5) -> pd.DataFrame:
    """The ``--probability`` kube-proxy writes on each endpoint rule of a Service with 1 to
    ``up_to`` endpoints: one row per endpoint count, one column per rule (``rule 1`` first).

    Rule k of n takes 1/(n - k + 1) of the connections that reach it, printed as
    upstream prints it (:func:`kubelearn.proxy.iptables.probability`); the last rule
    has none (``(none)``); a rule a Service doesn't have is blank.
    """
    from kubelearn.proxy.iptables import probability

    if up_to < 1:
        raise ValueError(f"up_to must be at least 1, not {up_to}")
    rows = [[probability(n - k + 1) for k in range(1, n)] + ["(none)"] + [""] * (up_to - n)
            for n in range(1, up_to + 1)]
    return pd.DataFrame(rows, index=[f"n = {n}" for n in range(1, up_to + 1)],
                        columns=[f"rule {k}" for k in range(1, up_to + 1)])


ROUTE_COLUMNS = ["protocol", "port", "verdict", "goes to", "endpoint chain", "masquerade",
                 "chance", "service rule"]


def routes(dataplane: Dataplane, dst_ip: str, probes: Iterable[tuple[str, int]], *,
           src_ip: str) -> pd.DataFrame:
    """Every way a node's rules can send a new connection from ``src_ip`` to ``dst_ip``, for
    each ``(protocol, port)`` of ``probes``, with its chance -- no draw, nothing changed.

    Columns: ``verdict`` (DNAT, REJECT, DROP, or NO_RULE: no rule matched);
    ``goes to`` (the address after DNAT, or the destination unchanged; ``-`` for a
    packet rejected or dropped); ``endpoint chain`` (the ``KUBE-SEP-`` chain that
    DNATed it); ``masquerade`` (SNAT to the node's address); ``chance`` (the
    product of the probabilities along the way); ``service rule`` (the Service
    port whose rule decided). ``port`` is ``-`` for a protocol without ports (ICMP).
    """
    rows = []
    for protocol, port in probes:
        has_ports = protocol.upper() != "ICMP"
        for chance, route in dataplane.outcomes(dst_ip, port, protocol, src_ip=src_ip):
            endpoint = next((c for c in route.chains if c.startswith("KUBE-SEP-")), "-")
            if route.backend is None:
                goes_to = "-"
            else:
                ip, to_port = route.backend
                goes_to = f"{ip}:{to_port}" if has_ports else ip
            rows.append((protocol, port if has_ports else "-", route.verdict, goes_to, endpoint,
                         route.masquerade, round(chance, 6), route.service or "-"))
    return pd.DataFrame(rows, columns=ROUTE_COLUMNS)


def from_outside(cluster: Cluster, node_port: int, *, label: str, seconds: float = 2.0,
                 rate: float = 20.0) -> pd.DataFrame:
    """A client outside the cluster sends ``rate`` requests a second to ``node_port`` of
    every node's address for ``seconds``: where they went (:func:`paths`).

    One traffic per node, named ``"<label> via <node>"``; columns ``traffic``,
    ``outcome``, ``node`` (the backend pod's), ``seen_as`` (the source address the pod
    saw) and ``requests``.
    """
    runs = [cluster.traffic(f"{kubelet.node_ip}:{node_port}", rate=rate, from_node="outside",
                            name=f"{label} via {node}")
            for node, kubelet in cluster.kubelets.items()]
    cluster.run(seconds)
    for run in runs:
        run.stop()
    return paths(*runs)[["traffic", "outcome", "node", "seen_as", "requests"]]


PATH_COLUMNS = ["traffic", "target", "outcome", "node", "seen_as", "reason"]


def paths(*traffics: Traffic, by: Iterable[str] = PATH_COLUMNS) -> pd.DataFrame:
    """What became of each traffic's requests: how many took each path.

    One row per traffic, outcome, backend node, the source address the pod saw
    (``seen_as``: the client's, or a node's after SNAT) and the reason of a failure
    -- or per the columns ``by`` names (any of :class:`~kubelearn.proxy.traffic.Request`'s
    fields, and ``traffic``), in the order first seen.
    """
    columns = list(by)
    frames = [t.requests().assign(traffic=t.name) for t in traffics]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    table = frame.groupby(columns, sort=False).size().rename("requests").reset_index()
    return table.replace({c: {"": "-"} for c in columns if c in ("pod", "node", "seen_as",
                                                                  "reason", "service")})


def _ip_of_pods(frame: pd.DataFrame) -> dict[str, str]:
    """Each backend pod's IP, from the requests that reached it (``pod`` -> ip)."""
    return {pod: dest.rsplit(":", 1)[0] for pod, dest
            in zip(frame["pod"], frame["destination"], strict=True) if pod}


def _rules_gone(cluster: Cluster, ips: set[str], after: float) -> dict[str, float | None]:
    """For each running kube-proxy: when its first sync at or after ``after`` landed rules
    that send nothing to ``ips`` (None if none did)."""
    from kubelearn.proxy.iptables import NAT

    gone: dict[str, float | None] = {}
    for node, proxy in cluster.proxies.items():
        if not proxy.running:
            continue
        gone[node] = None
        for sync in proxy.syncs:
            if sync.landed < after:
                continue
            try:
                text = proxy.rules_after(sync.number).save(NAT)
            except ValueError:  # older than the proxy's history_limit: not kept
                continue
            if not any(f"--to-destination {ip}:" in text for ip in ips):
                gone[node] = sync.landed
                break
    return gone


def race_windows(cluster: Cluster, name: str = "web") -> pd.DataFrame:
    """Each backend pod stopped under the traffic ``name``: the race between it and the rules.

    Columns: ``pod``; ``stopping`` (the kubelet's Killing: the preStop hook, or
    SIGTERM when there is none); ``exited`` (its container stopped answering);
    ``rules_updated`` (the last node's rules without the pod landed); ``window_ms``
    (how long the rules sent requests to a pod that no longer answered: exited to
    rules_updated, 0 if the pod outlived the rules) and ``failed`` (requests lost to it).
    """
    frame = requests(cluster, name)
    ips = _ip_of_pods(frame)
    events = cluster.events()
    rows = []
    for pod, ip in ips.items():
        obj = f"pod/{pod}"
        mine = events[events["object"] == obj]
        killing = mine[mine["reason"] == "Killing"]["time"]
        if killing.empty:
            continue
        stopping = float(killing.min())
        died = mine[(mine["reason"] == "ContainerDied") & (mine["time"] >= stopping)]["time"]
        exited = float(died.min()) if len(died) else None
        gone = [t for t in _rules_gone(cluster, {ip}, stopping).values() if t is not None]
        updated = max(gone) if gone else None
        window = max(updated - exited, 0.0) * 1000 if exited is not None and updated else None
        lost = frame[frame["destination"].str.startswith(f"{ip}:") & (frame["outcome"] != "ok")
                     & (frame["time"] >= stopping)]
        if updated is not None:  # an address used again later is another pod's
            lost = lost[lost["time"] <= updated]
        failed = len(lost)
        rows.append((pod.split("/")[-1], stopping, exited, updated, window, failed))
    table = pd.DataFrame(rows, columns=["pod", "stopping", "exited", "rules_updated",
                                        "window_ms", "failed"])
    table = table.round({"stopping": 3, "exited": 3, "rules_updated": 3, "window_ms": 1})
    return table.sort_values(["stopping", "pod"], kind="stable").reset_index(drop=True)


def simulate_power_off(at: float = 40.0, node: str = "node-2", *, replicas: int = 3,
                       nodes: int = 3, rate: float = 200.0, seed: int = 0,
                       run_for: float = 90.0) -> Cluster:
    """``web`` (one pod per node) under ``rate`` requests a second from every node, until
    ``node`` loses power at ``at`` simulated seconds; then ``run_for`` seconds more.

    The traffic (named ``web``) starts at 30 s, when the pods are ready.
    """
    from kubelearn.cluster import Cluster

    if at < 30:
        raise ValueError(f"at must be 30 s or later (the pods are ready at 30 s), not {at:g}")
    cluster = Cluster(seed=seed, nodes=nodes)
    cluster.apply(web_manifests(replicas))
    cluster.run(30)
    traffic = cluster.traffic(to="web", rate=rate)
    cluster.run(at - 30)
    cluster.stop_node(node, power_off=True)
    cluster.run(run_for)
    traffic.stop()
    return cluster


def error_window(cluster: Cluster, node: str, name: str = "web") -> pd.DataFrame:
    """A node lost power under the traffic ``name``: what happened, step by step, until the
    last node's rules stopped sending requests to its pods.

    Columns: ``step``, ``time`` and ``after power off`` (seconds).
    """
    frame = requests(cluster, name)
    events = cluster.events()
    mine = events[events["object"] == f"node/{node}"]
    off = float(mine[(mine["reason"] == "KubeletStopped")]["time"].max())
    leases = events[(events["reason"] == "LeaseRenewed")
                    & (events["object"] == f"lease/kube-node-lease/{node}")
                    & (events["time"] <= off)]["time"]
    not_ready = mine[(mine["reason"] == "NodeNotReady") & (mine["time"] >= off)]["time"]
    failed = frame[(frame["outcome"] != "ok") & (frame["reason"] == f"{node} is down")]["time"]
    rows: list[tuple[str, float | None]] = [
        ("last lease renewal (heartbeat)", float(leases.max()) if len(leases) else None),
        (f"{node} loses power", off),
        ("first request sent to its pod that timed out",
         float(failed.min()) if len(failed) else None)]
    if len(not_ready):
        marked = float(not_ready.min())
        rows.append(("node controller: Ready=Unknown, its pods NotReady", marked))
        lanes = marks(cluster, name, since=marked)
        slices = lanes[lanes["lane"] == "EndpointSlice"]["time"]
        rows.append(("EndpointSlice: its endpoints not ready",
                     float(slices.min()) if len(slices) else None))
        ips = set(_ip_of_pods(frame[frame["node"] == node]).values())
        for other, landed in _rules_gone(cluster, ips, marked).items():
            rows.append((f"kube-proxy {other}: rules without them", landed))
    rows.append(("last request sent to its pod that timed out",
                 float(failed.max()) if len(failed) else None))
    table = pd.DataFrame([r for r in rows if r[1] is not None], columns=["step", "time"])
    table["after power off"] = table["time"] - off
    table = table.round({"time": 3, "after power off": 3})
    return table.sort_values("time", kind="stable").reset_index(drop=True)
