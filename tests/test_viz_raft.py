"""kl.viz.raft_timeline: each member's role and term over time, from the group's records."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

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


# -- lesson 02's helpers ---------------------------------------------------------------------------

def test_the_quorum_table_and_the_availability_curves():
    table = kl.viz.raft.quorum_table(range(1, 6))
    assert table["quorum"].tolist() == [1, 2, 2, 3, 3]
    assert table["can lose"].tolist() == [0, 0, 1, 1, 2]
    unavailable = kl.viz.raft.unavailability
    assert unavailable(1, 0.99) == pytest.approx(0.01)
    assert unavailable(2, 0.99) > unavailable(1, 0.99)  # either of two is enough
    assert unavailable(4, 0.99) > unavailable(3, 0.99) > unavailable(5, 0.99)
    fig = kl.viz.raft.availability_plot()
    ax = fig.axes[0]
    assert "%" in ax.get_xlabel() and "%" in ax.get_ylabel() and ax.get_title()
    assert legend_labels(fig) == ["1 member"] + [f"{n} members" for n in range(2, 6)]
    # the values the lesson quotes, written next to the dots at 99 %
    assert {t.get_text() for t in ax.texts} == {"1 %", "0.03 %", "0.001 %"}
    plt.close(fig)


def test_elections_after_a_leader_crash_take_one_timeout_or_more():
    elections = kl.viz.raft.leader_crash_elections(range(20))
    first = elections[elections.rounds == 1].seconds
    assert len(first) and first.between(0.9, 2.0).all()  # a 1.0-1.9 s timeout, ticks apart
    fig = kl.viz.raft.election_time_plot(elections)
    assert fig.axes[0].get_xlabel().endswith("(s)")
    assert any("first member to ask won" in label for label in legend_labels(fig))
    plt.close(fig)


def test_the_election_plot_names_only_the_reasons_that_happened():
    elections = kl.viz.raft.leader_crash_elections(range(200))
    more = elections[elections.rounds > 1]
    assert len(more) and more["pre-votes ignored"].all()  # the lesson's 200 seeds
    labels = legend_labels(kl.viz.raft.election_time_plot(elections))
    assert labels == [f"the first member to ask won ({len(elections) - len(more)} seeds)",
                      f"its pre-votes were ignored (CheckQuorum): another timeout won "
                      f"({len(more)} seeds)"]
    plt.close("all")


def test_roles_too_brief_to_see_say_so_in_the_legend():
    sim = Simulation(0)
    group = RaftGroup(sim, 3)
    sim.run(3)
    labels = legend_labels(kl.viz.raft_timeline(group))
    assert any(label.startswith("pre-candidate (") and label.endswith(" ms: too short to see)")
               for label in labels)
    assert "follower" in labels and "leader" in labels  # wide bands keep their plain name
    plt.close("all")


def test_crash_elections_stop_at_the_new_leader_with_the_answer_a_long_run_gives():
    from kubelearn.etcd.raft import RaftGroup
    from kubelearn.sim import Simulation

    quick = kl.viz.raft.leader_crash_elections(range(3))
    for seed, seconds, rounds, ignored in quick.itertuples(index=False):
        sim = Simulation(seed)
        group = RaftGroup(sim, 3)
        sim.run(3)
        crashed = group.now
        group.crash(group.leader)
        sim.run(10)  # ten seconds more than any election here needs
        after = group.records().query("time > @crashed")
        won = after[after.event == "BecameLeader"]
        assert len(won) == 1 and won.time.iloc[0] - crashed == pytest.approx(seconds)
        assert (after.event == "BecamePreCandidate").sum() == rounds  # Pre-Vote is on
        assert ignored == (after.event == "PreVoteIgnored").any()
    alone = kl.viz.raft.leader_crash_elections(range(1), members=1)  # nobody left to elect
    assert alone.seconds.isna().all() and (alone.rounds == 0).all()


def test_a_write_load_and_the_quorum_plot_show_the_no_quorum_band():
    group, load = kl.viz.raft.crash_schedule({"etcd-2": (4, 12), "etcd-3": (4, 12)},
                                             duration=20)
    writes = load.table()
    assert set(writes.outcome) <= {"committed", "etcdserver: request timed out", "pending"}
    assert "etcdserver: request timed out" in set(writes.outcome)
    before = writes[(writes.sent > 1) & (writes.sent < 3.5)]  # a leader, and a majority up
    assert (before.outcome == "committed").all() and (before.answered - before.sent < 0.01).all()
    spans = kl.viz.raft.no_quorum_spans(group.records(), group.names, group.now)
    assert spans == [(pytest.approx(4.0), pytest.approx(12.0))]
    fig = kl.viz.raft.quorum_plot(group, load)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend()
              for t in ax.get_legend().get_texts()]
    assert {"etcd-1", "etcd-2", "etcd-3", "no quorum"} <= set(labels)
    assert any(label.startswith("failed") for label in labels)
    plt.close(fig)


def test_the_crash_widget_draws_the_default_schedule():
    widget = kl.viz.raft.crash_widget(duration=20)
    sliders = [child for box in widget.children[:2] for child in box.children]
    assert [s.description for s in sliders] == ["etcd-1 down", "etcd-2 down", "etcd-3 down"]
    assert sliders[0].value == (6, 14) and sliders[2].value == (0, 0)
    sliders[2].value = (2, 5)  # moving a slider re-runs the group: no error
    plt.close("all")


def test_a_round_trip_as_long_as_the_election_timeout_means_constant_elections():
    by_latency = kl.viz.raft.elections_by_latency((2, 400, 1000), seconds=30)
    assert by_latency["terms"].tolist()[:2] == [1, 1]  # one election, one leader throughout
    assert by_latency["terms"].iloc[2] > 10  # a vote takes 2 s to come back: term after term
    fig = kl.viz.raft.elections_plot(by_latency, seconds=30)
    assert fig.axes[0].get_ylabel() == "count in 30 s"
    assert fig.axes[0].get_xlabel().endswith("(ms)")
    plt.close(fig)


def test_the_cut_off_story_with_and_without_pre_vote():
    with_pre_vote = kl.viz.raft.cut_off_leader(pre_vote=True)
    without = kl.viz.raft.cut_off_leader(pre_vote=False)
    for group in (with_pre_vote, without):  # green everywhere, red replaced
        assert [m.store.get(kl.viz.raft.COLOUR_KEY).value for m in group.members.values()] \
            == [b"green"] * 3
    terms = {name: m.term for name, m in with_pre_vote.members.items()}
    assert terms == {"etcd-1": 2, "etcd-2": 2, "etcd-3": 2}  # the cut-off member's term stayed
    assert max(m.term for m in without.members.values()) > 5
    bands = role_bands(with_pre_vote.records(), with_pre_vote.names, 0, with_pre_vote.now)
    assert "pre-candidate" in {b.role for b in bands if b.member == "etcd-1"}
    fig = kl.viz.raft.raft_timeline(with_pre_vote)
    assert "pre-candidate" in legend_labels(fig)
    plt.close(fig)
