"""Lesson 01's exercise checks (kubelearn.exercises.lesson01): each solved, each unsolved and
wrong answer answered with a hint that holds no answer, garbage answered in words; and the
lesson's committed outputs show the unsolved state, with a "Next" link to a lesson that exists."""

from __future__ import annotations

import json

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.etcd import Compare, Op
from kubelearn.exercises import lesson01

LESSON = NOTEBOOKS / "01_etcd.ipynb"


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    shown = committed(LESSON)
    assert shown == {"01.1": repr(exercises.check("01.1", None)),
                     "01.2": repr(exercises.check("01.2", _stub)),
                     "01.3": repr(exercises.check("01.3", None))}
    assert all(CORRECT not in text for text in shown.values())
    links = next_links(LESSON)
    assert links == ["02_raft.ipynb"] and (LESSON.parent / links[0]).exists()


def _stub(etcd, key, change):
    ...


# -- 01.1 ------------------------------------------------------------------------------------------

def test_01_1_reads_the_counters_off_a_store():
    # a fresh store is at 1; 8 writes; the delete at 6 ends a; the put at 7 creates it anew
    assert lesson01._counters_01_1() == (7, 9, 2)


@pytest.mark.parametrize("answer", [(7, 9, 2), [7, 9, 2], ("7", "9", "2"), (7.0, 9, 2)])
def test_01_1_accepts_the_counters(answer):
    assert exercises.check("01.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ((2, 9, 5), "A delete ends a key's life"),          # as if the delete changed nothing
    ((7, 8, 2), "every write, a delete or a write to another key too"),
    ((7, 9, 1), "version is off"),
    ((6, 8, 2), "create_revision and mod_revision are off"),
])
def test_01_1_hints_at_the_rule_not_the_numbers(answer, says):
    text = exercises.check("01.1", answer)
    assert hint(text) and says in text
    assert "7" not in text and "9" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"), ("7 9 2", "Give three numbers"),
    (7, "Give three numbers"), ((7, 9), "yours has 2 entries"), ((7, "x", 2), "whole numbers"),
    ((7.5, 9, 2), "whole numbers"), ({"a": 1}, "Give three numbers"),
])
def test_01_1_answers_garbage_in_words(answer, says):
    text = exercises.check("01.1", answer)
    assert hint(text) and says in text


# -- 01.2 ------------------------------------------------------------------------------------------

def retry_update(etcd, key, change):
    while True:
        read = etcd.get(key)
        obj = json.loads(read.value)
        change(obj)
        answer = etcd.txn(compare=[Compare.mod_revision(key) == read.mod_revision],
                          success=[Op.put(key, json.dumps(obj))])
        if answer.succeeded:
            return answer.revision


def blind_write(etcd, key, change):   # read, change, put: overwrites the racing writer
    obj = json.loads(etcd.get(key).value)
    change(obj)
    return etcd.put(key, json.dumps(obj)).revision


def one_try(etcd, key, change):   # a compare but no retry
    read = etcd.get(key)
    obj = json.loads(read.value)
    change(obj)
    return etcd.txn(compare=[Compare.mod_revision(key) == read.mod_revision],
                    success=[Op.put(key, json.dumps(obj))]).revision


def stale_retry(etcd, key, change):   # retries with the first read's revision forever
    read = etcd.get(key)
    obj = json.loads(read.value)
    change(obj)
    while not etcd.txn(compare=[Compare.mod_revision(key) == read.mod_revision],
                       success=[Op.put(key, json.dumps(obj))]).succeeded:
        pass


def returns_nothing(etcd, key, change):
    retry_update(etcd, key, change)


def test_01_2_accepts_a_retry_loop():
    assert exercises.check("01.2", retry_update) == CORRECT


@pytest.mark.parametrize("fn, says", [
    (_stub, "never read the key"),
    (blind_write, "your write undid its change"),
    (one_try, "your change did not land"),
    (stale_retry, "read the key again"),
    (returns_nothing, "return the revision your write made"),
])
def test_01_2_says_what_went_wrong(fn, says):
    text = exercises.check("01.2", fn)
    assert hint(text) and says in text


@pytest.mark.parametrize("fn, says", [
    (None, "Write retry_update"), ("retry_update", "Give the function itself"),
    (lambda etcd, key, change: 1 / 0, "raised ZeroDivisionError"),
    (lambda: None, "raised TypeError"),
])
def test_01_2_answers_garbage_in_words(fn, says):
    text = exercises.check("01.2", fn)
    assert hint(text) and says in text


# -- 01.3 ------------------------------------------------------------------------------------------

def test_01_3_a_keepalive_must_come_before_the_ttl_runs_out():
    assert lesson01.survives(9.9) and not lesson01.survives(10)


@pytest.mark.parametrize("answer", [9, "9", 9.0])
def test_01_3_accepts_the_slowest_whole_second(answer):
    assert exercises.check("01.3", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (10, "the key is gone before 60 s"), (12, "the key is gone"), (600, "the key is gone"),
    (5, "a slower renewal would too"), (8, "a slower renewal would too"),
])
def test_01_3_hints_without_the_answer(answer, says):
    text = exercises.check("01.3", answer)
    assert hint(text) and says in text and "9" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_3 first"), ("soon", "whole number"),
    (9.5, "whole number"), (0, "at least 1 second"), (-3, "at least 1 second"),
    (float("nan"), "whole number"), (10**30, "the key is gone"),
])
def test_01_3_answers_garbage_in_words(answer, says):
    text = exercises.check("01.3", answer)
    assert hint(text) and says in text
