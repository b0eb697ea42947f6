"""Lesson 06's exercise checks (kubelearn.exercises.lesson06): the eviction under the old
grace period, the largest toleration for a deadline, a zone's Normal limit."""

from __future__ import annotations

import math

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.controllers.nodelifecycle import (
    NODE_MONITOR_GRACE_PERIOD,
    NODE_MONITOR_PERIOD,
    UNHEALTHY_ZONE_THRESHOLD,
)
from kubelearn.exercises import lesson06

LESSON = NOTEBOOKS / "06_controllers.ipynb"


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    assert committed(LESSON) == {key: repr(exercises.check(key, None))
                                 for key in ("06.1", "06.2", "06.3")}
    links = next_links(LESSON)
    assert links == ["07_deployments.ipynb"] and (LESSON.parent / links[0]).exists()


# -- 06.1: grace 40 s, the taint one monitor pass later, 300 s toleration --------------------------

OLD = lesson06.OLD_GRACE_06_1 + NODE_MONITOR_PERIOD + 300


def test_06_1_measures_grace_plus_a_pass_plus_the_toleration():
    assert lesson06._seconds_to(40, 300, "evicted (TaintManagerEviction)") == OLD == 345


@pytest.mark.parametrize("answer", [OLD, str(int(OLD)), float(OLD)])
def test_06_1_accepts_the_seconds(answer):
    assert exercises.check("06.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (340, "one monitor pass"), (NODE_MONITOR_GRACE_PERIOD + NODE_MONITOR_PERIOD + 300,
                                "today's grace period"),
    (300, "add up the steps"), (40, "add up the steps"),
])
def test_06_1_hints_without_the_answer(answer, says):
    text = exercises.check("06.1", answer)
    assert hint(text) and says in text and "345" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"), ("a while", "Give a number of seconds"),
    ([345], "Give a number of seconds"), (float("nan"), "Give a number of seconds"),
])
def test_06_1_answers_garbage_in_words(answer, says):
    text = exercises.check("06.1", answer)
    assert hint(text) and says in text


# -- 06.2: Running within 120 s of the last heartbeat ----------------------------------------------

def test_06_2_the_largest_toleration_is_what_the_periods_leave():
    # Unknown at 50 s, NoExecute 5 s later, the replacement Running about 1 s after eviction
    assert lesson06._meets_deadline(60) and not lesson06._meets_deadline(65)


def test_06_2_accepts_the_largest_toleration():
    assert exercises.check("06.2", 60) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (65, "Too slow"), (300, "Too slow"), (10**9, "Too slow"),
    (55, "a longer toleration would too"), (0, "a longer toleration would too"),
])
def test_06_2_hints_without_the_answer(answer, says):
    text = exercises.check("06.2", answer)
    assert hint(text) and says in text and "60" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_2 first"), (62, "multiple of 5"), (-5, "multiple of 5"),
    (60.5, "whole number"), ("sixty", "whole number"), ({"seconds": 60}, "whole number"),
])
def test_06_2_answers_garbage_in_words(answer, says):
    text = exercises.check("06.2", answer)
    assert hint(text) and says in text


# -- 06.3: 55 % of 60 nodes ------------------------------------------------------------------------

LARGEST = math.ceil(UNHEALTHY_ZONE_THRESHOLD * 60) - 1


def test_06_3_accepts_the_largest_normal_count():
    assert LARGEST == 32
    assert exercises.check("06.3", LARGEST) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (33, "PartialDisruption"), (60, "FullDisruption"), (31, "stays Normal with more"),
    (0, "stays Normal with more"),
])
def test_06_3_hints_without_the_answer(answer, says):
    text = exercises.check("06.3", answer)
    assert hint(text) and says in text and "32" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_3 first"), (61, "from 0 to 60"), (-1, "from 0 to 60"),
    (32.5, "whole number"), ("many", "whole number"),
])
def test_06_3_answers_garbage_in_words(answer, says):
    text = exercises.check("06.3", answer)
    assert hint(text) and says in text
