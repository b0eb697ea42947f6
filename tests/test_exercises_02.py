"""Lesson 02's exercise checks (kubelearn.exercises.lesson02): each solved, each unsolved and
wrong answer answered with a hint that holds no answer, garbage answered in words; and the
lesson's committed outputs show the unsolved state, with a "Next" link to a lesson that exists."""

from __future__ import annotations

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.exercises import lesson02

LESSON = NOTEBOOKS / "02_raft.ipynb"


def _stub(match):
    ...


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    shown = committed(LESSON)
    assert shown == {"02.1": repr(exercises.check("02.1", None)),
                     "02.2": repr(exercises.check("02.2", _stub))}
    assert all(CORRECT not in text for text in shown.values())
    links = next_links(LESSON)
    assert links == ["03_api_server.ipynb"] and (LESSON.parent / links[0]).exists()


# -- 02.1 ------------------------------------------------------------------------------------------

def test_02_1_reads_the_answer_off_a_simulated_group():
    # 5 members, 2 crashed, etcd-1 cut off: 1 + 2 on either side, a quorum of 5 is 3
    assert lesson02.committing_members_02_1() == frozenset()


@pytest.mark.parametrize("answer", [set(), [], (), frozenset()])
def test_02_1_accepts_no_member(answer):
    assert exercises.check("02.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ({"etcd-2", "etcd-3"}, "a majority of the configured members"),
    ({"etcd-1"}, "compare with the quorum of a 5-member group"),
    ({"etcd-2", "etcd-4"}, "etcd-4 crashed"),
])
def test_02_1_hints_at_the_rule_not_the_answer(answer, says):
    text = exercises.check("02.1", answer)
    assert hint(text) and says in text and "set()" not in text and "none" not in text.lower()


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"), ("etcd-2", "Give a set of member names"),
    (3, "Give a set of member names"), ({"etcd-9"}, "etcd-9 is not one"),
    ({2}, "2 is not one"),
])
def test_02_1_answers_garbage_in_words(answer, says):
    text = exercises.check("02.1", answer)
    assert hint(text) and says in text


# -- 02.2 ------------------------------------------------------------------------------------------

def commit_index(match):
    return sorted(match, reverse=True)[len(match) // 2]


def largest(match):   # as if the leader's own log were enough
    return max(match)


def median_ascending(match):   # right for odd sizes, one too high for even ones
    return sorted(match)[len(match) // 2]


def smallest(match):   # waits for every member: safe, but not what Raft commits
    return min(match)


def test_02_2_the_rule_is_the_quorum_th_largest_index():
    assert lesson02.majority_index((7, 5, 3)) == 5
    assert lesson02.majority_index((12, 10, 8, 3, 1)) == 8
    assert lesson02.majority_index((7, 5, 3, 1)) == 3


@pytest.mark.parametrize("fn", [commit_index, lambda m: sorted(m)[(len(m) - 1) // 2]])
def test_02_2_accepts_the_rule(fn):
    assert exercises.check("02.2", fn) == CORRECT


@pytest.mark.parametrize("fn, says", [
    (largest, "for [7, 5, 3] your function answered 7, which 1 of 3 members hold"),
    (median_ascending, "for [7, 5, 3, 1] your function answered 5, which 2 of 4 members hold"),
    (smallest, "for [7, 5, 3] your function answered 3, which 3 of 3 members hold"),
])
def test_02_2_says_where_it_went_wrong_without_the_index(fn, says):
    text = exercises.check("02.2", fn)
    assert hint(text) and says in text


@pytest.mark.parametrize("fn, says", [
    (None, "Write commit_index"), ("commit_index", "Give the function itself"),
    (_stub, "returned None"), (lambda m: "x", "return a log index"),
    (lambda m: 1 / 0, "ZeroDivisionError"),
    (lambda: 1, "raised TypeError"), (lambda m: 2.5, "return a log index"),
])
def test_02_2_answers_garbage_in_words(fn, says):
    text = exercises.check("02.2", fn)
    assert says in text
    assert text == CORRECT or hint(text)
