"""Lesson 07's exercise checks (kubelearn.exercises.lesson07): a rollout's fenceposts, a
rollout with no room to spare, what makes a new ReplicaSet."""

from __future__ import annotations

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.controllers.deployment.util import resolve_fenceposts
from kubelearn.exercises import lesson07

LESSON = NOTEBOOKS / "07_deployments.ipynb"


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    assert committed(LESSON) == {key: repr(exercises.check(key, None))
                                 for key in ("07.1", "07.2", "07.3")}
    links = next_links(LESSON)
    assert links == ["08_kube_proxy.ipynb"] and (LESSON.parent / links[0]).exists()


# -- 07.1 ------------------------------------------------------------------------------------------

def test_07_1_the_rollout_keeps_to_the_resolved_fenceposts():
    surge, unavailable = resolve_fenceposts("25%", "25%", 20)   # 5 up, 5 down
    assert lesson07._fenceposts(20)[:2] == (20 + surge, 20 - unavailable) == (25, 15)


@pytest.mark.parametrize("answer", [(25, 15), [25, 15], ("25", 15.0)])
def test_07_1_accepts_the_fenceposts(answer):
    assert exercises.check("07.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ((15, 25), "the other way round"), ((24, 15), "rounded up"), ((25, 16), "rounded down"),
    ((20, 20), "rounded up"),
])
def test_07_1_hints_without_the_answer(answer, says):
    text = exercises.check("07.1", answer)
    assert hint(text) and says in text and "25," not in text and "15" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"), (25, "Give two whole numbers"),
    ("25, 15", "Give two whole numbers"), ((25, 15, 0), "Give two whole numbers"),
    ((25.5, 15), "Give two whole numbers"),
])
def test_07_1_answers_garbage_in_words(answer, says):
    text = exercises.check("07.1", answer)
    assert hint(text) and says in text


# -- 07.2 ------------------------------------------------------------------------------------------

def test_07_2_accepts_no_surge_one_unavailable():
    assert exercises.check("07.2", (0, 1)) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ((1, 0), "had 5 pods at one moment"), ((1, 1), "had 5 pods"),
    ((0, 2), "had only 2 available"), ((0, 4), "had only 0 available"),
    ((0, 0), "may not be 0 when `maxSurge` is 0"),
])
def test_07_2_says_what_the_rollout_did(answer, says):
    text = exercises.check("07.2", answer)
    assert hint(text) and says in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_2 first"), ((-1, 1), "0 or more"),
    ((0, 10**6), "needs no more than 4"), ("0 1", "Give two whole numbers"),
    ({"maxSurge": 0}, "Give two whole numbers"), ((0, "25%"), "Give two whole numbers"),
])
def test_07_2_answers_garbage_in_words(answer, says):
    text = exercises.check("07.2", answer)
    assert hint(text) and says in text


# -- 07.3 ------------------------------------------------------------------------------------------

def test_07_3_only_template_changes_make_a_replicaset():
    made = {letter for letter in lesson07.CHANGES_07_3 if lesson07._makes_replicaset(letter)}
    assert made == {"b", "c", "f"}


@pytest.mark.parametrize("answer", [{"b", "c", "f"}, ["f", "c", "b"], {"B", "C", "F"}])
def test_07_3_accepts_the_letters(answer):
    assert exercises.check("07.3", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ({"b", "c"}, "1 more does"), ({"b", "c", "e", "f"}, "1 of yours does not"),
    ({"a", "b", "c", "d", "e", "f"}, "3 of yours do not"), (set(), "3 more do"),
    ({"a", "b"}, "1 of yours does not and 2 more do"),
])
def test_07_3_counts_without_naming(answer, says):
    text = exercises.check("07.3", answer)
    assert hint(text) and says in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_3 first"), ("bcf", "Give a set of letters"),
    ({"g"}, "no change 'g'"), ({1}, "no change '1'"), (3, "Give a set of letters"),
])
def test_07_3_answers_garbage_in_words(answer, says):
    text = exercises.check("07.3", answer)
    assert hint(text) and says in text
