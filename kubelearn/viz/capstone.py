"""Lesson 09, the capstone: a node loses power under traffic in the middle of a rolling update.

Everything here reads records -- the requests of the traffic ``web``
(:class:`~kubelearn.proxy.traffic.Traffic`) and ``cluster.events()``: the
kubelets' ``LeaseRenewed``, ``KubeletStopped``, ``Killing``, ``Started`` and
``ContainerReady``; the node lifecycle controller's ``MonitorNodeHealth``,
``NodeStatusUnknown``, ``NoScheduleTaints`` and ``NoExecuteTaintAdded``; the
EndpointSlice controller's ``EndpointSliceUpdated``; each kube-proxy's
``SyncProxyRules``; the Deployment controller's ``ScalingReplicaSet`` and
``DeploymentStatus``; the taint eviction controller's ``PodEvictionScheduled``
and ``TaintManagerEviction``; the scheduler's ``Scheduled`` -- and each
kube-proxy's sync history (which rules landed when). Nothing reaches into a
component.

- :func:`simulate_capstone`: the story as one call (cached: the same settings
  give the same cluster back);
- :func:`capstone_marks`: every component's records on one set of lanes;
- :func:`error_budget`: the spans that add up to the window of failed
  requests, each with the period that set it; :func:`recovery_steps`: from the
  NoExecute taint to the replacement pods serving;
- :func:`outcome`: one run in numbers (failed requests, the window, when the
  rollout finished);
- :func:`capstone_timeline`: the picture -- requests per second, every lane, and
  the spans that explain the window, with the 300 s wait broken out of the axis;
- :func:`what_ifs` and :func:`what_if_figure`: each setting changed on its own,
  precomputed (a static grid that needs no kernel); :func:`capstone_widget`:
  sliders that re-run and redraw.

Upstream's numbers are the cluster's own (kubelearn models v1.32):
``--node-monitor-grace-period`` 50 s (40 s before v1.32),
``--node-monitor-period`` 5 s, the kubelet's Lease renewed every 10 s, the
DefaultTolerationSeconds admission plugin's 300 s, kube-proxy's
``minSyncPeriod`` 1 s; see :mod:`kubelearn.controllers.nodelifecycle`,
:mod:`kubelearn.kubelet.config`, :mod:`kubelearn.apiserver.admission` and
:mod:`kubelearn.proxy.proxier`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, astuple, dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from kubelearn.viz import traffic as vt
from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster

NODE = "node-2"  # the node that loses power
ROLLOUT_AT = 40.0  # simulated seconds: the new image is applied
POWER_OFF_AT = 47.0  # mid-rollout: node-2 runs a pod of each version
TRAFFIC_AT = 30.0  # the first version is ready by then
RATE = 100.0  # requests a second, from a client on every node
SEED = 0
# DefaultTolerationSeconds' 300 s (admission.py), written into the template so a what-if can
# change it.
TOLERATION_SECONDS = 300
# Bounds the what-ifs accept: a grace period under two lease renewals (2 x 10 s) marks a healthy
# node Unknown on one late heartbeat ("Must be N times more than kubelet's
# nodeStatusUpdateFrequency", NodeLifecycleControllerConfiguration); a preStop sleep must end
# before terminationGracePeriodSeconds (30 s) kills the container.
BOUNDS = {"grace_period": (20, 300), "toleration_seconds": (0, 3600), "probe_period": (1, 60),
          "prestop": (0, 25), "replicas": (1, 12)}


@dataclass(frozen=True)
class Settings:
    """The what-if knobs: everything else about the run stays as the lesson sets it."""

    grace_period: int = 50  # --node-monitor-grace-period, seconds (v1.32 default)
    toleration_seconds: int = TOLERATION_SECONDS  # not-ready / unreachable NoExecute
    probe_period: int = 1  # the readiness probe's periodSeconds
    prestop: int = 0  # lifecycle.preStop.sleep.seconds (0: no hook)
    replicas: int = 6

    def check(self) -> None:
        """Raise ValueError, naming the knob, for a value the simulation does not take."""
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, not {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, not {value}")


DEFAULTS = Settings()


def _manifests(settings: Settings, image: str = "nginx:1.27") -> str:
    """Lesson 08's ``web`` and its Service (:func:`~kubelearn.viz.traffic.web_manifests`), with
    the settings' replicas, probe period, preStop sleep and tolerations written out."""
    s = settings
    return vt.web_manifests(s.replicas, image=image, prestop=s.prestop,
                            probe_period=s.probe_period, toleration_seconds=s.toleration_seconds)


def simulate_capstone(grace_period: int = 50, toleration_seconds: int = TOLERATION_SECONDS,
                      probe_period: int = 1, prestop: int = 0, replicas: int = 6) -> Cluster:
    """The lesson's story: 3 nodes, ``web`` under 100 requests a second from every node, a
    rolling update from nginx:1.27 to 1.28 at 40 s, and node-2 losing power at 47 s.

    Runs until the dead node's pods are evicted, the rollout has finished and
    20 s more. The same settings give the same cluster back (cached): treat it as
    read-only.
    """
    settings = Settings(grace_period, toleration_seconds, probe_period, prestop, replicas)
    settings.check()
    return _simulate(settings)


@functools.lru_cache(maxsize=24)
def _simulate(settings: Settings) -> Cluster:
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=SEED, nodes=3, node_monitor_grace_period=settings.grace_period)
    cluster.apply(_manifests(settings))
    cluster.run(TRAFFIC_AT)
    traffic = cluster.traffic(to="web", rate=RATE)
    cluster.run(ROLLOUT_AT - TRAFFIC_AT)
    cluster.apply(_manifests(settings, image="nginx:1.28"))
    cluster.run(POWER_OFF_AT - ROLLOUT_AT)
    cluster.stop_node(NODE, power_off=True)
    # Unknown after the grace period (at a 5 s check), tainted at the next check, evicted after
    # the toleration; then the rollout's last steps.
    cluster.run(settings.grace_period + 10 + settings.toleration_seconds + 10)
    for _ in range(40):
        if _rollout_done(cluster, settings.replicas):
            break
        cluster.run(5)
    cluster.run(20)
    traffic.stop()
    return cluster


def _rollout_done(cluster: Cluster, replicas: int) -> bool:
    status = cluster.admin.get("deployments", "web").get("status") or {}
    return all(status.get(key) == replicas for key in ("replicas", "updatedReplicas",
                                                      "availableReplicas"))


# -- reading the records ---------------------------------------------------------------------------

MARK_COLUMNS = ["time", "lane", "kind", "what"]


def capstone_marks(cluster: Cluster, node: str = NODE) -> pd.DataFrame:
    """Every component's records that matter here, one row each: time, lane, kind, what.

    Lanes: ``rollout`` (a ReplicaSet scaled up or down), ``scheduler`` (a pod
    bound), ``kubelet <node>`` (lease renewals, the power cut, a pod started,
    ready or stopped), ``node controller`` (its 5 s checks, Ready=Unknown, the
    taints), ``EndpointSlice`` (the Service's slice written), ``kube-proxy
    <node>`` (rules landed), ``taint eviction`` (a countdown started, a pod
    evicted). ``kind`` says how to draw a mark.
    """
    events = cluster.events()
    slice_name = re.compile(r"^endpointslice/default/web-[a-z0-9]{5}$")
    rows = []
    for time, component, reason, obj, message in events.itertuples(index=False):
        mark = _mark(component, reason, obj, message, node, slice_name)
        if mark is not None:
            rows.append((float(time), *mark))
    return pd.DataFrame(rows, columns=MARK_COLUMNS)


def _mark(component: str, reason: str, obj: str, message: str, node: str,
          slice_name: re.Pattern) -> tuple[str, str, str] | None:
    """(lane, kind, what) for one record, or None when it is not drawn."""
    pod = obj.removeprefix("pod/default/")
    if component == "deployment-controller" and reason == "ScalingReplicaSet":
        return "rollout", "scale-up" if message.startswith("Scaled up") else "scale-down", message
    if component == "kube-scheduler" and reason == "Scheduled":
        return "scheduler", "scheduled", f"{pod} to {message.rsplit(' ', 1)[-1]}"
    if component.startswith("kubelet/"):
        lane = f"kubelet {component.removeprefix('kubelet/')}"
        kinds = {"LeaseRenewed": "lease", "KubeletStopped": "power", "Started": "started",
                 "ContainerReady": "ready", "Killing": "killing"}
        if reason in kinds and (reason != "LeaseRenewed" or obj.endswith("/" + lane[8:])):
            return lane, kinds[reason], message if reason != "LeaseRenewed" else "lease renewed"
        return None
    if component == "node-lifecycle-controller":
        if reason == "MonitorNodeHealth":
            return "node controller", "check", message
        if obj != f"node/{node}":
            return None
        kinds = {"NodeStatusUnknown": "unknown", "NoExecuteTaintAdded": "noexecute"}
        if reason == "NoScheduleTaints" and ("unreachable" in message or "not-ready" in message):
            return "node controller", "noschedule", message
        return ("node controller", kinds[reason], message) if reason in kinds else None
    if reason == "EndpointSliceUpdated" and slice_name.match(obj):
        return "EndpointSlice", "slice", message
    if reason == "SyncProxyRules":
        return f"kube-proxy {obj.removeprefix('node/')}", "sync", message
    if component == "taint-eviction-controller" and reason in ("PodEvictionScheduled",
                                                                "TaintManagerEviction"):
        return "taint eviction", "countdown" if reason == "PodEvictionScheduled" else "evicted", \
            f"{pod}: {message}"
    return None


@dataclass
class Story:
    """The moments the lesson talks about, read from the records (None: did not happen)."""

    node: str
    rollout: float | None = None  # the first ScalingReplicaSet
    last_heartbeat: float | None = None  # the dead node's last lease renewal before the cut
    power_off: float | None = None
    grace: float | None = None  # from the NodeStatusUnknown message
    unknown: float | None = None
    slice_unready: float | None = None  # the slice written at Unknown (its endpoints not ready)
    rules_gone: dict[str, float | None] | None = None  # each live proxy: rules without them
    noexecute: float | None = None
    toleration: float | None = None  # the countdown's length, from PodEvictionScheduled
    evicted: float | None = None  # the first TaintManagerEviction
    replacements_ready: float | None = None  # the last ContainerReady after the eviction
    rollout_done: float | None = None  # every replica updated and available
    first_failed: float | None = None  # first / last request sent to the node that timed out
    last_failed: float | None = None


def story(cluster: Cluster, node: str = NODE) -> Story:
    """Read the run's moments out of the records."""
    marks = capstone_marks(cluster, node)
    out = Story(node)
    out.rollout = _rollout_start(marks)
    mine = marks[marks["lane"] == f"kubelet {node}"]
    power = mine[mine["kind"] == "power"]["time"]
    if power.empty:
        return out
    out.power_off = float(power.min())
    leases = mine[(mine["kind"] == "lease") & (mine["time"] <= out.power_off)]["time"]
    out.last_heartbeat = float(leases.max()) if len(leases) else None
    _read_failure(out, marks, cluster)
    _read_recovery(out, marks, cluster)
    return out


def _rollout_start(marks: pd.DataFrame) -> float | None:
    """When a second ReplicaSet was first scaled up: the rollout began."""
    scaled = marks[marks["lane"] == "rollout"]
    names = scaled["what"].str.extract(r"replica set (\S+)", expand=False)
    first = names.iloc[0] if len(names) else None
    later = scaled[(names != first) & (scaled["kind"] == "scale-up")]["time"]
    return float(later.min()) if len(later) else None


def _first(marks: pd.DataFrame, lane: str, kind: str, since: float | None) -> pd.Series | None:
    rows = marks[(marks["lane"] == lane) & (marks["kind"] == kind)]
    if since is not None:
        rows = rows[rows["time"] >= since]
    return None if rows.empty else rows.iloc[0]


def _read_failure(out: Story, marks: pd.DataFrame, cluster: Cluster) -> None:
    frame = vt.requests(cluster, "web")
    failed = frame[(frame["outcome"] == "timeout") & (frame["reason"] == f"{out.node} is down")]
    if len(failed):
        out.first_failed, out.last_failed = float(failed["time"].min()), \
            float(failed["time"].max())
    row = _first(marks, "node controller", "unknown", out.power_off)
    if row is not None:
        out.unknown = float(row["time"])
        found = re.search(r"grace period ([\d.]+)s", row["what"])
        out.grace = float(found.group(1)) if found else None
        row = _first(marks, "EndpointSlice", "slice", out.unknown)
        out.slice_unready = None if row is None else float(row["time"])
    served = frame[(frame["node"] == out.node) & (frame["time"] < out.power_off)]
    ips = set(vt._ip_of_pods(served).values())
    # from the cut: a rollout may delete the node's pods (out of the Service) before Unknown
    out.rules_gone = vt._rules_gone(cluster, ips, out.power_off) if ips else {}


def _read_recovery(out: Story, marks: pd.DataFrame, cluster: Cluster) -> None:
    row = _first(marks, "node controller", "noexecute", out.power_off)
    out.noexecute = None if row is None else float(row["time"])
    row = _first(marks, "taint eviction", "countdown", out.power_off)
    if row is not None:
        found = re.search(r"\((\d+)s after", row["what"])
        out.toleration = float(found.group(1)) if found else None
    row = _first(marks, "taint eviction", "evicted", out.power_off)
    if row is not None:
        out.evicted = float(row["time"])
        ready = marks[(marks["kind"] == "ready") & (marks["time"] >= out.evicted)]["time"]
        out.replacements_ready = float(ready.max()) if len(ready) else None
    out.rollout_done = _done_at(cluster, out.rollout)


def _done_at(cluster: Cluster, since: float | None) -> float | None:
    """When the Deployment's status last became, and stayed: every replica updated and
    available (None if it never did after ``since``, or did not stay so).

    "Last": a rollout can look done while a dead node's pods still count as ready,
    and stop looking done when the node controller finds out.
    """
    from kubelearn.controllers.deployment.util import parse_fields

    if since is None:
        return None
    events = cluster.events()
    mine = events[(events["reason"] == "DeploymentStatus")
                  & (events["object"] == "deployment/default/web") & (events["time"] > since)]
    done_since = None
    for time, message in zip(mine["time"], mine["message"], strict=True):
        fields = parse_fields(message)
        want = fields.get("desired")
        done = bool(want) and all(fields.get(key) == want for key in (
            "replicas", "updatedReplicas", "availableReplicas"))
        if not done:
            done_since = None
        elif done_since is None:
            done_since = float(time)
    return done_since


# -- the numbers the lesson explains ---------------------------------------------------------------

BUDGET_COLUMNS = ["span", "from", "to", "seconds", "set by"]


def error_budget(cluster: Cluster, node: str = NODE) -> pd.DataFrame:
    """The window of failed requests, as spans that add up: from the power cut to the last
    node's rules without the dead node's pods.

    Columns: ``span``, ``from``, ``to``, ``seconds`` and ``set by`` (the period or
    component behind it). The first row, the time already gone since the last
    heartbeat, comes before the window and is not in the total.
    """
    s = story(cluster, node)
    if s.power_off is None or s.unknown is None or s.last_heartbeat is None or s.grace is None:
        raise ValueError(f"{node} did not lose power and go Unknown in this run")
    from kubelearn.controllers.nodelifecycle import NODE_MONITOR_PERIOD
    from kubelearn.kubelet.config import KubeletConfig
    from kubelearn.proxy.proxier import MIN_SYNC_PERIOD

    renew = KubeletConfig().node_lease_renew_interval
    deadline = s.last_heartbeat + s.grace
    landed = [t for t in (s.rules_gone or {}).values() if t is not None]
    synced = max(landed) if landed else s.slice_unready or s.unknown
    if synced < s.unknown:
        raise ValueError(f"the rules dropped {node}'s pods at {synced:.3f} s, before the node "
                         f"controller marked it Unknown: the rollout deleted them first")
    slice_at = s.slice_unready if s.slice_unready is not None else s.unknown
    rows = [
        ("since the last heartbeat (before the window)", s.last_heartbeat, s.power_off,
         f"the kubelet renews its Lease every {renew:g} s: 0 to {renew:g} s"),
        ("the rest of the grace period", s.power_off, deadline,
         f"--node-monitor-grace-period {s.grace:g} s, from the last heartbeat"),
        ("until the node controller's next check", deadline, s.unknown,
         f"--node-monitor-period {NODE_MONITOR_PERIOD:g} s: 0 to {NODE_MONITOR_PERIOD:g} s"),
        ("EndpointSlice: its endpoints not ready", s.unknown, slice_at,
         "the EndpointSlice controller, on the pods' Ready=False"),
        ("kube-proxy: rules without them, last node", slice_at, synced,
         f"one sync (ms here); up to minSyncPeriod {MIN_SYNC_PERIOD:g} s when its budget is "
         "spent"),
    ]
    table = pd.DataFrame(rows, columns=BUDGET_COLUMNS[:3] + ["set by"])
    table.insert(3, "seconds", table["to"] - table["from"])
    total = ("the error window: power cut to rules updated", s.power_off, synced,
             synced - s.power_off, "the sum of rows 1-4 (row 0 came before the cut)")
    table.loc[len(table)] = total
    return table.round({"from": 3, "to": 3, "seconds": 3})


def recovery_steps(cluster: Cluster, node: str = NODE) -> pd.DataFrame:
    """From Ready=Unknown to the replacement pods serving: each step, when, and after the cut.

    Columns: ``step``, ``time``, ``after power off``.
    """
    s = story(cluster, node)
    if s.power_off is None:
        raise ValueError(f"{node} did not lose power in this run")
    tol = f"{s.toleration:g} s" if s.toleration is not None else "its"
    rows = [("power off", s.power_off),
            ("Ready=Unknown; pods NotReady; endpoints not ready", s.unknown),
            ("tainted unreachable:NoExecute (the next check)", s.noexecute),
            (f"pods evicted, after {tol} of toleration; replacements created", s.evicted),
            ("replacements ready (scheduled, started, probed)", s.replacements_ready),
            ("rollout done: every replica new and available", s.rollout_done)]
    table = pd.DataFrame([r for r in rows if r[1] is not None], columns=["step", "time"])
    table["after power off"] = table["time"] - s.power_off
    return table.round({"time": 3, "after power off": 3})


OUTCOME_COLUMNS = ["failed", "timeout", "refused", "window", "endpoints unready after",
                   "rollout done after"]


def outcome(cluster: Cluster, node: str = NODE) -> dict[str, float | int | None]:
    """One run in numbers: requests failed (timed out, refused), the error window (s), and
    how long after the power cut the endpoints went unready and the rollout finished."""
    frame = vt.requests(cluster, "web")
    s = story(cluster, node)
    landed = [t for t in (s.rules_gone or {}).values() if t is not None]

    def after(t: float | None) -> float | None:
        return None if t is None or s.power_off is None else round(t - s.power_off, 3)

    return {"failed": int((frame["outcome"] != "ok").sum()),
            "timeout": int((frame["outcome"] == "timeout").sum()),
            "refused": int((frame["outcome"] == "refused").sum()),
            "window": after(max(landed)) if landed else None,
            "endpoints unready after": after(s.slice_unready),
            "rollout done after": after(s.rollout_done)}


# -- the picture -----------------------------------------------------------------------------------

KIND_STYLE = {  # marker, colour, size: one shape per kind where two share a lane
    "lease": ("|", "tab:olive", 7), "power": ("X", "tab:red", 10),
    "started": ("o", "tab:cyan", 5), "ready": ("o", "tab:green", 6),
    "killing": ("x", "black", 6), "check": (".", "0.6", 4),
    "unknown": ("D", "tab:red", 11), "noschedule": ("v", "tab:orange", 6),
    "noexecute": ("v", "tab:red", 9), "slice": ("s", "tab:purple", 5),
    "sync": ("|", "tab:gray", 9), "scale-up": ("^", "tab:blue", 7),
    "scale-down": ("v", "tab:blue", 7), "scheduled": (">", "tab:blue", 6),
    "countdown": ("*", "tab:purple", 9), "evicted": ("X", "black", 9)}
# Drawn last, so a NoSchedule taint written in the same instant as Ready=Unknown shows inside
# the (larger) diamond instead of hiding it.
ON_TOP = ("noschedule",)
# Left on the lane's line when another mark comes close (:func:`_nudges`): thin ticks and
# small dots of a steady rhythm, and the taint drawn inside the Unknown diamond.
UNNUDGED = ("lease", "check", "sync", *ON_TOP)
NUDGE = 0.3  # lanes: how far a close mark moves off its lane's line
KIND_LABELS = {"lease": "lease renewal (every 10 s)", "power": "power off",
               "scale-up": "ReplicaSet scaled up", "scale-down": "ReplicaSet scaled down",
               "scheduled": "pod bound to a node", "started": "container started",
               "ready": "container ready (probe passed)", "killing": "pod told to stop",
               "check": "node controller check (every 5 s)", "unknown": "Ready → Unknown",
               "noschedule": "unreachable:NoSchedule", "noexecute": "unreachable:NoExecute",
               "slice": "EndpointSlice written", "sync": "rules landed",
               "countdown": "toleration countdown starts", "evicted": "pod evicted"}
SPAN_COLOURS = {"heartbeat": "0.8", "grace": "tab:orange", "check": "tab:brown",
                "endpoints": "tab:purple", "untainted": "0.55", "toleration": "tab:purple",
                "back": "tab:green", "rollout": "tab:blue"}


def _lanes(marks: pd.DataFrame) -> list[str]:
    """Cause before effect: the rollout, who placed and ran pods, who noticed, who rerouted."""
    present = set(marks["lane"])
    kubelets = sorted((lane for lane in present if lane.startswith("kubelet ")), key=vt._natural)
    proxies = sorted((lane for lane in present if lane.startswith("kube-proxy")), key=vt._natural)
    return ([lane for lane in ("rollout", "scheduler") if lane in present] + kubelets
            + [lane for lane in ("node controller", "EndpointSlice") if lane in present]
            + proxies + (["taint eviction"] if "taint eviction" in present else []))


def _segments(s: Story, end: float) -> list[tuple[float, float]]:
    """The x ranges drawn: the rollout and the error window, and -- when the eviction comes
    much later -- the eviction and the replacements, with the wait between cut out."""
    start = (s.rollout if s.rollout is not None else (s.power_off or 0.0)) - 8
    if s.unknown is None or s.evicted is None or s.evicted - s.unknown < 90:
        return [(start, end)]
    back = max(t for t in (s.replacements_ready, s.rollout_done, s.evicted) if t is not None)
    return [(start, s.unknown + 15), (s.evicted - 8, min(back + 12, end))]


def capstone_timeline(cluster: Cluster, node: str = NODE, *, title: str | None = None) -> Figure:
    """The whole story on one time axis, from the records.

    From the top: requests answered per second; requests failed per second (timed
    out red, refused orange), the error window shaded; one lane per component
    (:func:`capstone_marks`); and the spans that explain the window -- the time
    since the last heartbeat, the rest of the grace period, the wait for the next
    check, the endpoints and the rules -- then, again from the power cut, the wait
    for the NoExecute taint, the toleration countdown and the replacements, adding
    up to the title's time back to full strength. When the eviction comes minutes
    later, the axis is broken.
    """
    import matplotlib.pyplot as plt

    s = story(cluster, node)
    marks = capstone_marks(cluster, node)
    frame = vt.requests(cluster, "web")
    rate = vt.per_second(frame)
    end = float(frame["time"].max()) // 1 + 1 if len(frame) else float(marks["time"].max())
    segments = _segments(s, end)
    lanes = _lanes(marks)
    # the first part holds most of the story: at least twice the width of the second
    widths = [max(b - a, 20.0) for a, b in segments]
    if len(widths) == 2:
        widths[0] = max(widths[0], 2 * widths[1])
    fig, axes = plt.subplots(
        4, len(segments), sharey="row", squeeze=False, figsize=(12, 5.8 + 0.3 * len(lanes)),
        gridspec_kw={"height_ratios": [1.3, 1.3, 0.32 * len(lanes) + 0.4, 1.1],
                     "width_ratios": widths, "wspace": 0.06})
    # marks in one lane closer than this (s) would touch: 1.5 % of the drawn width (a part
    # widened past its seconds only spreads its marks further)
    near = 0.015 * sum(widths)
    peak_failed = float(rate.drop(columns="ok", errors="ignore").sum(axis=1).max() or 0.0)
    for col, (x0, x1) in enumerate(segments):
        answered, failed, events, spans = axes[:, col]
        vt._draw_answered(answered, rate, 1.0, float(rate.sum(axis=1).max() or 1.0))
        vt._draw_failed(failed, rate, 1.0, peak_failed)
        _draw_marks(events, marks, lanes, near)
        _draw_spans(spans, s, (x0, x1), segments)
        window = _window(s)
        for ax in (answered, failed, events, spans):
            ax.set_xlim(x0, x1)
            if window is not None:
                ax.axvspan(*window, color="tab:red", alpha=0.07, lw=0)
            if col:
                ax.tick_params(left=False)
                ax.set_ylabel("")
        spans.set_xlabel("simulated seconds")
    _break_marks(axes)
    # the failures are counted when they were sent: a timeout lands 2 s after its bar
    axes[0, 0].set_ylabel("requests\nanswered /s")
    axes[1, 0].set_ylabel("requests failed /s,\nby send time")
    axes[2, 0].set_yticks(range(len(lanes)), lanes, fontsize=8)
    axes[3, 0].set_yticks([0, 1], ["why the window", "why pods come back late"], fontsize=8)
    _legend(axes[2, -1], marks)
    vt._failed_legend(axes[1, -1], [rate])
    fig.suptitle(title or _title(cluster, s), fontsize=10)
    fig.subplots_adjust(left=0.14, right=0.8, top=0.94, bottom=0.07, hspace=0.12)
    return fig


def _window(s: Story) -> tuple[float, float] | None:
    landed = [t for t in (s.rules_gone or {}).values() if t is not None]
    if s.power_off is None or not landed:
        return None
    return s.power_off, max(landed)


def _s(seconds: float) -> str:
    """A time for a learner's eyes: whole seconds (the records keep the milliseconds)."""
    return f"{seconds:.0f} s"


def _outcome_words(o: dict) -> str:
    """The failed requests and when the Deployment was whole again, as a title says them."""
    done = (f"back to full strength {_s(o['rollout done after'])} after the cut"
            if o["rollout done after"] is not None else "not back to full strength")
    return (f"{o['failed']:,} requests failed ({o['timeout']:,} timed out, {o['refused']:,} "
            f"refused); {done}")


def _title(cluster: Cluster, s: Story) -> str:
    return (f"{s.node} loses power mid-rollout at {_s(s.power_off)}: "
            f"{_outcome_words(outcome(cluster, s.node))}")


def _draw_marks(ax: Axes, marks: pd.DataFrame, lanes: list[str], near: float) -> None:
    row_of = {lane: row for row, lane in enumerate(lanes)}
    rows = marks["lane"].map(row_of) + _nudges(marks, near)
    for kind, group in marks.groupby("kind", sort=False):
        marker, colour, size = KIND_STYLE[kind]
        # the bigger a mark, the further back: a small one touching the power cut's X stays whole
        ax.plot(group["time"], rows[group.index], marker, color=colour, ms=size,
                mew=1.5 if marker in "|xX" else 1, ls="none",
                zorder=4 if kind in ON_TOP else 3 - size / 100)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.25)


def _nudges(marks: pd.DataFrame, near: float) -> pd.Series:
    """Each mark's offset from its lane's line: marks of different kinds in one lane less than
    ``near`` seconds apart (a pod ready and told to stop in the same instant, a container
    started just before the power cut) would hide each other. In such a run the biggest kind,
    if no other is as big (the power cut's X), stays on the line; the others go alternately
    above and below it, in time order. Ticks and dots that mark a rhythm (:data:`UNNUDGED`)
    stay on the line."""
    offsets = pd.Series(0.0, index=marks.index)
    order = {kind: i for i, kind in enumerate(KIND_STYLE)}
    shown = marks[~marks["kind"].isin(UNNUDGED)]
    for _, lane in shown.groupby("lane", sort=False):
        lane = lane.assign(order=lane["kind"].map(order)).sort_values(["time", "order"])
        run = (lane["time"].diff() > near).cumsum()  # a new run after each gap
        for _, marks_in_run in lane.groupby(run, sort=False):
            kinds = list(dict.fromkeys(marks_in_run["kind"]))
            if len(kinds) < 2:
                continue
            sizes = [KIND_STYLE[kind][2] for kind in kinds]
            if sizes.count(max(sizes)) == 1:
                kinds.pop(sizes.index(max(sizes)))
            for i, kind in enumerate(kinds):
                hit = marks_in_run.index[marks_in_run["kind"] == kind]
                offsets[hit] = NUDGE if i % 2 else -NUDGE
    return offsets


def _spans(s: Story) -> list[tuple[int, float, float, str, str]]:
    """(row, from, to, colour key, label) for each span that explains a delay."""
    out: list[tuple[int, float, float, str, str]] = []
    if s.last_heartbeat is not None and s.power_off is not None:
        out.append((0, s.last_heartbeat, s.power_off, "heartbeat",
                    f"{_s(s.power_off - s.last_heartbeat)} since the last heartbeat"))
    if s.last_heartbeat is not None and s.grace is not None and s.power_off is not None:
        deadline = s.last_heartbeat + s.grace
        out.append((0, s.power_off, deadline, "grace",
                    f"rest of the {_s(s.grace)} grace: {_s(deadline - s.power_off)}"))
        if s.unknown is not None and s.unknown > deadline:
            out.append((0, deadline, s.unknown, "check", "next check"))
    window = _window(s)
    if window is not None and s.unknown is not None and window[1] >= s.unknown:
        out.append((0, s.unknown, window[1], "endpoints",
                    f"endpoints, rules: {(window[1] - s.unknown) * 1000:.0f} ms"))
    return out + _recovery_spans(s)


def _recovery_spans(s: Story) -> list[tuple[int, float, float, str, str]]:
    """The second row, end to end from the power cut: until the NoExecute taint, the
    toleration, the replacements, and the rest of the rollout if it ends later -- so its
    lengths add up to the title's "back to full strength ... after the cut"."""
    out: list[tuple[int, float, float, str, str]] = []
    if s.power_off is not None and s.noexecute is not None:
        out.append((1, s.power_off, s.noexecute, "untainted",
                    f"power cut to NoExecute taint: {_s(s.noexecute - s.power_off)}"))
    if s.noexecute is not None and s.evicted is not None:
        out.append((1, s.noexecute, s.evicted, "toleration",
                    f"{_s(s.evicted - s.noexecute)} toleration"))
    if s.evicted is not None and s.replacements_ready is not None:
        out.append((1, s.evicted, s.replacements_ready, "back",
                    f"replacements: {_s(s.replacements_ready - s.evicted)}"))
        if s.rollout_done is not None and s.rollout_done > s.replacements_ready:
            out.append((1, s.replacements_ready, s.rollout_done, "rollout",
                        f"rest of the rollout: {_s(s.rollout_done - s.replacements_ready)}"))
    return out


def _draw_spans(ax: Axes, s: Story, shown: tuple[float, float],
                segments: list[tuple[float, float]]) -> None:
    """The spans as bars; each label once, where most of its span is in view."""
    for row, start, stop, key, label in _spans(s):
        ax.barh(row, max(stop - start, 0.3), left=start, height=0.55, color=SPAN_COLOURS[key],
                alpha=0.45, edgecolor=SPAN_COLOURS[key])
        seen = [(min(stop, b) - max(start, a), a, b) for a, b in segments]
        width, a, b = max(seen)
        if not label or width <= 0 or (a, b) != shown:
            continue
        middle = (max(start, a) + min(stop, b)) / 2
        if width >= 0.18 * (b - a):
            ax.text(middle, row, label, ha="center", va="center", fontsize=7)
        else:  # too short to hold its words: above it
            ax.annotate(label, (middle, row - 0.3), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7)
    ax.set_ylim(1.6, -0.9)
    ax.grid(axis="x", alpha=0.25)


def _break_marks(axes) -> None:
    """Diagonal cuts where the time axis is broken."""
    if axes.shape[1] < 2:
        return
    for left, right in zip(axes[:, 0], axes[:, 1], strict=True):
        left.spines["right"].set_visible(False)
        right.spines["left"].set_visible(False)
        for ax, x in ((left, 1), (right, 0)):
            ax.plot([x, x], [0, 1], transform=ax.transAxes, color="0.3", lw=0.8, ls=(0, (2, 2)),
                    clip_on=False)


def _legend(ax: Axes, marks: pd.DataFrame) -> None:
    from matplotlib.lines import Line2D

    kinds = [k for k in KIND_STYLE if k in set(marks["kind"])]
    handles = [Line2D([], [], marker=KIND_STYLE[k][0], color=KIND_STYLE[k][1], ls="none",
                      ms=KIND_STYLE[k][2], label=KIND_LABELS[k]) for k in kinds]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
              title="marks", title_fontsize=7)


# -- what if: each setting changed on its own, and a widget ----------------------------------------

# The values each what-if tries; the others stay at DEFAULTS.
WHAT_IFS: dict[str, tuple[int, ...]] = {"grace_period": (20, 30, 40, 50),
                                        "toleration_seconds": (0, 30, 60, 300),
                                        "probe_period": (1, 5, 10), "prestop": (0, 5),
                                        "replicas": (3, 6, 9)}
SLIDER_LABELS = {"grace_period": "grace (s)", "toleration_seconds": "toleration (s)",
                 "probe_period": "probe every (s)", "prestop": "preStop (s)",
                 "replicas": "replicas"}
KNOB_LABELS = {"grace_period": "node-monitor-grace-period (s)",
               "toleration_seconds": "tolerationSeconds", "probe_period": "readiness periodSeconds",
               "prestop": "preStop sleep (s)", "replicas": "replicas"}


def what_ifs(cases: dict[str, tuple[int, ...]] | None = None) -> pd.DataFrame:
    """Each setting changed on its own from :data:`DEFAULTS`: one run per value.

    Columns: ``setting``, ``value``, ``lesson's value`` (True on the lesson's own run), and
    :func:`outcome`'s numbers.
    """
    from kubelearn.viz.parallel import run_each

    changed = [(knob, value) for knob, values in (cases or WHAT_IFS).items() for value in values]
    settings = [replace(DEFAULTS, **{knob: value}) for knob, value in changed]
    # The lesson's own run is already simulated (and cached) here; the others are
    # independent runs, simulated side by side on the machine's cores.
    others = sorted({s for s in settings if s != DEFAULTS}, key=lambda s: astuple(s))
    outcomes = dict(zip(others, run_each(_outcome_of, [astuple(s) for s in others]),
                        strict=True))
    outcomes[DEFAULTS] = outcome(simulate_capstone(**asdict(DEFAULTS)))
    rows = [{"setting": knob, "value": value, "lesson's value": s == DEFAULTS, **outcomes[s]}
            for (knob, value), s in zip(changed, settings, strict=True)]
    return pd.DataFrame(rows, columns=["setting", "value", "lesson's value", *OUTCOME_COLUMNS])


def _outcome_of(*settings: int) -> dict[str, float | int | None]:
    """:func:`outcome` of one run (in a worker process: what_ifs)."""
    return outcome(simulate_capstone(*settings))


def what_if_figure(table: pd.DataFrame) -> Figure:
    """The what-ifs side by side: failed requests (top) and when the Deployment was back to
    full strength (bottom), one column per setting, the lesson's own run outlined."""
    import matplotlib.pyplot as plt
    import numpy as np

    knobs = list(dict.fromkeys(table["setting"]))
    fig, axes = plt.subplots(2, len(knobs), figsize=(2.3 * len(knobs) + 1, 5.2), sharey="row",
                             squeeze=False)
    for col, knob in enumerate(knobs):
        rows = table[table["setting"] == knob]
        x = np.arange(len(rows))
        top, bottom = axes[:, col]
        outlined = rows["lesson's value"]
        lines = {"edgecolor": "black", "linewidth": [1.5 if d else 0 for d in outlined]}
        top.bar(x, rows["timeout"], color=vt.OUTCOME_COLOURS["timeout"], label="timed out",
                **lines)
        top.bar(x, rows["refused"], bottom=rows["timeout"], color=vt.OUTCOME_COLOURS["refused"],
                label="refused", **lines)
        back = rows["rollout done after"].astype(float)
        bottom.bar(x, back.fillna(0), color="tab:green", alpha=0.7, **lines)
        for ax in (top, bottom):
            ax.set_xticks(x, [str(v) for v in rows["value"]])
            ax.grid(axis="y", alpha=0.3)
        bottom.set_xlabel(KNOB_LABELS.get(knob, knob), fontsize=8)
        for i, (failed, seconds) in enumerate(zip(rows["failed"], back, strict=True)):
            top.annotate(f"{failed}", (i, failed), xytext=(0, 2), textcoords="offset points",
                         ha="center", fontsize=7)
            bottom.annotate("never" if pd.isna(seconds) else f"{seconds:.0f}", (i, seconds or 0),
                            xytext=(0, 2), textcoords="offset points", ha="center", fontsize=7)
    for ax in axes[:, 0]:  # room above the tallest bar for its number (rows share y)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.12)
    axes[0, 0].set_ylabel("failed requests")
    axes[1, 0].set_ylabel("back to full strength\n(s after the power cut)")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle("What if: one setting changed at a time (outlined: the lesson's run). The grace "
                 "period and the toleration act on every run; the other settings\nmove the "
                 "numbers by changing which pods node-2 held when it died (probe period, "
                 "replicas) or the rollout's refused requests (preStop)", fontsize=10)
    fig.tight_layout()
    return fig


def capstone_figure(settings: Settings = DEFAULTS) -> Figure:
    """The widget's picture for one setting: the run's timeline, failures counted."""
    cluster = simulate_capstone(**asdict(settings))
    return capstone_timeline(cluster, title=(
        f"grace {settings.grace_period} s, toleration {settings.toleration_seconds} s, probe "
        f"every {settings.probe_period} s, preStop {settings.prestop} s, {settings.replicas} "
        f"replicas: {_outcome_words(outcome(cluster))}"))


def capstone_widget(settings: Settings = DEFAULTS) -> ipywidgets.Widget:
    """Sliders for the five settings; each change re-runs the story (cached) and redraws.

    The picture is a plain output above the sliders (:func:`~kubelearn.viz.interact.redrawn`).
    """
    import ipywidgets as widgets

    def slider(knob: str, options: tuple[int, ...]) -> widgets.SelectionSlider:
        return widgets.SelectionSlider(options=options, value=getattr(settings, knob),
                                       description=SLIDER_LABELS[knob],
                                       continuous_update=False,
                                       style={"description_width": "initial"})

    sliders = {"grace_period": slider("grace_period", (20, 30, 40, 50, 60)),
               "toleration_seconds": slider("toleration_seconds", (0, 30, 60, 120, 300)),
               "probe_period": slider("probe_period", (1, 2, 5, 10)),
               "prestop": slider("prestop", (0, 5, 10)),
               "replicas": slider("replicas", (3, 6, 9))}

    return redrawn(lambda **knobs: capstone_figure(Settings(**knobs)), sliders, rows=(3, 2))
