"""A Raft group's story for lesson 02: who was leader, in which term, and what happened.

Everything here reads the group's records (``group.records()``): the role
changes ``BecameFollower``, ``BecameCandidate``, ``BecameLeader``, the
``Crash`` and ``Restart`` of members, ``Commit``, ``Partition`` and ``Heal``.
Nothing reaches into a member.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from kubelearn.etcd.raft import RaftGroup

ROLE_COLOURS = {"follower": "#c6dbef", "candidate": "tab:orange", "leader": "tab:green",
                "down": "0.35"}
ROLE_OF_EVENT = {"BecameFollower": "follower", "BecameCandidate": "candidate",
                 "BecameLeader": "leader", "Crash": "down", "Restart": "follower"}


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


def raft_timeline(group: RaftGroup) -> Figure:
    """Each member's role over time as coloured bands, terms written on them.

    Stars mark elections won, ticks the leader's commits, shading the time the
    network was partitioned. Time is the group's clock, in seconds.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    records = group.records()
    members = list(group.names)
    start, end = group.started, max(group.now, group.started + 1e-9)
    bands = role_bands(records, members, start, end)
    row = {m: len(members) - 1 - i for i, m in enumerate(members)}  # first member on top
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.6 * len(members)))
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
                     label=role) for role in ROLE_COLOURS if any(b.role == role for b in bands)]
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
    ax.set_ylim(-0.7, len(members) - 0.3)
    ax.set_xlim(start, end)
    ax.set_xlabel("time on the etcd group's clock (s)")
    ax.set_ylabel("member")
    terms = int(records.term.max()) if len(records) else 0
    ax.set_title(f"Raft: one leader per term ({terms} term(s), {len(won)} election(s) won); "
                 "a lost leader means an election a second or two later")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
