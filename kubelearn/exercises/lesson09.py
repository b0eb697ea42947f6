"""Lesson 09 (the capstone)'s exercises, each checked by running the lesson's story
(:func:`kubelearn.viz.capstone.simulate_capstone`) with the learner's numbers.

- ``09.1``: with ``--node-monitor-grace-period`` :data:`GRACE_09_1` s, how many
  seconds after the power cut node-2's endpoints go not ready;
- ``09.2``: settings (grace period, toleration, preStop) with the *longest* grace
  period under which fewer than :data:`MAX_TIMEOUTS_09_2` requests time out, and
  none is refused (the 5 s check makes several grace periods equal);
- ``09.3``: with the grace period left at 50 s, the *longest* ``tolerationSeconds``
  that brings the Deployment back to full strength within
  :data:`BACK_WITHIN_09_3` s of the cut.

Both answers lie between the what-if grid's rows: they are reasoned out from the
records, then checked by running the story.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from kubelearn.exercises import CORRECT, exercise, number

# -- 09.1: when the endpoints go unready, for another grace period --------------------------------

GRACE_09_1 = 42  # not a multiple of the 5 s check: the wait for the next check shows
TOLERANCE_09_1 = 1.0  # seconds either way


def _unready_after(grace: int) -> float | None:
    """Seconds from the power cut to the slice with node-2's endpoints not ready, as run."""
    from kubelearn.viz import capstone

    return capstone.outcome(capstone.simulate_capstone(grace_period=grace))[
        "endpoints unready after"]


@exercise("09.1")
def _check_unready(seconds: Any) -> str:
    if seconds is None:
        return "Write your answer in answer_1 first: a number of seconds."
    value = number(seconds)
    if value is None:
        return f"Give a number of seconds (an int or a float), not {seconds!r}."
    from kubelearn.controllers.nodelifecycle import NODE_MONITOR_PERIOD
    from kubelearn.viz import capstone

    given = float(value)
    run = _unready_after(GRACE_09_1)
    if run is not None and abs(given - run) <= TOLERANCE_09_1:
        return CORRECT
    if given < 0:
        return "Not yet: a length of time can't be negative."
    story = capstone.story(capstone.simulate_capstone(grace_period=GRACE_09_1))
    mistakes = {  # a plausible wrong answer -> what it missed
        float(GRACE_09_1): "Not yet: that is the grace period alone. It counts from node-2's "
                           "last heartbeat, not from the power cut.",
        _unready_after(capstone.DEFAULTS.grace_period) or -1.0:
            f"Not yet: that is the lesson's run, with a grace period of "
            f"{capstone.DEFAULTS.grace_period} s. This one has {GRACE_09_1} s.",
    }
    if story.last_heartbeat is not None and story.power_off is not None:
        mistakes[story.last_heartbeat + GRACE_09_1 - story.power_off] = (
            f"Close: the grace period has run out by then, but nobody has looked yet. The node "
            f"controller checks every {NODE_MONITOR_PERIOD:g} s.")
    nearest = min(mistakes, key=lambda m: abs(given - m))
    if abs(given - nearest) <= TOLERANCE_09_1:
        return mistakes[nearest]
    if given >= 200:
        return ("Not yet: that is about when pods are evicted. The endpoints go not ready long "
                "before, as soon as the node controller marks node-2 Unknown.")
    return (f"Not yet: find node-2's last lease renewal before {capstone.POWER_OFF_AT:g} s, add "
            f"the grace period of {GRACE_09_1} s, take the node controller's first check at or "
            f"after that (one every {NODE_MONITOR_PERIOD:g} s), and count from the power cut.")


# -- 09.2 and 09.3: settings, run ------------------------------------------------------------------

# 09.2: the longest grace period that keeps timeouts under MAX_TIMEOUTS_09_2, none refused. The
# grid shows 20 s (178) and 30 s (330); the answer, 25 s, needs the 5 s check: 40 + 21..25 s all
# end at the check at 65 s (244 timed out), 26 s waits for the one at 70 s (330).
MAX_TIMEOUTS_09_2 = 250
ALLOWED_09_2 = ("grace_period", "toleration_seconds", "prestop")
# 09.3: the longest toleration that brings the Deployment back within BACK_WITHIN_09_3 s: the
# taint comes 48 s after the cut, the replacements are ready 3 s after the eviction: 69 s.
BACK_WITHIN_09_3 = 120.0  # seconds after the power cut; the lesson's run: 351


def _settings(answer: Any, allowed: tuple[str, ...], name: str):
    """The learner's settings on top of the lesson's, or a sentence saying what is wrong."""
    from kubelearn.viz import capstone

    example = f'{{"{allowed[0]}": {getattr(capstone.DEFAULTS, allowed[0])}}}'
    if answer is None:
        return (f"Write your settings in {name} first: a dict such as {example}, with any of "
                f"{', '.join(allowed)}.")
    if not isinstance(answer, dict):
        return f"Give a dict such as {example}, not a {type(answer).__name__}."
    known = {f.name for f in fields(capstone.Settings)}
    for key in answer:
        if key not in known:
            return f"{key!r} is not a setting here; use any of {', '.join(allowed)}."
        if key not in allowed:
            return (f"Leave {key} as the lesson has it for this exercise; change only "
                    f"{', '.join(allowed)}.")
    try:
        settings = replace(capstone.DEFAULTS, **answer)
        settings.check()
    except ValueError as err:
        if "grace_period" in str(err) and "between" in str(err):
            return (f"{err}. A grace period under two lease renewals (20 s) would mark a healthy "
                    "node Unknown after a single late heartbeat.")
        return f"{err}."
    return settings


def _timeouts(settings) -> tuple[int, int]:
    """(timed out, refused) in the story run with ``settings``."""
    from kubelearn.viz import capstone

    run = capstone.outcome(capstone.simulate_capstone(**settings.__dict__))
    return int(run["timeout"] or 0), int(run["refused"] or 0)


@exercise("09.2")
def _check_longest_grace(answer: Any) -> str:
    from kubelearn.viz import capstone

    settings = _settings(answer, ALLOWED_09_2, "answer_2")
    if isinstance(settings, str):
        return settings
    timeouts, refused = _timeouts(settings)
    if timeouts >= MAX_TIMEOUTS_09_2:
        said = f"Not yet: {timeouts} requests timed out (fewer than {MAX_TIMEOUTS_09_2} wanted)."
        if settings.grace_period == capstone.DEFAULTS.grace_period:
            return (f"{said} They were sent to node-2's pod while its endpoint was still "
                    "ready. Which setting decides when the node controller gives up on node-2?")
        return (f"{said} The error window follows the grace period: shorten it.")
    if refused:
        return (f"Not yet: {refused} requests were refused. Those are the rolling update's: an "
                "old pod stopped before every node's rules had dropped it. What keeps a stopping "
                "pod serving for a few seconds?")
    if settings.grace_period < capstone.BOUNDS["grace_period"][1]:
        longer = replace(settings, grace_period=settings.grace_period + 1)
        if _timeouts(longer)[0] < MAX_TIMEOUTS_09_2:
            return (f"Close: {timeouts} timed out, none refused, but a longer grace period would "
                    "do as well, and a longer one is kinder to a node that is only slow. The "
                    "node controller only looks every 5 s: which grace periods end at the same "
                    "check as yours?")
    return CORRECT


@exercise("09.3")
def _check_longest_toleration(seconds: Any) -> str:
    from kubelearn.viz import capstone

    if seconds is None:
        return "Write your answer in answer_3 first: a tolerationSeconds, a whole number."
    value = number(seconds)
    if value is None or float(value) != int(value):
        return f"Give tolerationSeconds as a whole number, not {seconds!r}."
    low, high = capstone.BOUNDS["toleration_seconds"]
    if not low <= int(value) <= high:
        return f"Give a tolerationSeconds between {low} and {high}, not {int(value)}."

    def back(toleration: int) -> float | None:
        run = capstone.simulate_capstone(toleration_seconds=toleration)
        return capstone.outcome(run)["rollout done after"]

    seconds_back = back(int(value))
    if seconds_back is None or seconds_back > BACK_WITHIN_09_3:
        said = ("Not yet: the Deployment was not back to full strength before the run ended."
                if seconds_back is None else f"Not yet: with {int(value)} s it was back to "
                f"full strength {seconds_back:g} s after the cut ({BACK_WITHIN_09_3:g} s "
                "wanted).")
        return (f"{said} The countdown does not start at the power cut: find when node-2 is "
                "tainted NoExecute, and how long the replacements take once the pods are "
                "evicted.")
    later = back(int(value) + 1) if int(value) < high else None
    if later is not None and later <= BACK_WITHIN_09_3:
        return (f"Close: back after {seconds_back:g} s, in time, but the pods could be "
                "tolerated longer. Every second of toleration spares a node that only lost its "
                "network for a moment: find the longest that still makes it.")
    return CORRECT
