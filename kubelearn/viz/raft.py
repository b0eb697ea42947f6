"""A Raft group's story for lesson 02: who was leader, in which term, and what happened.

Everything here reads the group's records (``group.records()``): the role
changes ``BecameFollower``, ``BecamePreCandidate`` (asking for pre-votes, its
term unchanged), ``BecameCandidate``, ``BecameLeader``, the
``Crash`` and ``Restart`` of members, ``Commit``, ``Partition`` and ``Heal``.
Nothing reaches into a member.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from kubelearn.etcd.raft import RaftGroup

ROLE_COLOURS = {"follower": "#c6dbef", "pre-candidate": "#fdd0a2", "candidate": "tab:orange",
                "leader": "tab:green", "down": "0.35"}
ROLE_OF_EVENT = {"BecameFollower": "follower", "BecamePreCandidate": "pre-candidate",
                 "BecameCandidate": "candidate", "BecameLeader": "leader", "Crash": "down",
                 "Restart": "follower"}


class Band(NamedTuple):
    """One member in one role and term, from ``start`` to ``end`` (seconds)."""

    member: str
    role: str
    term: int
    start: float
    end: float


def role_bands(records: pd.DataFrame, members: list[str], start: float, end: float) -> list[Band]:
    """Each member's roles over time, split where the role or the term changes."""
    current = {m: ("follower", 0, start) for m in members}
    bands: list[Band] = []
    changes = records[records.event.isin(list(ROLE_OF_EVENT))]
    for time, member, term, event in changes[["time", "member", "term", "event"]].itertuples(
            index=False):
        role, old_term, since = current[member]
        new = (ROLE_OF_EVENT[event], int(term))
        if new == (role, old_term):
            continue
        if time > since:
            bands.append(Band(member, role, old_term, since, time))
        current[member] = (*new, time)
    for member, (role, term, since) in current.items():
        if end > since:
            bands.append(Band(member, role, term, since, end))
    return bands


def leader_commits(records: pd.DataFrame, bands: list[Band]) -> list[tuple[str, float]]:
    """(member, time) of each commit a member made while it was leader."""
    leading = [b for b in bands if b.role == "leader"]
    commits = records[records.event == "Commit"]
    return [(member, time) for time, member in commits[["time", "member"]].itertuples(index=False)
            if any(b.member == member and b.start <= time <= b.end for b in leading)]


def partitions(records: pd.DataFrame, end: float) -> list[tuple[float, float]]:
    """The (start, end) of each time the network was cut."""
    spans, since = [], None
    for time, event in records[records.event.isin(["Partition", "Heal"])][["time", "event"]] \
            .itertuples(index=False):
        if event == "Partition" and since is None:
            since = time
        elif event == "Heal" and since is not None:
            spans.append((since, time))
            since = None
    if since is not None:
        spans.append((since, end))
    return spans


def raft_timeline(group: RaftGroup, title: str | None = None) -> Figure:
    """Each member's role over time as coloured bands, terms written on them.

    Stars mark elections won, ticks the leader's commits, shading the time the
    network was partitioned. Time is the group's clock, in seconds. ``title``
    replaces the general one with what this timeline shows.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    records = group.records()
    members = list(group.names)
    start, end = group.started, max(group.now, group.started + 1e-9)
    bands = role_bands(records, members, start, end)
    row = {m: len(members) - 1 - i for i, m in enumerate(members)}  # first member on top
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.6 * len(members)))
    # The limits first: with them fixed, adding a band does not rescale the axes each time.
    ax.set_ylim(-0.7, len(members) - 0.3)
    ax.set_xlim(start, end)
    span = end - start
    for band in bands:
        ax.broken_barh([(band.start, band.end - band.start)], (row[band.member] - 0.35, 0.7),
                       facecolors=ROLE_COLOURS[band.role],
                       hatch="//" if band.role == "down" else None, edgecolor="white",
                       linewidth=0.5)
        if band.role != "down" and band.term and band.end - band.start > 0.04 * span:
            ax.text((band.start + band.end) / 2, row[band.member], f"term {band.term}",
                    ha="center", va="center", fontsize=8,
                    color="white" if band.role == "leader" else "0.2")
    handles = [Patch(facecolor=ROLE_COLOURS[role], hatch="//" if role == "down" else None,
                     label=_role_label(role, bands, span))
               for role in ROLE_COLOURS if any(b.role == role for b in bands)]
    won = records[records.event == "BecameLeader"]
    if len(won):
        handles.append(ax.scatter(won.time, [row[m] + 0.42 for m in won.member], marker="*",
                                  s=110, color="gold", edgecolor="black", zorder=3,
                                  label="election won"))
    commits = leader_commits(records, bands)
    if commits:
        handles.append(ax.scatter([t for _, t in commits], [row[m] - 0.42 for m, _ in commits],
                                  marker="|", s=60, color="black", zorder=3,
                                  label="commit (leader)"))
    cuts = partitions(records, end)
    for i, (cut, healed) in enumerate(cuts):
        ax.axvspan(cut, healed, color="tab:red", alpha=0.08, zorder=0,
                   label="network partitioned" if i == 0 else None)
    if cuts:
        handles.append(Patch(facecolor="tab:red", alpha=0.15, label="network partitioned"))
    ax.set_yticks(range(len(members)), [members[len(members) - 1 - i]
                                        for i in range(len(members))])
    ax.set_xlabel("time on the etcd group's clock (s)")
    ax.set_ylabel("member")
    terms = int(records.term.max()) if len(records) else 0
    ax.set_title(title or f"Raft: one leader per term ({terms} term(s), {len(won)} election(s) "
                 "won); a lost leader means an election a second or two later")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# -- how big a group, how long an election --------------------------------------------------------

def quorum_table(sizes: range = range(1, 8)) -> pd.DataFrame:
    """For each group size: its quorum (a majority of the configured members) and how many
    members it can lose and still commit."""
    import pandas as pd

    rows = [(n, n // 2 + 1, n - (n // 2 + 1)) for n in sizes]
    return pd.DataFrame(rows, columns=["members", "quorum", "can lose"]).set_index("members")


def unavailability(members: int, up: float) -> float:
    """The chance that fewer than a quorum are up, each member up with probability ``up``."""
    from math import comb

    quorum = members // 2 + 1
    return 1 - sum(comb(members, k) * up**k * (1 - up)**(members - k)
                   for k in range(quorum, members + 1))


def availability_plot(sizes: tuple[int, ...] = (1, 2, 3, 4, 5), mark: float = 0.99) -> Figure:
    """How often a group has no quorum, against how often each member is up, for each size.

    Dots at ``mark`` (each member up 99 % of the time) give the values the
    lesson quotes. The log axis has a tick and a grid line per power of ten
    only: minor ticks over seven decades more than double the time to draw.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import NullLocator

    up = np.linspace(0.9, 0.999, 100)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for n in sizes:
        line, = ax.plot(up * 100, [unavailability(n, p) * 100 for p in up],
                        label=f"{n} member" + ("s" if n > 1 else ""),
                        linestyle="--" if n % 2 == 0 else "-")
        at_mark = unavailability(n, mark) * 100
        ax.plot(mark * 100, at_mark, "o", color=line.get_color())
        if n % 2:
            ax.annotate(f"{at_mark:.1g} %", (mark * 100, at_mark), textcoords="offset points",
                        xytext=(-6, 0), ha="right", va="center", fontsize=8)
    ax.axvline(mark * 100, color="0.5", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("each member up (% of the time)")
    ax.set_ylabel("no quorum (% of the time)")
    ax.set_title("An even member adds a way to fail: 2 lose quorum more often than 1, "
                 "4 more often than 3")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


# What starts a round of an election: asking for pre-votes (Pre-Vote on) or for votes.
ROUND_STARTS = {True: "BecamePreCandidate", False: "BecameCandidate"}


def _role_label(role: str, bands: list, span: float) -> str:
    """The legend's name for ``role``, with its length when no band of it is wide enough to
    see (a pre-vote round takes a few milliseconds on a timeline of seconds)."""
    longest = max(b.end - b.start for b in bands if b.role == role)
    if longest < 0.005 * span:
        return f"{role} ({longest * 1000:.0f} ms: too short to see)"
    return role


def leader_crash_elections(seeds: range, members: int = 3, give_up: float = 10.0) -> pd.DataFrame:
    """Crash the leader of a settled group once per seed: how long until the next leader?

    Each seed elects a leader, runs to second 3, crashes the leader and counts
    the seconds (group clock) until another member wins an election, and how
    many rounds it took: each time a member's timeout ran out and it asked for
    votes (for pre-votes first, as etcd 3.5 does). More than one means a
    request was ignored, refused or split, and someone had to wait out another
    timeout; ``pre-votes ignored`` says whether a follower that still heard the old
    leader ignored a pre-vote request (CheckQuorum) on the way. Each run stops at
    the new leader (or after ``give_up`` seconds without one: ``NaN``), so 200
    seeds take well under a second.
    """
    import pandas as pd

    rows = [(seed, *_crash_the_leader(seed, members, give_up)) for seed in seeds]
    return pd.DataFrame(rows, columns=["seed", "seconds", "rounds", "pre-votes ignored"])


def _crash_the_leader(seed: int, members: int, give_up: float) -> tuple[float, int, bool]:
    """One seed of :func:`leader_crash_elections`: (seconds to a new leader, rounds, whether
    a pre-vote request was ignored)."""
    from kubelearn.etcd.raft import RaftGroup
    from kubelearn.sim import Simulation

    sim = Simulation(seed)
    group = RaftGroup(sim, members)
    sim.run(3)
    crashed = group.now
    group.crash(group.leader)
    deadline = crashed + give_up
    group.clock.run_while(lambda: group.leader is None and group.now < deadline)
    after = group.record_rows(since=crashed)  # (time, member, term, event, index, detail)
    won = [row for row in after if row[3] == "BecameLeader"]
    rounds = sum(row[3] == ROUND_STARTS[group.pre_vote] for row in after)
    ignored = any(row[3] == "PreVoteIgnored" for row in after)
    return float(won[0][0] - crashed) if won else float("nan"), rounds, ignored


def election_time_plot(elections: pd.DataFrame) -> Figure:
    """A histogram of :func:`leader_crash_elections`: the first round won, or more rounds."""
    import matplotlib.pyplot as plt
    import numpy as np

    bins = np.arange(0.8, elections.seconds.max() + 0.2, 0.1)
    more = elections.rounds > 1
    ignored = elections["pre-votes ignored"]
    groups = [  # only what happened gets a bar and a legend entry
        (elections[~more].seconds, "tab:green", "the first member to ask won"),
        (elections[more & ignored].seconds, "tab:orange",
         "its pre-votes were ignored (CheckQuorum): another timeout won"),
        (elections[more & ~ignored].seconds, "tab:red",
         "its pre-votes were refused or split: another timeout won")]
    groups = [(seconds, colour, f"{label} ({len(seconds)} seeds)")
              for seconds, colour, label in groups if len(seconds)]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.hist([g[0] for g in groups], bins=bins, stacked=True, color=[g[1] for g in groups],
            label=[g[2] for g in groups])
    ax.set_xlabel("from the leader's crash to a new leader (s)")
    ax.set_ylabel("seeds")
    ax.set_title(f"A new leader {elections.seconds.min():.1f}-{elections.seconds.max():.1f} s "
                 "after the crash: the first random timeout to run out wins, unless its "
                 "pre-votes are ignored")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.3)  # room for the legend above the bars
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


# -- a leader cut off, then back -----------------------------------------------------------------

COLOUR_KEY = "/registry/configmaps/default/colour"


def cut_off_leader(seed: int = 0, pre_vote: bool = True) -> RaftGroup:
    """Lesson 02's partition story in one call, for comparing Pre-Vote on and off.

    A 3-member group elects a leader and commits ``blue``; at second 3 the
    leader ``etcd-1`` is cut off. A client on its side writes ``red`` (it
    cannot commit), one on the other side ``green`` three seconds later, and
    one asks ``etcd-1`` for the key; eight seconds on, the network heals, and
    the group runs three more seconds. Returns the group: its records tell the rest.
    """
    from kubelearn.etcd.raft import RaftGroup
    from kubelearn.sim import Simulation

    sim = Simulation(seed)
    group = RaftGroup(sim, members=3, pre_vote=pre_vote)
    sim.run(2)
    group.wait(group.submit("write", "put", (COLOUR_KEY, b"blue")))
    sim.run(1)
    group.partition(["etcd-1"])
    group.submit("write", "put", (COLOUR_KEY, b"red"), member="etcd-1")
    sim.run(3)
    group.submit("write", "put", (COLOUR_KEY, b"green"), member="etcd-2")
    sim.run(1)
    group.submit("read", "get", (COLOUR_KEY,), member="etcd-1")
    sim.run(8)
    group.heal()
    sim.run(3)
    return group


# -- a client that keeps writing -----------------------------------------------------------------

class WriteLoad:
    """A client that writes one key every ``every`` seconds through the group, without waiting.

    Each write goes to ``member`` (default: the first member up, as a client
    with a list of endpoints does) and is answered on the group's clock;
    :meth:`table` lists every write and what became of it.
    """

    def __init__(self, group: RaftGroup, every: float = 0.25,
                 key: str = "/registry/configmaps/default/counter",
                 member: str | None = None) -> None:
        self.group, self.every, self.key, self.member = group, every, key, member
        self.sent: list = []
        group.sim.process(self._run())

    def _run(self) -> Generator[Any, Any, None]:  # a SimPy process on the cluster's clock
        n = 0
        while True:
            n += 1
            self.group.advance()  # the group's clock catches up before the request goes
            self.sent.append((n, self.group.submit("write", "put", (self.key, str(n).encode()),
                                                   member=self.member)))
            yield self.group.sim.timeout(self.every)

    def table(self) -> pd.DataFrame:
        """One row per write: value, sent and answered (group seconds), member, outcome."""
        import pandas as pd

        rows = [(n, r.invoked, r.completed, r.member,
                 "pending" if not r.done else ("committed" if r.error is None else str(r.error)))
                for n, r in self.sent]
        return pd.DataFrame(rows, columns=["value", "sent", "answered", "member", "outcome"])


def no_quorum_spans(records: pd.DataFrame, members: list[str], end: float) -> list[tuple]:
    """The (start, end) of each time fewer than a quorum of members were up."""
    quorum = len(members) // 2 + 1
    up, spans, since = set(members), [], None
    for time, member, event in records[records.event.isin(["Crash", "Restart"])][
            ["time", "member", "event"]].itertuples(index=False):
        (up.discard if event == "Crash" else up.add)(member)
        if len(up) < quorum and since is None:
            since = time
        elif len(up) >= quorum and since is not None:
            spans.append((since, time))
            since = None
    if since is not None:
        spans.append((since, end))
    return spans


def quorum_plot(group: RaftGroup, load: WriteLoad, title: str | None = None) -> Figure:
    """Above, each write's wait (committed or failed); below, each member's commit index."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    writes, records = load.table(), group.records()
    end = group.now
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 1.3]})
    for outcome, colour, marker in (("committed", "tab:green", "o"), ("failed", "tab:red", "x")):
        done = writes[writes.outcome != "pending"]
        mine = done[(done.outcome == "committed") == (outcome == "committed")]
        if len(mine):
            top.scatter(mine.sent, mine.answered - mine.sent, s=14, color=colour, marker=marker,
                        label=f"{outcome} ({len(mine)})")
    top.set_yscale("log")
    top.yaxis.set_minor_locator(NullLocator())  # minor ticks on a log axis are slow to draw
    top.set_ylabel("wait for the answer (s)")
    top.legend(fontsize=8, loc="upper left")
    commits = records[records.event == "Commit"]
    for i, name in enumerate(group.names):  # widest first, so a line on top never hides one
        mine = commits[commits.member == name]
        bottom.step(mine.time, mine["index"], where="post", label=name,
                    linewidth=1.5 + 2 * (len(group.names) - 1 - i), alpha=0.8)
    spans = no_quorum_spans(records, list(group.names), end)
    for ax in (top, bottom):
        for i, (a, b) in enumerate(spans):
            ax.axvspan(a, b, color="0.5", alpha=0.2, zorder=0,
                       label="no quorum" if i == 0 and ax is bottom else None)
        ax.grid(alpha=0.3)
    bottom.set_ylabel("commit index")
    bottom.set_xlabel("time on the etcd group's clock (s)")
    bottom.legend(fontsize=8, loc="upper left")
    top.set_title(title or "Without a quorum nothing commits: writes wait, up to the 7 s "
                  "request timeout, and commit indexes stand still")
    top.set_xlim(group.started, end)
    fig.tight_layout()
    return fig


# -- crash and restart members, and watch -------------------------------------------------------

# The widget's starting point: the first leader is down from 6 s to 14 s, a follower from 10 s to
# 18 s; between 10 s and 14 s two of three are down.
DEFAULT_DOWNTIME = {"etcd-1": (6, 14), "etcd-2": (10, 18)}


def crash_schedule(downtime: dict[str, tuple[float, float]], seed: int = 0, members: int = 3,
                   duration: float = 30) -> tuple[RaftGroup, WriteLoad]:
    """A group under a steady write load whose members are down for the given ``(from, to)``
    seconds (equal ends: never down); it runs ``duration`` seconds."""
    from kubelearn.etcd.raft import RaftGroup
    from kubelearn.sim import Simulation

    sim = Simulation(seed)
    group = RaftGroup(sim, members)
    load = WriteLoad(group)

    def fault(name: str, down: float, up: float) -> Generator[Any, Any, None]:
        yield sim.timeout(down)
        group.crash(name)
        yield sim.timeout(up - down)
        group.restart(name)

    for name, (down, up) in downtime.items():
        if up > down:
            sim.process(fault(name, down, up))
    sim.run(duration)
    return group, load


def crash_widget(seed: int = 0, members: int = 3, duration: int = 30) -> Any:
    """A slider per member for when it is down; each change re-runs the group and redraws."""
    import ipywidgets as widgets

    sliders = {f"etcd-{i}": widgets.IntRangeSlider(
        value=DEFAULT_DOWNTIME.get(f"etcd-{i}", (0, 0)), min=0, max=duration, step=1,
        description=f"etcd-{i} down", continuous_update=False,
        style={"description_width": "initial"}) for i in range(1, members + 1)}

    def draw(**downtime: tuple[int, int]) -> Any:
        group, load = crash_schedule(downtime, seed, members, duration)
        outcomes = load.table().outcome.value_counts()
        return raft_timeline(group, title=f"{outcomes.get('committed', 0)} writes committed, "
                             f"{len(load.sent) - outcomes.get('committed', 0)} not: "
                             "a write commits only while a majority is up")

    return redrawn(draw, sliders, rows=(2,))


# -- why a slow network (or disk) means constant elections --------------------------------------

def elections_by_latency(latencies_ms: tuple[int, ...], seconds: float = 60, seed: int = 0,
                         members: int = 3) -> pd.DataFrame:
    """For each one-way delay between every two members: elections won and terms started in
    ``seconds``. A slow disk acts the same way: etcd writes to disk before it answers."""
    import itertools

    import pandas as pd

    from kubelearn.etcd.raft import RaftGroup
    from kubelearn.sim import Simulation

    rows = []
    for latency in latencies_ms:
        sim = Simulation(seed)
        group = RaftGroup(sim, members)
        for a, b in itertools.combinations(group.names, 2):
            group.set_latency(a, b, latency / 1000)
        sim.run(seconds)
        records = group.record_rows()  # (time, member, term, event, ...): no DataFrame to count
        rows.append((latency, sum(row[3] == "BecameLeader" for row in records),
                     max((row[2] for row in records), default=0)))
    return pd.DataFrame(rows, columns=["latency_ms", "elections won", "terms"])


def elections_plot(by_latency: pd.DataFrame, seconds: float = 60) -> Figure:
    """Elections won and terms started against the one-way delay (:func:`elections_by_latency`)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.plot(by_latency.latency_ms, by_latency["terms"], marker="o", color="tab:orange",
            label="terms started (elections called)")
    ax.plot(by_latency.latency_ms, by_latency["elections won"], marker="*", markersize=10,
            color="tab:green", label="elections won (new leaders)")
    ax.axvline(500, color="0.4", linestyle=":", label="round trip = election timeout (1 s)")
    ax.set_xlabel("one-way delay between members (ms)")
    ax.set_ylabel(f"count in {seconds:g} s")
    ax.set_title("Once a round trip takes the election timeout (1 s), leaders come and go")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
