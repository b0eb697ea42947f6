"""Lesson 09's exercise checks (kubelearn.exercises.lesson09): each solved, each unsolved and
wrong answer answered with a hint that holds no answer, garbage answered in words; and the
lesson's committed outputs show the unsolved state."""

from __future__ import annotations

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint

from kubelearn import exercises
from kubelearn.exercises import lesson09
from kubelearn.viz import capstone

LESSON = NOTEBOOKS / "09_capstone.ipynb"


def test_the_lesson_commits_the_unsolved_state():
    shown = committed(LESSON)
    assert shown == {key: repr(exercises.check(key, None)) for key in ("09.1", "09.2", "09.3")}
    assert all(CORRECT not in text for text in shown.values())


# -- 09.1: when the endpoints go unready with a 42 s grace period ----------------------------------

def test_09_1_reads_the_answer_off_the_run():
    # last renewal at 40 s, + 42 s = 82 s, the next 5 s check at 85 s; cut at 47 s
    assert lesson09._unready_after(lesson09.GRACE_09_1) == 85 - 47


@pytest.mark.parametrize("answer", [38, 38.0, "38", 37.5, 39])
def test_09_1_accepts_the_right_answer(answer):
    assert exercises.check("09.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (42, "the grace period alone"),
    (43, "the lesson's run"),
    (35, "The node controller checks every 5 s"),
    (395, "about when pods are evicted"),
    (10, "find node-2's last lease renewal"),
    (-3, "can't be negative"),
])
def test_09_1_tells_each_mistake_without_the_answer(answer, says):
    text = exercises.check("09.1", answer)
    assert hint(text) and says in text and "38" not in text


@pytest.mark.parametrize("answer", [None, "soon", [38], {"s": 38}, float("nan"), True])
def test_09_1_answers_garbage_in_words(answer):
    text = exercises.check("09.1", answer)
    assert text != CORRECT and text.endswith(".")


# -- 09.2: the longest grace period with fewer than 250 timeouts, none refused -----------------

@pytest.mark.parametrize("answer", [{"grace_period": 25, "prestop": 5},
                                    {"grace_period": 25, "prestop": 10, "toleration_seconds": 60}])
def test_09_2_accepts_the_longest_grace_period_and_a_prestop_sleep(answer):
    assert exercises.check("09.2", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ({}, "Which setting decides when the node controller gives up"),
    ({"toleration_seconds": 0}, "Which setting decides when the node controller gives up"),
    ({"grace_period": 30, "prestop": 5}, "shorten it"),
    ({"grace_period": 26, "prestop": 5}, "shorten it"),
    ({"grace_period": 25}, "What keeps a stopping pod serving"),
    ({"grace_period": 20, "prestop": 5}, "which grace periods end at the same check"),
    ({"grace_period": 21, "prestop": 5}, "which grace periods end at the same check"),
])
def test_09_2_says_what_is_still_wrong(answer, says):
    text = exercises.check("09.2", answer)
    assert hint(text) and says in text
    assert "25 s" not in text and "grace_period\": 25" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your settings in answer_2 first"),
    ([20], "Give a dict"),
    ({"grace": 20}, "is not a setting here"),
    ({"replicas": 3}, "Leave replicas as the lesson has it"),
    ({"grace_period": 10}, "two lease renewals"),
    ({"grace_period": "20"}, "must be a whole number"),
    ({"prestop": 40}, "prestop must be between 0 and 25"),
])
def test_09_2_answers_garbage_in_words(answer, says):
    text = exercises.check("09.2", answer)
    assert text != CORRECT and says in text


# -- 09.3: the longest toleration that is back within 120 s ----------------------------------------

def test_09_3_the_answer_is_between_the_grid_rows():
    # the NoExecute taint 48 s after the cut, + 69 s of toleration, + 3 s for the replacements
    assert lesson09.BACK_WITHIN_09_3 == 48 + 69 + 3
    assert 69 not in capstone.WHAT_IFS["toleration_seconds"]


@pytest.mark.parametrize("answer", [69, 69.0, "69"])
def test_09_3_accepts_the_longest_toleration(answer):
    assert exercises.check("09.3", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (300, "find when node-2 is tainted NoExecute"),
    (70, "find when node-2 is tainted NoExecute"),
    (120, "find when node-2 is tainted NoExecute"),
    (60, "find the longest"),
    (0, "find the longest"),
    (68, "find the longest"),
])
def test_09_3_says_what_is_still_wrong(answer, says):
    text = exercises.check("09.3", answer)
    assert hint(text) and says in text and "69" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_3 first"),
    (-1, "between 0 and 3600"),
    (69.5, "whole number"),
    ("soon", "whole number"),
    ({"toleration_seconds": 69}, "whole number"),
    (True, "whole number"),
])
def test_09_3_answers_garbage_in_words(answer, says):
    text = exercises.check("09.3", answer)
    assert text != CORRECT and says in text
