"""Lesson 05's exercise checks (kubelearn.exercises.lesson05): a clean exit under
restartPolicy Always, a crash loop's restarts, and a stop that takes the whole grace period.
Solved, unsolved, wrong, garbage."""

from __future__ import annotations

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.exercises import lesson05

LESSON = NOTEBOOKS / "05_kubelet.ipynb"


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    assert committed(LESSON) == {key: repr(exercises.check(key, None))
                                 for key in ("05.1", "05.2", "05.3")}
    links = next_links(LESSON)
    assert links == ["06_controllers.ipynb"] and (LESSON.parent / links[0]).exists()


def test_05_1_a_clean_exit_is_restarted_into_a_crash_loop():
    assert lesson05._pod_row(lesson05.BATCH_05_1, "batch", 300)[0] == "CrashLoopBackOff"


@pytest.mark.parametrize("answer", ["CrashLoopBackOff", " CrashLoopBackOff\n"])
def test_05_1_accepts_the_status(answer):
    assert exercises.check("05.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ("Completed", "restartPolicy Always restarts even a clean exit"),
    ("crashloopbackoff", "CamelCase"),
    ("Running", "run the cluster for 5 minutes"), ("Succeeded", "run the cluster"),
])
def test_05_1_hints_without_the_answer(answer, says):
    text = exercises.check("05.1", answer)
    assert hint(text) and says in text and "CrashLoopBackOff" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"), ("", "Give the STATUS as a string"),
    (0, "Give the STATUS as a string"), (["Running"], "Give the STATUS as a string"),
])
def test_05_1_answers_garbage_in_words(answer, says):
    text = exercises.check("05.1", answer)
    assert hint(text) and says in text


def _expected_restarts(crash_after: float = 30, until: float = 600) -> int:
    """From kubelet's back-off: the first restart at once, then 10 s doubling to 300 s
    (kubelet.go containerBackOffPeriod, MaxContainerBackOff), each start running
    ``crash_after`` s; the first start after the image pull (a few seconds)."""
    t, wait, restarts = 3.0 + crash_after, 0.0, 0
    while t + wait <= until:
        t += wait + crash_after
        restarts += 1
        wait = min(max(wait * 2, 10.0), 300.0)
    return restarts


def test_05_2_counts_what_the_back_off_predicts():
    assert lesson05._restarts_05_2() == _expected_restarts() == 6


@pytest.mark.parametrize("answer", [6, "6", 6.0])
def test_05_2_accepts_the_count(answer):
    assert exercises.check("05.2", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (7, "fewer than that"), (19, "fewer than that"),   # 600 / 30 - 1: no back-off at all
    (5, "more than that"), (0, "more than that"), (-1, "can't be negative"),
])
def test_05_2_hints_without_the_answer(answer, says):
    text = exercises.check("05.2", answer)
    assert hint(text) and says in text and "6" not in text.replace("600", "")


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_2 first"), ("six", "whole number"),
    (6.5, "whole number"), ([6], "whole number"), (float("inf"), "whole number"),
])
def test_05_2_answers_garbage_in_words(answer, says):
    text = exercises.check("05.2", answer)
    assert hint(text) and says in text


def _expected_stop(hook: float = 20, grace: float = 25) -> tuple[float, int]:
    """The kubelet's killContainer: the hook runs inside the grace period (upstream subtracts
    its whole seconds, leaving at least 2 s, minimumGracePeriodInSeconds); an app that
    ignores its stop signal is SIGKILLed when that is up: exit code 128 + 9."""
    return hook + max(grace - hook, 2), 128 + 9


def test_05_3_the_stop_takes_what_the_grace_period_allows():
    assert lesson05._stop_05_3() == _expected_stop(lesson05.PRESTOP_05_3,
                                                   lesson05.GRACE_05_3) == (25, 137)


@pytest.mark.parametrize("answer", [(25, 137), [25.0, "137"], ("25", 137)])
def test_05_3_accepts_the_time_and_code(answer):
    assert exercises.check("05.3", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ((45, 137), "counted from the delete"), ((20, 137), "ignores it"),
    ((30, 137), "sets its own terminationGracePeriodSeconds"), ((12, 137), "the time is off"),
    ((25, 0), "0 or 143"), ((25, 143), "0 or 143"), ((25, 9), "128 + the signal's number"),
])
def test_05_3_hints_without_the_answer(answer, says):
    text = exercises.check("05.3", answer)
    assert hint(text) and says in text and "137" not in text and "25" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_3 first"), ("25, 137", "Give two numbers"),
    ((25,), "Give two numbers"), ((25, 1.5), "Give two numbers"), ({1: 2, 3: 4}, "two numbers"),
    ((float("nan"), 137), "Give two numbers"),
])
def test_05_3_answers_garbage_in_words(answer, says):
    text = exercises.check("05.3", answer)
    assert hint(text) and says in text
