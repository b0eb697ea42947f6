"""Lesson 03 (the API server)'s exercises.

- ``03.1``: a Role and a RoleBinding (YAML, or a list of objects) that let the
  user ``ci-bot`` create and delete Deployments in ``default``, and nothing else;
- ``03.2``: the stage (one of :data:`kubelearn.apiserver.STAGES`) that rejects a
  pod named :data:`BAD_NAME_03_2`.

The checks ask a fresh cluster's API server: 03.1 applies the learner's RBAC and
asks ``can_i``, 03.2 sends the pod and reads the stage from the audit log.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from kubelearn.exercises import CORRECT, exercise

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.cluster import Cluster

# -- 03.1: RBAC for ci-bot -------------------------------------------------------------------------

USER_03_1 = "ci-bot"
NAMESPACE_03_1 = "default"
# (verb, resource, group) ci-bot must be allowed in default
WANTED_03_1 = (("create", "deployments", "apps"), ("delete", "deployments", "apps"))
# what it must not be allowed: other verbs on deployments, other resources, other namespaces
TOO_MUCH_03_1 = (("get", "secrets", "", NAMESPACE_03_1), ("delete", "pods", "", NAMESPACE_03_1),
                 ("create", "pods", "", NAMESPACE_03_1),
                 ("update", "deployments", "apps", NAMESPACE_03_1),
                 ("get", "deployments", "apps", NAMESPACE_03_1),
                 ("create", "replicasets", "apps", NAMESPACE_03_1),
                 ("create", "deployments", "apps", "kube-system"),
                 ("delete", "deployments", "apps", "kube-system"))


def _cluster_with(rbac: Any) -> Cluster:
    """A fresh cluster with the learner's objects applied (raises the API server's error)."""
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=0, nodes=1)
    cluster.apply(rbac)
    return cluster


@exercise("03.1")
def _check_rbac(rbac: Any) -> str:
    from kubelearn.api.errors import StatusError
    from kubelearn.apiserver.authn import UserInfo

    if rbac is None or (isinstance(rbac, str) and not _has_objects(rbac)):
        return ("Write your Role and RoleBinding in answer_1 first: YAML, two documents "
                "separated by a line with ---.")
    if not isinstance(rbac, (str, dict, list)):
        return ("Give the Role and RoleBinding as YAML text (a string), not a "
                f"{type(rbac).__name__}.")
    try:
        cluster = _cluster_with(rbac)
    except StatusError as err:
        return f"Applying it failed: {err}. Fix the YAML and check again."
    except Exception as err:  # a manifest the reader cannot take (not YAML, not objects)
        return f"That could not be applied ({type(err).__name__}: {err}). Check the YAML."
    bot = UserInfo(USER_03_1)

    def can(verb: str, resource: str, group: str, namespace: str = NAMESPACE_03_1) -> bool:
        return cluster.api.can_i(bot, verb, resource, namespace=namespace, group=group)

    missing = [verb for verb, resource, group in WANTED_03_1 if not can(verb, resource, group)]
    if missing:
        return (f"Not yet: ci-bot cannot {' or '.join(missing)} deployments in default. Does the "
                "Role's rule name the API group apps and the resource deployments (plural, "
                "lower case), and does the RoleBinding name the user ci-bot and your Role?")
    for verb, resource, group, namespace in TOO_MUCH_03_1:
        if can(verb, resource, group, namespace):
            where = "" if namespace == NAMESPACE_03_1 else f" in {namespace}"
            return (f"Too much: ci-bot can also {verb} {resource}{where}. Grant only the two "
                    "verbs, on deployments only, in default only.")
    return CORRECT


def _has_objects(text: str) -> bool:
    """Whether YAML text has anything but comments and blank lines."""
    lines = (line.strip() for line in text.splitlines())
    return any(line and not line.startswith("#") and line != "---" for line in lines)


# -- 03.2: the stage that rejects a bad name -------------------------------------------------------

BAD_NAME_03_2 = "My_Pod"


@functools.cache
def _rejecting_stage() -> str:
    """The stage the audit log records for creating a pod named :data:`BAD_NAME_03_2`."""
    from kubelearn.api.errors import StatusError
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=0, nodes=1)
    try:
        cluster.admin.create({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"name": BAD_NAME_03_2},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    except StatusError:
        pass
    return str(cluster.audit().iloc[-1]["stage"])


@exercise("03.2")
def _check_stage(stage: Any) -> str:
    from kubelearn.apiserver import STAGES

    if stage is None:
        return "Write your answer in answer_2 first: the name of a stage, a string."
    if not isinstance(stage, str) or stage.strip().lower() not in STAGES:
        return f"Give one of the stages, as a string: {', '.join(map(repr, STAGES))}."
    if stage.strip().lower() == _rejecting_stage():
        return CORRECT
    mine, right = STAGES.index(stage.strip().lower()), STAGES.index(_rejecting_stage())
    if mine < right:
        return ("Not yet: the request gets through that stage. The admin may do anything, and "
                "the body decodes. Send it with attempt and read the stage in cluster.audit().")
    return ("Not yet: the request never gets that far. Send it with attempt and read its row's "
            "stage in cluster.audit().")
