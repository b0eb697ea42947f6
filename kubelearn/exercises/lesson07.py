"""Lesson 07 (Deployments)'s exercises.

- ``07.1``: at most how many pods, and at least how many available, during a
  rollout of :data:`REPLICAS_07_1` replicas with the default strategy;
- ``07.2``: ``(maxSurge, maxUnavailable)`` as counts so that a rollout of
  :data:`REPLICAS_07_2` replicas never has more than 4 pods nor fewer than
  :data:`MIN_AVAILABLE_07_2` available;
- ``07.3``: which of the changes :data:`CHANGES_07_3` make the Deployment create a
  new ReplicaSet, as a set of letters.

Each check runs the rollouts (:func:`kubelearn.viz.rollout.simulate_rollout`) or
the changes on fresh clusters and reads what the ReplicaSets did.
"""

from __future__ import annotations

import functools
from typing import Any

from kubelearn.exercises import CORRECT, exercise, number

# -- 07.1: the fenceposts of a rollout of 20 -------------------------------------------------------

REPLICAS_07_1 = 20


@functools.cache
def _fenceposts(replicas: int, max_surge: int | str = "25%",
                max_unavailable: int | str = "25%") -> tuple[int, int, str]:
    """(pods at most, available at least, outcome) of the lesson's rollout."""
    from kubelearn.viz import rollout

    cluster = rollout.simulate_rollout(replicas=replicas, max_surge=max_surge,
                                       max_unavailable=max_unavailable)
    row = rollout.rollouts(cluster, "web").iloc[-1]
    return int(row.max_pods), int(row.min_available), str(row.outcome)


def _two_counts(answer: Any) -> tuple[int, int] | None:
    """Two whole numbers from a tuple or list, else None."""
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        return None
    values = [number(value) for value in answer]
    if len(values) != 2 or any(v is None or v.denominator != 1 for v in values):
        return None
    return int(values[0]), int(values[1])  # type: ignore[arg-type]


@exercise("07.1")
def _check_fenceposts(answer: Any) -> str:
    if answer is None:
        return "Write your answer in answer_1 first: (pods at most, available at least)."
    given = _two_counts(answer)
    if given is None:
        return "Give two whole numbers in a tuple: (pods at most, available at least)."
    most, least = given
    right_most, right_least, _ = _fenceposts(REPLICAS_07_1)
    if (most, least) == (right_most, right_least):
        return CORRECT
    if (least, most) == (right_most, right_least):
        return "Nearly: the right numbers, the other way round: (pods at most, available at least)."
    wrong = []
    if most != right_most:
        wrong.append("pods at most: maxSurge is 25% of the replicas, rounded up, on top of them")
    if least != right_least:
        wrong.append("available at least: maxUnavailable is 25% of the replicas, rounded down, "
                     "below them")
    return f"Not yet: {'; '.join(wrong)}."


# -- 07.2: a rollout with no room to spare ---------------------------------------------------------

REPLICAS_07_2 = 4
MAX_PODS_07_2 = 4
MIN_AVAILABLE_07_2 = 3


@exercise("07.2")
def _check_no_room(answer: Any) -> str:
    from kubelearn.api.errors import StatusError

    if answer is None:
        return "Write your answer in answer_2 first: (maxSurge, maxUnavailable), two counts."
    given = _two_counts(answer)
    if given is None:
        return "Give two whole numbers in a tuple: (maxSurge, maxUnavailable)."
    surge, unavailable = given
    if surge < 0 or unavailable < 0:
        return "Not yet: maxSurge and maxUnavailable are counts of pods, 0 or more."
    if surge > 100 or unavailable > 100:
        return f"Not yet: a Deployment of {REPLICAS_07_2} needs no more than {REPLICAS_07_2}."
    try:
        most, least, outcome = _fenceposts(REPLICAS_07_2, surge, unavailable)
    except StatusError as err:
        return (f"The API server refused that strategy ({err.message}). Nothing rolled out: "
                "choose other values.")
    if outcome != "complete":
        return (f"Not yet: with those values the rollout never finished ({outcome}). Can it "
                "move at all if neither value lets it?")
    if most > MAX_PODS_07_2:
        return (f"Not yet: that rollout had {most} pods at one moment; the cluster has room "
                f"for {MAX_PODS_07_2}. Which value lets it go above the replicas?")
    if least < MIN_AVAILABLE_07_2:
        return (f"Not yet: that rollout had only {least} available at one moment; you need "
                f"{MIN_AVAILABLE_07_2}. Which value lets it go below the replicas?")
    return CORRECT


# -- 07.3: what makes a rollout --------------------------------------------------------------------

# letter: (what changes, a patch of the Deployment, or a ConfigMap change, or a restart)
CHANGES_07_3 = {
    "a": "replicas: 10 -> 5",
    "b": "a new image",
    "c": "a new label under .spec.template.metadata.labels",
    "d": "a new label on the Deployment itself (.metadata.labels)",
    "e": "a change to a ConfigMap the pods read",
    "f": "rollout_restart",
}
_PATCHES_07_3 = {
    "a": {"spec": {"replicas": 5}},
    "b": {"spec": {"template": {"spec": {"containers": [{"name": "web",
                                                         "image": "nginx:1.28"}]}}}},
    "c": {"spec": {"template": {"metadata": {"labels": {"tier": "front"}}}}},
    "d": {"metadata": {"labels": {"team": "blue"}}},
}


@functools.cache
def _makes_replicaset(letter: str) -> bool:
    """Whether the change ``letter`` gives a fresh Deployment a second ReplicaSet."""
    from kubelearn.cluster import Cluster
    from kubelearn.viz import rollout

    cluster = Cluster(seed=0, nodes=1)
    manifest = rollout.deployment_manifest(replicas=10)
    manifest["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"configMapRef": {"name": "web-config"}}]
    cluster.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"},
                    "data": {"GREETING": "hello"}}, manifest])
    cluster.run(20)
    if letter == "e":
        cluster.admin.patch("configmaps", "web-config", {"data": {"GREETING": "bonjour"}})
    elif letter == "f":
        cluster.rollout_restart("web")
    else:
        cluster.admin.patch("deployments", "web", _PATCHES_07_3[letter])
    cluster.run(20)
    return len(cluster.get("replicasets")) > 1


@exercise("07.3")
def _check_new_replicaset(letters: Any) -> str:
    if letters is None:
        return 'Write your answer in answer_3 first: a set of letters, like {"a", "b"}.'
    if isinstance(letters, str) or not isinstance(letters, (set, frozenset, list, tuple)):
        return f'Give a set of letters, like {{"a", "b"}}, not {letters!r}.'
    given = {str(letter).strip().lower() for letter in letters}
    unknown = sorted(given - set(CHANGES_07_3))
    if unknown:
        return f"There is no change {unknown[0]!r}: the letters are a to f."
    right = {letter for letter in CHANGES_07_3 if _makes_replicaset(letter)}
    if given == right:
        return CORRECT
    extra, missing = given - right, right - given
    parts = []
    if extra:
        parts.append(f"{len(extra)} of yours {'does' if len(extra) == 1 else 'do'} not")
    if missing:
        parts.append(f"{len(missing)} more {'does' if len(missing) == 1 else 'do'}")
    return (f"Not yet: {' and '.join(parts)}. A new ReplicaSet comes from a new pod template: "
            "which of them change .spec.template?")
