"""Tables, plots and a widget for lesson 01: what etcd holds and how it changes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from kubelearn.etcd import CompactedError
from kubelearn.etcd.lease import lease_name
from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Generator

    import ipywidgets
    from matplotlib.figure import Figure

    from kubelearn.etcd import Event, KeyValue, Store
    from kubelearn.sim import Simulation

KEY_COLUMNS = ["key", "create_revision", "mod_revision", "version", "lease", "value"]


def _summary(value: bytes, width: int = 60) -> str:
    """A value as one short line: JSON compacted, other bytes decoded."""
    text = value.decode("utf-8", errors="replace")
    try:
        text = json.dumps(json.loads(text), separators=(",", ":"))
    except ValueError:
        pass
    return text if len(text) <= width else text[: width - 1] + "…"


def keys_table(kvs: list[KeyValue], width: int = 60) -> pd.DataFrame:
    """The key-values of a range as a table, one row a key."""
    rows = [
        (kv.key, kv.create_revision, kv.mod_revision, kv.version, kv.lease,
         _summary(kv.value, width))
        for kv in kvs
    ]
    return pd.DataFrame(rows, columns=KEY_COLUMNS)


def keys_at(store: Store, prefix: str, revision: int = 0, width: int = 60) -> pd.DataFrame:
    """Every key under ``prefix`` as it was at ``revision`` (0: now)."""
    return keys_table(store.range(prefix, prefix=True, revision=revision).kvs, width)


def field(value: bytes, path: str) -> Any:
    """A dotted field of a JSON value (``status.phase``), or None."""
    try:
        node: Any = json.loads(value)
    except ValueError:
        return None
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


class WatchLog:
    """Every change under a prefix with the simulated time it happened: a watch that takes notes.

    It is an ordinary watch from the store's current revision, so it sees what
    a controller would see, and nothing else.
    """

    COLUMNS = ["time", "type", "key", "mod_revision", "version", "value"]

    def __init__(self, store: Store, sim: Simulation, prefix: str = "/") -> None:
        self.rows: list[tuple] = []
        self.sim = sim
        self.watcher = store.watch(prefix, prefix=True, callback=self._note)

    def _note(self, event: Event) -> None:
        kv = event.kv
        self.rows.append((self.sim.now, event.type, kv.key, kv.mod_revision, kv.version, kv.value))

    def frame(self, width: int = 40) -> pd.DataFrame:
        """The changes so far, one row each, values summarised."""
        frame = pd.DataFrame(self.rows, columns=self.COLUMNS)
        frame["value"] = [_summary(v, width) for v in frame["value"]]
        return frame


class LeaseLog:
    """The seconds left on one lease, noted every ``every`` simulated seconds until it ends.

    Plumbing for :func:`lease_plot`: a SimPy process that asks the store what
    ``etcdctl lease timetolive`` would print, as often as the plot needs.
    Times are seconds since the log was made: make it in the same instant as
    the grant, and they count from the grant, as :func:`lease_plot`'s axis says.
    """

    def __init__(self, store: Store, sim: Simulation, lease_id: int, every: float = 0.5) -> None:
        self.store, self.sim, self.lease_id = store, sim, lease_id
        self.start = sim.now
        self.rows: list[tuple[float, int]] = []
        sim.process(self._sample(every))

    def _sample(self, every: float) -> Generator[Any, Any, None]:
        while True:
            left = self.store.time_to_live(self.lease_id).ttl  # -1 once the lease is gone
            self.rows.append((self.sim.now - self.start, max(left, 0)))
            if left <= 0:
                return
            yield self.sim.timeout(every)

    def frame(self) -> pd.DataFrame:
        """The samples so far: columns ``time`` (s since the log began) and ``ttl`` (s left)."""
        return pd.DataFrame(self.rows, columns=["time", "ttl"])

    @property
    def expired_at(self) -> float | None:
        """When etcd ended the lease and deleted its keys (s since the log began), or None."""
        name = lease_name(self.lease_id)
        for record in self.sim.records:
            if record.reason == "LeaseExpired" and record.object == name:
                return record.time - self.start
        return None


class RevisionLog:
    """The store's revision and compaction point, noted every ``every`` simulated seconds.

    Plumbing for :func:`compaction_plot`; times are seconds since the log was made
    (lesson 01 makes it as it starts the writer and the compactor).
    ``compacted`` is 0 until the first compaction, as etcd reports it.
    """

    def __init__(self, store: Store, sim: Simulation, every: float = 5.0) -> None:
        self.store, self.sim = store, sim
        self.start = sim.now
        self.rows: list[tuple[float, int, int]] = []
        sim.process(self._sample(every))

    def _sample(self, every: float) -> Generator[Any, Any, None]:
        while True:
            self.rows.append((self.sim.now - self.start, self.store.revision,
                              self.store.compact_revision))
            yield self.sim.timeout(every)

    def frame(self) -> pd.DataFrame:
        """The samples so far: columns ``time``, ``revision`` and ``compacted``."""
        return pd.DataFrame(self.rows, columns=["time", "revision", "compacted"])


def key_history_plot(log: WatchLog, key: str, label: str | None = None) -> Figure:
    """A key's version over simulated time, each write labelled by a field of its value.

    ``label`` is a dotted JSON path (``status.phase``); without it the value
    itself is printed. A delete drops the version to 0, as etcd does.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = [row for row in log.rows if row[2] == key]
    times = [row[0] for row in rows]
    versions = [0 if row[1] == "DELETE" else row[4] for row in rows]
    end = max(log.sim.now, max(times, default=0) + 1)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.step(times + [end], versions + versions[-1:], where="post", color="tab:blue")
    ax.plot(times, versions, "o", color="tab:blue")
    for (time, kind, _key, revision, _version, value), version in zip(rows, versions, strict=True):
        if kind == "DELETE":
            text = f"deleted (rev {revision})"
        else:
            shown = field(value, label) if label else _summary(value, 18)
            text = f"{shown} (rev {revision})"
        ax.annotate(text, (time, version), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("version of the key (writes)")
    ax.set_title(f"{key}: each write adds 1 to its version, a delete sets it to 0",
                 fontsize=10)
    ax.set_ylim(-0.3, max(versions, default=1) + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # versions count writes: no halves
    ax.set_xlim(0, end)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def revision_stepper(store: Store, prefix: str) -> ipywidgets.Widget:
    """A slider over the retained revisions showing the keys under ``prefix`` at each.

    The table is a plain output above the slider (:func:`~kubelearn.viz.interact.redrawn`).
    A revision compacted away after the slider was drawn says so instead.
    """
    import ipywidgets as widgets

    first = max(store.compact_revision, 1)
    slider = widgets.IntSlider(value=store.revision, min=first, max=store.revision,
                               description="revision", continuous_update=False)

    def picture(revision: int) -> pd.DataFrame | str:
        try:
            return keys_at(store, prefix, revision=revision, width=50)
        except CompactedError:
            return (f"Revision {revision} is gone: the store has been compacted up to revision "
                    f"{store.compact_revision} since this slider was drawn, and a read of an "
                    f"older revision fails with etcd's \"required revision has been "
                    f"compacted\". Move the slider to {store.compact_revision} or later.")

    return redrawn(picture, {"revision": slider})


def lease_plot(samples: pd.DataFrame, expired_at: float | None = None, *,
               since: str = "the lease was granted") -> Figure:
    """Remaining TTL of a lease over time (columns ``time``, ``ttl``), and when its key vanished.

    ``samples`` counts from when its :class:`LeaseLog` was made; ``since`` names
    that moment on the x axis (lesson 01 makes the log as it grants the lease).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(samples["time"], samples["ttl"], color="tab:green", label="TTL left (s)")
    if expired_at is not None:
        ax.axvline(expired_at, color="tab:red", linestyle="--", label="lease expired: key deleted")
    ax.set_xlabel(f"seconds since {since} (simulated)")
    ax.set_ylabel("TTL left (s)")
    ax.set_title("Each keepalive resets the lease's TTL; once they stop it runs out "
                 "and etcd deletes its keys", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def compaction_plot(samples: pd.DataFrame, lag_from: float, lag_revision: int, *,
                    since: str = "the writer and compactor started") -> Figure:
    """Store revision, compaction point and a lagging watcher's position over time.

    ``samples`` has columns ``time``, ``revision`` and ``compacted``, in seconds
    since its :class:`RevisionLog` was made; ``since`` names that moment on the
    x axis (lesson 01 makes the log as it starts the writer and the compactor).
    The watcher stopped reading at ``lag_from`` seconds, stuck at ``lag_revision``.
    """
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(samples["time"], samples["revision"], label="store revision", color="tab:blue")
    top.step(samples["time"], samples["compacted"], where="post", color="tab:red",
             label="compacted up to")
    top.hlines(lag_revision, lag_from, samples["time"].iloc[-1], color="tab:orange",
               linestyle=":", label="lagging watcher's last revision")
    behind = samples[samples["compacted"] > lag_revision]
    if len(behind):
        top.axvspan(behind["time"].iloc[0], samples["time"].iloc[-1], color="tab:orange",
                    alpha=0.1, label="resume impossible: 410 Gone, re-list")
    top.set_title("Compaction overtakes a watcher that stopped reading: it can no longer "
                  "resume", fontsize=10)
    top.set_ylabel("revision")
    top.legend(fontsize=8, loc="upper left")
    top.grid(alpha=0.3)
    bottom.fill_between(samples["time"], samples["revision"] - samples["compacted"],
                        step="post", color="tab:purple", alpha=0.5)
    bottom.set_ylabel("revisions kept\n(readable history)")
    bottom.set_xlabel(f"seconds since {since} (simulated)")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig
