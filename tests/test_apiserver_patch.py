"""Patches: RFC 7386 merge, strategic merge, RFC 6902 JSON patch, kubectl apply's patch."""

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, StatusError, UnsupportedMediaType
from kubelearn.apiserver.patch import (
    apply_patch,
    json_patch,
    merge_key,
    merge_patch,
    strategic_merge_patch,
    three_way_patch,
)

# RFC 7386 Appendix A: (target, patch, result)
RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target,patch,result", RFC7386)
def test_merge_patch_rfc7386_examples(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_its_inputs_alone():
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"c": 2}})
    assert target == {"a": {"b": 1}}


POD = {"kind": "Pod", "metadata": {"finalizers": ["a"]}, "spec": {
    "containers": [
        {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "log", "image": "busybox"}],
    "tolerations": [{"key": "x", "operator": "Exists"}]}}


def test_merge_keys_follow_upstream_tags():
    assert merge_key("Pod", ("spec", "containers")) == "name"
    assert merge_key("Pod", ("spec", "containers", "ports")) == "containerPort"
    assert merge_key("Deployment", ("spec", "template", "spec", "containers", "env")) == "name"
    assert merge_key("Pod", ("spec", "volumes")) == "name"
    assert merge_key("Pod", ("spec", "containers", "volumeMounts")) == "mountPath"
    assert merge_key("Service", ("spec", "ports")) == "port"
    assert merge_key("Node", ("status", "conditions")) == "type"
    assert merge_key("Pod", ("metadata", "ownerReferences")) == "uid"
    assert merge_key("Pod", ("spec", "tolerations")) is None  # atomic: replaced
    assert merge_key("EndpointSlice", ("ports",)) is None


def test_strategic_merge_merges_containers_by_name():
    out = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]},
        {"name": "new", "image": "redis"}]}}, "Pod")
    containers = out["spec"]["containers"]
    # strategicpatch's normalizeElementOrder: the new container follows the named one before
    # it, ahead of the server-only "log" (kubectl patch --local gives the same)
    assert [c["name"] for c in containers] == ["web", "new", "log"]
    assert containers[0]["image"] == "nginx:2"
    assert containers[0]["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert POD["spec"]["containers"][0]["image"] == "nginx:1"  # untouched


def test_strategic_merge_directives():
    deleted = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "log", "$patch": "delete"}]}}, "Pod")
    assert [c["name"] for c in deleted["spec"]["containers"]] == ["web"]
    replaced = strategic_merge_patch(POD, {"spec": {"containers": [
        {"name": "only", "image": "x"}, {"$patch": "replace"}]}}, "Pod")
    assert replaced["spec"]["containers"] == [{"name": "only", "image": "x"}]
    spec_replaced = strategic_merge_patch(POD, {"spec": {"$patch": "replace", "nodeName": "n"}},
                                          "Pod")
    assert spec_replaced["spec"] == {"nodeName": "n"}
    ordered = strategic_merge_patch(POD, {"spec": {"$setElementOrder/containers": [
        {"name": "log"}, {"name": "web"}]}}, "Pod")
    assert [c["name"] for c in ordered["spec"]["containers"]] == ["log", "web"]
    # atomic lists are replaced; primitive merge lists (finalizers) are unions
    out = strategic_merge_patch(POD, {"metadata": {"finalizers": ["b", "a"]},
                                      "spec": {"tolerations": [{"key": "y"}]}}, "Pod")
    assert out["metadata"]["finalizers"] == ["b", "a"]  # in the patch's order
    assert out["spec"]["tolerations"] == [{"key": "y"}]
    pruned = strategic_merge_patch(POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": [
        "a"]}}, "Pod")
    assert pruned["metadata"]["finalizers"] == []
    retained = strategic_merge_patch({"kind": "Deployment", "spec": {"strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "Deployment")
    assert retained["spec"]["strategy"] == {"type": "Recreate"}
    with pytest.raises(BadRequest):
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "no-name"}]}}, "Pod")


def test_json_patch_operations():
    doc = {"a": {"b": [1, 2]}, "c": "d"}
    out = json_patch(doc, [
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "replace", "path": "/c", "value": "e"},
        {"op": "copy", "from": "/c", "path": "/f"},
        {"op": "move", "from": "/f", "path": "/g"},
        {"op": "remove", "path": "/a/b/0"},
        {"op": "test", "path": "/g", "value": "e"},
        {"op": "add", "path": "/a~1b", "value": True},
    ])
    assert out == {"a": {"b": [2, 3]}, "c": "e", "g": "e", "a/b": True}
    assert doc == {"a": {"b": [1, 2]}, "c": "d"}
    with pytest.raises(StatusError) as err:
        json_patch(doc, [{"op": "test", "path": "/c", "value": "x"}])
    assert err.value.code == 422 and str(err.value) == "testing value /c failed: test failed"
    with pytest.raises(StatusError) as err:
        json_patch(doc, [{"op": "replace", "path": "/nope/x", "value": 1}])
    assert err.value.code == 422
    with pytest.raises(BadRequest):
        json_patch(doc, {"op": "add"})


def test_apply_patch_reads_text_and_refuses_unknown_types():
    assert apply_patch({"a": 1}, '{"b": 2}', "merge", "ConfigMap") == {"a": 1, "b": 2}
    with pytest.raises(BadRequest):
        apply_patch({"a": 1}, "{not json", "merge", "ConfigMap")
    with pytest.raises(UnsupportedMediaType) as err:
        apply_patch({"a": 1}, "{}", "application/apply-patch+yaml", "ConfigMap")
    assert err.value.code == 415


def test_three_way_patch_deletes_what_the_last_apply_had():
    last = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [
        {"name": "web", "image": "nginx"}, {"name": "side", "image": "x"}]}}
    new = {"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [
        {"name": "web", "image": "nginx:2"}]}}
    patch = three_way_patch(last, new, "Pod")
    assert patch["metadata"]["labels"] == {"b": None, "a": "1"}
    assert {"$patch": "delete", "name": "side"} in patch["spec"]["containers"]
    current = {"metadata": {"labels": {"a": "1", "b": "2", "by-controller": "y"}},
               "spec": {"containers": [{"name": "web", "image": "nginx"},
                                       {"name": "side", "image": "x"}]}}
    out = strategic_merge_patch(current, patch, "Pod")
    assert out["metadata"]["labels"] == {"a": "1", "by-controller": "y"}
    assert out["spec"]["containers"] == [{"name": "web", "image": "nginx:2"}]


def test_patches_through_the_api_server():
    cluster = kl.Cluster(seed=0)
    cluster.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}})
    out = cluster.admin.patch("pods", "web", {"spec": {"containers": [
        {"name": "web", "image": "nginx:2"}]}})
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    assert out["spec"]["containers"][0]["volumeMounts"]  # the merge kept the token mount
    out = cluster.admin.patch("pods", "web", [{"op": "add", "path": "/metadata/labels",
                                               "value": {"app": "web"}}], patch_type="json")
    assert out["metadata"]["labels"] == {"app": "web"}
    with pytest.raises(StatusError) as err:
        cluster.admin.patch("pods", "web", {"spec": {"containers": [
            {"name": "web", "image": "nginx:3", "ports": [{"containerPort": 80}]}]}})
    assert err.value.code == 422 and "pod updates may not change fields" in str(err.value)
    stale = {"metadata": {"resourceVersion": "2"}, "data": {"x": "y"}}
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    with pytest.raises(StatusError) as err:
        cluster.admin.patch("configmaps", "cm", stale, patch_type="merge")
    assert err.value.code == 409


def test_an_in_process_patch_goes_through_json_like_one_over_http():
    """The server keeps nothing of the caller's patch: later changes to it change nothing."""
    original = {"kind": "Pod", "status": {"phase": "Pending"}}
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}], "ports": (80, 81)}}
    out = apply_patch(original, patch, "merge", "Pod")
    assert out["status"] == {"phase": "Pending", "ports": [80, 81],
                             "conditions": [{"type": "Ready", "status": "True"}]}
    patch["status"]["conditions"][0]["status"] = "False"
    assert out["status"]["conditions"][0]["status"] == "True"
    assert original == {"kind": "Pod", "status": {"phase": "Pending"}}
    with pytest.raises(BadRequest, match="unsupported value: NaN"):
        apply_patch(original, {"spec": {"x": float("nan")}}, "merge", "Pod")
