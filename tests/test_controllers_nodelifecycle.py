"""The node lifecycle controller's NoSchedule pass: condition taints follow conditions."""

import kubelearn as kl
from kubelearn.controllers.nodelifecycle import reconcile_taints, wanted_noschedule_taints

NOT_READY = "node.kubernetes.io/not-ready"


def node(conditions: dict[str, str], taints: list[dict] | None = None,
         unschedulable: bool = False) -> dict:
    return {"metadata": {"name": "n"},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}}


def test_conditions_map_to_upstreams_taint_keys():
    assert wanted_noschedule_taints(node({"Ready": "False"})) == {NOT_READY}
    assert wanted_noschedule_taints(node({"Ready": "Unknown"})) == {
        "node.kubernetes.io/unreachable"}
    assert wanted_noschedule_taints(node({"Ready": "True", "MemoryPressure": "True",
                                          "DiskPressure": "False"})) == {
        "node.kubernetes.io/memory-pressure"}
    assert wanted_noschedule_taints(node({"Ready": "True"}, unschedulable=True)) == {
        "node.kubernetes.io/unschedulable"}


def test_reconcile_keeps_other_taints_and_changes_only_what_it_owns():
    mine = {"key": NOT_READY, "effect": "NoSchedule"}
    theirs = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    evict = {"key": NOT_READY, "effect": "NoExecute"}
    assert reconcile_taints(node({"Ready": "True"}, [mine, theirs, evict])) == [theirs, evict]
    assert reconcile_taints(node({"Ready": "False"}, [mine, theirs])) is None


def test_new_nodes_lose_the_not_ready_taint_and_pods_get_scheduled():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    cluster.run(30)
    for name in ("node-1", "node-2"):
        taints = cluster.admin.get("nodes", name)["spec"].get("taints") or []
        assert NOT_READY not in {t["key"] for t in taints}, taints
    pod = cluster.admin.get("pods", "web")
    assert pod["spec"]["nodeName"] in ("node-1", "node-2")
    assert pod["status"]["phase"] == "Running"


def test_cordoning_a_node_taints_it_unschedulable():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(1)
    cluster.admin.patch("nodes", "node-1", {"spec": {"unschedulable": True}}, patch_type="merge")
    cluster.run(1)
    taints = cluster.admin.get("nodes", "node-1")["spec"]["taints"]
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"} in taints
    cluster.admin.patch("nodes", "node-1", {"spec": {"unschedulable": False}}, patch_type="merge")
    cluster.run(1)
    assert not cluster.admin.get("nodes", "node-1")["spec"].get("taints")
