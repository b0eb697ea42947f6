"""Lesson 02 (Raft)'s exercises.

- ``02.1``: the members through which a write still commits in a 5-member
  group after :data:`CRASHED_02_1` crash and :data:`CUT_OFF_02_1` is cut off
  from the rest (a set of names; ``set()`` for none);
- ``02.2``: a function ``commit_index(match)`` that, given how far each
  member's log matches the leader's (the leader's own last index included),
  returns the highest index a majority holds: the leader's commit rule.

02.1's check asks a simulated group: it applies the faults, sends a write to
every member and sees which commit. 02.2's check tries the learner's function
on groups of 1, 3, 4 and 5 members.
"""

from __future__ import annotations

import functools
from typing import Any

from kubelearn.exercises import CORRECT, exercise, number

# -- 02.1: which members can still commit? ---------------------------------------------------------

MEMBERS_02_1 = 5
CRASHED_02_1 = ("etcd-4", "etcd-5")
CUT_OFF_02_1 = "etcd-1"


@functools.cache
def committing_members_02_1() -> frozenset[str]:
    """The members a write sent to commits through, as a simulated group answers."""
    from kubelearn.etcd.raft import RaftGroup
    from kubelearn.sim import Simulation

    sim = Simulation(0)
    group = RaftGroup(sim, MEMBERS_02_1)
    sim.run(3)
    for name in CRASHED_02_1:
        group.crash(name)
    group.partition([CUT_OFF_02_1])
    sim.run(3)
    writes = {name: group.submit("write", "put", ("/registry/x", name.encode()), member=name)
              for name in group.names}
    sim.run(group.request_timeout + 1)
    return frozenset(name for name, write in writes.items()
                     if write.done and write.error is None)


@exercise("02.1")
def _check_committing(answer: Any) -> str:
    names = [f"etcd-{i}" for i in range(1, MEMBERS_02_1 + 1)]
    if answer is None:
        return ("Write your answer in answer_1 first: a set of member names like "
                "{'etcd-2'}, or set() if no member can commit.")
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        return "Give a set of member names, like {'etcd-2'}, or set() for none."
    given = set(answer)
    unknown = sorted(str(g) for g in given if g not in names)
    if unknown:
        return f"The members are etcd-1 to etcd-{MEMBERS_02_1}; {', '.join(unknown)} is not one."
    right = committing_members_02_1()
    if given == right:
        return CORRECT
    down = given & set(CRASHED_02_1)
    if down:
        return (f"Not yet: {', '.join(sorted(down))} crashed; a member that is down answers "
                "nothing.")
    return ("Not yet: count the members on each side of the cut that are up, and compare with "
            f"the quorum of a {MEMBERS_02_1}-member group: a majority of the configured members, "
            "not of the members that are left.")


# -- 02.2: the leader's commit rule --------------------------------------------------------------

# (match indexes, leader's included) the check tries; the answers come from the rule below
CASES_02_2 = ((7, 5, 3), (4, 4, 4), (9, 2, 9), (12, 10, 8, 3, 1), (6, 6, 2, 2, 9), (5,),
              (7, 5, 3, 1), (8, 8, 6, 6))


def majority_index(match: tuple[int, ...]) -> int:
    """The highest index held by a majority: the quorum-th largest match index."""
    return sorted(match, reverse=True)[len(match) // 2]


@exercise("02.2")
def _check_commit_index(commit_index: Any) -> str:
    if commit_index is None:
        return "Write commit_index(match) first, then check it."
    if not callable(commit_index):
        return f"Give the function itself (commit_index), not a {type(commit_index).__name__}."
    for match in CASES_02_2:
        try:
            given = commit_index(list(match))
        except Exception as err:  # the learner's code: say what it raised, in plain words
            return (f"Your function raised {type(err).__name__}: {err} for {list(match)}. "
                    "Fix it and check again.")
        value = number(given)
        if value is None or value.denominator != 1:
            return f"For {list(match)} your function returned {given!r}: return a log index."
        if int(value) != majority_index(match):
            holders = sum(m >= int(value) for m in match)
            return (f"Not yet: for {list(match)} your function answered {int(value)}, which "
                    f"{holders} of {len(match)} members hold. An index is committed once more "
                    "than half the members hold it; is there a higher one they do, or do too "
                    "few hold this one?")
    return CORRECT
