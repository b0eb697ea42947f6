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
  latency, and a lane per component;
- :func:`spread`: requests per backend pod, against 1/n;
- :func:`simulate_rolling_update`, :func:`rollout_race_figure` and
  :func:`rollout_race_widget`: a rolling update under traffic, re-run for other
  settings; :func:`race_windows`: when each old pod stopped answering, and when
  the last node's rules stopped sending to it;
- :func:`simulate_power_off` and :func:`error_window`: a node losing power
  under traffic, and what closed the window of failed requests;
- :func:`rules_for`: one Service's rules in the order a packet meets them;
  :func:`paths`: how many requests took each path (outcome, backend node, the
  source address the pod saw).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster
    from kubelearn.proxy.iptables import Rule, RuleSet
    from kubelearn.proxy.traffic import Traffic

OUTCOME_COLOURS = {"ok": "tab:green", "refused": "tab:orange", "timeout": "tab:red",
                   "nxdomain": "tab:purple"}
LANE_COLOURS = {"rollout": "tab:blue", "pods stopping": "tab:orange",
                "EndpointSlice": "tab:purple", "node": "tab:red", "node controller": "tab:brown",
                "kube-proxy": "tab:gray"}
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

    Lanes: ``rollout`` (a ReplicaSet scaled), ``pods stopping`` (a backend pod's
    preStop hook or SIGTERM), ``EndpointSlice`` (the Service's slices written),
    ``kube-proxy <node>`` (a node's rules landed), ``node`` (a node stopped or
    started), ``node controller`` (a node marked NotReady, or Ready again).
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
        elif reason in ("KubeletStopped", "Starting") and obj.startswith("node/") \
                and component.startswith("kubelet"):
            lane, what = "node", f"{obj.removeprefix('node/')}: {message or reason}"
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
    on a scale of their own so that a few stand out; the median and slowest
    latency of each bin (a timeout counts its full wait); and a lane per
    component -- the rollout's steps, backend pods stopping, the Service's
    EndpointSlice writes, each node's kube-proxy landing new rules, nodes
    stopping and starting.
    """
    import matplotlib.pyplot as plt

    frame = requests(cluster, name)
    if since is not None:
        frame = frame[frame["time"] >= since]
    if until is not None:
        frame = frame[frame["time"] <= until]
    if since is not None:
        x0 = since
    else:
        x0 = float(frame["time"].min()) if len(frame) else 0.0
    if until is not None:
        x1 = until
    else:
        x1 = float(frame["time"].max()) + bin if len(frame) else x0 + 1.0
    x1 = max(x1, x0 + 1.0)
    lanes = marks(cluster, name, x0, x1)
    lane_names = _lane_order(lanes)
    fig, (answered, failed, latency, events) = plt.subplots(
        4, 1, sharex=True, figsize=(10, 7.4 + 0.18 * len(lane_names)),
        gridspec_kw={"height_ratios": [2, 1.6, 1.4, 0.6 + 0.35 * max(len(lane_names), 1)]})
    rates = per_second(frame, bin)
    _draw_answered(answered, rates)
    _draw_failed(failed, rates)
    _draw_latency(latency, frame, bin)
    _draw_lanes(events, lanes, lane_names)
    events.set_xlim(x0, x1)
    events.set_xlabel("simulated seconds")
    n_failed = int((frame["outcome"] != "ok").sum())
    target = ", ".join(sorted(set(frame["target"]))) or str(name)
    answered.set_title(title or f"Requests to {target}: {len(frame):,} sent, {n_failed:,} "
                       f"failed ({n_failed / max(len(frame), 1):.1%})", fontsize=10)
    fig.tight_layout()
    return fig


def _draw_answered(ax: Axes, table: pd.DataFrame) -> None:
    values = table["ok"] if "ok" in table else pd.Series(0.0, index=table.index)
    ax.fill_between(table.index, 0, values, step="post", lw=0, alpha=0.7,
                    color=OUTCOME_COLOURS["ok"])
    ax.set_ylabel("answered\nper second")
    ax.set_ylim(0, max(float(table.sum(axis=1).max()) if len(table) else 1.0, 1.0) * 1.15)
    ax.grid(alpha=0.25)


def _draw_failed(ax: Axes, table: pd.DataFrame) -> None:
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
    if bottom is None:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no request failed", transform=ax.transAxes, ha="center",
                va="center", fontsize=9, color="gray")
    else:
        ax.set_ylim(0, float(bottom.max()) * 1.2)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), title="failed",
                  title_fontsize=8)


def _draw_latency(ax: Axes, frame: pd.DataFrame, bin: float) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if len(frame):
        grouped = (frame["latency"] * 1000).groupby((frame["time"] // bin) * bin)
        median, slowest = grouped.median(), grouped.max()
        ax.step(slowest.index, slowest, where="post", color="tab:red", lw=0.9, label="slowest")
        ax.step(median.index, median, where="post", color="tab:blue", lw=1.3, label="median")
        ax.set_yscale("log")
        # ticks at 1-2-5 steps when the range is narrow, so that it still gets numbers
        low, high = ax.get_ylim()
        narrow = high / max(low, 1e-9) < 300
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if narrow else (1.0,)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_ylabel("latency (ms)")
    ax.grid(alpha=0.25)


def _lane_order(lanes: pd.DataFrame) -> list[str]:
    order = ["rollout", "pods stopping", "EndpointSlice"]
    proxies = sorted((lane for lane in lanes["lane"].unique() if lane.startswith("kube-proxy")),
                     key=lambda lane: [int(p) if p.isdigit() else p
                                       for p in re.split(r"(\d+)", lane)])
    present = set(lanes["lane"])
    return [lane for lane in order if lane in present] + proxies + \
        [lane for lane in ("node controller", "node") if lane in present]


def _draw_lanes(ax: Axes, lanes: pd.DataFrame, names: list[str]) -> None:
    for row, lane in enumerate(names):
        times = lanes.loc[lanes["lane"] == lane, "time"]
        colour = LANE_COLOURS.get(lane, LANE_COLOURS.get(lane.split(" ")[0], "tab:gray"))
        ax.plot(times, [row] * len(times), "|", color=colour, ms=9, mew=1.5)
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
                  ready_after: str = "2s") -> str:
    """A Deployment ``web`` (readiness probe, optional preStop sleep) and its Service."""
    hook = (f"\n        lifecycle:\n          preStop:\n            sleep: {{seconds: {prestop:g}}}"
            if prestop else "")
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
    spec:
      containers:
      - name: web
        image: {image}
        ports: [{{name: http, containerPort: 80}}]
        readinessProbe:
          httpGet: {{path: /, port: http}}
          periodSeconds: 1{hook}
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
                            f"{prestop:g}s: {failures(cluster)} failed requests")


def rollout_race_widget(replicas: int = 3, prestop: int = 0) -> ipywidgets.Widget:
    """Sliders for replicas and the preStop sleep; each change re-runs the rollout under traffic."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    size = widgets.IntSlider(value=replicas, min=1, max=10, description="replicas",
                             continuous_update=False)
    sleep = widgets.IntSlider(value=prestop, min=0, max=10, description="preStop (s)",
                              continuous_update=False)

    def draw(replicas: int, prestop: int) -> None:
        rollout_race_figure(replicas, prestop)
        plt.show()

    out = widgets.interactive_output(draw, {"replicas": size, "prestop": sleep})
    return widgets.VBox([widgets.HBox([size, sleep]), out])


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
        ("first request to its pod times out", float(failed.min()) if len(failed) else None)]
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
    rows.append(("last request to its pod times out", float(failed.max()) if len(failed) else None))
    table = pd.DataFrame([r for r in rows if r[1] is not None], columns=["step", "time"])
    table["after power off"] = table["time"] - off
    table = table.round({"time": 3, "after power off": 3})
    return table.sort_values("time", kind="stable").reset_index(drop=True)
