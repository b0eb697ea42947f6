"""Lesson 04 (the scheduler)'s exercises.

- ``04.1``: in the cluster ``setup("04.1")``, which node the scheduler would
  choose for :data:`POD_04_1` (``cpu: 3``, ``memory: 1Gi``) and which nodes could
  not take it, as ``(chosen, {rejected, ...})``;
- ``04.2``: a Score plugin (the class) that sends pods to the nodes labelled
  ``disktype: ssd``; the check enables it with weight :data:`WEIGHT_04_2` in a
  cluster where one node of three has that label, creates pods and sees where
  they land.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from kubelearn.exercises import CORRECT, exercise, starts_from

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kubelearn.cluster import Cluster

# -- 04.1: where would it go? ----------------------------------------------------------------------

POD_04_1 = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": {
                "requests": {"cpu": "3", "memory": "1Gi"}}}]}}
# (node, cpu, memory) of the exercise's nodes, and what already runs there
NODES_04_1 = (("small", "2", "4Gi"), ("medium", "4", "8Gi"), ("large", "8", "16Gi"),
              ("xlarge", "16", "32Gi"))
RUNNING_04_1 = (("batch", "large", "6", "2Gi"), ("db", "xlarge", "10", "20Gi"))


@starts_from("04.1")
def _four_nodes() -> Cluster:
    """Four nodes of different sizes; two of them already run a big pod."""
    from kubelearn.cluster import Cluster

    cluster = Cluster(seed=0)
    for name, cpu, memory in NODES_04_1:
        cluster.add_node(name, cpu=cpu, memory=memory)
    cluster.run(2)
    for name, node, cpu, memory in RUNNING_04_1:
        cluster.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                              "spec": {"nodeName": node, "containers": [{
                                  "name": name, "image": "nginx:1.27", "resources": {
                                      "requests": {"cpu": cpu, "memory": memory}}}]}})
    cluster.run(30)
    return cluster


@functools.cache
def _explained_04_1() -> pd.DataFrame:
    return _four_nodes().scheduler.explain(POD_04_1)


@exercise("04.1")
def _check_placement(answer: Any) -> str:
    if answer is None:
        return ("Write your answer in answer_1 first: (the chosen node, {the nodes that could "
                "not take it}).")
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return ('Give two things in a tuple: the chosen node\'s name and a set of names, like '
                '("node-x", {"node-y"}).')
    chosen, rejected = answer
    if isinstance(rejected, str) or not isinstance(rejected, (set, frozenset, list, tuple)):
        return ('The second part is a set of node names, like {"node-y", "node-z"} '
                '(or set() for none).')
    table = _explained_04_1()
    names = set(table.index)
    unknown = sorted({str(n) for n in [chosen, *rejected]} - names)
    if unknown:
        return (f"There is no node {unknown[0]!r} in this cluster; its nodes are "
                f"{', '.join(sorted(names))}.")
    infeasible = set(table.index[~table.feasible])
    best = table.index[table.chosen][0]
    if set(rejected) != infeasible:
        return ("Not yet: the set of nodes that could not take the pod is not right. Run "
                "explain on the pod and read the feasible column; a filter compares requests "
                "with what is left of allocatable, not with what is used.")
    if chosen in infeasible:
        return f"Not yet: {chosen} cannot take the pod at all, so it cannot be chosen."
    if chosen != best:
        return (f"Not yet: {chosen} could take it, but another node ranks higher. Read the "
                "total column: the weighted sum of the scores.")
    return CORRECT


# -- 04.2: a plugin that prefers SSD nodes ---------------------------------------------------------

SSD_LABEL = ("disktype", "ssd")
SSD_NODE_04_2 = "node-3"
WEIGHT_04_2 = 5
PODS_04_2 = 3


def _plugin_cluster(plugin: type) -> Cluster:
    from kubelearn.cluster import Cluster

    name = plugin.name
    cluster = Cluster(seed=0, nodes=3, scheduler_plugins={name: plugin}, scheduler_config=f"""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      enabled: [{{name: {name}, weight: {WEIGHT_04_2}}}]
""")
    cluster.run(2)
    key, value = SSD_LABEL
    cluster.admin.patch("nodes", SSD_NODE_04_2, {"metadata": {"labels": {key: value}}})
    cluster.run(1)
    return cluster


def _small_pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"app-{i}"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"}}}]}}


@exercise("04.2")
def _check_plugin(plugin: Any) -> str:
    from kubelearn.scheduler import ScorePlugin

    if plugin is None:
        return "Write your plugin class first (class PreferSSD(ScorePlugin): ...), then check it."
    if not (isinstance(plugin, type) and issubclass(plugin, ScorePlugin)):
        return ("Give the class itself, a subclass of ScorePlugin (check(\"04.2\", PreferSSD)), "
                f"not {plugin!r}.")
    name = getattr(plugin, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        return 'Give your plugin a name: a class attribute like name = "PreferSSD".'
    try:
        cluster = _plugin_cluster(plugin)
        scores = cluster.scheduler.explain(_small_pod(0))[name]
    except Exception as err:  # the learner's code: say what it raised, in plain words
        return f"Your plugin raised {type(err).__name__}: {err}. Fix it and check again."
    return _plugin_hint(cluster, scores)


def _plugin_hint(cluster: Cluster, scores: pd.Series) -> str:
    import pandas as pd

    if scores.isna().any():
        return ("Not yet: the scheduler got no score from your plugin for some nodes. Is "
                "score() returning an int, and does the plugin fail the cycle anywhere?")
    ssd = scores[SSD_NODE_04_2]
    others = scores.drop(SSD_NODE_04_2)
    if (others >= ssd).any():
        return (f"Not yet: {SSD_NODE_04_2}, the one node labelled disktype=ssd, should score "
                f"highest, but your plugin gives it {ssd} and the others "
                f"{', '.join(str(s) for s in others)}. Read the label from "
                'node_info.node["metadata"].get("labels", {}).')
    for i in range(PODS_04_2):
        cluster.admin.create(_small_pod(i))
    cluster.run(30)
    placed = pd.Series({pod["metadata"]["name"]: pod["spec"].get("nodeName")
                        for pod in cluster.admin.list("pods")["items"]})
    elsewhere = placed[placed != SSD_NODE_04_2]
    if not elsewhere.empty:
        return (f"Not yet: your plugin prefers the ssd node, but {len(elsewhere)} of "
                f"{len(placed)} pods went elsewhere: the other plugins outweighed it. Give "
                "the ssd node the top score (100) and the others 0.")
    return CORRECT
