"""PodDisruptionBudgets: the policy/v1 resource, its validation, and the disruption controller.

The validation table follows pkg/apis/policy/validation/validation_test.go
(TestValidateMinAvailablePodDisruptionBudgetSpec,
TestValidateMinAvailablePodAndMaxUnavailableDisruptionBudgetSpec,
TestValidatePodDisruptionBudgetSpec, TestValidateUnhealthyPodEvictionPolicyDisruptionBudgetSpec,
TestValidatePodDisruptionBudgetStatus); the controller cases follow
pkg/controller/disruption/disruption_test.go (v1.32): TestNoSelector, TestUnavailable,
TestIntegerMaxUnavailable, TestNakedPod, TestReplicaSet, TestMultipleControllers,
TestReplicationController's percentage through a Deployment, TestUpdatePDBStatusRetries'
conflict, and the fail-safe path. The last part drives the real kubectl v1.32.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from kubelearn.api import BadRequest, Invalid
from kubelearn.api.policy import scaled_value
from kubelearn.api.validation import (
    validate_pod_disruption_budget,
    validate_pod_disruption_budget_status,
)
from kubelearn.cluster import Cluster


def pdb(name="web", *, min_available=None, max_unavailable=None, selector=None,
        policy=None, namespace="default") -> dict:
    spec: dict = {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    if policy is not None:
        spec["unhealthyPodEvictionPolicy"] = policy
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def messages(obj) -> list[str]:
    return [str(e) for e in validate_pod_disruption_budget(obj)]


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", [
    pdb(min_available=0), pdb(min_available=5), pdb(min_available="0%"),
    pdb(min_available="100%"), pdb(max_unavailable=0), pdb(max_unavailable="55%"),
    pdb(max_unavailable=10, selector={}), pdb(policy="IfHealthyBudget"),
    pdb(policy="AlwaysAllow", min_available=1),
    pdb(name="Upper_Case"),  # only the path-segment rule applies to a PDB's name
])
def test_valid_budgets(obj):
    assert messages(obj) == []


@pytest.mark.parametrize("obj,message", [
    (pdb(min_available=-1),
     "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"),
    (pdb(min_available="101%"),
     'spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"101%"}: '
     "must not be greater than 100%"),
    (pdb(max_unavailable="-1%"),
     'spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"-1%"}: '
     "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
     "or '93%', regex used for validation is '[0-9]+%')"),
    (pdb(max_unavailable="five"),
     'spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"five"}: '
     "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  "
     "or '93%', regex used for validation is '[0-9]+%')"),
    (pdb(policy="Invalid"),
     'spec.unhealthyPodEvictionPolicy: Unsupported value: "Invalid": supported values: '
     '"AlwaysAllow", "IfHealthyBudget"'),
    (pdb(selector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
     "spec.selector.matchExpressions[0].values: Required value: must be specified when "
     "`operator` is 'In' or 'NotIn'"),
    (pdb(name="a/b", min_available=1),
     'metadata.name: Invalid value: "a/b": may not contain \'/\''),
])
def test_invalid_budgets(obj, message):
    assert messages(obj) == [message]


def test_min_available_and_max_unavailable_cannot_be_both_set():
    errs = messages(pdb(min_available=1, max_unavailable=1))
    assert len(errs) == 1
    assert errs[0].startswith("spec: Invalid value: policy.PodDisruptionBudgetSpec{"
                              "MinAvailable:(*intstr.IntOrString)(0x")
    assert errs[0].endswith("UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)"
                            "(nil)}: minAvailable and maxUnavailable cannot be both set")


def test_a_bad_spec_is_reported_before_metadata():
    """BeforeCreate: the strategy's errors alone; metadata is checked only once they pass."""
    assert messages(pdb(name="a/b", min_available=-1)) == [
        "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"]


@pytest.mark.parametrize("status,want", [
    ({"disruptionsAllowed": 10, "currentHealthy": 5, "desiredHealthy": 3, "expectedPods": 2},
     []),
    ({"disruptionsAllowed": -10, "currentHealthy": 5, "desiredHealthy": -3, "expectedPods": 2},
     ["status.disruptionsAllowed: Invalid value: -10: must be greater than or equal to 0",
      "status.desiredHealthy: Invalid value: -3: must be greater than or equal to 0"]),
    ({"conditions": [{"type": "DisruptionAllowed", "status": "Maybe", "reason": "",
                      "lastTransitionTime": "2024-01-01T00:00:00Z", "message": ""}]},
     ['status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", '
      '"True", "Unknown"', "status.conditions[0].reason: Required value: must be set"]),
])
def test_status_validation(status, want):
    assert [str(e) for e in validate_pod_disruption_budget_status({"status": status})] == want


# -- the API --------------------------------------------------------------------------------------


@pytest.fixture
def cluster():
    return Cluster(seed=0, controllers=("disruption",))


def test_discovery_and_short_name(cluster):
    info = cluster.admin.info("pdb")
    assert (info.group, info.version, info.resource, info.namespaced, info.subresources) == (
        "policy", "v1", "poddisruptionbudgets", True, ("status",))


def test_create_resets_status_and_sets_generation(cluster):
    made = cluster.admin.create({**pdb(min_available=1),
                                 "status": {"disruptionsAllowed": 5, "currentHealthy": 5,
                                            "desiredHealthy": 0, "expectedPods": 5}})
    assert made["metadata"]["generation"] == 1
    assert made["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0,
                              "desiredHealthy": 0, "expectedPods": 0}  # reset to Go's zeros
    changed = cluster.admin.update({**made, "spec": {**made["spec"], "minAvailable": 2}})
    assert changed["metadata"]["generation"] == 2


def test_invalid_input_is_a_4xx_and_stores_nothing(cluster):
    with pytest.raises(Invalid) as err:
        cluster.admin.create(pdb(min_available=1, max_unavailable="10%"))
    assert err.value.code == 422
    assert "minAvailable and maxUnavailable cannot be both set" in str(err.value)
    with pytest.raises(BadRequest) as err:  # a type the schema refuses, before validation
        cluster.admin.create(pdb(min_available=[1]))
    assert err.value.code == 400
    assert cluster.admin.list("poddisruptionbudgets", "default")["items"] == []


def test_status_writes_are_validated(cluster):
    made = cluster.admin.create(pdb(min_available=1))
    with pytest.raises(Invalid) as err:
        cluster.admin.update_status({**made, "status": {"disruptionsAllowed": -1,
                                                        "currentHealthy": 0, "desiredHealthy": 0,
                                                        "expectedPods": 0}})
    assert err.value.code == 422
    assert "status.disruptionsAllowed" in str(err.value)


def test_get_shows_kubectls_columns(cluster):
    cluster.admin.create(pdb("a", min_available="50%"))
    cluster.admin.create(pdb("b", max_unavailable=1))
    frame = cluster.get("poddisruptionbudgets")
    assert list(frame.columns) == ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE",
                                   "ALLOWED DISRUPTIONS", "AGE"]
    rows = frame.set_index("NAME")
    assert list(rows.loc["a"])[:3] == ["50%", "N/A", 0]
    assert list(rows.loc["b"])[:3] == ["N/A", "1", 0]


def test_describe_is_kubectls_pdb_describer(cluster):
    cluster.admin.create(pdb(min_available=2))
    assert cluster.describe("pdb", "web") == (
        "Name:           web\n"
        "Namespace:      default\n"
        "Min available:  2\n"
        "Selector:       app=web\n"
        "Status:\n"
        "    Allowed disruptions:  0\n"
        "    Current:              0\n"
        "    Desired:              0\n"
        "    Total:                0\n"
        "Events:                   <none>\n")  # one tabwriter block with the Status lines


# -- the disruption controller ---------------------------------------------------------------------


def test_scaled_value_rounds_percentages_up_or_down():
    assert scaled_value("50%", 5, True) == 3 and scaled_value("50%", 5, False) == 2
    assert scaled_value(4, 10, True) == 4


def rs(name, replicas, labels=None):
    labels = labels or {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def deployment(name, replicas):
    return {**rs(name, replicas), "kind": "Deployment"}


def naked_pod(name, labels=None):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def status_of(cluster, name="web"):
    s = cluster.admin.get("poddisruptionbudgets", name, "default")["status"]
    condition = next(c for c in s["conditions"] if c["type"] == "DisruptionAllowed")
    return (s["expectedPods"], s["currentHealthy"], s["desiredHealthy"],
            s["disruptionsAllowed"], condition["status"], condition["reason"])


@pytest.fixture
def running():
    """A cluster with nodes and the controllers that make and own pods."""
    return Cluster(seed=0, nodes=2, controllers=("replicaset", "deployment", "disruption",
                                                 "nodelifecycle"))


def test_no_pods_no_disruptions(running):
    """TestNoSelector / TestNoPods: nothing expected, nothing allowed."""
    running.admin.create(pdb(min_available=3))
    running.run(5)
    assert status_of(running) == (0, 0, 3, 0, "False", "InsufficientPods")
    events = running.admin.list("events", "default")["items"]
    # An empty message is omitted, as Go's omitempty does (kube-proxy's Starting event).
    seen = {(e["reason"], e.get("message", "")) for e in events}
    assert ("NoPods", "No matching pods found") in seen


def test_integer_min_available_counts_the_pods_found(running):
    """TestNakedPod's counterpart with an integer: naked pods are fine for minAvailable: N."""
    running.admin.create(pdb(min_available=1))
    for name in ("a", "b", "c"):
        running.admin.create(naked_pod(name))
    running.run(30)
    assert status_of(running) == (3, 3, 1, 2, "True", "SufficientPods")
    running.admin.delete("pods", "a", "default", grace_period_seconds=0)
    running.run(5)
    assert status_of(running)[:4] == (2, 2, 1, 1)


def test_percentage_uses_the_deployments_scale(running):
    """TestReplicationController-like, through a Deployment: 34% of 3 rounds up to 2."""
    running.admin.create(deployment("web", 3))
    running.admin.create(pdb(min_available="34%"))
    running.run(30)
    assert status_of(running) == (3, 3, 2, 1, "True", "SufficientPods")


def test_max_unavailable_uses_the_replica_sets_scale(running):
    """TestIntegerMaxUnavailable / TestReplicaSet: expected from the scale, desired = 4 - 1."""
    running.admin.create(rs("web", 4))
    running.admin.create(pdb(max_unavailable=1))
    running.run(30)
    assert status_of(running) == (4, 4, 3, 1, "True", "SufficientPods")
    running.admin.scale("replicasets", "web", 6, "default")  # the scale moves expectedPods
    running.run(30)
    assert status_of(running)[:4] == (6, 6, 5, 1)


def test_multiple_controllers_add_up(running):
    """TestMultipleControllers: two ReplicaSets under one budget: their scales add up."""
    running.admin.create(rs("one", 1, {"app": "web", "rs": "one"}))
    running.admin.create(rs("two", 2, {"app": "web", "rs": "two"}))
    running.admin.create(pdb(min_available="100%"))
    running.run(30)
    assert status_of(running) == (3, 3, 3, 0, "False", "InsufficientPods")


def test_naked_pods_with_a_percentage_are_unmanaged(running):
    """TestNakedPod: a pod without a controller adds no scale; an UnmanagedPods warning."""
    running.admin.create(naked_pod("a"))
    running.admin.create(pdb(min_available="50%"))
    running.run(30)
    assert status_of(running) == (0, 1, 0, 0, "False", "InsufficientPods")
    events = running.admin.list("events", "default")["items"]
    unmanaged = [e["message"] for e in events if e["reason"] == "UnmanagedPods"]
    assert unmanaged and unmanaged[0].startswith(
        "Pods selected by this PodDisruptionBudget (selector: &LabelSelector{MatchLabels:"
        "map[string]string{app: web,},MatchExpressions:[]LabelSelectorRequirement{},}) were found "
        "to be unmanaged.")


def test_an_unknown_controller_fails_safe(running):
    """failSafe: a pod owned by a kind nobody serves: SyncFailed, nothing allowed."""
    pod = naked_pod("a")
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                           "name": "db", "uid": "1234", "controller": True}]
    running.admin.create(pod)
    running.admin.create(pdb(max_unavailable=1))
    running.run(30)
    s = running.admin.get("poddisruptionbudgets", "web", "default")["status"]
    condition = s["conditions"][0]
    assert (s["disruptionsAllowed"], condition["status"], condition["reason"],
            condition["message"]) == (0, "False", "SyncFailed",
                                      'no matches for kind "StatefulSet" in version "apps/v1"')


def test_unready_pods_are_not_healthy(running):
    """TestUnavailable: a pod that is not Ready does not count as healthy."""
    running.admin.create(pdb(min_available=2))
    for name in ("a", "b"):
        running.admin.create(naked_pod(name))
    running.run(30)
    assert status_of(running)[:4] == (2, 2, 2, 0)
    running.admin.create({**naked_pod("c"), "spec": {"nodeName": "no-such-node",
                                                      "containers": [{"name": "c",
                                                                      "image": "nginx"}]}})
    running.run(5)
    assert status_of(running)[:4] == (3, 2, 2, 0)


def test_disrupted_pods_expire_after_the_deletion_timeout(running):
    """buildDisruptedPodMap: an evicted pod not deleted within 2 minutes counts again."""
    running.admin.create(pdb(min_available=1))
    for name in ("a", "b"):
        running.admin.create(naked_pod(name))
    running.run(30)
    current = running.admin.get("poddisruptionbudgets", "web", "default")
    current["status"]["disruptedPods"] = {"a": running.sim.timestamp()}
    running.admin.update_status(current)
    running.run(5)
    got = running.admin.get("poddisruptionbudgets", "web", "default")["status"]
    assert (got["currentHealthy"], got["disruptionsAllowed"], list(got["disruptedPods"])) == (
        1, 0, ["a"])
    running.run(130)
    got = running.admin.get("poddisruptionbudgets", "web", "default")["status"]
    assert (got["currentHealthy"], got["disruptionsAllowed"], got.get("disruptedPods")) == (
        2, 1, None)


def test_a_stale_disruption_target_is_reset():
    """syncStalePodDisruption: DisruptionTarget=True without a deletion goes False after 2m."""
    cluster = Cluster(seed=0, nodes=1, controllers=("disruption", "nodelifecycle"))
    cluster.admin.create(naked_pod("a"))
    cluster.run(10)
    cluster.admin.patch("pods", "a", {"status": {"conditions": [
        {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
         "lastTransitionTime": cluster.sim.timestamp()}]}}, "default", subresource="status")
    cluster.run(60)
    conditions = cluster.admin.get("pods", "a", "default")["status"]["conditions"]
    assert next(c for c in conditions if c["type"] == "DisruptionTarget")["status"] == "True"
    cluster.run(70)
    conditions = cluster.admin.get("pods", "a", "default")["status"]["conditions"]
    assert next(c for c in conditions if c["type"] == "DisruptionTarget")["status"] == "False"


def test_without_budgets_the_controller_indexes_no_pods():
    """The cost at scale: no budgets, no namespace index on the shared pod cache."""
    cluster = Cluster(seed=0, nodes=1, controllers=("disruption",))
    for name in ("a", "b"):
        cluster.admin.create(naked_pod(name))
    cluster.run(5)
    assert "namespace" not in cluster.informers.informer("pods").indexers
    assert cluster.controllers["disruption"].queue._waiting == {}


# -- the real kubectl v1.32 ------------------------------------------------------------------------

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None and not os.environ.get("CI"),
                                   reason="kubectl is not installed")


@needs_kubectl
def test_kubectl_create_get_and_describe_pdb(tmp_path):
    cluster = Cluster(seed=0, nodes=1, controllers=("disruption", "nodelifecycle"))
    server = cluster.serve(quiet=True, speed=1, kubeconfig=tmp_path / "config")
    env = {**os.environ, "KUBECONFIG": str(server.kubeconfig_path), "HOME": str(tmp_path),
           "KUBECACHEDIR": str(tmp_path / "cache")}

    def kubectl(*args: str):
        proc = subprocess.run([KUBECTL or "kubectl", *args], capture_output=True, text=True,
                              env=env, timeout=60)
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    try:
        # a protobuf body, as kubectl's create generators send
        kubectl("create", "poddisruptionbudget", "web", "--selector=app=web",
                "--min-available=50%")
        got = yaml.safe_load(kubectl("get", "pdb", "web", "-o", "yaml"))
        assert got["spec"] == {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
        table = kubectl("get", "pdb").splitlines()
        assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                    "DISRUPTIONS", "AGE"]
        assert table[1].split()[:4] == ["web", "50%", "N/A", "0"]
        assert kubectl("describe", "pdb", "web").startswith(
            "Name:           web\nNamespace:      default\nMin available:  50%\n"
            "Selector:       app=web\n")
    finally:
        server.stop()
