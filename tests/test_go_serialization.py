"""Objects as Go would serialize them: fields without ``omitempty`` are always there.

A Go struct field whose json tag has no ``omitempty`` is written even when it
holds its zero value, and upstream's OpenAPI document lists exactly those
fields as ``required`` (kube-openapi's openapi-gen). The official Python client
(kubernetes 37.x, strict typed models) refuses an object that leaves one out:
``V1NodeSystemInfo`` wants ``kubeProxyVersion`` even when it is ``""``.

Here: the zero-fill itself (:func:`kubelearn.api.schema.zero_filled`), then a
cluster with an object of every served kind (iterating
:data:`kubelearn.apiserver.registry.RESOURCES`, so a new kind is covered once
the scenario makes one), listed and read through the official client's typed
API over HTTPS and through ``kubectl get -o yaml``.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess

import pytest
import yaml
from kubernetes import client, config

from kubelearn.api import schema
from kubelearn.apiserver.registry import RESOURCES, ResourceInfo
from kubelearn.cluster import Cluster

STORED = [info for info in RESOURCES if info.stored]
KUBECTL = shutil.which("kubectl")


def pod(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


# -- the vendored required lists are upstream's -------------------------------------------------


def test_required_lists_are_upstreams_v1_32():
    node_info = schema.KIND_TYPES["Node"].fields["status"].fields["nodeInfo"]
    assert node_info.required == (
        "machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
        "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion", "operatingSystem",
        "architecture")
    assert schema.KIND_TYPES["EndpointSlice"].required == ("addressType", "endpoints")
    assert schema.KIND_TYPES["Event"].required == ("metadata", "involvedObject")
    assert schema.KIND_TYPES["Pod"].fields["spec"].required == ("containers",)
    assert schema.KIND_TYPES["RoleBinding"].required == ("roleRef",)
    # omitempty or +optional everywhere: nothing required
    assert schema.KIND_TYPES["Pod"].required == ()
    assert schema.KIND_TYPES["Lease"].fields["spec"].required == ()


def _model(definition: str):
    """The official client's model class for an OpenAPI definition, or None."""
    parts = definition.split(".")
    name, version, package = parts[-1], parts[-2].capitalize(), parts[-3].capitalize()
    fields = schema.DEFINITIONS[definition].fields
    for candidate in (f"{package}{version}{name}", f"{version}{name}"):
        model = getattr(client, candidate, None)
        # the client may be newer than v1.32 (fields added since), never missing ours
        if model is not None and set(fields) <= set(model.attribute_map.values()):
            return model
    return None


# The client (kubernetes 37.x) follows a later OpenAPI document than v1.32's,
# which marks these required; v1.32's Go types always wrote them anyway (a
# struct, where omitempty has no effect), and validation makes them present.
LATER_REQUIRED = {("io.k8s.api.apps.v1.Deployment", "spec"),
                  ("io.k8s.api.apps.v1.ReplicaSet", "spec")}


def test_every_field_the_official_client_requires_is_one_we_fill():
    checked = 0
    for definition, struct in schema.DEFINITIONS.items():
        model = _model(definition)
        if model is None:
            continue
        wanted = {model.attribute_map[name] for name, field in model.model_fields.items()
                  if field.is_required() and name in model.attribute_map}
        missing = {f for f in wanted - set(struct.required)
                   if (definition, f) not in LATER_REQUIRED}
        assert not missing, definition
        checked += 1
    assert checked > 150  # the client has a model for nearly every definition


# -- the zero-fill ----------------------------------------------------------------------------


def test_a_required_string_gets_the_empty_string():
    node = {"kind": "Node", "status": {"nodeInfo": {"kubeletVersion": "v1.32.0"}}}
    info = schema.zero_filled(node)["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.32.0"  # a value given is kept
    assert info["kubeProxyVersion"] == "" and info["machineID"] == ""
    assert set(info) == set(node_info_fields())


def node_info_fields() -> tuple[str, ...]:
    return schema.KIND_TYPES["Node"].fields["status"].fields["nodeInfo"].fields.keys()


def test_integers_booleans_and_strings_in_list_items():
    body = pod(containers=[{"name": "a", "image": "b", "ports": [{"name": "http"}]}])
    body["status"] = {"containerStatuses": [{"name": "a"}]}
    out = schema.zero_filled(body)
    assert out["spec"]["containers"][0]["ports"] == [{"name": "http", "containerPort": 0}]
    assert out["status"]["containerStatuses"] == [
        {"name": "a", "ready": False, "restartCount": 0, "image": "", "imageID": ""}]


def test_a_required_slice_is_null_and_a_required_struct_is_filled():
    slice_ = {"kind": "EndpointSlice", "addressType": "IPv4"}
    assert schema.zero_filled(slice_)["endpoints"] is None  # Go writes a nil slice as null
    binding = {"kind": "RoleBinding", "metadata": {"name": "b"}}
    assert schema.zero_filled(binding)["roleRef"] == {"apiGroup": "", "kind": "", "name": ""}
    event = schema.zero_filled({"kind": "Event", "reason": "Started"})
    assert event["metadata"] == {} and event["involvedObject"] == {}
    deployment = schema.zero_filled({"kind": "Deployment", "spec": {"replicas": 0}})
    # a required struct without required fields of its own is the empty struct
    assert deployment["spec"] == {"replicas": 0, "selector": {}, "template": {}}


def test_custom_types_get_their_own_zero_values():
    probe = {"httpGet": {"path": "/"}, "tcpSocket": {}}
    body = pod(containers=[{"name": "a", "livenessProbe": probe}])
    out = schema.zero_filled(body)["spec"]["containers"][0]["livenessProbe"]
    assert out["httpGet"] == {"path": "/", "port": 0}  # IntOrString's zero: the int 0
    assert out["tcpSocket"] == {"port": 0}
    condition = schema.DEFINITIONS["io.k8s.apimachinery.pkg.apis.meta.v1.Condition"]
    assert schema.zero_filled({}, condition) == {  # metav1.Time's zero is written as null
        "type": "", "status": "", "lastTransitionTime": None, "reason": "", "message": ""}


def test_present_values_are_kept_and_omitempty_fields_are_not_added():
    body = pod(containers=[{"name": "a", "image": "b", "ports": [{"containerPort": 80}]}])
    body["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                            "name": "r", "uid": "u", "controller": True}]
    assert schema.zero_filled(body) is body  # nothing missing: the very object
    slice_ = {"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": None}
    assert schema.zero_filled(slice_) is slice_  # null is a nil slice's value already
    sparse = {"kind": "Pod", "metadata": {"ownerReferences": [{"name": "r"}]}}
    out = schema.zero_filled(sparse)
    assert out["metadata"]["ownerReferences"] == [
        {"name": "r", "apiVersion": "", "kind": "", "uid": ""}]
    assert set(out) == {"kind", "metadata"}  # no spec, no status: both are omitempty


def test_zero_filled_copies_on_write():
    body = pod(containers=[{"name": "a"}, {"name": "b", "ports": [{}]}])
    before = copy.deepcopy(body)
    out = schema.zero_filled(body)
    assert body == before  # the caller's object is not touched
    assert out["spec"]["containers"][0] is body["spec"]["containers"][0]  # unchanged: shared
    assert out["spec"]["containers"][1]["ports"] == [{"containerPort": 0}]
    assert out["metadata"] is body["metadata"]


def test_fill_zero_values_fills_in_place():
    obj = {"kind": "RoleBinding", "metadata": {"name": "b"}}
    assert schema.fill_zero_values(obj) is obj
    assert obj["roleRef"] == {"apiGroup": "", "kind": "", "name": ""}


def test_storage_reads_an_empty_required_slice_back_as_null():
    """Protobuf in etcd keeps no difference between an empty and a nil slice."""
    slice_ = {"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [], "ports": []}
    assert schema.zero_filled(slice_) is slice_  # a body decodes to an empty slice
    stored = schema.zero_filled(slice_, stored=True)
    assert stored["endpoints"] is None
    assert stored["ports"] == []  # not in the required list (+optional): left as it is
    role = {"kind": "Role", "rules": [{"apiGroups": [""], "verbs": []}]}
    assert schema.fill_zero_values(role)["rules"] == [{"apiGroups": [""], "verbs": None}]
    full = {"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [{"addresses": []}]}
    assert schema.zero_filled(full, stored=True)["endpoints"] == [{"addresses": None}]


def test_fields_left_as_they_were_stored_are_not_walked_again():
    stored = schema.zero_filled(pod(containers=[{"name": "a", "ports": [{}]}]), stored=True)
    update = {**stored, "status": {"containerStatuses": [{"name": "a"}]}}
    update["spec"] = {"containers": [{"name": "a", "ports": [{}]}]}  # equal to stored: skipped
    update["spec"]["containers"][0]["ports"] = [{"containerPort": 0}]
    out = schema.zero_filled(update, before=stored)
    assert out["spec"] is update["spec"]
    assert out["status"]["containerStatuses"][0]["imageID"] == ""
    event = {"kind": "Event", "reason": "Started"}
    assert schema.zero_filled(event, before={"kind": "Event"})["involvedObject"] == {}
    # a required field kept as it was stays as it is
    slice_ = {"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [{"addresses": []}]}
    out = schema.zero_filled(slice_, before={**slice_, "endpoints": None})
    assert out == {**slice_, "endpoints": [{"addresses": []}]}
    assert schema.zero_filled(slice_, stored=True, before={**slice_, "endpoints": None}) == {
        **slice_, "endpoints": [{"addresses": None}]}


def test_a_kind_without_a_type_is_left_alone():
    obj = {"kind": "Widget", "spec": {}}
    assert schema.zero_filled(obj) is obj


def test_decoding_a_body_fills_zero_values():
    body = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]}
    out, unknown = schema.decode_object(body)
    assert unknown == [] and out["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": None}]
    assert "verbs" not in body["rules"][0]  # the body itself is left as it came


# -- a cluster with every kind ----------------------------------------------------------------

SCENARIO = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: password}
stringData: {password: hunter2}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: default, namespace: default}]
"""


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster(nodes=2, seed=0)
    cluster.apply(SCENARIO)
    cluster.run(60)
    cluster.stop_node("node-2")  # taints, NotReady conditions and evictions too
    cluster.run(120)
    return cluster


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    served = cluster.serve(quiet=True, speed=0,  # the cluster stands still while read
                           kubeconfig=tmp_path_factory.mktemp("kube") / "config")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def api_client(server):
    with config.new_client_from_config(config_file=str(server.kubeconfig_path)) as api:
        yield api


def test_every_stored_object_is_written_as_go_would(cluster):
    """Everything in etcd -- what clients wrote and what the API server built -- is filled."""
    admin = cluster.client()
    for info in STORED:
        items = admin.list(info.qualified)["items"]
        assert items, f"the scenario has no {info.kind}: add one"
        for obj in items:
            assert schema.zero_filled(obj) is obj, (info.kind, obj["metadata"]["name"])


def test_the_scenario_shows_zero_values(cluster):
    admin = cluster.client()
    node = admin.get("nodes", "node-1")
    assert node["status"]["nodeInfo"]["kubeProxyVersion"] == ""
    slices = admin.list("endpointslices.discovery.k8s.io", namespace="default")
    by_service = {s["metadata"]["labels"]["kubernetes.io/service-name"]: s
                  for s in slices["items"]}
    assert by_service["nobody"]["endpoints"] is None  # as a real cluster answers it
    assert by_service["web"]["endpoints"]


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _typed_api(api_client: client.ApiClient, info: ResourceInfo):
    """CoreV1Api, AppsV1Api, RbacAuthorizationV1Api... for ``info``'s group-version."""
    group = info.group.removesuffix(".k8s.io") or "core"
    name = "".join(part.capitalize() for part in group.split(".")) + info.version.capitalize()
    return getattr(client, f"{name}Api")(api_client)


@pytest.mark.parametrize("info", STORED, ids=[info.resource for info in STORED])
def test_the_official_client_lists_and_reads_every_kind(api_client, info):
    api, kind = _typed_api(api_client, info), _snake(info.kind)
    if info.namespaced:
        listed = getattr(api, f"list_{kind}_for_all_namespaces")()
    else:
        listed = getattr(api, f"list_{kind}")()
    assert listed.items, f"the scenario has no {info.kind}"
    for item in listed.items:
        meta = item.metadata
        if info.namespaced:
            got = getattr(api, f"read_namespaced_{kind}")(meta.name, meta.namespace)
        else:
            got = getattr(api, f"read_{kind}")(meta.name)
        assert got.metadata.uid == meta.uid
    if info.kind == "Node":
        assert {n.status.node_info.kube_proxy_version for n in listed.items} == {""}


@pytest.fixture(scope="module")
def kubectl_env(server, tmp_path_factory):
    if KUBECTL is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not on PATH, but CI machines must have it")
        pytest.skip("kubectl is not installed (this test drives the real kubectl v1.32)")
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "KUBECONFIG": str(server.kubeconfig_path), "HOME": str(home),
            "KUBECACHEDIR": str(home / "cache")}


@pytest.mark.parametrize("info", STORED, ids=[info.resource for info in STORED])
def test_kubectl_get_yaml_shows_every_field_go_writes(kubectl_env, info):
    proc = subprocess.run([KUBECTL, "get", info.qualified, "-A", "-o", "yaml"],
                          capture_output=True, text=True, env=kubectl_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    items = yaml.safe_load(proc.stdout)["items"]
    assert items, f"the scenario has no {info.kind}"
    for obj in items:
        assert schema.zero_filled(obj) is obj, (info.kind, obj["metadata"]["name"])
    if info.kind == "Node":
        assert "kubeProxyVersion: \"\"" in proc.stdout
