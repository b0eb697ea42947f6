"""Manifests load from every form a learner writes, print like kubectl, and add up resources."""

import json
import time
from pathlib import Path

import pytest

from kubelearn.api import (
    KINDS,
    BadRequest,
    Quantity,
    RequestEntityTooLarge,
    StatusError,
    is_namespaced,
    key_for,
    key_prefix,
    kind_for,
    load,
    node_allocatable,
    object_ref,
    pod_limits,
    pod_requests,
    resource_for,
    to_yaml,
)
from kubelearn.api.manifest import MAX_DEPTH, MAX_MANIFEST_BYTES, read
from kubelearn.apiserver.rest import MAX_REQUEST_BODY_BYTES

POD_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: nginx:1.27
    resources:
      requests: {cpu: 250m, memory: 64Mi}
"""


def test_load_yaml_text() -> None:
    [pod] = load(POD_YAML)
    assert pod == {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "web", "labels": {"app": "web"}},
                   "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": {
                       "requests": {"cpu": "250m", "memory": "64Mi"}}}]}}


def test_load_multi_document_skips_empty_documents() -> None:
    text = "---\n" + POD_YAML + "---\n---\n# just a comment\n---\n" + POD_YAML.replace(
        "name: web\n  labels", "name: api\n  labels")
    assert [o["metadata"]["name"] for o in load(text)] == ["web", "api"]
    assert load("") == [] and load("---\n---\n") == []


def test_load_json_text_and_json_stream() -> None:
    [pod] = load(POD_YAML)
    assert load(json.dumps(pod)) == [pod]
    assert load(json.dumps(pod) + "\n" + json.dumps(pod)) == [pod, pod]


def test_load_dicts_lists_and_kind_list() -> None:
    [pod] = load(POD_YAML)
    assert load(pod) == [pod] and load([pod, pod]) == [pod, pod]
    assert load(pod) is not None and load(pod)[0] is not pod  # a copy, not the caller's dict
    listed = load({"apiVersion": "v1", "kind": "List", "items": [pod, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]})
    assert [o["kind"] for o in listed] == ["Pod", "ConfigMap"]
    # items of a typed list without kind inherit it (unstructured decodeToList)
    pods = load({"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "a"}}]})
    assert pods == [{"metadata": {"name": "a"}, "kind": "Pod", "apiVersion": "v1"}]


def test_load_paths(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_YAML)
    assert load(manifest) == load(POD_YAML)
    assert load(str(manifest)) == load(POD_YAML)
    assert load([str(manifest), str(manifest)]) == load(POD_YAML) * 2
    with pytest.raises(BadRequest) as err:
        load(tmp_path / "missing.yaml")
    assert str(err.value) == f'the path "{tmp_path / "missing.yaml"}" does not exist'
    with pytest.raises(BadRequest):
        load("missing.yaml")


def test_yaml_keeps_kubectls_types() -> None:
    [obj] = load("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: c, "
                 "creationTimestamp: 2024-01-01T00:00:00Z}\ndata: {a: 1e3, b: yes, c: '1'}")
    assert obj["metadata"]["creationTimestamp"] == "2024-01-01T00:00:00Z"  # not a datetime
    assert obj["data"] == {"a": 1000.0, "b": True, "c": "1"}  # go-yaml v2 reads 1e3 as a float
    with pytest.raises(BadRequest, match="ConfigMap.data of type string"):
        load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {replicas: 3}")


@pytest.mark.parametrize("text,message", [
    ("metadata: {name: x}\napiVersion: v1",
     """Object 'Kind' is missing in '{"apiVersion":"v1","metadata":{"name":"x"}}'"""),
    ("kind: Pod\nmetadata: {name: x}",
     """Object 'apiVersion' is missing in '{"kind":"Pod","metadata":{"name":"x"}}'"""),
    ("kind: 5\napiVersion: v1", """Object 'Kind' is missing in '{"apiVersion":"v1","kind":5}'"""),
    ("hello", "json: cannot unmarshal string into Go value of type map[string]interface {}"),
    ("- 1", "json: cannot unmarshal number into Go value of type map[string]interface {}"),
    ("apiVersion: v1\nkind: Pod\nmetadata: web",
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go '
     "struct field Pod.metadata of type v1.ObjectMeta"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: 5}",
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go '
     "struct field ObjectMeta.metadata.name of type string"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {labels: {app: 1}}",
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go '
     "struct field ObjectMeta.metadata.labels of type string"),
    ("apiVersion: v1\nkind: Pod\nspec: {containers: {name: web}}",
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal object into Go '
     "struct field PodSpec.spec.containers of type []v1.Container"),
    ("apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: three}",
     'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal '
     "string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ("apiVersion: v1\nkind: Pod\nspec: {containers: [{resources: {limits: {cpu: lots}}}]}",
     'Pod in version "v1" cannot be handled as a Pod: quantities must match the regular '
     "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {creationTimestamp: yesterday}",
     'Pod in version "v1" cannot be handled as a Pod: parsing time "yesterday" as '
     '"2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'),
    ("apiVersion: v1\nkind: List\nitems: {}",
     "json: cannot unmarshal object into Go struct field .items of type []json.RawMessage"),
])
def test_malformed_manifests_raise_kubernetes_style_errors(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as err:
        load(text)
    assert str(err.value) == message
    assert err.value.code == 400


def test_bad_yaml_and_json_syntax() -> None:
    with pytest.raises(BadRequest) as err:
        load("kind: Pod\n  metadata: [\n")
    assert str(err.value).startswith("error converting YAML to JSON: yaml: line ")
    with pytest.raises(BadRequest) as err:
        load('{"kind": ')
    assert str(err.value).startswith("error parsing JSON: ")
    with pytest.raises(BadRequest, match="unsupported value: NaN"):
        load("kind: A\napiVersion: v1\nx: .nan")


def test_errors_name_the_document() -> None:
    with pytest.raises(StatusError) as err:
        load(POD_YAML + "---\nkind: Pod\n")
    assert str(err.value).startswith("document 2: Object 'apiVersion' is missing")


def test_to_yaml_prints_like_kubectl() -> None:
    [pod] = load(POD_YAML)
    pod["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    pod["metadata"]["annotations"] = {"note": "true", "empty": ""}
    assert to_yaml(pod) == """\
apiVersion: v1
kind: Pod
metadata:
  annotations:
    empty: ""
    note: "true"
  creationTimestamp: "2024-01-01T00:00:00Z"
  labels:
    app: web
  name: web
spec:
  containers:
  - image: nginx:1.27
    name: web
    resources:
      requests:
        cpu: 250m
        memory: 64Mi
"""
    assert load(to_yaml(pod)) == [pod]


def test_to_yaml_of_several_is_a_list() -> None:
    [pod] = load(POD_YAML)
    text = to_yaml([pod, pod])
    assert text.startswith("apiVersion: v1\nitems:\n- apiVersion: v1\n")
    assert "kind: List\nmetadata:\n  resourceVersion: \"\"\n" in text
    assert load(text) == [pod, pod]
    assert "cpu: 1500m" in to_yaml({"cpu": Quantity("1.5")})


def test_kinds_and_resources() -> None:
    assert resource_for("Pod") == "pods" and resource_for("Endpoints") == "endpoints"
    assert resource_for("Ingress") == "ingresses" and resource_for("NetworkPolicy") == \
        "networkpolicies"
    assert kind_for("po") == "Pod" and kind_for("deployments.apps") == "Deployment"
    assert kind_for("deploy") == "Deployment" and kind_for("svc") == "Service"
    with pytest.raises(BadRequest, match='doesn\'t have a resource type "widgets"'):
        kind_for("widgets")
    assert not is_namespaced("Node") and not is_namespaced("Namespace")
    assert is_namespaced("Pod") and is_namespaced("Lease")
    assert KINDS["Deployment"].api_version == "apps/v1"
    assert KINDS["Lease"].api_version == "coordination.k8s.io/v1"


def test_etcd_keys() -> None:
    assert key_for("pods", "default", "web") == "/registry/pods/default/web"
    assert key_for("namespaces", None, "default") == "/registry/namespaces/default"
    assert key_for("nodes", "", "node-1") == "/registry/minions/node-1"
    assert key_for("services", "default", "web") == "/registry/services/specs/default/web"
    assert key_for("endpoints", "default", "web") == "/registry/services/endpoints/default/web"
    assert key_for("leases", "kube-node-lease", "n1") == "/registry/leases/kube-node-lease/n1"
    assert key_prefix("pods") == "/registry/pods/"
    assert key_prefix("pods", "default") == "/registry/pods/default/"


def test_object_ref() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                        "resourceVersion": "7"}}
    assert object_ref(pod) == {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u1",
                               "apiVersion": "v1", "resourceVersion": "7"}
    assert object_ref({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}) == {
        "kind": "Node", "name": "n", "apiVersion": "v1"}


def _pod(containers, init=(), overhead=None, pod_resources=None) -> dict:
    def c(req, lim=None, always=False):
        out = {"name": "c", "image": "i", "resources": {"requests": req}}
        if lim:
            out["resources"]["limits"] = lim
        if always:
            out["restartPolicy"] = "Always"
        return out
    spec = {"containers": [c(*x) for x in containers],
            "initContainers": [c(*x) for x in init]}
    if overhead:
        spec["overhead"] = overhead
    if pod_resources:
        spec["resources"] = pod_resources
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _strs(resources: dict) -> dict:
    return {k: str(v) for k, v in resources.items()}


def test_pod_requests_sum_containers_and_max_init_containers() -> None:
    pod = _pod([({"cpu": "100m", "memory": "200Mi"},), ({"cpu": "250m"},)],
               init=[({"cpu": "500m", "memory": "100Mi"},)])
    assert _strs(pod_requests(pod)) == {"cpu": "500m", "memory": "200Mi"}


def test_sidecars_add_to_requests_and_to_later_init_containers() -> None:
    # KEP-753: a sidecar keeps running, so it counts during and after init.
    pod = _pod([({"cpu": "100m"},)],
               init=[({"cpu": "200m"}, None, True), ({"cpu": "300m"},)])
    assert _strs(pod_requests(pod)) == {"cpu": "500m"}  # max(100+200, 200+300)


def test_overhead_and_pod_level_resources() -> None:
    pod = _pod([({"cpu": "1", "memory": "1Gi"}, {"cpu": "2"})], overhead={"cpu": "250m"})
    assert _strs(pod_requests(pod)) == {"cpu": "1250m", "memory": "1Gi"}
    assert _strs(pod_limits(pod)) == {"cpu": "2250m"}  # overhead only on limits that are set
    pod = _pod([({"cpu": "1"},)], pod_resources={"requests": {"cpu": "3", "memory": "2Gi"}})
    assert _strs(pod_requests(pod)) == {"cpu": "3", "memory": "2Gi"}


def test_yaml_numbers_are_quantities_too() -> None:
    [pod] = load(POD_YAML.replace("cpu: 250m", "cpu: 0.5").replace("memory: 64Mi", "memory: 1"))
    assert _strs(pod_requests(pod)) == {"cpu": "500m", "memory": "1"}


def test_node_allocatable_defaults_to_capacity() -> None:
    node = {"status": {"capacity": {"cpu": "4", "memory": "8Gi"}}}
    assert _strs(node_allocatable(node)) == {"cpu": "4", "memory": "8Gi"}
    node["status"]["allocatable"] = {"cpu": "3800m", "memory": "7Gi"}
    assert _strs(node_allocatable(node)) == {"cpu": "3800m", "memory": "7Gi"}
    assert node_allocatable({}) == {}


# -- bounded work: aliases, size, depth (issue 11) -------------------------------------------


def _laughs(levels: int, fanout: int) -> str:
    """A ConfigMap whose ``x`` is a "billion laughs": each anchor holds ``fanout`` of the last."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: laughs}", "x:",
             "  a0: &a0 [" + ", ".join(['"lol"'] * fanout) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]"
              for i in range(1, levels)]
    return "\n".join(lines) + "\n"


EXCESSIVE_ALIASING = "error converting YAML to JSON: yaml: document contains excessive aliasing"


# Each answer is what kubectl v1.32.4 (`kubectl apply --dry-run=client -f`, go-yaml v2 under
# sigs.k8s.io/yaml) said of the same document.
@pytest.mark.parametrize("levels,fanout,refused", [
    (2, 32, False), (2, 33, False), (2, 40, False), (3, 10, False), (3, 11, False),
    (3, 12, False), (4, 6, False), (3, 20, True), (4, 10, True), (5, 5, True), (6, 4, True),
])
def test_alias_expansion_is_bounded_as_go_yaml_bounds_it(levels, fanout, refused) -> None:
    if not refused:
        [obj] = load(_laughs(levels, fanout))
        assert len(obj["x"]) == levels
        return
    with pytest.raises(BadRequest) as err:
        load(_laughs(levels, fanout))
    assert str(err.value) == EXCESSIVE_ALIASING


def test_billion_laughs_is_refused_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(BadRequest) as err:
        load(_laughs(9, 9))  # 387 million strings once expanded
    assert str(err.value) == EXCESSIVE_ALIASING
    assert time.perf_counter() - started < 1.0
    # the same expansion built in Python (shared lists) is refused the same way
    value: list = ["lol"] * 9
    for _ in range(8):
        value = [value] * 9
    with pytest.raises(BadRequest, match="excessive aliasing"):
        load({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "x": value})


def test_an_anchor_that_holds_itself_is_refused() -> None:
    with pytest.raises(BadRequest) as err:
        load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rec}\nx: &x [*x]\n")
    assert str(err.value) == ("error converting YAML to JSON: yaml: anchor 'x' value contains "
                              "itself")
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(BadRequest, match="exceeded max depth"):
        load({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "x": cyclic})


def test_input_size_is_bounded_as_the_http_path_bounds_it(tmp_path: Path) -> None:
    assert MAX_MANIFEST_BYTES == MAX_REQUEST_BODY_BYTES == 3 * 1024 * 1024
    big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {a: '" + \
        "x" * MAX_MANIFEST_BYTES + "'}\n"
    started = time.perf_counter()
    with pytest.raises(RequestEntityTooLarge) as err:
        load(big)
    assert str(err.value) == "Request entity too large: limit is 3145728"
    assert err.value.code == 413
    path = tmp_path / "big.yaml"
    path.write_text(big)
    with pytest.raises(RequestEntityTooLarge):
        load(path)
    assert time.perf_counter() - started < 1.0
    [obj] = load(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "big"}, "data": {"a": "x" * (MAX_MANIFEST_BYTES - 200)}}))  # just under reads
    assert obj["metadata"]["name"] == "big"


def _nested(depth: int) -> str:
    """A ConfigMap whose ``x`` is lists ``depth`` deep (the document itself is one more)."""
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: "
            + "[" * depth + "]" * depth + "\n")


def test_nesting_depth_is_bounded_without_recursion_errors() -> None:
    [obj] = load(_nested(MAX_DEPTH - 1))
    with pytest.raises(BadRequest) as err:
        load(_nested(MAX_DEPTH))
    assert str(err.value) == (f"error converting YAML to JSON: yaml: line 4: exceeded max depth "
                              f"of {MAX_DEPTH}")
    block = "apiVersion: v1\nkind: ConfigMap\nx:\n" + "".join(
        "  " * i + f"k{i}:\n" for i in range(1, 500))
    with pytest.raises(BadRequest, match=f"yaml: line {MAX_DEPTH + 3}: exceeded max depth"):
        load(block)
    with pytest.raises(BadRequest, match="exceeded max depth"):
        load(json.dumps(obj)[:-1] + ', "y": ' + "[" * 5000 + "]" * 5000 + "}")
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(BadRequest, match="exceeded max depth"):
        load({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "x": deep})


def test_lone_surrogates_become_replacement_characters_as_in_go() -> None:
    # encoding/json and go-yaml decode an unpaired surrogate as U+FFFD
    want = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "\ufffd"},
            "data": {"k\ufffd": "a\ufffdb"}}
    assert load('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\\ud800"},'
                '"data":{"k\\udfff":"a\\ud800b"}}') == [want]
    assert load({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "\ud800"},
                 "data": {"k\udfff": "a\ud800b"}}) == [want]


def test_read_goes_on_past_a_document_that_fails() -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
    items = read("---\n".join([cm % "a", "kind: ConfigMap\n", cm % "c"]))
    assert [item.obj["metadata"]["name"] if item.obj else None for item in items] == \
        ["a", None, "c"]
    assert str(items[1].error).startswith("document 2: Object 'apiVersion' is missing")
    # a syntax error ends the stream, as kubectl's YAML reader stops there
    items = read("---\n".join([cm % "a", "metadata: {name: b\n", cm % "c"]))
    assert [bool(item.obj) for item in items] == [True, False]
    assert str(items[1].error).startswith("error converting YAML to JSON: yaml: line ")
    with pytest.raises(BadRequest, match="document 2: Object 'apiVersion'"):
        load("---\n".join([cm % "a", "kind: ConfigMap\n", cm % "c"]))


def test_read_names_the_file_each_object_came_from(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    [item] = read(path)
    assert item.source == str(path) and item.obj["metadata"]["name"] == "a"
    [item] = read({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    assert item.source == ""
