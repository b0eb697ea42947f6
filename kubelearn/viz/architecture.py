"""The live cluster drawn as the architecture diagram, each arrow counted from the records.

Kubernetes' architecture is hub and spoke: every component -- the controller
manager, the scheduler, CoreDNS, each node's kubelet and kube-proxy, and you
with kubectl -- calls the API server, and watches it for changes; only the API
server reads and writes etcd. Here that shape is not drawn from a template but
read off a cluster:

- :func:`component_of`: which component an audit row's user is (the identity
  each one runs as: ``system:node:<node>`` is that node's kubelet...);
- :func:`calls`: the audit log (``cluster.api.audit()``), grouped by component
  and verb -- how many requests each sent, and of which kind;
- :func:`arrows`: one row per arrow of the diagram: ``calls`` (requests a
  component sent the API server, watches included), ``watches`` (the watch
  streams the API server feeds it), and the API server's ``writes`` to etcd
  (every write is one etcd revision, so the store's revision counts them) and
  its ``watches`` on etcd: kubelearn's watch cache opens one, on ``/registry/``
  (:mod:`kubelearn.apiserver.watch`); upstream each resource's cacher opens its
  own, one per resource prefix (``/registry/pods/``, ...);
- :func:`writes`: the etcd writes per resource (``/registry/<resource>/...``),
  so a lesson can say what the revisions were spent on;
- :func:`architecture`: the diagram -- control plane, the DNS add-on and nodes
  as frames, components as boxes, an arrow per row of :func:`arrows`, labelled.

kube-proxy runs on every node under one identity, ``system:kube-proxy``: the
audit log cannot tell one node's kube-proxy from another's, so their requests
are counted together, on one arrow joined to every node's kube-proxy. Nothing
here changes the cluster: it reads the audit rows, etcd and the node names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from kubelearn.apiserver import authn

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelearn.cluster import Cluster

API_SERVER = "kube-apiserver"
ETCD = "etcd"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
COREDNS = "CoreDNS"
KUBE_PROXY = "kube-proxy"
YOU = "you (kubectl)"
OTHERS = "other clients"
KUBELET_PREFIX = "kubelet/"
# The service account CoreDNS runs as (kubelearn.proxy.dns), in kube-system beside the
# controllers' own accounts.
COREDNS_ACCOUNT = "coredns"

CALL_COLUMNS = ["component", "user", "verb", "requests"]
ARROW_COLUMNS = ["source", "target", "kind", "count"]
WRITE_COLUMNS = ["resource", "writes"]
# kubelearn's watch cache watches etcd once, on this prefix (kubelearn.apiserver.watch).
ETCD_WATCH_PREFIXES = ("/registry/",)
MAX_NODES_DRAWN = 5  # more nodes than this: the rest share one box

CALL_COLOUR = "tab:blue"
WATCH_COLOUR = "tab:orange"
ETCD_COLOUR = "tab:red"


def component_of(user: str) -> str:
    """The component that runs as ``user``: ``system:node:node-1`` -> ``kubelet/node-1``."""
    if user == authn.ADMIN_NAME:
        return YOU
    if user == "system:apiserver":  # the API server's own loopback client
        return API_SERVER
    if user == authn.KUBE_SCHEDULER:
        return SCHEDULER
    if user == authn.KUBE_PROXY:
        return KUBE_PROXY
    if user == authn.KUBE_CONTROLLER_MANAGER:
        return CONTROLLER_MANAGER
    if user.startswith("system:node:"):
        return KUBELET_PREFIX + user.removeprefix("system:node:")
    account = authn.split_service_account(user)
    if account is not None and account[0] == "kube-system":
        # --use-service-account-credentials: each controller has its own account there.
        return COREDNS if account[1] == COREDNS_ACCOUNT else CONTROLLER_MANAGER
    return OTHERS


def calls(cluster: Cluster) -> pd.DataFrame:
    """Requests per component, user and verb, read from the API server's audit log."""
    rows = cluster.api.audit_log.records
    counts: dict[tuple[str, str, str], int] = {}
    for row in rows:
        key = (component_of(row.user), row.user, row.verb)
        counts[key] = counts.get(key, 0) + 1
    frame = pd.DataFrame([(*key, n) for key, n in counts.items()], columns=CALL_COLUMNS)
    return frame.sort_values(["component", "user", "verb"], ignore_index=True)


def arrows(cluster: Cluster) -> pd.DataFrame:
    """The diagram's arrows: who called or watched whom, and how many times.

    ``calls``: requests from a component to the API server (watch requests
    included); ``watches``: watch streams the API server feeds back to it;
    ``writes``: the API server's writes to etcd (one revision each); ``watches``
    from etcd: the API server's own watches on etcd (kubelearn's watch cache
    opens one, on ``/registry/``; upstream one per resource). The API server's requests to itself
    (``system:apiserver``) are a ``calls`` row from it to itself.
    """
    frame = calls(cluster)
    rows = []
    for component, group in frame.groupby("component", sort=True):
        rows.append((component, API_SERVER, "calls", int(group["requests"].sum())))
        watching = int(group.loc[group["verb"] == "watch", "requests"].sum())
        if watching and component != API_SERVER:
            rows.append((API_SERVER, component, "watches", watching))
    rows.append((API_SERVER, ETCD, "writes", cluster.etcd.revision - 1))  # etcd starts at 1
    rows.append((ETCD, API_SERVER, "watches", len(ETCD_WATCH_PREFIXES)))
    return pd.DataFrame(rows, columns=ARROW_COLUMNS)


def writes(cluster: Cluster) -> pd.DataFrame:
    """etcd writes per resource (the ``<resource>`` of ``/registry/<resource>/...``), most
    first; a deleted key's writes count too, and versions compaction dropped are one
    ``(compacted)`` row, so the rows add up to the arrow's count.

    Read through etcd's own API, so it works on every backend (the embedded
    store, a Raft group, a real etcd): a watch from just after the compaction
    revision replays every change since, one event per version (a delete's
    tombstone included); compaction kept the newest version at or below its
    revision of each key alive then, which a range at that revision lists.
    Reads only: no write, no new revision.
    """
    store = cluster.etcd
    counts: dict[str, int] = {}

    def count(key: str) -> None:
        resource = key.split("/")[2] if key.count("/") >= 2 else key
        counts[resource] = counts.get(resource, 0) + 1

    compacted = store.compact_revision
    if compacted:
        for kv in store.range("", prefix=True, revision=compacted, keys_only=True).kvs:
            count(kv.key)
    replay = store.watch("", prefix=True, start_revision=compacted + 1)
    for event in replay.events:
        count(event.kv.key)
    replay.cancel()
    missing = store.revision - 1 - sum(counts.values())
    if missing > 0:
        counts["(compacted)"] = missing
    frame = pd.DataFrame(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
                         columns=WRITE_COLUMNS)
    return frame


# -- the drawing ---------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # centre x, centre y, half width, half height


def _count(table: pd.DataFrame, source: str, target: str, kind: str) -> int:
    hit = table[(table["source"] == source) & (table["target"] == target)
                & (table["kind"] == kind)]
    return int(hit["count"].sum())


def _box(ax: Axes, x: float, y: float, text: str, *, width: float = 1.9, height: float = 0.6,
         colour: str = "white") -> Box:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.04", facecolor=colour,
                                edgecolor="black", linewidth=1.2, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=4)
    return x, y, width / 2 + 0.06, height / 2 + 0.06


def _frame(ax: Axes, x0: float, y0: float, x1: float, y1: float, title: str, *,
           title_below: bool = False) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#f4f4f4",
                           edgecolor="grey", linestyle="--", zorder=1))
    ax.text(x0 + 0.1, y0 + 0.1 if title_below else y1 - 0.12, title, ha="left",
            va="bottom" if title_below else "top", fontsize=9, color="dimgrey", style="italic",
            zorder=2)


def _edge(box: Box, towards: tuple[float, float]) -> tuple[float, float]:
    """Where the line from the box's centre towards a point leaves the box."""
    x, y, w, h = box
    dx, dy = towards[0] - x, towards[1] - y
    scale = min(w / abs(dx) if dx else float("inf"), h / abs(dy) if dy else float("inf"))
    return x + dx * scale, y + dy * scale


def _arrow(ax: Axes, source: Box, target: Box, label: str, *, colour: str,
           dashed: bool = False, shift: float = 0.0, at: float = 0.3) -> None:
    """An arrow from box to box, moved sideways by ``shift``, its label ``at`` along it."""
    dx, dy = target[0] - source[0], target[1] - source[1]
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    nx, ny = -dy / length * shift, dx / length * shift
    a = (source[0] + nx, source[1] + ny, *source[2:])
    b = (target[0] + nx, target[1] + ny, *target[2:])
    (x0, y0), (x1, y1) = _edge(a, b[:2]), _edge(b, a[:2])
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=2,
                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.4, "shrinkA": 0,
                            "shrinkB": 0, "linestyle": "--" if dashed else "-"})
    if label:
        ax.text(x0 + (x1 - x0) * at, y0 + (y1 - y0) * at, label, fontsize=8, color=colour,
                ha="center", va="center", zorder=5,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})


def _node_groups(cluster: Cluster) -> list[tuple[str, list[str]]]:
    """(box title, node names) for each node box; past MAX_NODES_DRAWN, one box for the rest."""
    names = list(cluster.kubelets)
    if len(names) <= MAX_NODES_DRAWN:
        return [(name, [name]) for name in names]
    shown = names[:MAX_NODES_DRAWN - 1]
    rest = names[MAX_NODES_DRAWN - 1:]
    return [(name, [name]) for name in shown] + [(f"{rest[0]} … {rest[-1]}", rest)]


def architecture(cluster: Cluster, ax: Axes | None = None) -> Figure:
    """The cluster's components as boxes, each arrow labelled with what it carried so far.

    Blue: requests a component sent the API server; orange, dashed: the watch
    streams the API server feeds it; red: the API server's writes to etcd;
    red, dashed: its watch on etcd. CoreDNS is drawn apart from the control
    plane: it is an add-on (a Deployment in kube-system), not a control plane
    component.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    table = arrows(cluster)
    if ax is None:
        fig, ax = plt.subplots(figsize=(12, 7.5))
    else:
        fig = ax.figure
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 8.4)
    ax.axis("off")

    _frame(ax, 0.2, 4.3, 8.3, 8.2, "control plane (the article's \"master\")")
    own = _count(table, API_SERVER, API_SERVER, "calls")
    api = _box(ax, 5.2, 5.4, f"{API_SERVER}\n(+ {own} requests to itself)", width=2.6,
               height=0.8, colour="#fde9c9")
    etcd = _box(ax, 1.5, 5.4, ETCD, width=1.6, colour="#f9d5d3")
    _arrow(ax, api, etcd, f"{_count(table, API_SERVER, ETCD, 'writes')} writes",
           colour=ETCD_COLOUR, shift=0.15, at=0.5)
    etcd_watches = _count(table, ETCD, API_SERVER, "watches")
    _arrow(ax, etcd, api, f"{etcd_watches} watch{'es' if etcd_watches > 1 else ''}",
           colour=ETCD_COLOUR, dashed=True, shift=0.15, at=0.5)
    _frame(ax, 8.6, 6.5, 11.8, 8.2, "add-on (Deployment in kube-system)")
    places = {CONTROLLER_MANAGER: (2.2, 7.3), SCHEDULER: (5.2, 7.3), COREDNS: (10.2, 7.3),
              YOU: (10.6, 5.4)}
    for name, (x, y) in places.items():
        box = _box(ax, x, y, name, width=2.2 if name == CONTROLLER_MANAGER else 1.8)
        _connect(ax, box, api, _count(table, name, API_SERVER, "calls"),
                 _count(table, API_SERVER, name, "watches"))

    groups = _node_groups(cluster)
    width = 11.6 / len(groups) if groups else 11.6
    inner = min(1.6, width / 2 - 0.25)
    hub = _box(ax, 9.6, 3.4, f"every {KUBE_PROXY}\n(one user: system:kube-proxy)",
               width=2.5, height=0.6, colour="#eeeeee")
    for i, (title, members) in enumerate(groups):
        x0 = 0.2 + i * width
        _frame(ax, x0 + 0.05, 0.5, x0 + width - 0.05, 2.3, f"{title} (a \"worker\")",
               title_below=True)
        kubelet = _box(ax, x0 + width * 0.28, 1.4, "kubelet", width=inner)
        proxy = _box(ax, x0 + width * 0.72, 1.4, KUBE_PROXY, width=inner)
        _connect(ax, kubelet, api,
                 sum(_count(table, KUBELET_PREFIX + m, API_SERVER, "calls") for m in members),
                 sum(_count(table, API_SERVER, KUBELET_PREFIX + m, "watches") for m in members),
                 at_sent=0.5, at_watch=0.72)
        # above every node's frame (1), so a line crossing the next node's frame stays whole;
        # below the frames' titles (2) and the boxes (3)
        ax.plot([proxy[0], hub[0]], [proxy[1] + proxy[3], hub[1] - hub[3]], color="grey",
                linewidth=0.8, linestyle=":", zorder=1.5)
    _connect(ax, hub, api, _count(table, KUBE_PROXY, API_SERVER, "calls"),
             _count(table, API_SERVER, KUBE_PROXY, "watches"))

    others = _count(table, OTHERS, API_SERVER, "calls")
    note = f"; other users: {others} requests" if others else ""
    ax.set_title("Every arrow starts or ends at the API server: only it touches etcd\n"
                 f"requests and watches counted from the audit log, t = 0 to {cluster.now:g} s"
                 f"{note}", fontsize=11)
    ax.legend(handles=[Line2D([], [], color=CALL_COLOUR, label="requests sent (audit log)"),
                       Line2D([], [], color=WATCH_COLOUR, linestyle="--",
                              label="watch streams it is fed"),
                       Line2D([], [], color=ETCD_COLOUR, label="etcd writes (revisions)"),
                       Line2D([], [], color=ETCD_COLOUR, linestyle="--",
                              label="the API server's watch on etcd"),
                       Line2D([], [], color="grey", linestyle=":",
                              label="kube-proxies counted together")],
              loc="upper center", bbox_to_anchor=(0.5, 0.05), fontsize=8, ncols=5,
              frameon=False)
    return fig


def _connect(ax: Axes, box: Box, api: Box, sent: int, watching: int, *,
             at_sent: float = 0.25, at_watch: float = 0.5) -> None:
    """A component's request arrow to the API server and its watch arrow back, labelled."""
    _arrow(ax, box, api, f"{sent}", colour=CALL_COLOUR, shift=0.1, at=at_sent)
    if watching:
        _arrow(ax, api, box, f"{watching} watch{'es' if watching > 1 else ''}",
               colour=WATCH_COLOUR, dashed=True, shift=0.1, at=at_watch)
