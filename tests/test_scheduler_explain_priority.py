"""explain() on a manifest not created yet: the priority admission would give it.

Pods nominated by preemption keep their room from pods of lower priority only, so
whether a node is feasible depends on the incoming pod's priority. A manifest has
no ``spec.priority`` yet; explain resolves it as the Priority admission plugin
(plugin/pkg/admission/priority, v1.32) will: the named class, the globalDefault
class, or 0 -- and then agrees with the cycle once the pod is created.
"""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden
from kubelearn.scheduler.explain import admitted_priority

NOMINATED = "Insufficient cpu (counting nominated default/urgent)"


def _pod(name, cpu, class_name=None):
    spec = {"containers": [{"name": "c", "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    if class_name:
        spec["priorityClassName"] = class_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def _class(name, value, **extra):
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, **extra}


def preempting(*classes):
    """One 2-CPU node: a low pod running, a mid pod of 1500m preempting it (nominated,
    not bound yet). 800m fits on the node, not beside the nominated pod."""
    cluster = kl.Cluster(seed=0, nodes=1, node_cpu="2", node_memory="4Gi")
    cluster.apply([_class("low", 10), _class("mid", 100), _class("high", 1000), *classes])
    cluster.apply(_pod("victim", "1", "low"))
    cluster.run(10)
    cluster.apply(_pod("urgent", "1500m", "mid"))
    cluster.run(0.5)
    urgent = cluster.admin.get("pods", "urgent")
    assert urgent["status"]["nominatedNodeName"] == "node-1" and not _node_of(cluster, "urgent")
    return cluster


def _node_of(cluster, name):
    return cluster.admin.get("pods", name)["spec"].get("nodeName")


@pytest.mark.parametrize("class_name, extra", [
    ("high", ()),  # named
    ("system-cluster-critical", ()),  # a system class, created by the API server at start
    (None, (_class("everyone", 1000, globalDefault=True),)),  # the globalDefault class
])
def test_a_manifest_above_the_nomination_sees_the_room_and_gets_it(class_name, extra):
    cluster = preempting(*extra)
    manifest = _pod("boss", "800m", class_name)
    table = cluster.scheduler.explain(manifest)
    assert table.loc["node-1", "filter:NodeResourcesFit"] == "passed"
    assert table.loc["node-1", "feasible"] and table.loc["node-1", "chosen"]
    assert "priority" not in manifest["spec"]  # the caller's dict is left alone
    cluster.apply(manifest)
    cluster.run(0.5)
    assert _node_of(cluster, "boss") == "node-1"  # the cycle agrees


def test_a_manifest_without_a_class_counts_the_nomination_and_waits():
    cluster = preempting()
    table = cluster.scheduler.explain(_pod("small", "800m"))
    assert table.loc["node-1", "filter:NodeResourcesFit"] == NOMINATED
    assert not table.loc["node-1", "feasible"]
    cluster.apply(_pod("small", "800m"))
    cluster.run(0.5)
    assert _node_of(cluster, "small") is None


def test_admitted_priority_as_the_admission_plugin():
    cluster = kl.Cluster(seed=0)
    cluster.apply([_class("high", 1000, preemptionPolicy="Never"),
                   _class("base", 5, globalDefault=True)])
    admin = cluster.admin
    named = admitted_priority(_pod("a", "1", "high"), admin)["spec"]
    assert (named["priority"], named["preemptionPolicy"]) == (1000, "Never")
    default = admitted_priority(_pod("b", "1"), admin)["spec"]
    assert (default["priority"], default["priorityClassName"]) == (5, "base")
    assert admitted_priority(_pod("c", "1", "system-node-critical"), admin)["spec"][
        "priority"] == 2_000_001_000
    created = admin.create(_pod("d", "1", "high"))
    assert admitted_priority(created, admin) is created  # created: what it has
    # a class that does not exist: the 403 the create gets
    with pytest.raises(Forbidden) as err:
        cluster.scheduler.explain(_pod("e", "1", "nope"))
    with pytest.raises(Forbidden) as refused:
        admin.create(_pod("e", "1", "nope"))
    assert str(err.value) == str(refused.value) == \
        'pods "e" is forbidden: no PriorityClass with name nope was found'
