"""kl.viz.raft_timeline: each member's role and term over time, from the group's records."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.etcd.raft import RaftGroup  # noqa: E402
from kubelearn.sim import Simulation  # noqa: E402
from kubelearn.viz.raft import role_bands  # noqa: E402


def group_with_a_crash():
    sim = Simulation(0)
    group = RaftGroup(sim, 3)
    sim.run(3)
    group.wait(group.submit("write", "put", ("/a", b"1")))
    group.crash(group.leader)
    sim.run(4)
    return group


def legend_labels(fig):
    return [text.get_text() for text in fig.axes[0].get_legend().get_texts()]


def test_the_timeline_shows_roles_terms_elections_and_commits():
    group = group_with_a_crash()
    fig = kl.viz.raft_timeline(group)
    ax = fig.axes[0]
    assert "leader" in ax.get_title() and "term" in ax.get_title()
    assert ax.get_xlabel().endswith("(s)") and ax.get_ylabel() == "member"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["etcd-3", "etcd-2", "etcd-1"]
    labels = legend_labels(fig)
    assert {"follower", "leader", "down", "election won", "commit (leader)"} <= set(labels)
    assert "network partitioned" not in labels  # nothing drawn, nothing in the legend
    texts = {t.get_text() for t in ax.texts}
    assert {"term 1", "term 2"} <= texts
    plt.close(fig)


def test_the_bands_follow_the_records_and_a_partition_is_shaded():
    sim = Simulation(1)
    group = RaftGroup(sim, 3)
    sim.run(3)
    group.partition([group.leader])
    sim.run(4)
    group.heal()
    sim.run(1)
    bands = role_bands(group.records(), group.names, group.started, group.now)
    assert {b.role for b in bands} >= {"follower", "candidate", "leader"}
    for name in group.names:  # each member's bands tile the time axis
        mine = sorted((b for b in bands if b.member == name), key=lambda b: b.start)
        assert mine[0].start == group.started and mine[-1].end == group.now
        assert all(a.end == b.start for a, b in zip(mine, mine[1:], strict=False))
    fig = kl.viz.raft_timeline(group)
    assert "network partitioned" in legend_labels(fig)
    plt.close(fig)
