"""Lesson 04's exercise checks (kubelearn.exercises.lesson04): where a pod would go, and a
Score plugin that prefers SSD nodes. Solved, unsolved, wrong and garbage answers."""

from __future__ import annotations

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.exercises import lesson04
from kubelearn.scheduler import ScorePlugin

LESSON = NOTEBOOKS / "04_scheduler.ipynb"


def ssd(node_info) -> bool:
    return node_info.node["metadata"].get("labels", {}).get("disktype") == "ssd"


class PreferSSD(ScorePlugin):
    name = "PreferSSD"

    def score(self, state, pod, node_info):
        return 100 if ssd(node_info) else 0


class Placeholder(ScorePlugin):   # the lesson's unsolved cell
    name = "PreferSSD"

    def score(self, state, pod, node_info):
        return 0


class Backwards(ScorePlugin):
    name = "PreferSSD"

    def score(self, state, pod, node_info):
        return 0 if ssd(node_info) else 100


class Timid(ScorePlugin):   # prefers the ssd node, too weakly to outweigh spreading
    name = "PreferSSD"

    def score(self, state, pod, node_info):
        return 2 if ssd(node_info) else 0


class Raises(ScorePlugin):
    name = "PreferSSD"

    def score(self, state, pod, node_info):
        return node_info.node["metadata"]["labels"]["disktype"] == "ssd"   # KeyError


class TooHigh(ScorePlugin):
    name = "PreferSSD"

    def score(self, state, pod, node_info):
        return 1000 if ssd(node_info) else 0


class Nameless(ScorePlugin):
    def score(self, state, pod, node_info):
        return 100 if ssd(node_info) else 0


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    assert committed(LESSON) == {"04.1": repr(exercises.check("04.1", None)),
                                 "04.2": repr(exercises.check("04.2", Placeholder))}
    links = next_links(LESSON)
    assert links == ["05_kubelet.ipynb"] and (LESSON.parent / links[0]).exists()


# -- 04.1 ------------------------------------------------------------------------------------------

def test_04_1_starts_from_four_nodes_two_of_them_busy():
    cluster = exercises.setup("04.1")
    pods = cluster.get("pods", wide=True)
    assert dict(zip(pods.NAME, pods.NODE, strict=True)) == {"batch": "large", "db": "xlarge"}
    assert set(pods.STATUS) == {"Running"}


def test_04_1_the_answer_is_read_off_explain():
    table = lesson04._explained_04_1()
    # small has 2 CPUs, large 2 left after batch's 6: neither fits cpu 3; xlarge fits but
    # scores lower than medium (10 of its 16 CPUs and 20 of 32 Gi already requested)
    assert set(table.index[~table.feasible]) == {"small", "large"}
    assert table.index[table.chosen].tolist() == ["medium"]


@pytest.mark.parametrize("answer", [("medium", {"small", "large"}), ["medium", ["large", "small"]],
                                    ("medium", frozenset({"small", "large"}))])
def test_04_1_accepts_the_placement(answer):
    assert exercises.check("04.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (("xlarge", {"small", "large"}), "another node ranks higher"),
    (("large", {"small", "large"}), "cannot take the pod at all"),
    (("medium", {"small"}), "read the feasible column"),
    (("large", {"small"}), "read the feasible column"),   # usage, not requests
    (("medium", set()), "read the feasible column"),
])
def test_04_1_hints_without_the_answer(answer, says):
    text = exercises.check("04.1", answer)
    assert hint(text) and says in text and "medium" not in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"), ("medium", "Give two things in a tuple"),
    (("medium", "small"), "The second part is a set"), (("node-1", set()), "no node 'node-1'"),
    (("medium", {"small", 3}), "no node '3'"), ((1, 2, 3), "Give two things"),
])
def test_04_1_answers_garbage_in_words(answer, says):
    text = exercises.check("04.1", answer)
    assert hint(text) and says in text


# -- 04.2 ------------------------------------------------------------------------------------------

def test_04_2_accepts_a_plugin_that_sends_pods_to_the_ssd_node():
    assert exercises.check("04.2", PreferSSD) == CORRECT


@pytest.mark.parametrize("plugin, says", [
    (Placeholder, "should score highest, but your plugin gives it 0 and the others 0, 0"),
    (Backwards, "should score highest"),
    (Timid, "the other plugins outweighed it"),
    (Raises, "Your plugin raised FrameworkError"),
    (TooHigh, "returns an invalid score 1000"),
    (Nameless, "Give your plugin a name"),
])
def test_04_2_says_what_the_plugin_did(plugin, says):
    text = exercises.check("04.2", plugin)
    assert hint(text) and says in text


@pytest.mark.parametrize("plugin, says", [
    (None, "Write your plugin class first"), (PreferSSD(), "Give the class itself"),
    ("PreferSSD", "Give the class itself"), (int, "Give the class itself"),
])
def test_04_2_answers_garbage_in_words(plugin, says):
    text = exercises.check("04.2", plugin)
    assert hint(text) and says in text
