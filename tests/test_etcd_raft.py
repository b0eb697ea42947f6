"""Raft replication (kubelearn.etcd.raft) and its Store-shaped front (raftstore)."""

from __future__ import annotations

import math
import random

import pytest

from kubelearn.etcd import Compare, Op, Store
from kubelearn.etcd.errors import (
    DeadlineExceededError,
    EmptyKeyError,
    InvalidArgumentError,
    LeaseNotFoundError,
    RequestTimeoutError,
    UnavailableError,
)
from kubelearn.etcd.raft import (
    ELECTION_TIMEOUT,
    LEADER,
    PRE_CANDIDATE,
    PRE_VOTE,
    REQUEST_TIMEOUT,
    RaftGroup,
)
from kubelearn.etcd.raftstore import API_REQUEST_TIMEOUT, RETRY_BACKOFF, ReplicatedStore
from kubelearn.sim import Simulation
from tests.linearizability import Operation, linearizable


def make(seed: int = 0, members: int = 3, **settings) -> tuple[Simulation, RaftGroup]:
    sim = Simulation(seed)
    return sim, RaftGroup(sim, members, **settings)


def events(group: RaftGroup, *kinds: str):
    frame = group.records()
    return frame[frame.event.isin(kinds)]


def write(group: RaftGroup, key: str, value: str, member: str | None = None):
    return group.wait(group.submit("write", "put", (key, value.encode()), member=member))


def converged(group: RaftGroup) -> bool:
    stores = [m.store for m in group.members.values()]
    first = stores[0]
    return all(s.revision == first.revision and
               s.range("", prefix=True).kvs == first.range("", prefix=True).kvs for s in stores)


# -- constants from etcd ----------------------------------------------------------------


def test_request_timeout_is_five_seconds_plus_two_election_timeouts():
    assert ELECTION_TIMEOUT == 1.0
    assert REQUEST_TIMEOUT == 7.0


def test_pre_vote_is_on_as_in_etcd_3_5():
    assert PRE_VOTE is True
    _, group = make()
    assert group.pre_vote is True
    with pytest.raises(InvalidArgumentError, match="pre_vote"):
        make(pre_vote="yes")


# -- pre-vote ---------------------------------------------------------------------------------


def cut_off_a_follower(pre_vote: bool, seed: int = 14):
    """A settled group; one follower cut off for 10 s, then healed for 3 s."""
    sim, group = make(seed=seed, pre_vote=pre_vote)
    sim.run(3)
    leader = group.leader
    term = group.members[leader].term
    lonely = next(n for n in group.names if n != leader)
    group.partition([lonely])
    sim.run(10)
    cut_term = group.members[lonely].term
    healed_at = group.now
    group.heal()
    sim.run(3)
    return group, leader, term, lonely, cut_term, healed_at


def test_with_pre_vote_a_member_that_rejoins_does_not_disrupt_the_leader():
    group, leader, term, lonely, cut_term, healed_at = cut_off_a_follower(pre_vote=True)
    # cut off, it asked for pre-votes at every timeout and got none: its term never rose
    assert cut_term == term
    asked = events(group, "BecamePreCandidate")
    assert len(asked[asked.member == lonely]) >= 5
    assert len(events(group, "BecameCandidate")) == 1  # no election since the first one
    # back, it follows the leader it left; the leader never stepped down
    assert group.leader == leader and group.members[leader].term == term
    assert group.members[lonely].lead == leader and group.members[lonely].state == "follower"
    after = group.records().query("time > @healed_at")
    assert not after.event.isin(["BecameLeader", "BecameCandidate", "CheckQuorumFailed"]).any()


def test_without_pre_vote_the_rejoining_member_forces_an_election():
    group, leader, term, lonely, cut_term, healed_at = cut_off_a_follower(pre_vote=False)
    assert cut_term > term + 3  # a candidate at every timeout, a term each
    after = group.records().query("time > @healed_at")
    assert "BecameLeader" in set(after.event)  # its higher term deposed the leader
    assert group.members[group.leader].term > cut_term


def test_a_pre_vote_changes_no_term_and_no_vote_and_is_ignored_in_lease():
    sim, group = make(seed=15)
    sim.run(3)
    leader = group.leader
    follower = next(n for n in group.names if n != leader)
    voter = group.members[follower]
    before = (voter.term, voter.vote)
    other = next(n for n in group.names if n not in (leader, follower))
    # a pre-vote for a later term, while the follower hears its leader: ignored
    group.members[other]._send("PreVote", follower, term=before[0] + 5,
                               index=10**6, log_term=before[0] + 4)
    sim.run(0.01)
    assert "PreVoteIgnored" in set(events(group, "PreVoteIgnored").event)
    group.crash(leader)
    sim.run(1.0)  # out of lease now: it answers, and still changes nothing
    group.members[other]._send("PreVote", follower, term=voter.term + 5,
                               index=10**6, log_term=voter.term + 4)
    sim.run(0.01)
    granted = events(group, "PreVoteGranted")
    assert follower in set(granted.member)
    assert (voter.term, voter.vote) == before


def test_a_pre_candidate_with_a_stale_log_gets_no_pre_votes():
    sim, group = make(seed=16)
    sim.run(3)
    behind = next(n for n in group.names if n != group.leader)
    group.crash(behind)
    for i in range(3):
        assert write(group, f"/k{i}", "v").error is None
    group.partition([behind])  # when it comes back, it hears no leader
    group.restart(behind)
    sim.run(0.5)
    group.heal()
    group.crash(group.leader)  # the others leave their lease after a timeout
    sim.run(4)
    rejected = events(group, "PreVoteRejected")
    refusals = rejected[rejected.detail.str.startswith(behind)]
    assert len(refusals) and refusals.detail.str.contains("is newer than").all()
    assert group.leader not in (None, behind)
    assert group.members[behind].state != PRE_CANDIDATE

# -- elections ------------------------------------------------------------------------------


def test_a_leader_is_elected_on_start_after_a_randomized_timeout():
    sim, group = make()
    sim.run(3)
    assert group.leader is not None
    won = events(group, "BecameLeader")
    assert len(won) == 1 and won.iloc[0].term == 1
    # 10 to 19 ticks of 100 ms, the first tick within 100 ms of the start, plus a vote round trip
    assert 0.9 <= won.iloc[0].time < 2.2
    roles = sorted(m.role for m in group.members.values())
    assert roles == ["follower", "follower", "leader"]


def test_record_rows_are_the_records_rows_after_a_time():
    sim, group = make(seed=1)
    sim.run(3)
    crashed_at = group.now
    group.crash(group.leader)
    sim.run(3)
    frame = group.records()
    assert group.record_rows() == [tuple(row) for row in frame.itertuples(index=False)]
    later = [tuple(row) for row in frame[frame.time > crashed_at].itertuples(index=False)]
    assert group.record_rows(since=crashed_at) == later
    assert later and any(row[3] == "BecameLeader" for row in later)


def test_election_timeouts_are_whole_ticks_in_one_to_two_seconds():
    _, group = make(members=5)
    ticks = {group.members["etcd-1"]._random_timeout() for _ in range(500)}
    assert ticks == set(range(10, 20))


def test_one_leader_per_term_under_crashes_and_partitions():
    sim, group = make(seed=3, members=5)
    sim.run(3)
    for step in range(6):
        leader = group.leader
        if step % 2:
            group.crash(leader)
        else:
            group.partition([leader])
        sim.run(4)
        group.heal()
        for name in group.names:
            group.restart(name)
        sim.run(2)
    won = events(group, "BecameLeader")
    assert won.groupby("term").member.nunique().max() == 1
    assert len(won.term.unique()) >= 6


def test_a_new_leader_is_elected_one_to_two_seconds_after_the_leader_crashes():
    sim, group = make(seed=1)
    sim.run(3)
    old = group.leader
    old_term = group.members[old].term
    crashed_at = group.now
    group.crash(old)
    sim.run(4)
    new = group.leader
    assert new not in (None, old)
    elected = events(group, "BecameLeader").iloc[-1]
    assert elected.member == new and elected.term > old_term
    # followers wait out their randomized timeout: 1.0 s to 2.0 s after the last heartbeat
    assert 0.9 <= elected.time - crashed_at <= 2.2


def test_a_restarted_member_keeps_its_term_vote_and_log():
    sim, group = make(seed=2)
    sim.run(3)
    for i in range(5):
        assert write(group, f"/k{i}", "v").error is None
    follower = next(n for n in group.names if n != group.leader)
    member = group.members[follower]
    sim.run(0.5)
    before = (member.term, member.vote, list(member.log.entries))
    group.crash(follower)
    assert member.role == "down"
    sim.run(1)
    group.restart(follower)
    assert (member.term, member.vote, list(member.log.entries)) == before
    assert member.applied == 0 and member.store.revision == 1  # the store comes back by replay
    sim.run(1)
    assert member.applied == group.members[group.leader].applied
    assert member.store.get("/k4").value == b"v"


# -- partitions -----------------------------------------------------------------------------


def test_a_minority_cannot_elect_or_commit_and_the_majority_goes_on():
    sim, group = make(seed=4, members=5)
    sim.run(3)
    old = group.leader
    buddy = next(n for n in group.names if n != old)
    group.partition([old, buddy])
    lost = group.submit("write", "put", ("/x", b"minority"), member=old)
    sim.run(5)
    majority = [n for n in group.names if n not in (old, buddy)]
    new = group.leader
    assert new in majority
    ok = write(group, "/x", "majority", member=majority[0])
    assert ok.error is None
    # the minority never won an election, and never committed the write it took
    won = events(group, "BecameLeader")
    assert set(won[won.time > 3].member) <= set(majority)
    assert group.members[old].store.get("/x") is None
    assert not lost.done or lost.error is not None
    sim.run(8)
    assert isinstance(lost.error, RequestTimeoutError)
    assert str(lost.error).startswith("etcdserver: request timed out")


def test_after_healing_the_old_leader_steps_down_and_its_uncommitted_entries_are_replaced():
    sim, group = make(seed=5, members=3)
    sim.run(3)
    old = group.leader
    group.partition([old])
    for i in range(3):
        group.submit("write", "put", (f"/stale{i}", b"x"), member=old)
    sim.run(0.2)
    stale_last = group.members[old].log.last_index
    sim.run(3)
    new = group.leader
    assert new != old
    assert write(group, "/fresh", "y", member=new).error is None
    group.heal()
    sim.run(2)
    member = group.members[old]
    assert member.state != LEADER and member.lead == new
    replaced = events(group, "Truncated")
    assert old in set(replaced.member)
    term = member.term
    assert all(member.log.term(i) == group.members[new].log.term(i)
               for i in range(1, stale_last + 1))
    assert member.store.get("/stale0") is None and member.store.get("/fresh").value == b"y"
    assert converged(group) and term == group.members[new].term


def test_the_leader_backs_off_next_index_until_a_short_log_matches():
    sim, group = make(seed=6, members=5)
    sim.run(3)
    behind = next(n for n in group.names if n != group.leader)
    group.crash(behind)
    for i in range(6):  # committed without it
        assert write(group, f"/k{i}", "v").error is None
    group.crash(group.leader)  # the next leader starts with next index = its last index + 1
    sim.run(3)
    new = group.leader
    group.restart(behind)
    sim.run(1)
    rejected = events(group, "AppendRejected")
    backoff = events(group, "NextIndexBackoff")
    assert behind in set(rejected.member)
    assert set(backoff[backoff.detail.str.startswith(behind)].member) == {new}
    assert group.members[behind].log.last_index == group.members[new].log.last_index
    assert group.members[behind].store.get("/k5").value == b"v"


def test_a_member_behind_the_leaders_first_log_index_gets_a_snapshot():
    sim, group = make(seed=7, members=3, snapshot_count=5, catch_up_entries=2)
    sim.run(3)
    lagging = next(n for n in group.names if n != group.leader)
    group.crash(lagging)
    for i in range(20):
        assert write(group, f"/k{i}", str(i)).error is None
    leader = group.members[group.leader]
    assert leader.log.offset > 0  # the leader compacted its log
    group.restart(lagging)
    sim.run(2)
    assert lagging in set(events(group, "InstallSnapshot").member)
    assert group.leader in set(events(group, "SendSnapshot").member)
    member = group.members[lagging]
    assert member.store.get("/k19").value == b"19"
    assert member.store.revision == leader.store.revision


# -- quorum ------------------------------------------------------------------------------


def test_losing_quorum_fails_writes_after_the_request_timeout_and_healing_loses_nothing():
    sim, group = make(seed=8, members=3)
    etcd = ReplicatedStore(group)
    acked = [etcd.put(f"/k{i}", f"v{i}").revision for i in range(3)]
    leader = group.leader
    etcd._endpoint_name = leader
    for name in group.names:
        if name != leader:
            group.crash(name)
    start = group.now
    with pytest.raises(RequestTimeoutError, match=r"^etcdserver: request timed out$"):
        etcd.put("/lost", "x")  # the leader took it, but no majority holds it
    assert group.now - start == pytest.approx(REQUEST_TIMEOUT)
    # by now CheckQuorum made the leader step down: no leader takes the proposal at all;
    # each try ends at the member's 7 s deadline and the client tries again until its own
    start = group.now
    with pytest.raises(UnavailableError, match="^context deadline exceeded$"):
        etcd.put("/lost", "y")
    assert group.now - start == pytest.approx(API_REQUEST_TIMEOUT)
    start = group.now
    with pytest.raises(UnavailableError):  # a read gets no read index either: retried too
        etcd.get("/k0")
    assert group.now - start == pytest.approx(API_REQUEST_TIMEOUT)
    for name in group.names:
        group.restart(name)
    sim.run(3)
    assert etcd.put("/after", "z").revision > acked[-1]
    for i, revision in enumerate(acked):
        kv = etcd.get(f"/k{i}")
        assert kv.value == f"v{i}".encode() and kv.mod_revision == revision


def test_a_write_forwarded_to_a_crashed_leader_times_out_naming_the_leader_failure():
    sim, group = make(seed=1)
    etcd = ReplicatedStore(group)
    etcd.put("/a", "1")
    follower = next(n for n in group.names if n != group.leader)
    etcd._endpoint_name = follower
    group.crash(group.leader)
    with pytest.raises(RequestTimeoutError, match="possibly due to previous leader failure"):
        etcd.put("/a", "2")
    assert etcd.put("/a", "3").revision == 3  # the lost proposal never committed


# -- the Store-shaped front ---------------------------------------------------------------


def test_the_replicated_store_answers_like_a_store():
    sim, group = make(seed=9, members=3)
    etcd = ReplicatedStore(group)
    plain = Store(Simulation(9))
    for store in (etcd, plain):
        store.put("/a", "1")
        store.put("/b", "2")
        store.txn([Compare.version("/c") == 0], [Op.put("/c", "3")])
        store.delete("/a")
        store.put("/b", "4")
        store.compact(3)
    assert etcd.revision == plain.revision == 6
    assert etcd.range("/", prefix=True) == plain.range("/", prefix=True)
    assert etcd.get("/b", revision=5) == plain.get("/b", revision=5)
    assert etcd.history("/b") == plain.history("/b")
    assert etcd.compact_revision == 3
    for member in group.members.values():  # every member's store, the same revisions
        sim.run(0.2)
        assert member.store.range("/", prefix=True) == plain.range("/", prefix=True)


def test_bad_input_is_refused_before_raft():
    sim, group = make()
    etcd = ReplicatedStore(group)
    etcd.put("/a", "1")
    last = group.members[group.leader].log.last_index
    with pytest.raises(EmptyKeyError):
        etcd.put("", "x")
    with pytest.raises(InvalidArgumentError):
        etcd.put(7, "x")
    with pytest.raises(InvalidArgumentError):
        etcd.txn("not a list")
    with pytest.raises(LeaseNotFoundError):  # known only when applied: every member agrees
        etcd.put("/b", "x", lease=12345)
    assert group.members[group.leader].log.last_index == last + 1
    assert etcd.revision == 2


def test_watch_events_arrive_before_the_write_returns_and_survive_an_endpoint_crash():
    sim, group = make(seed=10)
    etcd = ReplicatedStore(group)
    seen = []
    etcd.watch("/w/", prefix=True, callback=lambda e: seen.append(e.kv.value))
    etcd.put("/w/1", "a")
    assert seen == [b"a"]
    group.crash(etcd.endpoint)
    sim.run(3)
    etcd.put("/w/2", "b")
    assert seen == [b"a", b"b"]
    past = etcd.watch("/w/", prefix=True, start_revision=2)
    assert [e.kv.value for e in past.events] == [b"a", b"b"]


def test_a_watch_callback_may_call_the_store():
    sim, group = make(seed=11)
    etcd = ReplicatedStore(group)
    echoed = []
    etcd.watch("/in", callback=lambda e: echoed.append(etcd.put("/out", e.kv.value).revision))
    etcd.put("/in", "x")
    assert echoed == [3] and etcd.get("/out").value == b"x"


def test_leases_expire_through_the_log_and_keepalives_go_to_the_leader():
    sim, group = make(seed=12)
    etcd = ReplicatedStore(group)
    kept = etcd.grant(3)
    dropped = etcd.grant(3)
    etcd.put("/kept", "x", lease=kept.id)
    etcd.put("/dropped", "x", lease=dropped.id)
    for _ in range(4):
        sim.run(1.5)
        assert etcd.keepalive(kept.id) == 3
    assert etcd.get("/dropped") is None and etcd.get("/kept") is not None
    revoked = events(group, "LeaseRevoked")
    assert set(revoked.member) == set(group.names)  # every member applied the revoke entry
    assert etcd.time_to_live(dropped.id).ttl == -1
    assert 0 < etcd.time_to_live(kept.id).ttl <= 3
    with pytest.raises(LeaseNotFoundError):
        etcd.keepalive(dropped.id)


def test_a_read_is_retried_until_the_clients_deadline_and_a_timed_out_write_is_not():
    sim, group = make(seed=17)
    etcd = ReplicatedStore(group, timeout=20)
    etcd.put("/a", "1")
    for name in group.names:
        if name != etcd.endpoint:
            group.crash(name)
    sent = group.now
    with pytest.raises(UnavailableError, match="^context deadline exceeded$"):
        etcd.get("/a")
    assert group.now - sent == pytest.approx(20)
    timed_out = events(group, "RequestTimedOut")
    # each try waits etcd's 7 s for a read index, then 25 ms, then the next: 3 tries in 20 s
    assert list(timed_out.detail) == ["get: etcdserver: request timed out"] * 2
    assert RETRY_BACKOFF == 0.025
    for name in group.names:
        group.restart(name)
    sim.run(3)
    leader = group.leader
    etcd._endpoint_name = leader
    for name in group.names:
        if name != leader:
            group.crash(name)
    sent = group.now
    with pytest.raises(RequestTimeoutError):  # it reached Raft and may yet commit: no retry
        etcd.put("/b", "2")
    assert group.now - sent == pytest.approx(REQUEST_TIMEOUT)


def test_a_write_no_leader_takes_ends_at_the_members_deadline_and_is_tried_again():
    sim, group = make(seed=18)
    etcd = ReplicatedStore(group, timeout=30)
    etcd.put("/a", "1")
    for name in group.names[1:]:
        group.crash(name)
    sim.run(3)  # etcd-1 has stepped down: no leader takes a proposal
    request = group.wait(group.submit("write", "put", ("/b", b"x"), member="etcd-1"))
    assert isinstance(request.error, DeadlineExceededError)
    assert str(request.error) == \
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    with pytest.raises(UnavailableError):  # tried every 7 s until the client's 30 s
        etcd.put("/b", "x")
    requests = etcd.requests()
    assert requests.latency.iloc[-1] == pytest.approx(30)


def test_calls_between_runs_wait_one_after_the_other():
    """Three failing reads typed one after the other: the group's clock moves 3 x 60 s."""
    sim, group = make(seed=19)
    etcd = ReplicatedStore(group)
    etcd.put("/a", "1")
    for name in group.names[1:]:
        group.crash(name)
    lead = group.offset
    for _ in range(3):
        with pytest.raises(UnavailableError):
            etcd.get("/a")
    assert group.offset == pytest.approx(lead + 3 * API_REQUEST_TIMEOUT, abs=0.1)
    assert group.now == pytest.approx(sim.now + group.offset)


def test_calls_made_while_the_cluster_runs_wait_together():
    """Components failing calls every second for a minute: the lead stays under one deadline."""
    sim, group = make(seed=20)
    etcd = ReplicatedStore(group)
    etcd.put("/a", "1")
    for name in group.names[1:]:
        group.crash(name)
    lead = group.offset
    failures = []

    def component():
        while True:
            try:
                etcd.get("/a")
            except UnavailableError as err:
                failures.append((sim.now, err))
            yield sim.timeout(1)

    sim.process(component())
    sim.run(60)
    assert len(failures) == 60  # every call failed, each after its own 60 s
    assert group.offset == lead  # nothing kept
    assert 0 < group.now - sim.now <= lead + API_REQUEST_TIMEOUT + 1e-9
    latencies = etcd.requests().latency.iloc[1:]
    assert latencies.iloc[0] == pytest.approx(60)  # the first waited all of it
    assert (latencies <= 60 + 1e-9).all()
    group.restart("etcd-2")  # lands on the group's clock, now up to a minute ahead
    sim.run(5)
    assert etcd.get("/a").value == b"1"


def test_a_client_timeout_must_be_positive():
    _, group = make()
    for bad in (0, -1, "7", True):
        with pytest.raises(InvalidArgumentError, match="timeout"):
            ReplicatedStore(group, timeout=bad)


def test_the_group_keeps_the_lead_its_requests_took_and_follows_the_cluster_clock():
    sim, group = make(seed=13)
    etcd = ReplicatedStore(group)
    sim.run(3)  # a leader first: a write before any election waits for one
    etcd.put("/a", "1")
    assert group.offset == pytest.approx(group.now - sim.now) and group.offset > 0
    before = group.now
    sim.run(10)
    assert group.now == pytest.approx(before + 10)
    latency = etcd.requests().latency
    assert (latency > 0).all() and (latency < 0.05).all()


def test_same_seed_same_history():
    def history(seed: int):
        sim, group = make(seed=seed, members=5, loss=0.1)
        etcd = ReplicatedStore(group)
        for i in range(5):
            try:
                etcd.put(f"/k{i}", "v")
            except RequestTimeoutError:  # a lost message can lose a proposal
                pass
        group.crash(group.leader)
        sim.run(5)
        return group.records().values.tolist()

    assert history(21) == history(21)
    assert history(21) != history(22)


def test_fault_settings_are_checked():
    sim, group = make()
    with pytest.raises(InvalidArgumentError):
        group.partition(["etcd-9"])
    with pytest.raises(InvalidArgumentError):
        group.set_loss(1.5)
    with pytest.raises(InvalidArgumentError):
        RaftGroup(sim, members=0)
    with pytest.raises(InvalidArgumentError):
        group.submit("write", "get", ("/a",))
    group.set_latency("etcd-1", "etcd-2", 0.05)
    assert group.network._link_latency[("etcd-2", "etcd-1")] == 0.05


# -- randomized fault schedules ---------------------------------------------------------------

KEYS = ("/a", "/b", "/c")
CLIENTS = 3
OPS_PER_CLIENT = 8


def run_schedule(seed: int) -> None:
    """Crashes, restarts, partitions and loss while clients read and write; then check."""
    rng = random.Random(seed)
    size = rng.choice([3, 5])
    sim, group = make(seed=seed, members=size, snapshot_count=rng.choice([4, 10, 1000]),
                      catch_up_entries=rng.choice([0, 3]), loss=rng.choice([0.0, 0.02, 0.1]))
    histories: dict[str, list[Operation]] = {key: [] for key in KEYS}
    acked: list[tuple[str, bytes, int]] = []

    def fault() -> None:
        choice = rng.random()
        name = rng.choice(group.names)
        if choice < 0.35:
            group.crash(name)
        elif choice < 0.6:
            group.restart(name)
        elif choice < 0.8:
            group.partition(rng.sample(group.names, rng.randint(1, size // 2)))
        else:
            group.heal()

    for _ in range(rng.randint(2, 6)):
        sim.call_later(rng.uniform(1.5, 9), fault)

    def client(number: int, left: int) -> None:
        if left == 0:
            return
        key = rng.choice(KEYS)
        member = rng.choice(group.names)
        invoked = group.now
        if rng.random() < 0.5:
            value = f"{number}.{left}".encode()

            def put_done(request) -> None:
                if request.error is None:
                    acked.append((key, value, request.result.revision))
                    histories[key].append(Operation("put", value, invoked, request.completed))
                elif "connection refused" not in str(request.error):
                    histories[key].append(Operation("put", value, invoked, math.inf))
                group.clock.after(rng.uniform(0, 0.3), client, number, left - 1)

            group.submit("write", "put", (key, value), member=member, on_done=put_done)
        else:

            def get_done(request) -> None:
                if request.error is None:
                    kv = request.result
                    histories[key].append(Operation("get", kv.value if kv else None, invoked,
                                                    request.completed))
                group.clock.after(rng.uniform(0, 0.3), client, number, left - 1)

            group.submit("read", "get", (key,), member=member, on_done=get_done)

    for number in range(CLIENTS):
        group.clock.at(rng.uniform(0, 3), client, number, OPS_PER_CLIENT)
    sim.run(10)
    group.heal()
    group.set_loss(0.0)
    for name in group.names:
        group.restart(name)
    sim.run(10)  # every request has finished by now: the timeout is 7 s

    # final reads, after every client finished
    for key in KEYS:
        invoked = group.now
        request = group.wait(group.submit("read", "get", (key,)))
        assert request.error is None, f"seed {seed}: final read failed: {request.error}"
        kv = request.result
        histories[key].append(Operation("get", kv.value if kv else None, invoked,
                                        request.completed))
    sim.run(2)
    context = f"seed {seed}, {size} members"
    # no two leaders in one term (also asserted inside the model, as it runs)
    won = events(group, "BecameLeader")
    assert won.groupby("term").member.nunique().max() == 1, context
    # committed entries never change: every member's log agrees with what was applied
    applied = group.applied_entries()
    for member in group.members.values():
        for index in range(member.log.offset + 1, member.commit + 1):
            entry = member.log.entry(index)
            assert applied[index] == (entry.term, entry.proposal.id if entry.proposal else None)
    # every acknowledged write is still there, at its revision, on every member
    assert converged(group), context
    for key, value, revision in acked:
        for member in group.members.values():
            versions = {(kv.mod_revision, kv.value) for kv in member.store.history(key)}
            assert (revision, value) in versions, f"{context}: lost {key}={value!r}@{revision}"
    for key, history in histories.items():
        assert linearizable(history), f"{context}: {key} not linearizable: {history}"


@pytest.mark.parametrize("block", range(10))
def test_randomized_fault_schedules_keep_raft_safe_and_reads_linearizable(block):
    for seed in range(block * 20, block * 20 + 20):  # 200 schedules in all
        run_schedule(seed)
