"""Lesson 03's exercise checks (kubelearn.exercises.lesson03): RBAC for ci-bot, and the stage
that rejects a bad name. Solved, unsolved, wrong and garbage answers; the committed outputs."""

from __future__ import annotations

import pytest
from exercises_testing import CORRECT, NOTEBOOKS, committed, hint, next_links

from kubelearn import exercises
from kubelearn.apiserver import STAGES
from kubelearn.exercises import lesson03

LESSON = NOTEBOOKS / "03_api_server.ipynb"

ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: deployer, namespace: default}}
rules:
- apiGroups: [{group}]
  resources: [{resources}]
  verbs: [{verbs}]
"""
BINDING = """
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata: {{name: ci-bot-deploys, namespace: default}}
subjects: [{{kind: User, name: {user}, apiGroup: rbac.authorization.k8s.io}}]
roleRef: {{kind: {role_kind}, name: {role}, apiGroup: rbac.authorization.k8s.io}}
"""


def rbac(group="apps", resources="deployments", verbs="create, delete", user="ci-bot",
         kind="RoleBinding", role_kind="Role", role="deployer") -> str:
    return (ROLE.format(group=group, resources=resources, verbs=verbs) + "---"
            + BINDING.format(kind=kind, user=user, role_kind=role_kind, role=role))


def test_the_lesson_commits_the_unsolved_state_and_links_a_lesson_that_exists():
    assert committed(LESSON) == {"03.1": repr(exercises.check("03.1", None)),
                                 "03.2": repr(exercises.check("03.2", None))}
    links = next_links(LESSON)
    assert links == ["04_scheduler.ipynb"] and (LESSON.parent / links[0]).exists()


def test_03_1_accepts_a_role_and_binding():
    assert exercises.check("03.1", rbac()) == CORRECT


@pytest.mark.parametrize("answer, says", [
    (rbac(group='""'), "cannot create or delete deployments"),
    (rbac(resources="deployment"), "cannot create or delete deployments"),
    (rbac(verbs="create"), "cannot delete deployments"),
    (rbac(user="ci_bot"), "does the RoleBinding name the user ci-bot"),
    (rbac(verbs='"*"'), "Too much: ci-bot can also update deployments"),
    (rbac(resources="deployments, replicasets"), "can also create replicasets"),
    (rbac(resources='"*"', group='"*"', verbs="create, delete"), "can also delete pods"),
    (ROLE.format(group="apps", resources="deployments", verbs="create, delete")
     .replace("kind: Role", "kind: ClusterRole").replace("namespace: default", "")
     + "---" + BINDING.format(kind="ClusterRoleBinding", user="ci-bot", role_kind="ClusterRole",
                              role="deployer").replace("namespace: default", ""),
     "can also create deployments in kube-system"),
])
def test_03_1_says_what_is_missing_or_too_much(answer, says):
    text = exercises.check("03.1", answer)
    assert hint(text) and says in text


@pytest.mark.parametrize("answer, says", [
    (None, "Write your Role and RoleBinding in answer_1 first"),
    ("# your Role and RoleBinding here\n", "Write your Role and RoleBinding in answer_1 first"),
    (42, "as YAML text"),
    ("kind: [", "Applying it failed"),
    ("apiVersion: v1\nkind: Foo\nmetadata: {name: x}", "no matches for kind"),
    (rbac().replace("verbs: [create, delete]", "verbs: create"), "Applying it failed"),
])
def test_03_1_answers_garbage_in_words(answer, says):
    text = exercises.check("03.1", answer)
    assert hint(text) and says in text


def test_03_2_reads_the_stage_from_the_audit_log():
    assert lesson03._rejecting_stage() == "validation"


@pytest.mark.parametrize("answer", ["validation", " Validation "])
def test_03_2_accepts_the_stage(answer):
    assert exercises.check("03.2", answer) == CORRECT


@pytest.mark.parametrize("stage", [s for s in STAGES if s != "validation"])
def test_03_2_hints_without_naming_the_stage(stage):
    text = exercises.check("03.2", stage)
    assert hint(text) and "validation" not in text
    assert ("gets through that stage" in text) == (STAGES.index(stage) < STAGES.index("validation"))


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_2 first"), ("admission", "Give one of the stages"),
    (4, "Give one of the stages"), (["validation"], "Give one of the stages"),
])
def test_03_2_answers_garbage_in_words(answer, says):
    text = exercises.check("03.2", answer)
    assert hint(text) and says in text
