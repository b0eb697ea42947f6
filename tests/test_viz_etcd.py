"""kubelearn.viz.etcd: lesson 01's plots say what they show, in whole versions."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.viz import etcd as viz  # noqa: E402

KEY = "/registry/pods/default/db-0"


def test_key_history_has_whole_versions_a_title_and_a_label_per_write():
    sim = kl.Simulation(seed=0)
    store = kl.etcd.Store(sim)
    log = viz.WatchLog(store, sim, "/registry/")
    store.put(KEY, '{"status": {"phase": "Pending"}}')
    sim.run(3)
    store.delete(KEY)
    sim.run(3)
    store.put(KEY, '{"status": {"phase": "Pending"}}')
    sim.run(1)
    fig = viz.key_history_plot(log, KEY, label="status.phase")
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)  # no version 0.5
    assert ax.get_title() == f"{KEY}: each write adds 1 to its version, a delete sets it to 0"
    assert ax.get_xlabel() == "simulated seconds"
    assert ax.get_ylabel() == "version of the key (writes)"
    assert [t.get_text() for t in ax.texts] == ["Pending (rev 2)", "deleted (rev 3)",
                                                "Pending (rev 4)"]
    assert ax.get_legend() is None  # one line: the axis labels say what it is
    plt.close(fig)


def test_lease_and_compaction_plots_are_titled_and_their_legends_match_what_is_drawn():
    samples = pd.DataFrame({"time": [0.0, 1.0, 2.0], "ttl": [10, 9, 8]})
    fig = viz.lease_plot(samples, expired_at=2.0)
    ax = fig.axes[0]
    assert "keepalive" in ax.get_title() and ax.get_ylabel() == "TTL left (s)"
    # the log counts from its own start, which lesson 01 makes at the grant
    assert ax.get_xlabel() == "seconds since the lease was granted (simulated)"
    drawn = [line.get_label() for line in ax.get_lines()]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == drawn
    plt.close(fig)
    history = pd.DataFrame({"time": [0, 300, 600], "revision": [10, 160, 310],
                            "compacted": [1, 1, 160]})
    fig = viz.compaction_plot(history, lag_from=100, lag_revision=60)
    top = fig.axes[0]
    assert "can no longer resume" in top.get_title()
    # zero is when the RevisionLog was made: lesson 01 starts the writer and compactor then
    assert fig.axes[1].get_xlabel() == \
        "seconds since the writer and compactor started (simulated)"
    drawn = [a.get_label() for a in top.get_lines() + top.patches + top.collections
             if not a.get_label().startswith("_")]
    assert sorted(t.get_text() for t in top.get_legend().get_texts()) == sorted(drawn)
    plt.close(fig)


def test_lease_log_notes_the_ttl_left_until_the_lease_ends_and_when_it_did():
    sim = kl.Simulation(seed=0)
    store = kl.etcd.Store(sim)
    sim.run(5)  # the log counts from its own start
    lease = store.grant(4)
    store.put("/registry/events/default/e", "x", lease=lease.id)
    log = viz.LeaseLog(store, sim, lease.id, every=1)
    sim.call_later(2, lambda: store.keepalive(lease.id))
    sim.run(10)
    frame = log.frame()
    assert list(frame.columns) == ["time", "ttl"]
    assert frame["ttl"].tolist() == [4, 3, 4, 3, 2, 1, 0]  # reset at 2 s, gone at 6 s
    assert frame["time"].tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert log.expired_at == 6.0 and store.get("/registry/events/default/e") is None
    assert viz.LeaseLog(store, sim, store.grant(10).id).expired_at is None


def test_revision_log_notes_revision_and_compaction_point_every_few_seconds():
    sim = kl.Simulation(seed=0)
    store = kl.etcd.Store(sim)
    log = viz.RevisionLog(store, sim, every=5)
    sim.call_later(1, lambda: store.put("/k", "1"))
    sim.call_later(6, lambda: store.put("/k", "2"))
    sim.call_later(7, lambda: store.compact(2))
    sim.run(12)
    frame = log.frame()
    assert list(frame.columns) == ["time", "revision", "compacted"]
    assert frame.values.tolist() == [[0, 1, 0], [5, 2, 0], [10, 3, 2]]


def test_the_time_axes_name_the_moment_they_count_from():
    samples = pd.DataFrame({"time": [0.0, 1.0], "ttl": [5, 4]})
    fig = viz.lease_plot(samples, since="the log was made")
    assert fig.axes[0].get_xlabel() == "seconds since the log was made (simulated)"
    plt.close(fig)
    history = pd.DataFrame({"time": [0, 5], "revision": [1, 2], "compacted": [0, 0]})
    fig = viz.compaction_plot(history, lag_from=0, lag_revision=1, since="the watch began")
    assert fig.axes[1].get_xlabel() == "seconds since the watch began (simulated)"
    plt.close(fig)
