"""Lesson 00's checks: solved, unsolved, wrong in plausible ways, and garbage."""

import pytest

import kubelearn as kl
from kubelearn import exercises
from kubelearn.exercises import CORRECT, lesson00
from kubelearn.exercises.lesson00 import COMPOSE, REPLICAS_00_2


def test_00_1_solved():
    cluster = _lesson_cluster()
    binds = ((cluster.api.audit()["user"] == "system:kube-scheduler")
             & (cluster.api.audit()["resource"] == "pods/binding")).sum()
    assert binds == 3  # web's two pods and redis's one: one binding each
    assert exercises.check("00.1", int(binds)) == CORRECT


EVERY, BINDS, _ = lesson00._lesson_counts()  # read off a run, as the check does


@pytest.mark.parametrize(("answer", "hint"), [
    (None, "Write your answer in answer_1 first"),
    (EVERY, "every request the scheduler sent"),
    (EVERY - BINDS, "binding is a subresource"),
    (-1, "binding is a subresource"),
    (2, "Did you count only web's?"),
    (50, "one kind of request there binds"),
])
def test_00_1_wrong_answers_get_a_hint_not_the_answer(answer, hint):
    reply = exercises.check("00.1", answer)
    assert reply != CORRECT and hint in reply
    assert "3" not in reply


@pytest.mark.parametrize("garbage", ["3", 2.5, True, [3], {"a": 1}, b"x", object()])
def test_00_1_never_raises_on_garbage(garbage):
    assert exercises.check("00.1", garbage) != CORRECT


def _lesson_cluster():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(kl.compose.convert(COMPOSE))
    cluster.run(30)
    traffic = cluster.traffic(to="web", rate=10)
    cluster.run(2)
    traffic.stop()
    return cluster


def _compose_cluster():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(kl.compose.convert(COMPOSE))
    cluster.run(30)
    return cluster


def test_00_2_solved():
    cluster = _compose_cluster()
    cluster.admin.scale("deployments", "web", REPLICAS_00_2)
    cluster.run(10)
    assert exercises.check("00.2", cluster) == CORRECT


def test_00_2_unsolved_state_as_the_lesson_leaves_it():
    reply = exercises.check("00.2", _compose_cluster())
    assert reply.startswith("Not yet: the Deployment web asks for 2 replicas")


def test_00_2_scaled_but_not_run_yet():
    cluster = _compose_cluster()
    cluster.admin.scale("deployments", "web", REPLICAS_00_2)
    reply = exercises.check("00.2", cluster)
    assert reply.startswith("Nearly") and "run the cluster" in reply


def test_00_2_too_many():
    cluster = _compose_cluster()
    cluster.admin.scale("deployments", "web", 4)
    cluster.run(10)
    assert "asks for 4 replicas" in exercises.check("00.2", cluster)


def test_00_2_empty_cluster_and_garbage():
    assert "no Deployment web" in exercises.check("00.2", kl.Cluster(seed=0))
    assert "Pass your cluster" in exercises.check("00.2", None)
    for garbage in (3, "cluster", [], {"spec": {}}):
        assert "Pass the cluster itself" in exercises.check("00.2", garbage)


def test_00_2_checking_sends_no_request():
    cluster = _compose_cluster()
    rows = len(cluster.api.audit_log)
    exercises.check("00.2", cluster)
    assert len(cluster.api.audit_log) == rows
