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
    drawn = [line.get_label() for line in ax.get_lines()]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == drawn
    plt.close(fig)
    history = pd.DataFrame({"time": [0, 300, 600], "revision": [10, 160, 310],
                            "compacted": [1, 1, 160]})
    fig = viz.compaction_plot(history, lag_from=100, lag_revision=60)
    top = fig.axes[0]
    assert "can no longer resume" in top.get_title()
    drawn = [a.get_label() for a in top.get_lines() + top.patches + top.collections
             if not a.get_label().startswith("_")]
    assert sorted(t.get_text() for t in top.get_legend().get_texts()) == sorted(drawn)
    plt.close(fig)
