"""Lesson 06 (controllers)'s exercises.

- ``06.1``: how many seconds after node-1's last heartbeat its pods were evicted
  with the grace period of before v1.32 (:data:`OLD_GRACE_06_1` s) and the
  default 300 s toleration;
- ``06.2``: the largest ``tolerationSeconds`` (a multiple of 5) that has the
  replacements Running within :data:`DEADLINE_06_2` s of the last heartbeat;
- ``06.3``: how many of :data:`ZONE_NODES_06_3` nodes in a zone can be not ready
  while the zone still counts as Normal.

06.1 and 06.2 run the lesson's node failure (:func:`kubelearn.viz.nodes.simulate_node_failure`)
and read its steps; 06.3 asks the node lifecycle controller's ``compute_zone_state``.
"""

from __future__ import annotations

import functools
from typing import Any

from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD_BEFORE_V132
from kubelearn.exercises import CORRECT, exercise, number

STEP_PERIOD = 5  # tolerationSeconds are asked in multiples of this

# -- 06.1: the eviction under the old grace period -------------------------------------------------

OLD_GRACE_06_1 = int(NODE_MONITOR_GRACE_PERIOD_BEFORE_V132)  # the default before v1.32


@functools.cache
def _seconds_to(grace_period: float, toleration_seconds: int, step_ends: str) -> float | None:
    """Seconds from node-1's last heartbeat to the latest step whose name ends ``step_ends``."""
    from kubelearn.viz import nodes

    cluster = nodes.simulate_node_failure(grace_period=grace_period,
                                          toleration_seconds=toleration_seconds)
    steps = nodes.failure_steps(cluster.events(), "node-1")
    after = steps[steps.step.str.endswith(step_ends)]["after last heartbeat"]
    return None if after.empty else float(after.max())


@exercise("06.1")
def _check_old_eviction(seconds: Any) -> str:
    from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD

    if seconds is None:
        return "Write your answer in answer_1 first: a number of seconds."
    value = number(seconds)
    if value is None:
        return f"Give a number of seconds (an int or a float), not {seconds!r}."
    right = _seconds_to(OLD_GRACE_06_1, 300, "evicted (TaintManagerEviction)")
    if value == right:
        return CORRECT
    if value == OLD_GRACE_06_1 + 300:
        return (f"Nearly: grace period and toleration are right, but the NoExecute taint comes "
                f"one monitor pass (every {NODE_MONITOR_PERIOD:g} s) after the node is marked "
                "Unknown, and the toleration counts from the taint.")
    if value == NODE_MONITOR_GRACE_PERIOD + NODE_MONITOR_PERIOD + 300:
        return ("Not yet: that is with today's grace period. Before v1.32 it was "
                f"{OLD_GRACE_06_1} s.")
    return ("Not yet: add up the steps of the failure table: the grace period, the wait for the "
            "NoExecute taint, and the toleration.")


# -- 06.2: the largest toleration that meets a deadline --------------------------------------------

DEADLINE_06_2 = 120


def _meets_deadline(toleration_seconds: int) -> bool:
    from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD

    running = _seconds_to(NODE_MONITOR_GRACE_PERIOD, toleration_seconds, " Running")
    return running is not None and running <= DEADLINE_06_2


@exercise("06.2")
def _check_toleration(seconds: Any) -> str:
    if seconds is None:
        return "Write your answer in answer_2 first: a tolerationSeconds, in seconds."
    value = number(seconds)
    if value is None or value.denominator != 1:
        return f"Give a whole number of seconds, like 30, not {seconds!r}."
    if value < 0 or value % STEP_PERIOD:
        return f"Give a multiple of {STEP_PERIOD} of at least 0, like 30."
    toleration = int(min(value, 3600))  # keeps the simulation short; the verdict is the same
    if not _meets_deadline(toleration):
        return (f"Too slow: with tolerationSeconds {int(value)} the replacements are not "
                f"Running within {DEADLINE_06_2} s of the last heartbeat. What comes before the "
                "toleration starts to count?")
    if _meets_deadline(toleration + STEP_PERIOD):
        return ("That meets the deadline, but a longer toleration would too, and would ride "
                "out a longer network blip. Try longer ones.")
    return CORRECT


# -- 06.3: how many not ready nodes keep a zone Normal ---------------------------------------------

ZONE_NODES_06_3 = 60


def _zone_state(not_ready: int) -> str:
    from kubelearn.controllers.nodelifecycle import compute_zone_state

    ready = ZONE_NODES_06_3 - not_ready
    return compute_zone_state([{"status": "Unknown"}] * not_ready + [{"status": "True"}] * ready)[1]


@exercise("06.3")
def _check_zone(nodes: Any) -> str:
    from kubelearn.controllers.nodelifecycle import STATE_NORMAL

    if nodes is None:
        return "Write your answer in answer_3 first: a number of nodes."
    value = number(nodes)
    if value is None or value.denominator != 1:
        return f"Give a whole number of nodes, not {nodes!r}."
    if not 0 <= value <= ZONE_NODES_06_3:
        return f"Give a number of nodes from 0 to {ZONE_NODES_06_3}, the nodes the zone has."
    count = int(value)
    if _zone_state(count) != STATE_NORMAL:
        return (f"Not yet: with {count} of {ZONE_NODES_06_3} not ready the zone is "
                f"{_zone_state(count)}. Which share of not ready nodes makes it so, and is the "
                "threshold itself in or out?")
    if _zone_state(count + 1) == STATE_NORMAL:
        return "Not yet: the zone stays Normal with more not ready nodes than that. Try more."
    return CORRECT
