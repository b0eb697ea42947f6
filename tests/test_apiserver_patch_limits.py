"""Patches do bounded work: JSON patch's operation and copy limits, linear list merges,
a depth bound instead of a RecursionError (issue 11, "Denial of service under the lock")."""

import json

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, RequestEntityTooLarge, StatusError
from kubelearn.apiserver.patch import (
    JSON_PATCH_MAX_COPY_BYTES,
    MAX_JSON_PATCH_OPERATIONS,
    MAX_PATCH_DEPTH,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge_patch,
    three_way_patch,
)
from kubelearn.apiserver.rest import MAX_REQUEST_BODY_BYTES


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- JSON patch: how many operations, how much copying, how big a result -------------------------


def test_upstream_limits():
    assert MAX_JSON_PATCH_OPERATIONS == 10000  # maxJSONPatchOperations, handlers/patch.go
    assert JSON_PATCH_MAX_COPY_BYTES == 3 * 1024 * 1024  # JSONPatchMaxCopyBytes, config.go


def test_a_json_patch_of_more_than_10000_operations_is_a_413():
    ops = [{"op": "test", "path": "/a", "value": 1}] * MAX_JSON_PATCH_OPERATIONS
    assert json_patch({"a": 1}, ops) == {"a": 1}
    with pytest.raises(RequestEntityTooLarge) as err:
        json_patch({"a": 1}, [*ops, ops[0]])
    assert err.value.code == 413
    assert str(err.value) == ("Request entity too large: The allowed maximum operations in a "
                              "JSON patch is 10000, got 10001")


def doubling(times: int) -> tuple[dict, list]:
    """A document and ``times`` copy operations, each doubling its list."""
    doc = {"v": ["x" * 1000]}
    return doc, [{"op": "copy", "from": "/v", "path": "/v/-"}] * times


def test_copies_stop_at_the_accumulated_copy_limit():
    doc, ops = doubling(13)  # 1 KB doubled 13 times: 8 MiB of copies
    accumulated, value = 0, doc["v"]
    while True:  # what upstream adds up: the encoded length of each copied value
        accumulated += len(compact(value))
        if accumulated > JSON_PATCH_MAX_COPY_BYTES:
            break
        value = [*value, value]
    with pytest.raises(StatusError) as err:
        json_patch(doc, ops)
    assert err.value.code == 422
    assert str(err.value) == ("Unable to complete the copy, the accumulated size increase of "
                              f"copy is {accumulated}, exceeding the limit 3145728")
    small, few = doubling(2)
    x = "x" * 1000
    assert json_patch(small, few) == {"v": [x, [x], [x, [x]]]}


def test_the_result_may_not_outgrow_the_request_body_limit():
    half = "x" * (MAX_REQUEST_BODY_BYTES // 2)
    ops = [{"op": "add", "path": "/a", "value": half}, {"op": "add", "path": "/b", "value": half},
           {"op": "test", "path": "/c", "value": "never reached"}]
    with pytest.raises(RequestEntityTooLarge) as err:
        json_patch({}, ops)
    assert str(err.value) == f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}"
    # what is removed or replaced no longer counts
    ops = [{"op": "add", "path": "/a", "value": half}, {"op": "remove", "path": "/a"},
           {"op": "add", "path": "/b", "value": half},
           {"op": "replace", "path": "/b", "value": "small"},
           {"op": "add", "path": "/c", "value": half}]
    assert set(json_patch({}, ops)) == {"b", "c"}


def test_the_copy_amplification_reproducer_is_a_quick_422_that_changes_nothing():
    cluster = kl.Cluster(seed=0)
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                          "data": {"v": "x" * 1000}})
    before = cluster.admin.get("configmaps", "cm")
    ops = [{"op": "add", "path": "/data/w", "value": ["x" * 1000]}]
    ops += [{"op": "copy", "from": "/data/w", "path": "/data/w/-"}] * 16  # 64 MB unbounded
    with pytest.raises(StatusError) as err:
        cluster.admin.patch("configmaps", "cm", ops, patch_type="json")
    assert err.value.code == 422 and "accumulated size increase of copy" in str(err.value)
    assert cluster.admin.get("configmaps", "cm") == before


# -- strategic merge patch and kubectl apply's patch: linear in the list --------------------------


class Key(str):
    """A merge key value that counts how often it is compared."""

    comparisons = 0

    def __eq__(self, other):
        Key.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


N = 2000  # quadratic: ~2,000,000 comparisons; linear: a few per item


def containers(names) -> list[dict]:
    return [{"name": Key(n), "image": "x"} for n in names]


def compared(work) -> int:
    Key.comparisons = 0
    work()
    return Key.comparisons


def test_merging_a_list_by_key_is_linear():
    pod = {"spec": {"containers": containers(f"c{i}" for i in range(N))}}
    patch = {"spec": {"containers": containers(f"c{i}" for i in range(N // 2, N + N // 2))}}
    out = {}
    assert compared(lambda: out.update(strategic_merge_patch(pod, patch, "Pod"))) < 10 * N
    assert [c["name"] for c in out["spec"]["containers"]] == [f"c{i}" for i in
                                                              range(N + N // 2)]
    deletes = {"spec": {"containers": [{"name": Key(f"c{i}"), "$patch": "delete"}
                                       for i in range(N)]}}
    assert compared(lambda: out.update(strategic_merge_patch(pod, deletes, "Pod"))) < 10 * N
    assert out["spec"]["containers"] == []


def test_list_directives_are_linear():
    finalizers = [Key(f"f{i}") for i in range(N)]
    pod = {"metadata": {"finalizers": finalizers}}
    more = {"metadata": {"finalizers": [Key(f"f{i}") for i in range(N // 2, 2 * N)]}}
    out = {}
    assert compared(lambda: out.update(strategic_merge_patch(pod, more, "Pod"))) < 10 * N
    assert out["metadata"]["finalizers"] == [f"f{i}" for i in range(2 * N)]
    drop = {"metadata": {"$deleteFromPrimitiveList/finalizers": [Key(f"f{i}")
                                                                 for i in range(0, N, 2)]}}
    assert compared(lambda: out.update(strategic_merge_patch(pod, drop, "Pod"))) < 10 * N
    assert out["metadata"]["finalizers"] == [f"f{i}" for i in range(1, N, 2)]
    order = {"spec": {"$setElementOrder/containers": [{"name": Key(f"c{i}")}
                                                      for i in reversed(range(N))]}}
    pod = {"spec": {"containers": containers(f"c{i}" for i in range(N))}}
    assert compared(lambda: out.update(strategic_merge_patch(pod, order, "Pod"))) < 10 * N
    assert [c["name"] for c in out["spec"]["containers"]] == [f"c{i}" for i in
                                                              reversed(range(N))]
    data = {f"k{i}": "v" for i in range(N)}
    retain = {"data": {"$retainKeys": [Key(f"k{i}") for i in range(0, N, 2)]}}
    assert compared(lambda: out.update(strategic_merge_patch({"data": data}, retain,
                                                             "ConfigMap"))) < 10 * N
    assert list(out["data"]) == [f"k{i}" for i in range(0, N, 2)]


def test_kubectl_apply_patch_is_linear():
    last = {"spec": {"containers": containers(f"c{i}" for i in range(N))}}
    new = {"spec": {"containers": containers(f"c{i}" for i in range(N // 2, N + N // 2))}}
    patch = {}
    assert compared(lambda: patch.update(three_way_patch(last, new, "Pod"))) < 10 * N
    out = strategic_merge_patch(last, patch, "Pod")
    assert [c["name"] for c in out["spec"]["containers"]] == [c["name"] for c in
                                                              new["spec"]["containers"]]


# -- depth: a 400 or 422, never a RecursionError -----------------------------------------------


def nested(depth: int) -> dict:
    """``{"a": {"a": ... {}}}``, ``depth`` maps deep (built without recursion)."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def nested_text(depth: int) -> str:
    """:func:`nested` as JSON text (json.dumps would recurse)."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize("patch_type", ["merge", "strategic", "json"])
@pytest.mark.parametrize("depth", [MAX_PATCH_DEPTH + 1, 5000])
def test_a_patch_nested_too_deep_is_a_400(patch_type, depth):
    patch, text = nested(depth), nested_text(depth)
    if patch_type == "json":
        patch = [{"op": "add", "path": "/x", "value": nested(depth - 2)}]
        text = '[{"op":"add","path":"/x","value":' + nested_text(depth - 2) + "}]"
    with pytest.raises(BadRequest, match="exceeded max depth"):
        apply_patch({"kind": "ConfigMap"}, patch, patch_type, "ConfigMap")
    with pytest.raises(BadRequest, match="exceeded max depth"):
        apply_patch({"kind": "ConfigMap"}, text, patch_type, "ConfigMap")


def test_a_patch_at_the_depth_limit_applies():
    for patch_type in ("merge", "strategic"):
        out = apply_patch({}, nested(MAX_PATCH_DEPTH), patch_type, "ConfigMap")
        assert out == nested(MAX_PATCH_DEPTH)


def test_json_patch_cannot_build_an_object_too_deep():
    half = nested(MAX_PATCH_DEPTH - 2)
    pointer = "/x" + "/a" * (MAX_PATCH_DEPTH - 3)
    ops = [{"op": "add", "path": "/x", "value": half},
           {"op": "add", "path": pointer, "value": half}]
    with pytest.raises(StatusError, match="exceeded max depth") as err:
        apply_patch({}, ops, "json", "ConfigMap")
    assert err.value.code == 422
    # copying a value into itself nests it: the depth is checked as it grows
    ops = [{"op": "add", "path": "/x", "value": half}]
    ops += [{"op": "copy", "from": "/x", "path": "/x" + "/a" * (MAX_PATCH_DEPTH - 3)}]
    with pytest.raises(StatusError, match="exceeded max depth"):
        apply_patch({}, ops, "json", "ConfigMap")


def test_merge_patch_and_kubectl_apply_patch_refuse_a_deep_value():
    with pytest.raises(BadRequest, match="exceeded max depth"):
        merge_patch({}, nested(5000))
    with pytest.raises(BadRequest, match="exceeded max depth"):
        three_way_patch({"spec": nested(5000)}, {"spec": nested(5000)}, "ConfigMap")


def test_a_deep_patch_through_the_api_server_is_a_400_that_changes_nothing():
    cluster = kl.Cluster(seed=0)
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    before = cluster.admin.get("configmaps", "cm")
    for patch_type in ("merge", "strategic"):
        with pytest.raises(BadRequest):
            cluster.admin.patch("configmaps", "cm", {"metadata": {"annotations": nested(5000)}},
                                patch_type=patch_type)
    assert cluster.admin.get("configmaps", "cm") == before


@pytest.mark.parametrize("token", ["9" * 5000, "\u00b2", "\u0661", "-1", "+0"])
@pytest.mark.parametrize("op", ["add", "replace", "remove", "test", "copy", "move"])
def test_a_list_index_is_ascii_digits_or_the_path_is_missing(token, op):
    """int() would take "١" and refuse "²" or 5,000 digits (a ValueError, a 500)."""
    operation = {"op": op, "path": f"/a/{token}", "value": 1, "from": "/b"}
    with pytest.raises(StatusError, match="doc is missing path") as err:
        json_patch({"a": [1], "b": 2}, [operation])
    assert err.value.code == 422


def test_a_lone_surrogate_is_sized_not_a_unicode_error():
    ops = [{"op": "add", "path": "/a", "value": "\ud800"},
           {"op": "copy", "from": "/a", "path": "/b"}]
    assert json_patch({}, ops) == {"a": "\ud800", "b": "\ud800"}
