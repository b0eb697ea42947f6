"""Manifests load from every form a learner writes, print like kubectl, and add up resources."""

import json
from pathlib import Path

import pytest

from kubelearn.api import (
    KINDS,
    BadRequest,
    Quantity,
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
