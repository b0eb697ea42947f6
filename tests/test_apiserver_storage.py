"""Storage: keys, revisions, generateName, generation, concurrency, delete, list, subresources."""

import base64
import json
import re
import secrets

import pytest

import kubelearn as kl
from kubelearn.api import AlreadyExists, BadRequest, Conflict, Expired, Invalid, NotFound, Timeout
from kubelearn.apiserver import storage as storage_module


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0)


def pod(name="web", **meta):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **meta},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}


def configmap(name, labels=None):
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def test_create_stores_json_without_resource_version_at_the_upstream_key(cluster):
    created = cluster.admin.create(pod())
    meta = created["metadata"]
    assert meta["resourceVersion"] == str(cluster.etcd.revision)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        meta["uid"])
    assert meta["creationTimestamp"] == "2024-01-01T00:00:00Z"
    assert "generation" not in meta  # the pod strategy sets none before v1.33 (KEP-5067)
    kv = cluster.etcd.get("/registry/pods/default/web")
    stored = json.loads(kv.value)
    assert "resourceVersion" not in stored["metadata"]
    assert stored["metadata"]["uid"] == meta["uid"]
    assert kv.mod_revision == int(meta["resourceVersion"])


def test_special_etcd_prefixes_for_nodes_and_services(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    cluster.admin.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                          "spec": {"ports": [{"port": 80}]}})
    assert cluster.etcd.get("/registry/minions/node-1") is not None
    assert cluster.etcd.get("/registry/services/specs/default/web") is not None
    # a node carries no namespace, a service no generation (upstream strategies)
    node = cluster.admin.get("nodes", "node-1")
    assert "namespace" not in node["metadata"] and "generation" not in node["metadata"]


def test_not_found_and_already_exists_with_upstream_messages(cluster):
    with pytest.raises(NotFound) as err:
        cluster.admin.get("pods", "nope")
    assert str(err.value) == 'pods "nope" not found' and err.value.code == 404
    cluster.admin.create(pod())
    with pytest.raises(AlreadyExists) as err:
        cluster.admin.create(pod())
    assert str(err.value) == 'pods "web" already exists' and err.value.code == 409
    with pytest.raises(NotFound) as err:
        cluster.admin.get("deployments", "nope")
    assert str(err.value) == 'deployments.apps "nope" not found'


def test_generate_name_cuts_the_base_and_adds_five_safe_characters(cluster):
    made = cluster.admin.create(pod(name=None, generateName="web-"))
    name = made["metadata"]["name"]
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    long_base = "a" * 70
    made = cluster.admin.create({**configmap(None), "metadata": {"generateName": long_base}})
    assert len(made["metadata"]["name"]) == 63
    assert made["metadata"]["name"].startswith("a" * 58)


class _Clashing:
    """A name generator whose first picks are always the same suffix."""

    def __init__(self, repeats):
        self.repeats = repeats
        self.calls = 0

    def choice(self, alphabet):
        self.calls += 1
        if self.calls <= self.repeats * 5:
            return "b"
        return alphabet[self.calls % len(alphabet)]


def test_generate_name_retries_a_clash_and_gives_up_after_eight(cluster):
    cluster.admin.create(configmap("cm-bbbbb"))
    cluster.api.storage._names = _Clashing(repeats=2)
    made = cluster.admin.create({**configmap(None), "metadata": {"generateName": "cm-"}})
    assert made["metadata"]["name"] != "cm-bbbbb"
    cluster.api.storage._names = _Clashing(repeats=100)
    with pytest.raises(AlreadyExists):
        cluster.admin.create({**configmap(None), "metadata": {"generateName": "cm-"}})


def test_generation_moves_with_the_spec_only(cluster):
    deploy = cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}})
    assert deploy["metadata"]["generation"] == 1
    labelled = cluster.admin.patch("deployments", "web", {"metadata": {"labels": {"x": "y"}}})
    assert labelled["metadata"]["generation"] == 1
    status = cluster.admin.update_status({**labelled, "status": {"replicas": 2}})
    assert status["metadata"]["generation"] == 1 and status["status"] == {"replicas": 2}
    scaled = cluster.admin.patch("deployments", "web", {"spec": {"replicas": 4}})
    assert scaled["metadata"]["generation"] == 2
    # a body that tries to set generation or status does not
    scaled["metadata"]["generation"] = 99
    scaled["status"] = {"replicas": 99}
    again = cluster.admin.update(scaled)
    assert again["metadata"]["generation"] == 2 and again["status"] == {"replicas": 2}


def test_update_with_a_stale_resource_version_is_a_conflict(cluster):
    cluster.admin.create(configmap("cm"))
    first = cluster.admin.get("configmaps", "cm")
    second = cluster.admin.get("configmaps", "cm")
    first["data"] = {"k": "first"}
    cluster.admin.update(first)
    second["data"] = {"k": "second"}
    with pytest.raises(Conflict) as err:
        cluster.admin.update(second)
    assert str(err.value) == ('Operation cannot be fulfilled on configmaps "cm": the object has '
                              'been modified; please apply your changes to the latest version '
                              'and try again')
    assert err.value.code == 409
    assert cluster.admin.get("configmaps", "cm")["data"] == {"k": "first"}


def test_update_without_resource_version_is_unconditional_and_no_change_writes_nothing(cluster):
    cluster.admin.create(configmap("cm"))
    body = configmap("cm")
    body["data"] = {"k": "new"}
    updated = cluster.admin.update(body)
    assert updated["data"] == {"k": "new"}
    revision = cluster.etcd.revision
    same = cluster.admin.update(cluster.admin.get("configmaps", "cm"))
    assert cluster.etcd.revision == revision
    assert same["metadata"]["resourceVersion"] == str(revision)


def test_update_keeps_system_fields_and_refuses_a_new_uid(cluster):
    made = cluster.admin.create(configmap("cm"))
    body = configmap("cm")
    body["metadata"]["creationTimestamp"] = "2030-01-01T00:00:00Z"
    updated = cluster.admin.update(body)
    assert updated["metadata"]["uid"] == made["metadata"]["uid"]
    assert updated["metadata"]["creationTimestamp"] == made["metadata"]["creationTimestamp"]
    body["metadata"]["uid"] = "0000"
    with pytest.raises(Invalid) as err:
        cluster.admin.update(body)
    assert 'metadata.uid: Invalid value: "0000": field is immutable' in str(err.value)
    wrong = configmap("other")
    with pytest.raises(BadRequest) as err:
        cluster.admin.request("update", cluster.admin.info("cm"), namespace="default",
                              name="cm", body=wrong)
    assert str(err.value) == ("the name of the object (other) does not match the name on the "
                              "URL (cm)")


def test_status_subresource_changes_only_status(cluster):
    made = cluster.admin.create(pod())
    made["spec"]["containers"][0]["image"] = "nginx:9"
    made["metadata"]["labels"] = {"sneaky": "yes"}
    made["status"] = {"phase": "Running"}
    out = cluster.admin.update_status(made)
    assert out["status"]["phase"] == "Running"
    assert out["status"]["qosClass"] == "BestEffort"  # kept from create
    assert out["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "labels" not in out["metadata"]
    # and the main resource ignores status
    out["status"] = {"phase": "Failed"}
    again = cluster.admin.update(out)
    assert again["status"]["phase"] == "Running"


def test_list_with_selectors_and_unknown_field_labels(cluster):
    for i in range(5):
        cluster.admin.create(configmap(f"cm-{i}", {"app": "web" if i % 2 else "db"}))
    web = cluster.admin.list("configmaps", "default", label_selector="app=web")
    assert [o["metadata"]["name"] for o in web["items"]] == ["cm-1", "cm-3"]
    assert web["kind"] == "ConfigMapList" and web["apiVersion"] == "v1"
    assert web["metadata"]["resourceVersion"] == str(cluster.etcd.revision)
    one = cluster.admin.list("configmaps", None, field_selector="metadata.name=cm-2")
    assert [o["metadata"]["name"] for o in one["items"]] == ["cm-2"]
    with pytest.raises(BadRequest) as err:
        cluster.admin.list("configmaps", field_selector="spec.foo=bar")
    assert str(err.value) == "field label not supported: spec.foo"
    with pytest.raises(BadRequest):
        cluster.admin.list("configmaps", label_selector="app in (")


def test_list_pages_with_upstream_continue_tokens(cluster):
    for i in range(7):
        cluster.admin.create(configmap(f"cm-{i}"))
    page = cluster.admin.list("configmaps", "default", limit=3)
    assert [o["metadata"]["name"] for o in page["items"]] == ["cm-0", "cm-1", "cm-2"]
    token = page["metadata"]["continue"]
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded == {"v": "meta.k8s.io/v1", "rv": int(page["metadata"]["resourceVersion"]),
                       "start": "cm-2\u0000"}
    assert page["metadata"]["remainingItemCount"] == 4
    cluster.admin.create(configmap("cm-9"))  # written after the first page: not in this list
    names = [o["metadata"]["name"] for o in page["items"]]
    while "continue" in page["metadata"]:
        page = cluster.admin.list("configmaps", "default", limit=3,
                                  continue_=page["metadata"]["continue"])
        names += [o["metadata"]["name"] for o in page["items"]]
    assert names == [f"cm-{i}" for i in range(7)]
    with pytest.raises(BadRequest) as err:
        cluster.admin.list("configmaps", "default", continue_="not-a-token")
    assert str(err.value).startswith("invalid continue token: continue key is not valid")


def test_an_expired_continue_token_is_410_with_a_fresh_token(cluster):
    for i in range(4):
        cluster.admin.create(configmap(f"cm-{i}"))
    page = cluster.admin.list("configmaps", "default", limit=2)
    cluster.admin.create(configmap("cm-x"))
    cluster.etcd.compact(cluster.etcd.revision)
    with pytest.raises(Expired) as err:
        cluster.admin.list("configmaps", "default", limit=2, continue_=page["metadata"]["continue"])
    assert err.value.code == 410
    assert str(err.value) == storage_module.INCONSISTENT_CONTINUE
    fresh = err.value.status["metadata"]["continue"]
    rest = cluster.admin.list("configmaps", "default", limit=10, continue_=fresh)
    assert [o["metadata"]["name"] for o in rest["items"]] == ["cm-2", "cm-3", "cm-x"]


def test_list_at_a_revision_and_too_large_revisions(cluster):
    cluster.admin.create(configmap("a"))
    before = str(cluster.etcd.revision)
    cluster.admin.create(configmap("b"))
    old = cluster.admin.request("list", cluster.admin.info("cm"), namespace="default",
                                query={"resourceVersion": before,
                                       "resourceVersionMatch": "Exact"})
    assert [o["metadata"]["name"] for o in old["items"]] == ["a"]
    with pytest.raises(Timeout) as err:
        cluster.admin.list("configmaps", resource_version=str(cluster.etcd.revision + 10))
    assert err.value.code == 504 and "Too large resource version" in str(err.value)
    with pytest.raises(BadRequest):
        cluster.admin.list("configmaps", resource_version="abc")


def test_get_and_list_at_resource_version_0_are_served_from_the_watch_cache(cluster, monkeypatch):
    cluster.admin.create(configmap("a", {"app": "web"}))
    cluster.admin.create(configmap("b"))
    cluster.admin.create(configmap("c", {"app": "web"}))
    cluster.admin.create({**configmap("d", {"app": "web"}), "metadata": {
        "name": "d", "namespace": "kube-system", "labels": {"app": "web"}}})
    fresh = cluster.admin.list("configmaps", "default")
    token = cluster.admin.list("configmaps", "default", limit=1)["metadata"]["continue"]
    revision = cluster.api.watch_cache.revision
    assert revision == cluster.etcd.revision

    def no_etcd_read(*args, **kwargs):
        raise AssertionError("read etcd")
    monkeypatch.setattr(cluster.etcd, "range", no_etcd_read)
    monkeypatch.setattr(cluster.etcd, "get", no_etcd_read)
    cached = cluster.admin.list("configmaps", "default", resource_version="0")
    assert cached == fresh  # the same objects and, the cache being current, the same revision
    assert cached["metadata"] == {"resourceVersion": str(revision)}
    # A limit is not honoured by the cache in v1.32: every match, no continue.
    page = cluster.admin.list("configmaps", None, label_selector="app=web", limit=1,
                              resource_version="0")
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in page["items"]] == [
        ("default", "a"), ("default", "c"), ("kube-system", "d")]
    assert "continue" not in page["metadata"]
    by_namespace = cluster.admin.list("configmaps", None, field_selector=(
        "metadata.namespace=kube-system,metadata.name=d"), resource_version="0")
    assert [o["metadata"]["name"] for o in by_namespace["items"]] == ["d"]
    got = cluster.admin.request("get", cluster.admin.info("cm"), namespace="default", name="a",
                                query={"resourceVersion": "0"})
    assert got == fresh["items"][0]
    with pytest.raises(NotFound):
        cluster.admin.request("get", cluster.admin.info("cm"), namespace="default", name="zz",
                              query={"resourceVersion": "0"})
    # A continue still goes to etcd (cacher.go shouldDelegateList), as does a list without
    # a resourceVersion (the cacher asks etcd for its current revision first).
    with pytest.raises(AssertionError, match="read etcd"):
        cluster.admin.list("configmaps", "default", continue_=token, resource_version="0")
    with pytest.raises(AssertionError, match="read etcd"):
        cluster.admin.list("configmaps", "default", resource_version="")


def test_pods_at_resource_version_0_by_node_come_from_the_cache_index(cluster):
    cluster.admin.create(pod("one"))
    cluster.admin.create(pod("two"))
    cluster.admin.request("create", cluster.admin.info("pods"), namespace="default", name="one",
                          subresource="binding",
                          body={"apiVersion": "v1", "kind": "Binding",
                                "metadata": {"name": "one"},
                                "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}})
    for node, names in (("n1", ["one"]), ("", ["two"]), ("n2", [])):
        listed = cluster.admin.list("pods", None, field_selector=f"spec.nodeName={node}",
                                    resource_version="0")
        assert [o["metadata"]["name"] for o in listed["items"]] == names
        assert listed == cluster.admin.list("pods", None, field_selector=f"spec.nodeName={node}")

def test_delete_answers_a_status_or_the_object(cluster):
    made = cluster.admin.create(configmap("cm"))
    status = cluster.admin.delete("configmaps", "cm")
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": {"name": "cm", "kind": "configmaps",
                                  "uid": made["metadata"]["uid"]}}
    assert cluster.etcd.get("/registry/configmaps/default/cm") is None
    with pytest.raises(NotFound):
        cluster.admin.delete("configmaps", "cm")


def test_unscheduled_pod_goes_at_once_scheduled_pod_gracefully(cluster):
    cluster.admin.create(pod("pending"))
    gone = cluster.admin.delete("pods", "pending")
    assert gone["metadata"]["name"] == "pending"
    assert cluster.etcd.get("/registry/pods/default/pending") is None

    cluster.admin.create(pod("running"))
    cluster.admin.bind("running", "node-1")
    cluster.run(10)
    terminating = cluster.admin.delete("pods", "running")
    meta = terminating["metadata"]
    assert meta["deletionTimestamp"] == "2024-01-01T00:00:40Z"  # now + 30s grace
    assert meta["deletionGracePeriodSeconds"] == 30
    assert "generation" not in meta  # BeforeDelete bumps only a generation > 0
    # deleting again changes nothing: graceful deletion is pending
    again = cluster.admin.delete("pods", "running")
    assert again["metadata"]["resourceVersion"] == meta["resourceVersion"]
    # a shorter grace period moves the deadline
    shorter = cluster.admin.delete("pods", "running", grace_period_seconds=5)
    assert shorter["metadata"]["deletionTimestamp"] == "2024-01-01T00:00:15Z"
    # the kubelet's final delete: grace 0 with the uid as precondition
    cluster.admin.delete("pods", "running", grace_period_seconds=0,
                         preconditions={"uid": meta["uid"]})
    assert cluster.etcd.get("/registry/pods/default/running") is None


def test_finished_pods_and_explicit_zero_grace_delete_at_once(cluster):
    cluster.admin.create(pod("done"))
    cluster.admin.bind("done", "node-1")
    finished = cluster.admin.get("pods", "done")
    finished["status"]["phase"] = "Succeeded"
    cluster.admin.update_status(finished)
    cluster.admin.delete("pods", "done")
    assert cluster.etcd.get("/registry/pods/default/done") is None
    cluster.admin.create(pod("now"))
    cluster.admin.bind("now", "node-1")
    cluster.admin.delete("pods", "now", grace_period_seconds=0)
    assert cluster.etcd.get("/registry/pods/default/now") is None


def test_delete_preconditions_are_conflicts(cluster):
    cluster.admin.create(pod())
    with pytest.raises(Conflict) as err:
        cluster.admin.delete("pods", "web", preconditions={"uid": "other"})
    assert str(err.value).startswith('Operation cannot be fulfilled on Pod "web": the UID in the '
                                     'precondition (other) does not match the UID in record')


def test_finalizers_keep_an_object_until_they_are_removed(cluster):
    made = cluster.admin.create({**configmap("cm"), "metadata": {
        "name": "cm", "finalizers": ["example.com/hold"]}})
    held = cluster.admin.delete("configmaps", "cm")
    assert held["metadata"]["deletionTimestamp"] == "2024-01-01T00:00:00Z"
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0
    assert cluster.etcd.get("/registry/configmaps/default/cm") is not None
    released = cluster.admin.patch("configmaps", "cm", {"metadata": {"finalizers": None}},
                                   patch_type="merge")
    assert released["metadata"]["uid"] == made["metadata"]["uid"]
    assert cluster.etcd.get("/registry/configmaps/default/cm") is None


def test_propagation_policy_orphan_adds_the_orphan_finalizer(cluster):
    cluster.admin.create(configmap("cm"))
    out = cluster.admin.delete("configmaps", "cm", propagation_policy="Orphan")
    assert out["metadata"]["finalizers"] == ["orphan"]
    with pytest.raises(Invalid):
        cluster.admin.delete("configmaps", "cm", propagation_policy="Sometimes")


def test_binding_sets_the_node_once(cluster):
    made = cluster.admin.create(pod())
    status = cluster.client("kube-scheduler").bind("web", "node-1", uid=made["metadata"]["uid"])
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                      "status": "Success", "code": 201}
    bound = cluster.admin.get("pods", "web")
    assert bound["spec"]["nodeName"] == "node-1"
    assert "generation" not in bound["metadata"]  # v1.32 pods have none
    scheduled = [c for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled == [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    with pytest.raises(Conflict) as err:
        cluster.admin.bind("web", "node-2")
    assert str(err.value) == ('Operation cannot be fulfilled on pods/binding "web": pod web is '
                              'already assigned to node "node-1"')
    with pytest.raises(NotFound):
        cluster.admin.bind("ghost", "node-1")


def test_scale_subresource(cluster):
    cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    scale = cluster.admin.scale("replicasets", "rs")
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2}
    assert scale["status"] == {"replicas": 0, "selector": "app=web"}
    assert cluster.admin.scale("rs", "rs", 5)["spec"]["replicas"] == 5
    rs = cluster.admin.get("replicasets", "rs")
    assert rs["spec"]["replicas"] == 5 and rs["metadata"]["generation"] == 2
    with pytest.raises(Invalid) as err:
        cluster.admin.scale("rs", "rs", -1)
    assert str(err.value) == ('Scale.autoscaling "rs" is invalid: spec.replicas: Invalid value: '
                              '-1: must be greater than or equal to 0')


def test_events_live_on_an_etcd_lease(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Event",
                          "metadata": {"name": "web.1"}, "reason": "Scheduled",
                          "involvedObject": {"kind": "Pod", "name": "web",
                                             "namespace": "default"}})
    kv = cluster.etcd.get("/registry/events/default/web.1")
    assert kv.lease != 0
    # --event-ttl 1h plus the lease manager's reuse slack (60s)
    assert cluster.etcd.time_to_live(kv.lease).granted_ttl == 3660
    cluster.admin.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.2"},
                          "involvedObject": {"kind": "Pod", "name": "web",
                                             "namespace": "default"}})
    assert cluster.etcd.get("/registry/events/default/web.2").lease == kv.lease  # reused
    cluster.run(3661)
    assert cluster.admin.list("events", "default")["items"] == []


def test_a_revoked_lease_is_not_reused(cluster):
    def event(name):
        cluster.admin.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                              "involvedObject": {"kind": "Pod", "name": "web",
                                                 "namespace": "default"}})
        return cluster.etcd.get(f"/registry/events/default/{name}").lease

    first = event("web.1")
    cluster.etcd.revoke(first)  # etcdctl lease revoke: the event goes with it
    second = event("web.2")
    assert second != first and cluster.etcd.time_to_live(second).ttl > 0
    assert [e["metadata"]["name"] for e in cluster.admin.list("events", "default")["items"]] \
        == ["web.2"]


def test_same_seed_same_uids_and_names():
    def history(seed):
        c = kl.Cluster(seed=seed)
        made = [c.admin.create(pod(None, generateName="p-"))["metadata"] for _ in range(3)]
        return [(m["name"], m["uid"]) for m in made]

    assert history(1) == history(1)
    assert history(1) != history(2)


def test_pod_level_resources_are_dropped_while_their_gate_is_off(cluster):
    # PodLevelResources is alpha and off in v1.32: DropDisabledPodFields and
    # DropDisabledTemplateFields clear spec.resources unless the old object used it.
    from kubelearn.version import FEATURE_GATES

    assert FEATURE_GATES["PodLevelResources"] is False
    body = pod("sized")
    body["spec"]["resources"] = {"requests": {"cpu": "1"}}
    created = cluster.admin.create(body)
    assert "resources" not in created["spec"]
    assert "resources" not in json.loads(cluster.etcd.get("/registry/pods/default/sized").value)[
        "spec"]
    deploy = cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sized"},
        "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": {
            "metadata": {"labels": {"app": "s"}},
            "spec": {"resources": {"limits": {"memory": "1Gi"}},
                     "containers": [{"name": "c", "image": "nginx:1.25"}]}}}})
    assert "resources" not in deploy["spec"]["template"]["spec"]
    patched = cluster.admin.patch("deployments", "sized", {"spec": {"template": {"spec": {
        "resources": {"limits": {"memory": "1Gi"}}}}}})
    assert "resources" not in patched["spec"]["template"]["spec"]
    assert patched["metadata"]["generation"] == 1  # nothing of the spec changed


def test_decode_shared_equals_decode_and_shares_strings_and_small_objects():
    from kubelearn.etcd import KeyValue

    def kv(name, rev, flag):
        obj = {"metadata": {"name": name, "namespace": "default"},
               "spec": {"tolerations": [{"key": "node.kubernetes.io/unreachable",
                                         "operator": "Exists", "effect": "NoExecute"}],
                        "flags": {"on": flag}, "note": "x" * 65}}
        value = json.dumps(obj).encode()
        return KeyValue(key=f"/registry/pods/default/{name}", value=value, create_revision=rev,
                        mod_revision=rev, version=1)

    decode_shared = storage_module.decode_shared
    a, b = decode_shared(kv("a", 5, 1)), decode_shared(kv("b", 6, True))
    assert a == storage_module.decode(kv("a", 5, 1))
    assert a["metadata"]["resourceVersion"] == "5"
    assert a["spec"]["tolerations"][0] is b["spec"]["tolerations"][0]  # one dict for both
    assert a["metadata"] is not b["metadata"]  # names differ
    name_key_a = next(iter(a["metadata"]))
    assert name_key_a is next(iter(b["metadata"]))  # the same interned key
    assert a["spec"]["note"] is not b["spec"]["note"]  # longer than SHARED_STRING_MAX
    # 1 == True in Python: a dict holding a bool is never swapped for one holding an int
    assert a["spec"]["flags"]["on"] is not True and b["spec"]["flags"]["on"] is True



def test_decode_shared_takes_what_did_not_change_from_the_previous_version():
    from kubelearn.etcd import KeyValue

    def kv(rev, obj):
        return KeyValue(key="/registry/pods/default/p", value=json.dumps(obj).encode(),
                        create_revision=1, mod_revision=rev, version=rev)

    spec = {"containers": [{"name": "c", "image": "nginx"}], "flags": {"on": 1, "off": 0}}
    v1 = {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}}, "spec": spec}
    v2 = {"metadata": {"name": "p", "labels": {"b": "2", "a": "1"}},  # the same, reordered
          "spec": {**spec, "nodeName": "n1", "flags": {"on": True, "off": 0}}}  # 1 -> True
    old = storage_module.decode_shared(kv(5, v1))
    new = storage_module.decode_shared(kv(6, v2), old)
    assert json.dumps(new) == json.dumps(storage_module.decode(kv(6, v2)))  # as stored
    assert new["spec"]["containers"] is old["spec"]["containers"]  # unchanged: taken over
    assert list(new["metadata"]["labels"]) == ["b", "a"]  # equal, but written otherwise
    assert new["spec"]["flags"]["on"] is True  # 1 == True, yet not the old map
    assert old["metadata"]["resourceVersion"] == "5"  # the previous version is left alone


def test_decode_shared_shares_maps_and_lists_written_as_the_same_json():
    from kubelearn.etcd import KeyValue

    # decode_shared's tables live as long as the process: names never seen before in it
    tag = secrets.token_hex(4)

    def kv(name, rev, mode, order=("defaultMode", "sources")):
        projected = {"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": tag}}]}
        obj = {"metadata": {"name": name, "namespace": "default"},
               "spec": {"volumes": [{"name": f"kube-api-access-{name}-{tag}", "projected": {
                   key: projected[key] for key in order}}],
                        "mount": {"name": name, "readOnly": mode}}}
        return KeyValue(key=f"/registry/pods/default/{name}", value=json.dumps(obj).encode(),
                        create_revision=rev, mod_revision=rev, version=1)

    decode_shared = storage_module.decode_shared
    a, b = decode_shared(kv("a", 5, True)), decode_shared(kv("b", 6, True))
    d = decode_shared(kv("d", 8, True))
    c = decode_shared(kv("c", 7, 1, order=("sources", "defaultMode")))
    assert a == storage_module.decode(kv("a", 5, True))
    projected = b["spec"]["volumes"][0]["projected"]
    assert d["spec"]["volumes"][0]["projected"] is projected  # one map for every pod...
    assert a["spec"]["volumes"][0]["projected"] == projected  # ...remembered when seen again
    assert b["spec"]["volumes"] is not d["spec"]["volumes"]  # the volume names differ
    # what was seen once only (a pod's own volumes) is not remembered
    assert json.dumps(a["spec"]["volumes"], separators=(",", ":")).encode() \
        not in storage_module._subtrees
    # equal in Python, written otherwise: never swapped (keys in another order, 1 for true)
    assert c["spec"]["volumes"][0]["projected"] is not projected
    assert list(c["spec"]["volumes"][0]["projected"]) == ["sources", "defaultMode"]
    assert c["spec"]["mount"]["readOnly"] == 1 and c["spec"]["mount"]["readOnly"] is not True
    assert json.dumps(c) == json.dumps(storage_module.decode(kv("c", 7, 1,
                                                                   ("sources", "defaultMode"))))


def test_a_binding_hands_the_bound_pod_to_the_watch_cache_sharing_what_it_left_alone(cluster):
    cluster.admin.create(pod("web"))
    cache = cluster.api.watch_cache
    key = "/registry/pods/default/web"
    before = cache.decoded(cluster.etcd.get(key))
    assert before is not None  # the cache keeps the pod as it sent it
    seen = []
    stream = cluster.admin.watch("pods", resource_version=before["metadata"]["resourceVersion"])
    stream.on_event(seen.append)
    cluster.admin.bind("web", "node-1")
    kv = cluster.etcd.get(key)
    bound = cache.decoded(kv)
    assert bound == storage_module.decode(kv)  # what etcd holds, as decoding it gives
    assert seen[-1]["object"] is bound  # the object the watchers were sent
    assert bound["spec"]["nodeName"] == "node-1"
    assert bound["spec"]["containers"] is before["spec"]["containers"]  # taken as it was
    assert before["spec"].get("nodeName") is None  # the cached version was left alone
    assert cache._expected is None  # nothing is left expected


def test_a_change_other_than_the_one_expected_is_decoded(cluster):
    cluster.admin.create(pod("web"))
    cache = cluster.api.watch_cache
    key = "/registry/pods/default/web"
    fake = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
    cache.expect(key, b"{}", fake)  # not what the next write of the key writes
    cluster.admin.patch("pods", "web", {"metadata": {"labels": {"a": "b"}}})
    kv = cluster.etcd.get(key)
    assert cache.decoded(kv) == storage_module.decode(kv)
    assert cache.decoded(kv) is not fake
    cache.expect(None)


def test_a_lease_is_reused_for_at_most_1000_objects(cluster):
    def event(i):
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"web.{i}", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                "reason": "Tested", "message": "m", "type": "Normal"}

    before = {lease.id for lease in cluster.etcd.leases()}
    for i in range(2500):
        cluster.admin.create(event(i))
    new = [lease.id for lease in cluster.etcd.leases() if lease.id not in before]
    sizes = sorted(len(cluster.etcd.time_to_live(lease, keys=True).keys) for lease in new)
    assert sizes == [500, 1000, 1000]  # etcd3/lease_manager.go defaultLeaseMaxObjectCount


def test_new_uid_is_the_version_4_uuid_of_the_seeded_bits():
    import random
    import uuid

    from kubelearn.sim import Simulation

    storage = storage_module.Storage(Simulation(seed=3), None)
    bits = random.Random()
    bits.setstate(storage._uids.getstate())
    for _ in range(2000):
        assert storage.new_uid() == str(uuid.UUID(int=bits.getrandbits(128), version=4))
