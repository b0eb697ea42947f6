"""The Eviction API (pods/<name>/eviction): a delete that asks the pod's budget first.

Ports the cases of upstream's pkg/registry/core/pod/storage/eviction_test.go
(TestEviction, TestEvictionIgnorePDB without its mock store, TestEvictionDryRun,
TestEvictionPDBStatus) and test/integration/evictions (TestEvictionVersions,
TestEvictionWithFinalizers, TestEvictionWithUnhealthyPodEvictionPolicy,
TestTerminalPodEviction), v1.32. The budgets' status is written here by hand, as
the upstream tests do: the cluster runs no controllers and no kubelet, so nothing
else changes a pod or a budget.
"""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, Conflict, Forbidden, Invalid, NotFound, StatusError
from kubelearn.apiserver.request import Request


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0, controllers=(), scheduler=False)


def make_pod(cluster, name, phase=None, ready=None, **meta):
    """validNewPod: labels a=true, bound to node foo; then its status, as the tests set it."""
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "labels": {"a": "true"}, **meta},
           "spec": {"nodeName": "foo", "containers": [{"name": "c", "image": "nginx"}]}}
    created = cluster.admin.create(pod)
    status: dict = {}
    if phase is not None:
        status["phase"] = phase
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    if status:
        created = cluster.admin.patch("pods", name, {"status": status}, "default",
                                      patch_type="merge", subresource="status")
    return created


def make_pdb(cluster, name="foo", selector=None, *, generation_seen=True, spec=None, **status):
    """A budget with the status the case needs (the disruption controller's, by hand)."""
    pdb = cluster.admin.create({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
        "spec": {"selector": selector if selector is not None else {"matchLabels": {"a": "true"}},
                 **(spec or {})}})
    status.setdefault("observedGeneration",
                      pdb["metadata"]["generation"] if generation_seen else 0)
    return cluster.admin.patch("poddisruptionbudgets", name, {"status": status}, "default",
                               patch_type="merge", subresource="status")


def pdb_status(cluster, name="foo"):
    return cluster.admin.get("poddisruptionbudgets", name, "default")["status"]


def gone(cluster, name):
    try:
        cluster.admin.get("pods", name, "default")
    except NotFound:
        return True
    return False


def evict_body(cluster, name, body, url_name=None, query=None, client=None):
    """POST pods/<url_name>/eviction with exactly this body."""
    client = client or cluster.admin
    return client.request("create", client.info("pods"), namespace="default",
                          name=url_name or name, subresource="eviction", body=body, query=query)


# -- TestEviction ---------------------------------------------------------------------------------

@pytest.mark.parametrize("phase, deleted", [
    ("Pending", True), ("Succeeded", True), ("Failed", True), ("Running", False)])
def test_no_disruptions_allowed_refuses_only_a_running_pod(cluster, phase, deleted):
    make_pod(cluster, "t1", phase)
    make_pdb(cluster, disruptionsAllowed=0)
    if deleted:
        assert cluster.evict("t1", grace_period_seconds=0) == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}
        assert gone(cluster, "t1")
        return
    with pytest.raises(StatusError) as err:
        cluster.evict("t1", grace_period_seconds=0)
    assert err.value.code == 429 and err.value.reason == "TooManyRequests"
    assert str(err.value) == "Cannot evict pod as it would violate the pod's disruption budget."
    assert err.value.details == {"causes": [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget foo needs 0 healthy pods and has 0 currently"}]}
    pod = cluster.admin.get("pods", "t1", "default")
    assert "deletionTimestamp" not in pod["metadata"]  # nothing changed
    assert all(c["type"] != "DisruptionTarget" for c in pod["status"].get("conditions") or ())


def test_disruptions_allowed_deletes_gracefully_and_charges_the_budget(cluster):
    make_pod(cluster, "t5", "Running", ready=True)
    make_pdb(cluster, disruptionsAllowed=1, currentHealthy=3, desiredHealthy=2)
    cluster.evict("t5")
    pod = cluster.admin.get("pods", "t5", "default")  # bound to a node: graceful, 30s
    assert pod["metadata"]["deletionTimestamp"] == "2024-01-01T00:00:30Z"
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    status = pdb_status(cluster)
    assert status["disruptionsAllowed"] == 0
    assert status["disruptedPods"] == {"t5": "2024-01-01T00:00:00Z"}


def test_a_budget_that_does_not_match_is_not_asked(cluster):
    make_pod(cluster, "t6", "Running", ready=True)
    make_pdb(cluster, selector={"matchLabels": {"b": "true"}}, disruptionsAllowed=0)
    cluster.evict("t6", grace_period_seconds=0)
    assert gone(cluster, "t6")
    assert "disruptedPods" not in pdb_status(cluster)


def test_the_name_in_the_url_must_be_the_evictions(cluster):
    make_pod(cluster, "t7", "Running")
    with pytest.raises(BadRequest) as err:
        evict_body(cluster, "t7", {"metadata": {"name": "t7"}}, url_name="t7bad-name")
    assert str(err.value) == "name in URL does not match name in Eviction object"


def test_an_empty_selector_matches_every_pod_and_two_budgets_are_refused(cluster):
    make_pod(cluster, "t", "Running", ready=True)
    make_pdb(cluster, "everything", selector={}, disruptionsAllowed=5)
    make_pdb(cluster, "mine", disruptionsAllowed=5)
    answer = evict_body(cluster, "t", {"metadata": {"name": "t"}})
    assert answer == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": "This pod has more than one PodDisruptionBudget, which the "
                                 "eviction subresource does not support.", "code": 500}
    with pytest.raises(StatusError) as err:  # the client raises it, as client-go does
        cluster.evict("t")
    assert err.value.code == 500
    assert not gone(cluster, "t") and pdb_status(cluster, "mine")["disruptionsAllowed"] == 5


# -- TestEvictionIgnorePDB (the cases that need no mock store) ------------------------------------

def test_a_terminating_pod_is_deleted_without_asking(cluster):
    make_pod(cluster, "t6", "Running", ready=True)
    cluster.admin.delete("pods", "t6", "default", grace_period_seconds=300)
    make_pdb(cluster, disruptionsAllowed=0)
    cluster.evict("t6", grace_period_seconds=300)
    assert not gone(cluster, "t6")  # still terminating, its grace period unchanged
    assert pdb_status(cluster)["disruptionsAllowed"] == 0


@pytest.mark.parametrize("ready, evicted", [(True, False), (False, True)])
def test_an_unready_pod_may_go_when_the_budget_is_met(cluster, ready, evicted):
    # 3 pods desired, 2 healthy: "ours" is the unhealthy third one, or one of the healthy two
    make_pod(cluster, "t7", "Running", ready=ready)
    make_pdb(cluster, disruptionsAllowed=0, currentHealthy=2, desiredHealthy=2)
    if evicted:
        cluster.evict("t7", grace_period_seconds=0)
        assert gone(cluster, "t7")
        assert pdb_status(cluster)["disruptionsAllowed"] == 0  # not charged
    else:
        with pytest.raises(StatusError) as err:
            cluster.evict("t7", grace_period_seconds=0)
        assert err.value.code == 429


def _conflicting(cluster, monkeypatch, conflicts, meanwhile=None):
    """Make the eviction's delete conflict ``conflicts`` times (the mock store's role);
    ``meanwhile`` runs at the first conflict (the pod changes under the eviction)."""
    rest = cluster.api.eviction
    real = rest.add_condition_and_delete
    calls = []

    def delete(namespace, name, options):
        calls.append(dict(options))
        if len(calls) <= conflicts:
            if len(calls) == 1 and meanwhile is not None:
                meanwhile()
            raise Conflict("pods", name)
        return real(namespace, name, options)

    monkeypatch.setattr(rest, "add_condition_and_delete", delete)
    return calls


def test_a_pending_pod_is_deleted_after_a_conflict(cluster, monkeypatch):
    pod = make_pod(cluster, "t1", "Pending")
    make_pdb(cluster, disruptionsAllowed=0)
    calls = _conflicting(cluster, monkeypatch, 1)
    cluster.evict("t1", grace_period_seconds=0)
    assert gone(cluster, "t1") and len(calls) == 2
    # a pod that may still start is deleted as read: a resourceVersion precondition
    assert calls[0]["preconditions"] == {"resourceVersion": pod["metadata"]["resourceVersion"]}


def test_a_pending_pod_that_starts_meanwhile_asks_its_budget(cluster, monkeypatch):
    """The case upstream calls critical: the retry must not skip the budget."""
    make_pod(cluster, "t2", "Pending")
    make_pdb(cluster, disruptionsAllowed=0)

    def starts():
        cluster.admin.patch("pods", "t2", {"status": {"phase": "Running"}}, "default",
                            patch_type="merge", subresource="status")
    calls = _conflicting(cluster, monkeypatch, 1, starts)
    with pytest.raises(StatusError) as err:
        cluster.evict("t2", grace_period_seconds=0)
    assert err.value.code == 429 and len(calls) == 1


@pytest.mark.parametrize("preconditions, attempts", [(None, 20), ({"resourceVersion": "1"}, 1)])
def test_conflicts_are_retried_20_times_unless_the_caller_pinned_a_version(
        cluster, monkeypatch, preconditions, attempts):
    make_pod(cluster, "t4", "Pending")
    calls = _conflicting(cluster, monkeypatch, 1000)
    with pytest.raises(Conflict):
        cluster.evict("t4", preconditions=preconditions)
    assert len(calls) == attempts


def test_an_unready_pod_that_conflicts_is_a_429(cluster, monkeypatch):
    # t9: deleted with the resourceVersion it was read at; a conflict means it changed
    make_pod(cluster, "t9", "Running", ready=False)
    make_pdb(cluster, disruptionsAllowed=0, currentHealthy=2, desiredHealthy=2)
    _conflicting(cluster, monkeypatch, 1)
    with pytest.raises(StatusError) as err:
        cluster.evict("t9", grace_period_seconds=0)
    assert err.value.code == 429
    assert err.value.details["causes"][0]["message"] == (
        "The disruption budget foo is still being processed by the server.")


# -- TestEvictionWithUnhealthyPodEvictionPolicy ---------------------------------------------------

@pytest.mark.parametrize("policy, ready, evicted", [
    (None, False, False), ("IfHealthyBudget", False, False), ("AlwaysAllow", False, True),
    ("AlwaysAllow", True, False)])
def test_unhealthy_pod_eviction_policy(cluster, policy, ready, evicted):
    make_pod(cluster, "p", "Running", ready=ready)
    spec = {"unhealthyPodEvictionPolicy": policy} if policy else None
    make_pdb(cluster, spec=spec, disruptionsAllowed=0, currentHealthy=1, desiredHealthy=2)
    if evicted:
        cluster.evict("p", grace_period_seconds=0)
        assert gone(cluster, "p")
    else:
        with pytest.raises(StatusError) as err:
            cluster.evict("p", grace_period_seconds=0)
        assert err.value.code == 429
        assert not gone(cluster, "p")


# -- checkAndDecrement's other answers ------------------------------------------------------------

def test_a_budget_not_yet_counted_since_its_change(cluster):
    make_pod(cluster, "p", "Running", ready=True)
    make_pdb(cluster, generation_seen=False, disruptionsAllowed=1)
    with pytest.raises(StatusError) as err:
        cluster.evict("p")
    assert err.value.code == 429
    assert err.value.details == {
        "causes": [{"reason": "DisruptionBudget",
                    "message": "The disruption budget foo is still being processed by the "
                               "server."}],
        "retryAfterSeconds": 10}


@pytest.mark.parametrize("status, message", [
    ({"disruptionsAllowed": -1}, "pdb disruptions allowed is negative"),
    ({"disruptionsAllowed": 1, "disruptedPods": {f"p{i}": "2024-01-01T00:00:00Z"
                                                 for i in range(2001)}},
     "DisruptedPods map too big - too many evictions not confirmed by PDB controller")])
def test_budgets_the_api_server_would_not_store_are_forbidden(cluster, status, message):
    # Validation keeps a negative count out of etcd (and a client would hardly record 2,001
    # evictions): checkAndDecrement's guards, checked on a budget given directly.
    budget = {"metadata": {"name": "foo", "namespace": "default", "generation": 1},
              "status": {"observedGeneration": 1, **status}}
    with pytest.raises(Forbidden) as err:
        cluster.api.eviction.check_and_decrement("p", budget, dry_run=False)
    assert str(err.value) == f'poddisruptionbudget.policy "foo" is forbidden: {message}'


# -- TestEvictionPDBStatus ------------------------------------------------------------------------

@pytest.mark.parametrize("allowed, want_allowed, want_reason", [
    (1, 0, "InsufficientPods"), (3, 2, "SufficientPods")])
def test_the_budget_status_after_an_eviction(cluster, allowed, want_allowed, want_reason):
    for name in ("foo-1", "foo-2"):
        make_pod(cluster, name, "Running")
    make_pdb(cluster, disruptionsAllowed=allowed, conditions=[{
        "type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods",
        "message": "", "lastTransitionTime": "2024-01-01T00:00:00Z"}])
    cluster.run(7)
    cluster.evict("foo-1")
    status = pdb_status(cluster)
    assert status["disruptionsAllowed"] == want_allowed
    condition = status["conditions"][0]
    assert condition["reason"] == want_reason
    assert condition["status"] == ("False" if want_allowed == 0 else "True")
    assert status["disruptedPods"] == {"foo-1": "2024-01-01T00:00:07Z"}


# -- TestEvictionDryRun ---------------------------------------------------------------------------

@pytest.mark.parametrize("query, options", [
    ({"dryRun": "All"}, {}), ({}, {"dryRun": ["All"]}), ({"dryRun": "All"}, {"dryRun": ["All"]})])
@pytest.mark.parametrize("with_pdb", [False, True])
def test_dry_run_changes_nothing(cluster, query, options, with_pdb):
    make_pod(cluster, "foo", "Running", ready=True)
    if with_pdb:
        make_pdb(cluster, disruptionsAllowed=1)
    answer = evict_body(cluster, "foo", {"metadata": {"name": "foo"}, "deleteOptions": options},
                        query=query)
    assert answer["status"] == "Success"
    pod = cluster.admin.get("pods", "foo", "default")
    assert "deletionTimestamp" not in pod["metadata"]
    assert all(c["type"] != "DisruptionTarget" for c in pod["status"]["conditions"])
    if with_pdb:
        assert pdb_status(cluster)["disruptionsAllowed"] == 1


def test_dry_run_options_must_agree_and_be_all(cluster):
    make_pod(cluster, "foo", "Running")
    with pytest.raises(BadRequest) as err:
        evict_body(cluster, "foo", {"metadata": {"name": "foo"},
                                    "deleteOptions": {"dryRun": ["Some"]}},
                   query={"dryRun": "All"})
    assert str(err.value) == ("Non-matching dry-run options in request and content: [All] and "
                              "[Some]")
    with pytest.raises(Invalid) as err:
        evict_body(cluster, "foo", {"metadata": {"name": "foo"},
                                    "deleteOptions": {"dryRun": ["Some"]}})
    assert str(err.value) == ('DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported '
                              'value: []string{"Some"}: supported values: "All"')


def test_bad_delete_options_change_nothing(cluster):
    make_pod(cluster, "foo", "Running", ready=True)
    make_pdb(cluster, disruptionsAllowed=1)
    with pytest.raises(Invalid) as err:
        evict_body(cluster, "foo", {"metadata": {"name": "foo"},
                                    "deleteOptions": {"propagationPolicy": "Sometimes"}})
    assert "propagationPolicy: Unsupported value" in str(err.value)
    assert pdb_status(cluster)["disruptionsAllowed"] == 1
    assert "deletionTimestamp" not in cluster.admin.get("pods", "foo", "default")["metadata"]


# -- TestEvictionVersions -------------------------------------------------------------------------

@pytest.mark.parametrize("type_meta", [
    {}, {"apiVersion": "policy/v1beta1", "kind": "Eviction"}, {"kind": "Eviction"},
    {"apiVersion": "policy/v1", "kind": "Eviction"}])
def test_both_eviction_versions_are_accepted(cluster, type_meta):
    make_pod(cluster, "test")
    body = {**type_meta, "metadata": {"name": "test"}, "deleteOptions": {"dryRun": ["All"]}}
    answer = evict_body(cluster, "test", body)
    assert (answer["kind"], answer["apiVersion"], answer["status"]) == ("Status", "v1", "Success")


def test_other_versions_and_verbs_are_refused(cluster):
    make_pod(cluster, "test")
    with pytest.raises(BadRequest) as err:
        evict_body(cluster, "test", {"apiVersion": "policy/v2", "kind": "Eviction",
                                     "metadata": {"name": "test"}})
    assert "policy/v2" in str(err.value)
    assert str(err.value).startswith('Eviction in version "v2" cannot be handled as a Eviction')
    for verb in ("get", "patch", "update"):
        with pytest.raises(StatusError) as err:
            cluster.admin.api.handle(Request(verb, "pods", namespace="default", name="test",
                                             subresource="eviction", body={},
                                             token=cluster.admin_token, patch_type="merge"))
        assert err.value.code == 405


# -- TestEvictionWithFinalizers: the DisruptionTarget condition -----------------------------------

@pytest.mark.parametrize("phase", ["Running", "Succeeded"])
def test_the_disruption_target_condition_comes_before_the_delete(cluster, phase):
    make_pod(cluster, "pod", phase, ready=True, finalizers=["test.k8s.io/finalizer"])
    cluster.run(3)
    cluster.evict("pod")
    pod = cluster.admin.get("pods", "pod", "default")  # the finalizer keeps it
    assert pod["metadata"]["deletionTimestamp"]
    assert [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"] == [{
        "type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
        "lastTransitionTime": "2024-01-01T00:00:03Z", "reason": "EvictionByEvictionAPI",
        "message": "Eviction API: evicting"}]


def test_preconditions_are_checked_against_the_pod(cluster):
    pod = make_pod(cluster, "p", "Running")
    with pytest.raises(Conflict) as err:
        cluster.evict("p", preconditions={"uid": "someone-else"})
    assert str(err.value) == (
        f'Operation cannot be fulfilled on Pod "p": the UID in the precondition (someone-else) '
        f"does not match the UID in record ({pod['metadata']['uid']}). The object might have "
        "been deleted and then recreated")
    with pytest.raises(Conflict) as err:
        cluster.evict("p", preconditions={"resourceVersion": "1"})
    assert "the ResourceVersion in the precondition (1) does not match" in str(err.value)
    cluster.evict("p", preconditions={"uid": pod["metadata"]["uid"],
                                      "resourceVersion": pod["metadata"]["resourceVersion"]},
                  grace_period_seconds=0)
    assert gone(cluster, "p")


def test_a_grace_period_from_the_eviction(cluster):
    make_pod(cluster, "p", "Running", ready=True)
    cluster.evict("p", grace_period_seconds=5)
    meta = cluster.admin.get("pods", "p", "default")["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 5


def test_evicting_a_missing_pod_is_not_found(cluster):
    with pytest.raises(NotFound) as err:
        cluster.evict("nobody")
    assert str(err.value) == 'pods "nobody" not found'


# -- who may evict --------------------------------------------------------------------------------

def test_eviction_is_create_on_pods_eviction(cluster):
    make_pod(cluster, "p", "Running")
    for name, role in (("viewer", "view"), ("editor", "edit")):
        cluster.admin.create({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": name}]})
    with pytest.raises(Forbidden) as err:
        cluster.client("viewer").evict("p", "default")
    assert str(err.value) == ('pods "p" is forbidden: User "viewer" cannot create resource '
                              '"pods/eviction" in API group "" in the namespace "default"')
    assert cluster.client("editor").evict("p", "default", grace_period_seconds=0)[
        "status"] == "Success"
    assert cluster.admin.can_i("create", "pods", "default", subresource="eviction")
    audit = cluster.audit()
    rows = audit[audit["resource"] == "pods/eviction"]
    assert rows["code"].tolist() == [403, 201]
