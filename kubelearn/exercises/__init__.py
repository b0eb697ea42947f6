"""The checks behind the lessons' "Your turn" exercises: plain words back, never the answer.

Each exercise has a key, its lesson and number (``"08.1"``). :func:`check` runs
the exercise's check on the learner's answer and returns one sentence:
:data:`CORRECT`, or a hint that says what is wrong, or what shape the answer
should have, without saying what is right. A check never raises on a malformed
answer. An exercise that starts from a cluster to explore has a :func:`setup`
that makes it, fresh each time.

A check reads the answer off the simulation wherever it can -- the rules a
cluster's kube-proxy writes, the requests a run of traffic met -- rather than
from a number written here, so that it agrees with what the lesson shows.

Each lesson's checks live in a module of their own (:mod:`.lesson08` for
lesson 08...), registered here with :func:`exercise` and :func:`starts_from`;
this module holds the registry and what checks share (:func:`number`).

    >>> from kubelearn import exercises
    >>> exercises.check("08.1", None)
    'Write your answer in answer_1 first: a list with one entry per endpoint rule, in order.'
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.cluster import Cluster

CORRECT = "Correct!"

_CHECKS: dict[str, Callable[[Any], str]] = {}
_SETUPS: dict[str, Callable[[], Cluster]] = {}


def exercise(key: str) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    """Register a lesson's check under its key."""
    def register(fn: Callable[[Any], str]) -> Callable[[Any], str]:
        _CHECKS[key] = fn
        return fn
    return register


def starts_from(key: str) -> Callable[[Callable[[], Cluster]], Callable[[], Cluster]]:
    """Register the cluster an exercise starts from."""
    def register(fn: Callable[[], Cluster]) -> Callable[[], Cluster]:
        _SETUPS[key] = fn
        return fn
    return register


def check(key: str, answer: Any) -> str:
    """Check ``answer`` to the exercise ``key`` (``"08.1"``): "Correct!" or a hint."""
    if key not in _CHECKS:
        raise ValueError(f"no exercise {key!r} (known: {', '.join(sorted(_CHECKS))})")
    return _CHECKS[key](answer)


def explained(key: str, answer: Any, explanation: Callable[[], Any]) -> Any:
    """``explanation()`` once ``answer`` to the exercise ``key`` is right; until then a
    sentence saying so.

    For a lesson's table or plot that would give an exercise's answer away: the cell
    that shows it sits after the exercise, and shows it only to a learner who has
    answered (so the lesson's saved outputs keep the answer hidden).
    """
    if check(key, answer) != CORRECT:
        return f"This explains exercise {key}: it shows once your answer to {key} is right."
    return explanation()


def setup(key: str) -> Cluster:
    """A fresh copy of the cluster the exercise ``key`` starts from."""
    if key not in _SETUPS:
        raise ValueError(f"exercise {key!r} starts from no cluster (these do: "
                         f"{', '.join(sorted(_SETUPS))})")
    return _SETUPS[key]()


def number(value: Any) -> Fraction | None:
    """A real number given as a number, a Fraction or a string ("1/4", "0.25"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Rational):
        return Fraction(value)
    if isinstance(value, numbers.Real):
        try:
            return Fraction(float(value))
        except (OverflowError, ValueError):  # inf, nan
            return None
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


# Each lesson's module registers its checks when imported.
from kubelearn.exercises import (  # noqa: E402, F401
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
)
