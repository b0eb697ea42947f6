"""Raft: how etcd's members agree on one sequence of writes, on the virtual clock.

etcd is "distributed and reliable" because every write goes through Raft
(etcd-io/raft, as etcd 3.5 runs it): a *leader* appends the write to its log,
copies it to the other members, and only once a majority holds it is the entry
*committed*; then every member applies it, in log order, to its own MVCC
:class:`~kubelearn.etcd.store.Store`. The store is the state machine: all
members reach the same revisions with the same keys.

What is here, with the names etcd-io/raft uses:

- **Terms and elections.** Time is counted in *ticks* of the heartbeat interval
  (100 ms). A follower that hears nothing from a leader for its randomized
  election timeout — ``electionTimeout + rand(electionTimeout)`` ticks, so
  1.0 s to 1.9 s in steps of 100 ms (raft.go resetRandomizedElectionTimeout) —
  becomes a candidate for the next term and asks for votes (MsgVote). A member
  grants one vote per term, and only to a candidate whose log is at least as
  up to date as its own (last term, then last index). A majority makes a leader.
- **Pre-Vote** (Raft thesis 9.6), on by default in etcd 3.5 (``--pre-vote``;
  Debian's 3.4 has it off): before a member raises its term it asks the
  others whether they *would* vote for it in the next term (MsgPreVote, sent
  with term + 1 and changing nobody's term or vote). Only with a majority of
  yes does it become a candidate. A member cut off from the others therefore
  keeps its term, and when it comes back it follows the leader instead of
  forcing it to step down.
- **CheckQuorum**, on in etcd (server/etcdserver/raft.go ``CheckQuorum: true``):
  a leader that has not heard from a majority for an election timeout steps
  down; a member that heard from its leader within an election timeout ignores
  vote and pre-vote requests (it is "in lease").
- **Log replication.** MsgApp carries entries after ``(index, logTerm)``; a
  follower accepts only if its log holds that entry (the consistency check),
  replacing any conflicting tail. On a rejection the leader backs its
  ``next`` index off, using the follower's hint to skip whole terms
  (findConflictByTerm), and probes until the logs match.
- **Commit.** The leader commits the highest index a majority holds, but only
  if that entry is from its own term — which is why a new leader appends an
  empty entry first, as etcd does (becomeLeader).
- **Linearizable reads: ReadIndex**, etcd's default. A member asks the leader
  for a read index; the leader notes its commit index, confirms it is still
  leader by a heartbeat round answered by a majority, and replies; the member
  serves the read from its own store once it has applied that index. (The
  other option, a leader lease, trusts clocks; etcd does not use it.)
- **Snapshots.** After ``snapshot_count`` applied entries a member snapshots
  its store and drops its log up to ``catch_up_entries`` before that point. A
  follower that needs a dropped entry gets the leader's snapshot (MsgSnap).
- **Crash and restart.** A member persists its term, vote, log and snapshot;
  a crash loses everything else. On restart its store is rebuilt from the
  snapshot and the log is applied again once the member learns what is committed.
- **Leases** live in the store, but only the leader decides they expired (as
  etcd's "primary" lessor does): it proposes a revoke through the log. A new
  leader first extends every lease by an election timeout (lessor Promote).

Not modelled: membership changes, leader transfer, flow control by bytes, and
batching of proposals and reads.

Requests. A client sends each request to one member (its *endpoint*), which
keeps it until it is answered, as etcd's server does:

- a write becomes a proposal; a follower forwards it to its leader. A member
  that knows no leader holds it until one is elected. It is answered when the
  endpoint applies the entry, with the result of its own store.
- a read takes a read index (above), then runs on the endpoint's store.
- after etcd's request timeout (5 s + 2 x election timeout = 7 s) it fails:
  ``etcdserver: request timed out`` (:class:`RequestTimeoutError`) if the
  proposal reached Raft or the read got no read index, the member's own
  context deadline (:class:`DeadlineExceededError`) if no leader ever took
  the write. (What the client then does -- retry, give up at its own
  deadline -- is raftstore.py's business.)

Time. The group has its own event queue (:class:`~kubelearn.etcd.raftnet.RaftClock`)
that follows the cluster's clock: every heartbeat interval of cluster time,
the group runs its events as far. A synchronous request (see raftstore.py)
runs the group's queue *ahead* until it is answered, while the cluster's
clock stands still. A request sent between the cluster's runs (a learner's
cell) is one after the other with the previous ones: from then on the
group's clock reads the cluster's plus that wait (:attr:`RaftGroup.offset`),
so ``cluster.run(10)`` is ten seconds for etcd too. Requests the cluster's
components send while it runs overlap instead, as concurrent clients' do
(raftstore.py says how). Everything
random — election timeouts, tick phases, message loss — comes from the
simulation's seeded generator: same seed, same history.

Records: every role change (``BecamePreCandidate`` among them), pre-vote and
vote (``PreVoteGranted``, ``PreVoteRejected``, ``PreVoteIgnored`` and the same
for votes), append, commit, snapshot, crash, restart and partition, as tuples
``(time, member, term, event, index, detail)``; :meth:`RaftGroup.records`
makes the DataFrame.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from kubelearn.etcd.errors import (
    DeadlineExceededError,
    EtcdError,
    InvalidArgumentError,
    LeaseNotFoundError,
    RequestTimeoutError,
    UnavailableError,
)
from kubelearn.etcd.lease import LeaseTimeToLive
from kubelearn.etcd.raftnet import DEFAULT_LATENCY, Network, RaftClock
from kubelearn.etcd.snapshot import SnapshotData
from kubelearn.etcd.store import Store
from kubelearn.sim import Simulation

if TYPE_CHECKING:  # pragma: no cover
    import pandas

# etcd's defaults (server/embed/config.go, v3.5): --heartbeat-interval 100 (TickMs),
# --election-timeout 1000 (ElectionMs). Raft counts in ticks of the heartbeat interval.
HEARTBEAT_INTERVAL = 0.1  # seconds, one tick
ELECTION_TICKS = 10  # ElectionTicks = ElectionMs / TickMs (server/etcdserver/raft.go)
ELECTION_TIMEOUT = ELECTION_TICKS * HEARTBEAT_INTERVAL
# etcd 3.5 runs Pre-Vote: server/embed/config.go NewConfig sets PreVote: true (v3.5.16);
# etcd 3.4 still had "PreVote: false, // TODO: enable by default in v3.5" (v3.4.23).
PRE_VOTE = True
# ReqTimeout = 5s + 2 * election timeout: "5s for queue waiting, computation and disk IO
# delay + 2 * election timeout for possible leader election" (server/config/config.go, v3.5).
REQUEST_TIMEOUT = 5.0 + 2 * ELECTION_TIMEOUT
# A read retries its ReadIndex request every 500 ms (v3_server.go readIndexRetryTime).
READ_INDEX_RETRY = 0.5
# The primary lessor looks for expired leases every 500 ms (lease/lessor.go runLoop) and
# proposes a revoke again 3 s later if it is not through (defaultExpiredleaseRetryInterval).
LEASE_CHECK_TICKS = 5
LEASE_RETRY_INTERVAL = 3.0
# etcd --snapshot-count: 100,000 applied entries between snapshots (DefaultSnapshotCount),
# keeping 5,000 entries for slow followers (DefaultSnapshotCatchUpEntries), v3.5. A lesson
# wants to see a snapshot after a few dozen writes, so the group defaults are small.
ETCD_SNAPSHOT_COUNT = 100_000
ETCD_SNAPSHOT_CATCH_UP_ENTRIES = 5_000
SNAPSHOT_COUNT = 100
SNAPSHOT_CATCH_UP_ENTRIES = 10
# Ours: etcd limits a MsgApp by bytes (MaxSizePerMsg, 1 MiB), we count entries.
MAX_ENTRIES_PER_APPEND = 64

FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER, DOWN = (
    "follower", "pre-candidate", "candidate", "leader", "down")
RECORD_COLUMNS = ["time", "member", "term", "event", "index", "detail"]
# The verbs a proposal may carry: the store's writes (lease keepalives go to the leader only).
WRITE_VERBS = frozenset({"put", "delete", "txn", "compact", "grant", "revoke"})
READ_VERBS = frozenset({"get", "range", "history", "leases"})
# What the client sees when its endpoint dies mid-request (grpc-go's transport error).
CONNECTION_LOST = "rpc error: code = Unavailable desc = error reading from server: EOF"


class Proposal(NamedTuple):
    """A write to apply: the store method and its arguments, and who waits for the answer."""

    id: int
    origin: str | None  # the member holding the client's request; None: the leader's own
    verb: str
    args: tuple
    kwargs: dict


class Entry(NamedTuple):
    """One slot of the log; ``proposal`` None is the empty entry a new leader appends."""

    index: int
    term: int
    proposal: Proposal | None = None


class Snapshot(NamedTuple):
    """The store as of log entry ``index`` (of ``term``)."""

    index: int
    term: int
    data: SnapshotData | None  # None: the empty store of a new member


class Message(NamedTuple):
    """A Raft message (etcd-io/raft raftpb.Message, the fields we use)."""

    type: str
    frm: str
    to: str
    term: int  # 0: a local message (a proposal, a read index request), outside the term rules
    index: int = 0
    log_term: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    reject: bool = False
    hint: int = 0
    context: Any = None
    snapshot: Snapshot | None = None


class RaftLog:
    """The entries after the last compaction point ``offset`` (whose term is kept)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.offset = 0
        self.offset_term = 0

    @property
    def last_index(self) -> int:
        return self.entries[-1].index if self.entries else self.offset

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.offset_term

    def term(self, index: int) -> int | None:
        """The term of entry ``index``; None if compacted away or not there yet."""
        if index == self.offset:
            return self.offset_term
        if index < self.offset or index > self.last_index:
            return None
        return self.entries[index - self.offset - 1].term

    def entry(self, index: int) -> Entry:
        return self.entries[index - self.offset - 1]

    def slice(self, first: int, limit: int) -> tuple[Entry, ...]:
        """Up to ``limit`` entries from ``first`` on."""
        start = first - self.offset - 1
        return tuple(self.entries[start:start + limit])

    def truncate_and_append(self, entries: Iterable[Entry]) -> None:
        """Append ``entries``, first dropping any entry at or after the first one's index."""
        entries = list(entries)
        if entries:
            del self.entries[entries[0].index - self.offset - 1:]
            self.entries.extend(entries)

    def compact(self, index: int) -> None:
        """Drop the entries up to ``index`` (a snapshot holds them)."""
        if index > self.offset:
            self.offset_term = self.term(index)  # type: ignore[assignment]
            del self.entries[:index - self.offset]
            self.offset = index

    def reset(self, index: int, term: int) -> None:
        """Start over after a snapshot at (``index``, ``term``)."""
        self.entries, self.offset, self.offset_term = [], index, term

    def find_conflict_by_term(self, index: int, term: int) -> int:
        """The last index at or before ``index`` whose term is <= ``term`` (raft_log.go)."""
        while index > self.offset and (self.term(index) or 0) > term:
            index -= 1
        return index


class Disk:
    """What a member persists (its WAL and snap files): term, vote, log, snapshot."""

    def __init__(self) -> None:
        self.term = 0
        self.vote: str | None = None
        self.log = RaftLog()
        self.snapshot = Snapshot(0, 0, None)


class Progress:
    """The leader's view of one follower (etcd-io/raft tracker.Progress)."""

    __slots__ = ("next", "match", "state", "probe_sent", "active")

    def __init__(self, next_index: int) -> None:
        self.next = next_index
        self.match = 0
        self.state = "probe"  # "probe": one append at a time; "replicate": stream entries
        self.probe_sent = False
        self.active = False  # heard from since the last quorum check


class Request:
    """One client request held by a member: a write, a read or a lease question."""

    def __init__(self, request_id: int, kind: str, verb: str, args: tuple, kwargs: dict,
                 member: str, invoked: float, deadline: float) -> None:
        self.id = request_id
        self.kind = kind  # "write", "read" or "lease"
        self.verb, self.args, self.kwargs = verb, args, kwargs
        self.member = member
        self.invoked = invoked
        self.deadline = deadline
        self.completed: float | None = None
        self.result: Any = None
        self.error: EtcdError | None = None
        self.proposed = False  # a write: it entered Raft (a leader was known)
        self.read_index: int | None = None
        self.on_done: Callable[[Request], Any] | None = None  # called once it is answered

    @property
    def done(self) -> bool:
        return self.completed is not None

    def finish(self, now: float, result: Any = None, error: EtcdError | None = None) -> None:
        if self.completed is None:
            self.completed, self.result, self.error = now, result, error
            if self.on_done is not None:
                self.on_done(self)

    def __repr__(self) -> str:
        state = "pending" if not self.done else ("error" if self.error else "ok")
        return f"Request({self.kind} {self.verb} via {self.member}, {state})"


class _MemberSimulation(Simulation):
    """A member store's view of time: the group's clock, and a SimPy queue never run.

    The store's own lessor would expire leases on that queue; it never runs,
    so each member's lessor stays "demoted" and only the leader ends leases,
    through the log.
    """

    def __init__(self, group: RaftGroup) -> None:
        super().__init__(group.sim.seed)
        self._group = group

    @property
    def now(self) -> float:  # type: ignore[override]
        return self._group.clock.now


class Member:
    """One etcd member: a Raft node and its store."""

    def __init__(self, group: RaftGroup, name: str) -> None:
        self.group = group
        self.name = name
        self.disk = Disk()
        self.up = True
        self._generation = 0  # bumped by a crash: the old ticker stops
        self._boot()

    def __repr__(self) -> str:
        return (f"Member({self.name}, {self.role}, term={self.term}, commit={self.commit}, "
                f"applied={self.applied})")

    # -- persisted state ----------------------------------------------------------
    @property
    def term(self) -> int:
        return self.disk.term

    @property
    def vote(self) -> str | None:
        return self.disk.vote

    @property
    def log(self) -> RaftLog:
        return self.disk.log

    @property
    def role(self) -> str:
        return self.state if self.up else DOWN

    # -- life and death -------------------------------------------------------------
    def _boot(self) -> None:
        """Start from what is on disk: the store from the snapshot, nothing else."""
        snap = self.disk.snapshot
        self.state = FOLLOWER
        self.lead: str | None = None
        self.commit = self.applied = snap.index
        self.sim = _MemberSimulation(self.group)
        self.sim.subscribe(self._store_record)
        self.store = (Store(self.sim) if snap.data is None
                      else Store.from_snapshot_data(snap.data, self.sim, f"snapshot {snap.index}"))
        self.progress: dict[str, Progress] = {}
        self.votes: dict[str, bool] = {}
        self.election_elapsed = self.heartbeat_elapsed = self.lease_ticks = 0
        self.randomized_timeout = self._random_timeout()
        self.lead_elected_at = -1.0
        self.waiting: dict[int, Request] = {}  # writes by proposal id
        self.blocked: list[Proposal] = []  # writes waiting for a leader
        self.reads: dict[int, Request] = {}  # reads by context
        self.read_states: list[tuple[int, int, str, set[str]]] = []  # leader: ctx, index, from
        self.pending_read_msgs: list[Message] = []  # leader: until it commits in its term
        self.lease_expiry = {lease.id: self.group.clock.now + lease.ttl
                             for lease in self.store.leases()}
        self.revoking: dict[int, float] = {}
        self._generation += 1
        phase = self.group.rng.random() * HEARTBEAT_INTERVAL  # members do not tick in step
        self.group.clock.after(phase, self._tick_loop, self._generation)

    def crash(self) -> None:
        """Stop: keep the disk, lose the rest; requests held here fail."""
        self.up = False
        self._generation += 1
        now = self.group.clock.now
        for request in [*self.waiting.values(), *self.reads.values()]:
            request.finish(now, error=UnavailableError(CONNECTION_LOST))
        self.waiting, self.reads, self.blocked = {}, {}, []
        self.group.record(self, "Crash", self.commit, "volatile state lost; disk kept")

    def restart(self) -> None:
        """Come back from disk as a follower that knows no leader."""
        self.up = True
        self._boot()
        self.group.record(self, "Restart", self.applied,
                          f"term {self.term}, log up to {self.log.last_index}, "
                          f"store from snapshot at {self.disk.snapshot.index}")

    def _store_record(self, record: Any) -> None:
        """The store's own records (compaction, lease revocation) join the group's."""
        self.group.record(self, record.reason, self.applied, record.message)

    # -- time -------------------------------------------------------------------------
    def _random_timeout(self) -> int:
        # raft.go resetRandomizedElectionTimeout: electionTimeout + rand.Intn(electionTimeout)
        return ELECTION_TICKS + self.group.rng.randrange(ELECTION_TICKS)

    def _tick_loop(self, generation: int) -> None:
        if generation != self._generation or not self.up:
            return
        if self.state == LEADER:
            self._tick_heartbeat()
        else:
            self._tick_election()
        self.group.clock.after(HEARTBEAT_INTERVAL, self._tick_loop, generation)

    def _tick_election(self) -> None:
        self.election_elapsed += 1
        if self.election_elapsed >= self.randomized_timeout:
            self.election_elapsed = 0
            why = f"no leader heard for {self.randomized_timeout} ticks"
            if self.group.pre_vote:
                self._pre_campaign(why)
            else:
                self._campaign(why)

    def _tick_heartbeat(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= ELECTION_TICKS:
            self.election_elapsed = 0
            if not self._check_quorum():
                return
        self.heartbeat_elapsed = 0  # HeartbeatTick is 1 in etcd: a heartbeat every tick
        self._broadcast_heartbeat()
        self.lease_ticks += 1
        if self.lease_ticks >= LEASE_CHECK_TICKS:
            self.lease_ticks = 0
            self._revoke_expired_leases()

    # -- roles ------------------------------------------------------------------------
    def _reset(self, term: int) -> None:
        if term != self.term:
            self.disk.term, self.disk.vote = term, None
        self._set_lead(None)
        self.election_elapsed = self.heartbeat_elapsed = 0
        self.randomized_timeout = self._random_timeout()
        self.votes = {}
        self.read_states, self.pending_read_msgs = [], []

    def _become_follower(self, term: int, lead: str | None) -> None:
        changed = self.state != FOLLOWER or term != self.term
        self._reset(term)
        self.state = FOLLOWER
        self._set_lead(lead)
        if changed:
            self.group.record(self, "BecameFollower", self.log.last_index,
                              f"leader {lead}" if lead else "no leader known")

    def _pre_campaign(self, why: str) -> None:
        """Ask for pre-votes for the next term, changing no term and no vote (becomePreCandidate).

        Unlike a candidate, a pre-candidate keeps its term, its vote and its
        randomized timeout (raft.go becomePreCandidate resets none of them).
        """
        self.state = PRE_CANDIDATE
        self._set_lead(None)
        self.votes = {self.name: True}
        self.group.record(self, "BecamePreCandidate", self.log.last_index,
                          f"{why}; asks for pre-votes for term {self.term + 1}")
        if self._count_votes(True) >= self.group.quorum:
            self._campaign("a pre-vote majority of its own")
            return
        for peer in self.group.peers(self.name):
            self._send("PreVote", peer, term=self.term + 1, index=self.log.last_index,
                       log_term=self.log.last_term)

    def _campaign(self, why: str) -> None:
        self._reset(self.term + 1)
        self.state = CANDIDATE
        self.disk.vote = self.name
        self.votes = {self.name: True}
        self.group.record(self, "BecameCandidate", self.log.last_index, why)
        if self._count_votes(True) >= self.group.quorum:
            self._become_leader()
            return
        for peer in self.group.peers(self.name):
            self._send("Vote", peer, index=self.log.last_index, log_term=self.log.last_term)

    def _become_leader(self) -> None:
        votes = sorted(m for m, yes in self.votes.items() if yes)
        self._reset(self.term)
        self.state = LEADER
        last = self.log.last_index
        self.progress = {peer: Progress(last + 1) for peer in self.group.peers(self.name)}
        self.group.record(self, "BecameLeader", last, f"votes from {votes}")
        self.group.check_one_leader(self)
        self._append(None)  # the empty entry that lets it commit entries of earlier terms
        self._set_lead(self.name)  # then the proposals that waited for a leader

    def _set_lead(self, lead: str | None) -> None:
        if lead == self.lead:
            return
        self.lead = lead
        if lead is None:
            return
        self.lead_elected_at = self.group.clock.now
        blocked, self.blocked = self.blocked, []
        for proposal in blocked:  # the proposals that waited for a leader go in now
            self._propose(proposal)

    def _check_quorum(self) -> bool:
        """A leader that heard from no majority for an election timeout steps down."""
        active = 1 + sum(pr.active for pr in self.progress.values())
        for pr in self.progress.values():
            pr.active = False
        if active >= self.group.quorum:
            return True
        self.group.record(self, "CheckQuorumFailed", self.log.last_index,
                          f"heard from {active} of {len(self.group.members)} members")
        self._become_follower(self.term, None)
        return False

    # -- messages in ----------------------------------------------------------------------
    def receive(self, m: Message) -> None:
        """Step one message (etcd-io/raft Step): first the term rules, then by type."""
        if not self.up:
            return
        term = self.term
        if m.term > term:
            if m.type in ("Vote", "PreVote"):
                in_lease = self.lead is not None and self.election_elapsed < ELECTION_TICKS
                if in_lease:  # CheckQuorum: a live leader's followers ignore a disruptor
                    self.group.record(self, m.type + "Ignored", self.log.last_index,
                                      f"{m.frm} asked at term {m.term}; leader {self.lead} "
                                      "was heard within an election timeout")
                    return
            # A pre-vote, asked or granted, is for a term nobody has entered yet: no change.
            if m.type != "PreVote" and not (m.type == "PreVoteResp" and not m.reject):
                leader = m.frm if m.type in ("App", "Heartbeat", "Snap") else None
                self._become_follower(m.term, leader)
        elif 0 < m.term < term:
            if m.type in ("App", "Heartbeat"):  # tell a stale leader there is a newer term
                self._send("AppResp", m.frm)
            elif m.type == "PreVote":  # answered, so a pre-candidate of an old term learns ours
                self._reject_vote(m, f"its term {m.term} is behind {self.term}")
            return
        getattr(self, "_on_" + m.type)(m)

    def _on_Vote(self, m: Message) -> None:
        """A vote or a pre-vote request: the same rules, but a pre-vote binds nobody."""
        pre = m.type == "PreVote"
        can_vote = (self.vote == m.frm or (self.vote is None and self.lead is None)
                    or (pre and m.term > self.term))
        up_to_date = (m.log_term, m.index) >= (self.log.last_term, self.log.last_index)
        if can_vote and up_to_date:
            if not pre:  # only a real vote is remembered
                self.disk.vote = m.frm
                self.election_elapsed = 0
            self.group.record(self, m.type + "Granted", m.index, f"for {m.frm} at term {m.term}")
            # the answer carries the term asked about: a pre-candidate is still a term behind
            self._send(m.type + "Resp", m.frm, term=m.term)
        else:
            self._reject_vote(m, f"log ({self.log.last_term}, {self.log.last_index}) is newer "
                                 f"than ({m.log_term}, {m.index})" if can_vote
                              else f"already voted for {self.vote}" if self.vote
                              else f"follows leader {self.lead}")

    _on_PreVote = _on_Vote

    def _reject_vote(self, m: Message, why: str) -> None:
        self.group.record(self, m.type + "Rejected", m.index, f"{m.frm}: {why}")
        self._send(m.type + "Resp", m.frm, reject=True)

    def _on_VoteResp(self, m: Message) -> None:
        if self.state != CANDIDATE:
            return
        self.votes[m.frm] = not m.reject
        if self._count_votes(True) >= self.group.quorum:
            self._become_leader()
        elif self._count_votes(False) >= self.group.quorum:
            self._become_follower(self.term, None)

    def _on_PreVoteResp(self, m: Message) -> None:
        if self.state != PRE_CANDIDATE:
            return  # a late answer: already a candidate, a follower or a leader
        self.votes[m.frm] = not m.reject
        if self._count_votes(True) >= self.group.quorum:
            granted = sorted(name for name, yes in self.votes.items() if yes)
            self._campaign(f"pre-votes for term {self.term + 1} from {granted}")
        elif self._count_votes(False) >= self.group.quorum:
            self._become_follower(self.term, None)

    def _count_votes(self, granted: bool) -> int:
        return sum(1 for yes in self.votes.values() if yes == granted)

    def _hear_leader(self, m: Message) -> bool:
        """A message from this term's leader: follow it. False if we are that leader."""
        if self.state == LEADER:
            raise AssertionError(f"{self.name}: two leaders in term {self.term} ({m.frm})")
        if self.state in (CANDIDATE, PRE_CANDIDATE):
            self._become_follower(self.term, m.frm)
        self.election_elapsed = 0
        self._set_lead(m.frm)
        return True

    def _on_App(self, m: Message) -> None:
        self._hear_leader(m)
        log = self.log
        if m.index < self.commit:
            self._send("AppResp", m.frm, index=self.commit)
            return
        if log.term(m.index) != m.log_term:  # the consistency check fails
            hint = log.find_conflict_by_term(min(m.index, log.last_index), m.log_term)
            self.group.record(self, "AppendRejected", m.index,
                              f"no entry ({m.index}, term {m.log_term}) from {m.frm}; "
                              f"hint {hint}")
            self._send("AppResp", m.frm, index=m.index, reject=True, hint=hint,
                       log_term=log.term(hint) or 0)
            return
        last_new = m.index + len(m.entries)
        for i, entry in enumerate(m.entries):
            known = log.term(entry.index)
            if known != entry.term:
                if known is not None:
                    assert entry.index > self.commit, f"{self.name}: overwriting a committed entry"
                    self.group.record(self, "Truncated", entry.index,
                                      f"entries from {entry.index} (term {known}) replaced by "
                                      f"term {entry.term} from {m.frm}")
                log.truncate_and_append(m.entries[i:])
                self.group.record(self, "Append", last_new,
                                  f"{len(m.entries) - i} entries from {m.frm}")
                break
        self._commit_to(min(m.commit, last_new))
        self._send("AppResp", m.frm, index=last_new)

    def _on_Heartbeat(self, m: Message) -> None:
        self._hear_leader(m)
        self._commit_to(min(m.commit, self.log.last_index))
        self._send("HeartbeatResp", m.frm, context=m.context)

    def _on_Snap(self, m: Message) -> None:
        self._hear_leader(m)
        snap = m.snapshot
        assert snap is not None
        if snap.index <= self.commit:
            self._send("AppResp", m.frm, index=self.commit)
            return
        if self.log.term(snap.index) == snap.term:  # we hold it already: just commit
            self._commit_to(snap.index)
            self._send("AppResp", m.frm, index=self.commit)
            return
        self.disk.log.reset(snap.index, snap.term)
        self.disk.snapshot = snap
        self.store = Store.from_snapshot_data(snap.data, self.sim, f"snapshot {snap.index}")
        self.commit = self.applied = snap.index
        self.lease_expiry = {lease.id: self.group.clock.now + lease.ttl
                             for lease in self.store.leases()}
        self.group.record(self, "InstallSnapshot", snap.index,
                          f"from {m.frm}: store at revision {self.store.revision}")
        self._send("AppResp", m.frm, index=snap.index)

    def _on_AppResp(self, m: Message) -> None:
        pr = self.progress.get(m.frm) if self.state == LEADER else None
        if pr is None:
            return
        pr.active = True
        if m.reject:
            self._back_off(m, pr)
            return
        if m.index > pr.match:
            pr.match = m.index
            pr.next = max(pr.next, m.index + 1)
            pr.state, pr.probe_sent = "replicate", False
            if self._maybe_commit():
                self._broadcast_append()
                return
        if pr.next <= self.log.last_index:
            self._send_append(m.frm)

    def _back_off(self, m: Message, pr: Progress) -> None:
        """A follower lacks entry ``m.index``: move ``next`` back (tracker.Progress.MaybeDecrTo)."""
        if pr.state == "replicate":
            if m.index <= pr.match:
                return  # stale
            pr.next, pr.state = pr.match + 1, "probe"
        else:
            if pr.next - 1 != m.index:
                return  # stale
            probe = m.hint
            if m.log_term > 0:
                probe = self.log.find_conflict_by_term(m.hint, m.log_term)
            pr.next = max(min(m.index, probe + 1), 1)
        pr.probe_sent = False
        self.group.record(self, "NextIndexBackoff", pr.next,
                          f"{m.frm} lacks ({m.index}); next index for it now {pr.next}")
        self._send_append(m.frm)

    def _on_HeartbeatResp(self, m: Message) -> None:
        pr = self.progress.get(m.frm) if self.state == LEADER else None
        if pr is None:
            return
        pr.active, pr.probe_sent = True, False
        if pr.match < self.log.last_index:
            self._send_append(m.frm)
        if m.context is not None:
            self._ack_read(m.context, m.frm)

    # -- replication out ----------------------------------------------------------------------
    def _append(self, proposal: Proposal | None) -> None:
        self.log.truncate_and_append([Entry(self.log.last_index + 1, self.term, proposal)])
        if not self._maybe_commit():
            self._broadcast_append()

    def _broadcast_append(self) -> None:
        for peer in self.progress:
            self._send_append(peer)

    def _send_append(self, peer: str) -> None:
        pr = self.progress[peer]
        if pr.state == "probe" and pr.probe_sent:
            return
        prev = pr.next - 1
        prev_term = self.log.term(prev)
        if prev_term is None:  # what it needs is compacted away: send the snapshot
            snap = self.disk.snapshot
            self.group.record(self, "SendSnapshot", snap.index, f"to {peer}, at next {pr.next}")
            self._send("Snap", peer, snapshot=snap)
            pr.probe_sent = True
            return
        entries = self.log.slice(pr.next, MAX_ENTRIES_PER_APPEND)
        self._send("App", peer, index=prev, log_term=prev_term, entries=entries,
                   commit=self.commit)
        if pr.state == "replicate" and entries:
            pr.next = entries[-1].index + 1
        elif pr.state == "probe":
            pr.probe_sent = True

    def _broadcast_heartbeat(self) -> None:
        context = self.read_states[-1][0] if self.read_states else None
        for peer, pr in self.progress.items():
            self._send("Heartbeat", peer, commit=min(pr.match, self.commit), context=context)

    def _maybe_commit(self) -> bool:
        """Commit what a majority holds, if it is from this term (raft.go maybeCommit)."""
        matches = sorted([self.log.last_index, *(pr.match for pr in self.progress.values())],
                         reverse=True)
        index = matches[self.group.quorum - 1]
        if index > self.commit and self.log.term(index) == self.term:
            self._commit_to(index)
            return True
        return False

    def _send(self, kind: str, to: str, term: int | None = None, **fields: Any) -> None:
        """Send a message of our term (or of ``term``: pre-votes ask about the next one)."""
        self.group.network.send(Message(kind, self.name, to, self.term if term is None else term,
                                        **fields))

    # -- commit and apply -------------------------------------------------------------------------
    def _commit_to(self, index: int) -> None:
        if index <= self.commit:
            return
        self.commit = index
        self.group.record(self, "Commit", index, "")
        while self.applied < self.commit:
            self.applied += 1
            self._apply(self.log.entry(self.applied))
        self._maybe_snapshot()
        self._serve_reads()

    def _apply(self, entry: Entry) -> None:
        self.group.check_applied(self, entry)
        proposal = entry.proposal
        if proposal is None:
            if self.state == LEADER and entry.term == self.term:
                self._first_commit_in_term()
            return
        result: Any = None
        error: EtcdError | None = None
        try:
            result = getattr(self.store, proposal.verb)(*proposal.args, **proposal.kwargs)
        except EtcdError as err:  # every member fails the same way: the entry is still used
            error = err
        self._track_leases(proposal, error)
        request = self.waiting.pop(proposal.id, None) if proposal.origin == self.name else None
        if request is not None:
            request.finish(self.group.clock.now, result, error)

    def _maybe_snapshot(self) -> None:
        """Every ``snapshot_count`` applied entries: snapshot the store, compact the log."""
        group = self.group
        if self.applied - self.disk.snapshot.index < group.snapshot_count:
            return
        self.disk.snapshot = Snapshot(self.applied, self.log.term(self.applied) or 0,
                                      self.store.snapshot_data())
        self.log.compact(self.applied - group.catch_up_entries)
        group.record(self, "Snapshot", self.applied,
                     f"store at revision {self.store.revision}; log kept from "
                     f"{self.log.offset + 1}")

    # -- leases ------------------------------------------------------------------------
    def _track_leases(self, proposal: Proposal, error: EtcdError | None) -> None:
        if error is not None:
            return
        if proposal.verb == "grant":
            lease_id = proposal.args[1]
            ttl = self.store.time_to_live(lease_id).granted_ttl
            self.lease_expiry[lease_id] = self.group.clock.now + ttl
        elif proposal.verb == "revoke":
            self.lease_expiry.pop(proposal.args[0], None)
            self.revoking.pop(proposal.args[0], None)

    def _first_commit_in_term(self) -> None:
        """The leader's empty entry is committed: serve reads, take over the leases."""
        now = self.group.clock.now
        for lease in self.store.leases():  # lessor Promote(electionTimeout)
            self.lease_expiry[lease.id] = now + ELECTION_TIMEOUT + lease.ttl
        pending, self.pending_read_msgs = self.pending_read_msgs, []
        for m in pending:
            self._on_ReadIndex(m)

    def _revoke_expired_leases(self) -> None:
        if not self._committed_in_term():
            return
        now = self.group.clock.now
        for lease_id, expiry in sorted(self.lease_expiry.items()):
            since = self.revoking.get(lease_id)
            if expiry <= now and (since is None or now - since >= LEASE_RETRY_INTERVAL):
                self.revoking[lease_id] = now
                self._propose(Proposal(self.group.next_id(), None, "revoke", (lease_id,), {}))

    def _committed_in_term(self) -> bool:
        return self.log.term(self.commit) == self.term

    def _lease_answer(self, verb: str, args: tuple) -> Any:
        """A lease question only the leader answers: keepalive or time to live."""
        lease_id = args[0]
        if verb == "keepalive":
            if lease_id not in self.lease_expiry:
                raise LeaseNotFoundError()
            ttl = self.store.time_to_live(lease_id).granted_ttl
            self.lease_expiry[lease_id] = self.group.clock.now + ttl
            return ttl
        info = self.store.time_to_live(*args)
        if info.ttl < 0 or lease_id not in self.lease_expiry:
            return LeaseTimeToLive(lease_id, -1, 0, [])
        left = int(max(self.lease_expiry[lease_id] - self.group.clock.now, 0.0))
        return info._replace(ttl=left)

    # -- client requests ----------------------------------------------------------------------
    def accept(self, request: Request) -> None:
        """Take a client request; it is answered later (or fails at its deadline)."""
        if request.kind == "write":
            proposal = Proposal(request.id, self.name, request.verb, request.args,
                                request.kwargs)
            self.waiting[request.id] = request
            if self.lead is None:
                self.blocked.append(proposal)  # etcd-io/raft node: no leader, no proposals
            else:
                self._propose(proposal)
        else:
            self.reads[request.id] = request
            self._ask_leader(request.id, request.deadline)

    def _propose(self, proposal: Proposal) -> None:
        request = self.waiting.get(proposal.id)
        if request is not None:
            request.proposed = True
        if self.state == LEADER:
            self._append(proposal)
        elif self.lead is not None:
            self.group.network.send(Message("Prop", self.name, self.lead, 0, context=proposal))
        else:
            self.group.record(self, "ProposalDropped", 0, "no leader")

    def _on_Prop(self, m: Message) -> None:
        if self.state == LEADER:
            self._append(m.context)
        elif self.lead is not None:
            self.group.network.send(m._replace(frm=self.name, to=self.lead))
        else:
            self.group.record(self, "ProposalDropped", 0, f"from {m.frm}: no leader")

    def _ask_leader(self, request_id: int, deadline: float) -> None:
        """Send a read index (or lease) request to the leader; again every 500 ms."""
        request = self.reads.get(request_id)
        if request is None or request.read_index is not None or request.done:
            return
        kind = "ReadIndex" if request.kind == "read" else "LeaseAsk"
        message = Message(kind, self.name, self.name, 0, context=(request_id, request.verb,
                                                                   request.args))
        if self.state == LEADER:
            self.receive(message)
        elif self.lead is not None:
            self.group.network.send(message._replace(to=self.lead))
        clock = self.group.clock
        if clock.now + READ_INDEX_RETRY < deadline:
            clock.after(READ_INDEX_RETRY, self._retry_ask, request_id, deadline,
                        self._generation)

    def _retry_ask(self, request_id: int, deadline: float, generation: int) -> None:
        if generation == self._generation and self.up:
            self._ask_leader(request_id, deadline)

    def _on_ReadIndex(self, m: Message) -> None:
        if self.state != LEADER:
            return  # the asker retries
        if not self._committed_in_term():  # postponed until the empty entry commits
            self.pending_read_msgs.append(m)
            return
        ctx = (m.frm, m.context[0])
        self.read_states.append((ctx, self.commit, m.frm, {self.name}))
        if self.group.quorum == 1:
            self._ack_read(ctx, self.name)
        else:
            self._broadcast_heartbeat()

    def _ack_read(self, ctx: Any, member: str) -> None:
        """A heartbeat answer for ``ctx``: with a majority, release it and every older read."""
        for i, (state_ctx, _, _, acks) in enumerate(self.read_states):
            if state_ctx == ctx:
                acks.add(member)
                if len(acks) >= self.group.quorum:
                    released, self.read_states = self.read_states[:i + 1], self.read_states[i + 1:]
                    for (_, request_id), index, frm, _ in released:
                        reply = Message("ReadIndexResp", self.name, frm, 0, index=index,
                                        context=request_id)
                        if frm == self.name:
                            self._on_ReadIndexResp(reply)
                        else:
                            self.group.network.send(reply)
                return

    def _on_ReadIndexResp(self, m: Message) -> None:
        request = self.reads.get(m.context)
        if request is not None and request.read_index is None:
            request.read_index = m.index
            self._serve_reads()

    def _serve_reads(self) -> None:
        """Answer the reads whose read index this member has applied."""
        ready = [r for r in self.reads.values()
                 if r.read_index is not None and r.read_index <= self.applied]
        for request in ready:
            del self.reads[request.id]
            try:
                result = getattr(self.store, request.verb)(*request.args, **request.kwargs)
            except EtcdError as err:
                request.finish(self.group.clock.now, error=err)
            else:
                request.finish(self.group.clock.now, result)

    def _on_LeaseAsk(self, m: Message) -> None:
        if self.state != LEADER or not self._committed_in_term():
            return
        request_id, verb, args = m.context
        try:
            answer: Any = (True, self._lease_answer(verb, args))
        except EtcdError as err:
            answer = (False, err)
        reply = Message("LeaseAnswer", self.name, m.frm, 0, context=(request_id, answer))
        if m.frm == self.name:
            self._on_LeaseAnswer(reply)
        else:
            self.group.network.send(reply)

    def _on_LeaseAnswer(self, m: Message) -> None:
        request_id, (ok, value) = m.context
        request = self.reads.pop(request_id, None)
        if request is not None:
            request.finish(self.group.clock.now, *((value, None) if ok else (None, value)))

    def timed_out(self, request: Request) -> EtcdError:
        """The error a request gets at its deadline (etcdserver parseProposeCtxErr)."""
        self.waiting.pop(request.id, None)
        self.reads.pop(request.id, None)
        if request.kind == "write" and not request.proposed:
            self.blocked = [p for p in self.blocked if p.id != request.id]
            return DeadlineExceededError()  # never entered Raft: the member's own deadline
        elected = self.lead_elected_at
        if request.kind == "write" and elected - 2 * ELECTION_TIMEOUT < request.invoked < elected:
            return RequestTimeoutError(
                "etcdserver: request timed out, possibly due to previous leader failure")
        return RequestTimeoutError()


class RaftGroup:
    """An etcd cluster of ``members`` (3 or 5, usually) replicating through Raft.

    ``sim`` is the cluster's simulation: the group follows its clock and draws
    from its seeded generator. ``pre_vote`` (default True, as etcd 3.5;
    ``False`` is etcd 3.4's default) turns Pre-Vote on or off. Faults:
    :meth:`crash`, :meth:`restart`, :meth:`partition`, :meth:`heal`,
    :meth:`set_loss`, :meth:`set_latency`.
    Requests: :meth:`submit` (asynchronous) and :meth:`wait`; the Store-shaped
    synchronous front is :class:`~kubelearn.etcd.raftstore.ReplicatedStore`.
    """

    def __init__(self, sim: Simulation, members: int = 3, *, latency: float = DEFAULT_LATENCY,
                 loss: float = 0.0, snapshot_count: int = SNAPSHOT_COUNT,
                 catch_up_entries: int = SNAPSHOT_CATCH_UP_ENTRIES,
                 request_timeout: float = REQUEST_TIMEOUT, pre_vote: bool = PRE_VOTE) -> None:
        for value, what, low in ((members, "members", 1), (snapshot_count, "snapshot_count", 1),
                                 (catch_up_entries, "catch_up_entries", 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgumentError(f"{what} must be an int >= {low}, not {value!r}")
        self.sim = sim
        self.clock = RaftClock(sim.now)
        self.started = sim.now
        self.rng = sim.rng("etcd-raft")
        self.names = [f"etcd-{i}" for i in range(1, members + 1)]
        self.quorum = members // 2 + 1
        self.snapshot_count = snapshot_count
        self.catch_up_entries = catch_up_entries
        self.request_timeout = float(request_timeout)
        if not isinstance(pre_vote, bool):
            raise InvalidArgumentError(f"pre_vote must be True or False, not {pre_vote!r}")
        self.pre_vote = pre_vote
        self.network = Network(self.clock, self.rng, self.names, latency, loss)
        self._records: list[tuple] = []
        self._applied: dict[int, tuple[int, int | None]] = {}  # index -> (term, proposal id)
        self._leaders: dict[int, str] = {}  # term -> leader
        self._ids = itertools.count(1)
        self._listeners: list[Any] = []
        self.offset = 0.0  # how far the group's clock is ahead of the cluster's
        self.members: dict[str, Member] = {}
        for name in self.names:
            self.members[name] = Member(self, name)
            self.network.attach(name, self.members[name].receive)
        sim.process(self._follow())

    def __repr__(self) -> str:
        return (f"RaftGroup(members={len(self.names)}, leader={self.leader}, "
                f"term={max(m.term for m in self.members.values())}, now={self.now:g}s)")

    # -- time ------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """The group's virtual time: the cluster's, or ahead of it while a request waited."""
        return self.clock.now

    @property
    def cluster_now(self) -> float:
        """The cluster's time on the group's clock: the cluster's now plus :attr:`offset`.

        It is when a request sent now leaves its client; the group's own clock
        may be further on, by at most one request timeout (raftstore.py).
        """
        return self.sim.now + self.offset

    def _follow(self) -> Generator[Any, Any, None]:
        """Keep up with the cluster's clock, one heartbeat interval at a time."""
        while True:
            yield self.sim.timeout(HEARTBEAT_INTERVAL)
            self.advance()

    def advance(self) -> None:
        """Run the group's events up to the cluster's now plus :attr:`offset`."""
        self.clock.run_until(self.sim.now + self.offset)
        self._notify()

    def run_ahead(self, until: float | None = None) -> None:
        """Run the group's clock to ``until`` (or as far as it went) ahead of the cluster's.

        A synchronous request does this: the cluster's clock stands still while
        it waits, and the group keeps the lead it took (:attr:`offset`).
        """
        if until is not None:
            self.clock.run_until(until)
        self.settle()

    def settle(self, keep_lead: bool = True) -> None:
        """After a request: keep the lead it took (``keep_lead``), hand out watch events.

        A request sent between runs (a learner's cell: one call after the
        other) keeps its lead; one sent by a component while the cluster runs
        does not (see raftstore.py on time).
        """
        if keep_lead:
            self.offset = max(self.offset, self.clock.now - self.sim.now)
        self._notify()

    def wait_for_leader(self) -> str | None:
        """Run the group's clock ahead until a leader is elected (at most a request timeout).

        A new group has no leader: its members wait out their randomized
        election timeouts (1 s to 2 s) first. ``kl.Cluster(etcd_members=3)``
        calls this before the API server's first write, so the election is
        the first thing on the group's timeline. Returns the leader, or None.
        """
        deadline = self.clock.now + self.request_timeout
        self.clock.run_while(lambda: self.leader is None and self.clock.now < deadline)
        self.run_ahead()
        return self.leader

    def on_advance(self, listener: Any) -> None:
        """Call ``listener()`` each time the group has run (the store front delivers watches)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    # -- who is who ----------------------------------------------------------------------------
    @property
    def leader(self) -> str | None:
        """The member leading the newest term among those up, if any."""
        leaders = [m for m in self.members.values() if m.up and m.state == LEADER]
        return max(leaders, key=lambda m: m.term).name if leaders else None

    def peers(self, name: str) -> list[str]:
        return [n for n in self.names if n != name]

    def member(self, name: str) -> Member:
        if name not in self.members:
            raise InvalidArgumentError(f"no member named {name!r}; members are {self.names}")
        return self.members[name]

    def status(self) -> pandas.DataFrame:
        """One row per member: role, term, leader it follows, log and store positions."""
        import pandas as pd

        self.advance()
        rows = [(m.name, m.role, m.term, m.lead if m.up else None, m.log.last_index, m.commit,
                 m.applied, m.disk.snapshot.index, m.store.revision) for m in self.members.values()]
        return pd.DataFrame(rows, columns=["member", "role", "term", "leader", "last_index",
                                           "commit", "applied", "snapshot_index", "revision"])

    # -- faults --------------------------------------------------------------------------------
    def crash(self, name: str) -> None:
        """Stop member ``name``: it keeps what it persisted (term, vote, log, snapshot)."""
        member = self.member(name)
        self.advance()
        if member.up:
            member.crash()

    def restart(self, name: str) -> None:
        """Start member ``name`` again from its disk."""
        member = self.member(name)
        self.advance()
        if not member.up:
            member.restart()

    def partition(self, *sides: Iterable[str]) -> None:
        """Cut the network into ``sides`` (lists of member names); the rest form one more."""
        self.advance()
        groups = self.network.partition(*sides)
        self.record(None, "Partition", 0, " | ".join(",".join(g) for g in groups))

    def heal(self) -> None:
        """Reconnect every member."""
        self.advance()
        self.network.heal()
        self.record(None, "Heal", 0, "")

    def set_loss(self, probability: float) -> None:
        """Lose each message with ``probability``."""
        self.advance()
        self.network.set_loss(probability)
        self.record(None, "MessageLoss", 0, f"{probability:g}")

    def set_latency(self, a: str, b: str, seconds: float) -> None:
        """One-way delay between members ``a`` and ``b``."""
        self.advance()
        self.network.set_latency(a, b, seconds)
        self.record(None, "Latency", 0, f"{a}<->{b} {seconds * 1000:g} ms")

    # -- requests --------------------------------------------------------------------------------
    def submit(self, kind: str, verb: str, args: tuple = (), kwargs: dict | None = None,
               member: str | None = None,
               on_done: Callable[[Request], Any] | None = None) -> Request:
        """Send a request to ``member`` (default: the first one up) without waiting.

        ``kind`` is "write" (through the log), "read" (ReadIndex) or "lease"
        (keepalive, time_to_live: the leader answers). Check ``request.done``,
        or pass ``on_done(request)``, called on the group's clock when it is answered.
        """
        if kind not in ("write", "read", "lease"):
            raise InvalidArgumentError(f"kind must be write, read or lease, not {kind!r}")
        verbs = {"write": WRITE_VERBS, "read": READ_VERBS,
                 "lease": frozenset({"keepalive", "time_to_live"})}[kind]
        if verb not in verbs:
            raise InvalidArgumentError(f"a {kind} request is one of {sorted(verbs)}, not {verb!r}")
        now = self.clock.now
        target = self.member(member) if member is not None else self.endpoint()
        request = Request(next(self._ids), kind, verb, tuple(args), dict(kwargs or {}),
                          target.name if target else "", now, now + self.request_timeout)
        request.on_done = on_done
        if target is None or not target.up:
            request.finish(now, error=UnavailableError(
                f"rpc error: code = Unavailable desc = connection refused ({request.member})"))
            return request
        self.clock.at(request.deadline, self._deadline, request)
        target.accept(request)
        return request

    def wait(self, request: Request) -> Request:
        """Run the group's clock until ``request`` is answered (or its deadline passes)."""
        self.clock.run_while(lambda: not request.done)
        self.run_ahead()
        return request

    def endpoint(self) -> Member | None:
        """The first member that is up (where a client without a preference connects)."""
        return next((m for m in self.members.values() if m.up), None)

    def next_id(self) -> int:
        return next(self._ids)

    def _deadline(self, request: Request) -> None:
        if not request.done:
            request.finish(self.clock.now, error=self.members[request.member].timed_out(request))
            self.record(self.members[request.member], "RequestTimedOut", 0,
                        f"{request.verb}: {request.error}")

    # -- invariants ----------------------------------------------------------------------------
    def check_applied(self, member: Member, entry: Entry) -> None:
        """Every member applies the same entry at an index, forever (State Machine Safety)."""
        seen = (entry.term, entry.proposal.id if entry.proposal else None)
        first = self._applied.setdefault(entry.index, seen)
        if first != seen:
            raise AssertionError(f"{member.name} applied {seen} at index {entry.index}, "
                                 f"where {first} was applied before")

    def check_one_leader(self, member: Member) -> None:
        """At most one leader per term (Election Safety)."""
        first = self._leaders.setdefault(member.term, member.name)
        if first != member.name:
            raise AssertionError(f"two leaders in term {member.term}: {first}, {member.name}")

    def leaders(self) -> dict[int, str]:
        """Every term that had a leader, and who."""
        return dict(self._leaders)

    def applied_entries(self) -> dict[int, tuple[int, int | None]]:
        """Index -> (term, proposal id) of every entry any member applied."""
        return dict(self._applied)

    # -- records --------------------------------------------------------------------------------
    def record(self, member: Member | None, event: str, index: int = 0, detail: str = "") -> None:
        """Note ``event`` at the group's time, with the member and its term."""
        self._records.append((self.clock.now, member.name if member else "",
                              member.term if member else 0, event, index, detail))

    def records(self) -> pandas.DataFrame:
        """Everything that happened, one row per event (see RECORD_COLUMNS)."""
        import pandas as pd

        return pd.DataFrame(self._records, columns=RECORD_COLUMNS)

    def record_rows(self, since: float = -math.inf) -> list[tuple]:
        """The records after ``since`` as plain tuples (RECORD_COLUMNS order), oldest first.

        The same rows as :meth:`records`, without a DataFrame: for code that reads
        one group after another (lesson 02's 200 elections), building 200 frames
        would cost more than the elections themselves.
        """
        return [row for row in self._records if row[0] > since]
