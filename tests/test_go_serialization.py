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
import json
import os
import re
import shutil
import subprocess
from importlib import resources

import pytest
import yaml
from kubernetes import client, config

from kubelearn.api import schema
from kubelearn.apiserver import openapi
from kubelearn.apiserver.registry import RESOURCES, ResourceInfo
from kubelearn.cluster import Cluster

STORED = [info for info in RESOURCES if info.stored]
KUBECTL = shutil.which("kubectl")


def pod(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


# -- which fields Go always writes: from the Go structs ------------------------------------------


def test_required_lists_are_upstreams_v1_32():
    """The OpenAPI ``required`` lists (served to kubectl) are upstream's, as they were."""
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


def test_written_goes_beyond_required():
    """What ``required`` misses: +optional without omitempty, and every non-pointer struct."""
    event = schema.KIND_TYPES["Event"].written
    assert event["reportingComponent"] == "" and event["reportingInstance"] == ""
    assert event["eventTime"] is None and event["source"] == {}
    assert schema.KIND_TYPES["EndpointSlice"].written["ports"] is None  # json:"ports"
    container = schema.DEFINITIONS["io.k8s.api.core.v1.Container"]
    assert container.written == {"name": "", "resources": {}}
    assert "resources" not in container.required
    assert schema.OBJECT_META.written == {"creationTimestamp": None}
    assert schema.KIND_TYPES["Pod"].written == {"metadata": {}, "spec": {}, "status": {}}
    # a pointer is omitted when nil, omitempty or not: a pod's securityContext is a pointer
    assert "securityContext" not in schema.KIND_TYPES["Pod"].fields["spec"].written
    assert "securityContext" not in container.written


# Go struct fields of k8s.io/api and apimachinery v0.32.0 as (json name, Go type,
# omitempty), generated from types.go by tools/go_fields.py (WrittenFields.fields) and
# checked by hand against the source; embedded structs (TypeMeta, ObjectMeta's) inlined.
GO_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "io.k8s.api.core.v1.Container": [
        ("name", "string", False), ("image", "string", True), ("command", "[]string", True),
        ("args", "[]string", True), ("workingDir", "string", True),
        ("ports", "[]ContainerPort", True), ("envFrom", "[]EnvFromSource", True),
        ("env", "[]EnvVar", True), ("resources", "ResourceRequirements", True),
        ("resizePolicy", "[]ContainerResizePolicy", True),
        ("restartPolicy", "*ContainerRestartPolicy", True),
        ("volumeMounts", "[]VolumeMount", True), ("volumeDevices", "[]VolumeDevice", True),
        ("livenessProbe", "*Probe", True), ("readinessProbe", "*Probe", True),
        ("startupProbe", "*Probe", True), ("lifecycle", "*Lifecycle", True),
        ("terminationMessagePath", "string", True),
        ("terminationMessagePolicy", "TerminationMessagePolicy", True),
        ("imagePullPolicy", "PullPolicy", True), ("securityContext", "*SecurityContext", True),
        ("stdin", "bool", True), ("stdinOnce", "bool", True), ("tty", "bool", True),
    ],
    "io.k8s.api.core.v1.ContainerStatus": [
        ("name", "string", False), ("state", "ContainerState", True),
        ("lastState", "ContainerState", True), ("ready", "bool", False),
        ("restartCount", "int32", False), ("image", "string", False),
        ("imageID", "string", False), ("containerID", "string", True), ("started", "*bool", True),
        ("allocatedResources", "ResourceList", True),
        ("resources", "*ResourceRequirements", True),
        ("volumeMounts", "[]VolumeMountStatus", True), ("user", "*ContainerUser", True),
        ("allocatedResourcesStatus", "[]ResourceStatus", True),
    ],
    "io.k8s.api.core.v1.Event": [
        ("kind", "string", True), ("apiVersion", "string", True),
        ("metadata", "metav1.ObjectMeta", False), ("involvedObject", "ObjectReference", False),
        ("reason", "string", True), ("message", "string", True), ("source", "EventSource", True),
        ("firstTimestamp", "metav1.Time", True), ("lastTimestamp", "metav1.Time", True),
        ("count", "int32", True), ("type", "string", True),
        ("eventTime", "metav1.MicroTime", True), ("series", "*EventSeries", True),
        ("action", "string", True), ("related", "*ObjectReference", True),
        ("reportingComponent", "string", False), ("reportingInstance", "string", False),
    ],
    "io.k8s.api.discovery.v1.EndpointSlice": [
        ("kind", "string", True), ("apiVersion", "string", True),
        ("metadata", "metav1.ObjectMeta", True), ("addressType", "AddressType", False),
        ("endpoints", "[]Endpoint", False), ("ports", "[]EndpointPort", False),
    ],
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": [
        ("name", "string", True), ("generateName", "string", True), ("namespace", "string", True),
        ("selfLink", "string", True), ("uid", "types.UID", True),
        ("resourceVersion", "string", True), ("generation", "int64", True),
        ("creationTimestamp", "Time", True), ("deletionTimestamp", "*Time", True),
        ("deletionGracePeriodSeconds", "*int64", True), ("labels", "map[string]string", True),
        ("annotations", "map[string]string", True), ("ownerReferences", "[]OwnerReference", True),
        ("finalizers", "[]string", True), ("managedFields", "[]ManagedFieldsEntry", True),
    ],
    "io.k8s.api.core.v1.PodTemplateSpec": [
        ("metadata", "metav1.ObjectMeta", True), ("spec", "PodSpec", True),
    ],
    "io.k8s.api.core.v1.ServicePort": [
        ("name", "string", True), ("protocol", "Protocol", True),
        ("appProtocol", "*string", True), ("port", "int32", False),
        ("targetPort", "intstr.IntOrString", True), ("nodePort", "int32", True),
    ],
    "io.k8s.api.core.v1.ServiceStatus": [
        ("loadBalancer", "LoadBalancerStatus", True), ("conditions", "[]metav1.Condition", True),
    ],
    "io.k8s.api.core.v1.TypedLocalObjectReference": [
        ("apiGroup", "*string", False), ("kind", "string", False), ("name", "string", False),
    ],
    "io.k8s.api.core.v1.ResourceFieldSelector": [
        ("containerName", "string", True), ("resource", "string", False),
        ("divisor", "resource.Quantity", True),
    ],
    "io.k8s.api.apps.v1.DeploymentSpec": [
        ("replicas", "*int32", True), ("selector", "*metav1.LabelSelector", False),
        ("template", "v1.PodTemplateSpec", False), ("strategy", "DeploymentStrategy", True),
        ("minReadySeconds", "int32", True), ("revisionHistoryLimit", "*int32", True),
        ("paused", "bool", True), ("progressDeadlineSeconds", "*int32", True),
    ],
    "io.k8s.api.core.v1.Pod": [
        ("kind", "string", True), ("apiVersion", "string", True),
        ("metadata", "metav1.ObjectMeta", True), ("spec", "PodSpec", True),
        ("status", "PodStatus", True),
    ],
    "io.k8s.api.rbac.v1.ClusterRole": [
        ("kind", "string", True), ("apiVersion", "string", True),
        ("metadata", "metav1.ObjectMeta", True), ("rules", "[]PolicyRule", False),
        ("aggregationRule", "*AggregationRule", True),
    ],
    "io.k8s.api.core.v1.NodeStatus": [
        ("capacity", "ResourceList", True), ("allocatable", "ResourceList", True),
        ("phase", "NodePhase", True), ("conditions", "[]NodeCondition", True),
        ("addresses", "[]NodeAddress", True), ("daemonEndpoints", "NodeDaemonEndpoints", True),
        ("nodeInfo", "NodeSystemInfo", True), ("images", "[]ContainerImage", True),
        ("volumesInUse", "[]UniqueVolumeName", True),
        ("volumesAttached", "[]AttachedVolume", True), ("config", "*NodeConfigStatus", True),
        ("runtimeHandlers", "[]NodeRuntimeHandler", True), ("features", "*NodeFeatures", True),
    ],
}
# The structs with their own MarshalJSON, and what they write when zero (apimachinery
# v0.32.0: time.go, micro_time.go, quantity.go, intstr.go).
CUSTOM_ZERO = {schema.TIME: None, schema.MICRO_TIME: None, schema.QUANTITY: "0",
               schema.INT_OR_STRING: 0}


def _expected_zero(go_type: str, typ) -> tuple[bool, object]:
    """encoding/json's rules, worked out here apart from the tool: (a struct?, its zero)."""
    if go_type.startswith(("*", "[]", "map[")):
        return False, None
    if typ in CUSTOM_ZERO:
        return True, CUSTOM_ZERO[typ]
    if isinstance(typ, schema.Struct):
        return True, {}
    return False, schema._zero(typ)  # "", 0, false


@pytest.mark.parametrize("definition", sorted(GO_FIELDS))
def test_the_vendored_written_fields_follow_the_go_tags(definition):
    struct = schema.DEFINITIONS[definition]
    fields = GO_FIELDS[definition]
    assert [name for name, _, _ in fields] == list(struct.fields) or \
        {name for name, _, _ in fields} == set(struct.fields)
    expected = {}
    for name, go_type, omitempty in fields:
        is_struct, zero = _expected_zero(go_type, struct.fields[name])
        if not omitempty or is_struct:  # omitempty never drops a struct
            expected[name] = zero
    assert struct.written == expected
    # and every field upstream's OpenAPI calls required is among them
    assert set(struct.required) <= set(struct.written)


def test_the_vendored_document_says_it_for_every_definition():
    """Each definition with a Go struct has the extension, or writes nothing always."""
    document = json.loads(resources.files("kubelearn.api").joinpath(schema.SCHEMA_FILE)
                          .read_text())
    marked = {name for name, d in document["definitions"].items() if schema.WRITTEN in d}
    assert len(marked) > 100
    for name, struct in schema.DEFINITIONS.items():
        assert (name in marked) == bool(struct.written), name


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


def test_every_field_the_official_client_requires_is_one_we_fill():
    """The client (kubernetes 37.x) follows a later OpenAPI document, which marks more
    fields required (a Deployment's spec); v1.32's Go types wrote them all anyway."""
    checked = 0
    for definition, struct in schema.DEFINITIONS.items():
        model = _model(definition)
        if model is None:
            continue
        wanted = {model.attribute_map[name] for name, field in model.model_fields.items()
                  if field.is_required() and name in model.attribute_map}
        assert wanted <= set(struct.written), definition
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
        {"name": "a", "ready": False, "restartCount": 0, "image": "", "imageID": "",
         "state": {}, "lastState": {}}]  # ContainerState: a struct, all pointers inside


def test_a_required_slice_is_null_and_a_required_struct_is_filled():
    slice_ = {"kind": "EndpointSlice", "addressType": "IPv4"}
    out = schema.zero_filled(slice_)
    assert out["endpoints"] is None and out["ports"] is None  # Go writes a nil slice as null
    binding = {"kind": "RoleBinding", "metadata": {"name": "b"}}
    assert schema.zero_filled(binding)["roleRef"] == {"apiGroup": "", "kind": "", "name": ""}


def test_an_optional_field_without_omitempty_is_written():
    """Gap 1: Event.reportingComponent is +optional but has no omitempty."""
    event = schema.zero_filled({"kind": "Event", "reason": "Started"})
    assert event["reportingComponent"] == "" and event["reportingInstance"] == ""
    assert event["eventTime"] is None and event["firstTimestamp"] is None  # zero Times
    assert event["metadata"] == {"creationTimestamp": None} and event["source"] == {}
    assert event["involvedObject"] == {}


def test_a_struct_field_is_written_even_with_omitempty():
    """Gap 2: encoding/json's omitempty never drops a struct (isEmptyValue has no case)."""
    container = schema.zero_filled(pod(containers=[{"name": "a"}]))["spec"]["containers"][0]
    assert container["resources"] == {}
    deployment = schema.zero_filled({"kind": "Deployment", "spec": {"replicas": 0}})
    # a PodTemplateSpec's zero form: ObjectMeta's zero Time is null, PodSpec's containers nil
    assert deployment["spec"] == {
        "replicas": 0, "selector": None, "strategy": {},  # selector: a pointer, no omitempty
        "template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}}}
    service = schema.zero_filled({"kind": "Service", "spec": {"ports": [{"port": 80}]}})
    assert service["status"] == {"loadBalancer": {}}
    assert service["spec"]["ports"][0]["targetPort"] == 0  # a zero IntOrString is the int 0
    # a pointer to a struct is left out when nil
    assert "securityContext" not in schema.zero_filled(pod(containers=[]))["spec"]


def test_empty_omitempty_slices_and_maps_are_left_out():
    """Gap 3: omitempty drops a slice or map of length 0, as it does a nil one."""
    body = pod(containers=[{"name": "a", "command": [], "env": []}], tolerations=[],
               nodeSelector={})
    body["metadata"].update(labels={}, annotations={}, finalizers=[])
    out = schema.zero_filled(body)
    assert out["metadata"] == {"name": "p", "creationTimestamp": None}
    assert out["spec"] == {"containers": [{"name": "a", "resources": {}}]}
    configmap = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    assert "data" not in schema.zero_filled(configmap)
    # an empty struct behind a pointer is not empty to encoding/json: kept
    spec = schema.zero_filled(pod(containers=[], securityContext={}))["spec"]
    assert spec["securityContext"] == {}


def test_custom_types_get_their_own_zero_values():
    probe = {"httpGet": {"path": "/"}, "tcpSocket": {}}
    body = pod(containers=[{"name": "a", "livenessProbe": probe}])
    out = schema.zero_filled(body)["spec"]["containers"][0]["livenessProbe"]
    assert out["httpGet"] == {"path": "/", "port": 0}  # IntOrString's zero: the int 0
    assert out["tcpSocket"] == {"port": 0}
    condition = schema.DEFINITIONS["io.k8s.apimachinery.pkg.apis.meta.v1.Condition"]
    assert schema.zero_filled({}, condition) == {  # metav1.Time's zero is written as null
        "type": "", "status": "", "lastTransitionTime": None, "reason": "", "message": ""}
    selector = schema.DEFINITIONS["io.k8s.api.core.v1.ResourceFieldSelector"]
    assert schema.zero_filled({"resource": "limits.cpu"}, selector)["divisor"] == "0"


def test_zero_plain_omitempty_values_are_left_out():
    """encoding/json's isEmptyValue: "", 0 and false in an omitempty field that is no
    pointer are left out (a PodCondition's reason, DeploymentStatus.unavailableReplicas)."""
    body = pod(containers=[{"name": "a", "image": "", "stdin": False, "ports": [
        {"containerPort": 80, "hostPort": 0, "hostIP": ""}]}], nodeName="")
    body["metadata"].update(namespace="", generation=0, resourceVersion="")
    body["status"] = {"phase": "", "conditions": [
        {"type": "Ready", "status": "True", "reason": "", "message": ""}]}
    out = schema.zero_filled(body)
    assert out["metadata"] == {"name": "p", "creationTimestamp": None}
    assert out["spec"] == {"containers": [
        {"name": "a", "ports": [{"containerPort": 80}], "resources": {}}]}
    assert out["status"] == {"conditions": [
        {"type": "Ready", "status": "True", "lastProbeTime": None,
         "lastTransitionTime": None}]}
    status = {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
              "unavailableReplicas": 0, "observedGeneration": 1}
    deployment = schema.zero_filled({"kind": "Deployment", "status": status})
    assert "unavailableReplicas" not in deployment["status"]
    assert deployment["status"]["replicas"] == 2
    # fields without omitempty keep their zero: a container status' ready and restartCount
    written = schema.zero_filled(pod(), schema.KIND_TYPES["Pod"])
    statuses = {"containerStatuses": [{"name": "a", "ready": False, "restartCount": 0,
                                       "image": "", "imageID": "", "state": {},
                                       "lastState": {}}]}
    assert schema.zero_filled({**written, "status": statuses})["status"] == statuses


def test_pointers_keep_their_zero_and_lose_their_null():
    """A pointer to 0, "" or false is written (spec.replicas: 0); a nil one is left out when
    omitempty (deletionTimestamp: None as kubelearn's own code may write it), and written as
    null without omitempty (a Deployment's selector)."""
    deployment = {"kind": "Deployment", "metadata": {"name": "d", "deletionTimestamp": None,
                                                     "deletionGracePeriodSeconds": 0},
                  "spec": {"replicas": 0, "paused": False, "minReadySeconds": 0,
                           "revisionHistoryLimit": None, "selector": None}}
    out = schema.zero_filled(deployment)
    assert out["metadata"] == {"name": "d", "creationTimestamp": None,
                               "deletionGracePeriodSeconds": 0}
    assert out["spec"]["replicas"] == 0 and out["spec"]["selector"] is None
    assert "paused" not in out["spec"] and "minReadySeconds" not in out["spec"]
    assert "revisionHistoryLimit" not in out["spec"]
    body = pod(containers=[{"name": "a", "securityContext": None,
                            "ports": [{"containerPort": 1}]}], priority=0,
               enableServiceLinks=False, securityContext={})
    spec = schema.fill_zero_values(body)["spec"]
    assert spec["priority"] == 0 and spec["enableServiceLinks"] is False  # pointers
    assert spec["securityContext"] == {}  # a pointer to an empty struct: {}
    assert "securityContext" not in spec["containers"][0]


def test_the_vendored_document_lists_the_plain_omitempty_fields():
    """From the Go tags: omitempty and neither a pointer, slice, map nor struct."""
    for definition, fields in GO_FIELDS.items():
        struct = schema.DEFINITIONS[definition]
        expected = {name for name, go_type, omitempty in fields if omitempty
                    and not go_type.startswith(("*", "[]", "map["))
                    and not isinstance(struct.fields[name], (schema.Struct, schema.Custom))
                    and not schema._is_collection(struct.fields[name])}
        assert struct.omitted_zeros == expected, definition
    status = schema.DEFINITIONS["io.k8s.api.apps.v1.DeploymentStatus"]
    assert "unavailableReplicas" in status.omitted_zeros
    spec = schema.DEFINITIONS["io.k8s.api.apps.v1.DeploymentSpec"]
    assert "replicas" not in spec.omitted_zeros  # *int32


def test_filled_fields_are_written_in_go_struct_order():
    """encoding/json writes a struct's fields in declaration order; a struct that gets a
    field filled in is rewritten in that order (fields given in another order and not
    filled keep theirs)."""
    assert list(schema.KIND_TYPES["Pod"].fields) == ["kind", "apiVersion", "metadata",
                                                     "spec", "status"]
    body = {"spec": {"containers": [{"image": "b", "name": "a"}]}, "metadata": {"name": "p"},
            "apiVersion": "v1", "kind": "Pod"}
    out = schema.zero_filled(body)
    assert list(out) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert list(out["spec"]["containers"][0]) == ["name", "image", "resources"]
    info = schema.zero_filled({"kind": "Node", "status": {"nodeInfo": {}}})["status"]["nodeInfo"]
    assert list(info) == list(node_info_fields())
    stored = schema.fill_zero_values({"metadata": {"name": "n"}, "kind": "Node"})
    assert list(stored) == ["kind", "metadata", "spec", "status"]


def go_pod() -> dict:
    """A pod as Go writes it: nothing to fill, nothing to drop."""
    body = pod(containers=[{"name": "a", "image": "b", "ports": [{"containerPort": 80}],
                            "resources": {}}])
    body["metadata"]["creationTimestamp"] = None
    body["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                            "name": "r", "uid": "u", "controller": True}]
    body["status"] = {}
    return body


def test_present_values_are_kept_and_omitempty_fields_are_not_added():
    body = go_pod()
    assert schema.zero_filled(body) is body  # nothing missing: the very object
    slice_ = {"kind": "EndpointSlice", "metadata": {"creationTimestamp": None},
              "addressType": "IPv4", "endpoints": None, "ports": None}
    assert schema.zero_filled(slice_) is slice_  # null is a nil slice's value already
    sparse = {"kind": "Pod", "metadata": {"ownerReferences": [{"name": "r"}]}}
    out = schema.zero_filled(sparse)
    assert out["metadata"]["ownerReferences"] == [
        {"name": "r", "apiVersion": "", "kind": "", "uid": ""}]
    assert "deletionTimestamp" not in out["metadata"]  # a pointer: omitted when nil


def test_zero_filled_copies_on_write():
    body = go_pod()
    body["spec"]["containers"].append({"name": "b", "ports": [{}]})
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
    configmap = {"kind": "ConfigMap", "metadata": {"name": "c", "labels": {}}, "data": {}}
    assert schema.fill_zero_values(configmap) is configmap
    assert configmap == {"kind": "ConfigMap", "metadata": {"name": "c",
                                                           "creationTimestamp": None}}


def test_storage_reads_an_empty_required_slice_back_as_null():
    """Protobuf in etcd keeps no difference between an empty and a nil slice."""
    slice_ = {"kind": "EndpointSlice", "metadata": {"creationTimestamp": None},
              "addressType": "IPv4", "endpoints": [], "ports": []}
    assert schema.zero_filled(slice_) is slice_  # a body decodes to an empty slice
    stored = schema.zero_filled(slice_, stored=True)
    assert stored["endpoints"] is None
    assert stored["ports"] is None  # +optional, but json:"ports": written, as null
    role = {"kind": "Role", "rules": [{"apiGroups": [""], "verbs": []}]}
    assert schema.fill_zero_values(role)["rules"] == [{"apiGroups": [""], "verbs": None}]
    full = {"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [{"addresses": []}]}
    assert schema.zero_filled(full, stored=True)["endpoints"] == [
        {"addresses": None, "conditions": {}}]


def test_fields_left_as_they_were_stored_are_not_walked_again():
    stored = schema.zero_filled(pod(containers=[{"name": "a", "ports": [{}]}]), stored=True)
    update = {**stored, "status": {"containerStatuses": [{"name": "a"}]}}
    update["spec"] = copy.deepcopy(stored["spec"])  # equal to stored: skipped
    out = schema.zero_filled(update, before=stored)
    assert out["spec"] is update["spec"]
    assert out["status"]["containerStatuses"][0]["imageID"] == ""
    event = {"kind": "Event", "reason": "Started"}
    assert schema.zero_filled(event, before={"kind": "Event"})["involvedObject"] == {}
    # a required field kept as it was stays as it is
    slice_ = {"kind": "EndpointSlice", "metadata": {}, "addressType": "IPv4", "ports": None,
              "endpoints": [{"addresses": [], "conditions": {}}]}
    out = schema.zero_filled(slice_, before={**slice_, "endpoints": None})
    assert out == slice_  # metadata as it was stored: not walked
    assert schema.zero_filled(slice_, stored=True, before={**slice_, "endpoints": None}) == {
        **slice_, "endpoints": [{"addresses": None, "conditions": {}}]}
    # an empty omitempty map among the changed top-level fields is dropped
    configmap = {"kind": "ConfigMap", "metadata": {"creationTimestamp": None}, "data": {}}
    assert schema.zero_filled(configmap, before={**configmap, "data": {"a": "b"}}) == {
        "kind": "ConfigMap", "metadata": {"creationTimestamp": None}}


def test_a_kind_without_a_type_is_left_alone():
    obj = {"kind": "Widget", "spec": {}}
    assert schema.zero_filled(obj) is obj


def test_decoding_a_body_fills_zero_values():
    body = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r", "labels": {}}, "rules": [{"apiGroups": [""],
                                                              "resources": ["pods"]}]}
    out, unknown = schema.decode_object(body)
    assert unknown == [] and out["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": None}]
    assert out["metadata"] == {"name": "r", "creationTimestamp": None}
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
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, labels: {}}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
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
    assert by_service["nobody"]["ports"] is None  # the placeholder slice: json:"ports", nil


def test_the_scenario_writes_what_go_writes_beyond_required(cluster):
    admin = cluster.client()
    events = admin.list("events", namespace="default")["items"]
    scheduled = [e for e in events if e["reason"] == "Scheduled"]
    assert scheduled, "the scheduler wrote no Scheduled event"
    for event in events:  # +optional, json:"reportingComponent": always there
        assert isinstance(event["reportingComponent"], str)
        assert isinstance(event["reportingInstance"], str)
        assert "eventTime" in event and "source" in event
    deployment = admin.get("deployments.apps", "web", namespace="default")
    template = deployment["spec"]["template"]
    assert template["metadata"]["creationTimestamp"] is None  # a zero metav1.Time
    assert template["spec"]["containers"][0]["resources"] == {}
    pod = admin.list("pods", namespace="default")["items"][0]
    assert pod["spec"]["containers"][0]["resources"] == {}
    assert all("lastState" in s for s in pod["status"]["containerStatuses"])
    web = admin.get("services", "web", namespace="default")
    assert web["status"] == {"loadBalancer": {}}
    budget = admin.get("poddisruptionbudgets.policy", "web", namespace="default")
    assert "labels" not in budget["metadata"]  # labels: {} as sent: not stored


def test_a_budget_created_without_status_has_its_four_counts():
    """PodDisruptionBudgetStatus' four counts have no omitempty: a new budget is answered
    with them at 0 (observedGeneration, disruptedPods and conditions are omitempty)."""
    cluster = Cluster(nodes=1, seed=0)
    admin = cluster.client()
    created = admin.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                            "metadata": {"name": "b"},
                            "spec": {"minAvailable": 1,
                                     "selector": {"matchLabels": {"app": "none"}}}},
                           "default")
    assert created["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0,
                                 "desiredHealthy": 0, "expectedPods": 0}


def test_the_deployment_status_leaves_out_zero_counts():
    """With every pod available, unavailableReplicas is 0 and left out (omitempty), as
    kube-apiserver answers it; spec.replicas, a pointer, keeps even a 0."""
    cluster = Cluster(nodes=1, seed=0)
    cluster.apply(SCENARIO.split("---")[0])
    cluster.run(30)
    status = cluster.client().get("deployments.apps", "web", namespace="default")["status"]
    assert status["availableReplicas"] == status["replicas"] == 2
    assert "unavailableReplicas" not in status
    cluster.client().patch("deployments.apps", "web", {"spec": {"replicas": 0}}, "default")
    cluster.run(30)
    deployment = cluster.client().get("deployments.apps", "web", namespace="default")
    assert deployment["spec"]["replicas"] == 0
    assert "replicas" not in deployment["status"]  # 0 pods: omitempty


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


# -- the served OpenAPI carries upstream's required lists -------------------------------------


def test_served_openapi_v2_and_v3_carry_the_required_lists():
    container = "io.k8s.api.core.v1.Container"
    swagger = openapi.swagger(RESOURCES, ())
    assert swagger["definitions"][container]["required"] == ["name"]
    v3 = openapi.v3_documents(RESOURCES, ())["api/v1"]["components"]["schemas"]
    assert v3[container]["required"] == ["name"]
    node_info = v3["io.k8s.api.core.v1.NodeSystemInfo"]["required"]
    assert "kubeProxyVersion" in node_info and len(node_info) == 10
    assert "required" not in v3["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    for name, struct in schema.DEFINITIONS.items():  # upstream's, no more, no less
        if name in swagger["definitions"]:
            assert swagger["definitions"][name].get("required", []) == list(struct.required)


def test_kubectl_explain_marks_required_fields(kubectl_env):
    proc = subprocess.run([KUBECTL, "explain", "pod.spec.containers"], capture_output=True,
                          text=True, env=kubectl_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.strip().split("\t", 1) for line in proc.stdout.splitlines()
                  if line.startswith("  ") and "\t" in line)
    assert fields["name"] == "<string> -required-"  # as kubectl v1.32 prints it
    assert fields["image"] == "<string>"


def test_zero_filled_before_skips_equal_parts_at_any_depth_and_fills_the_rest():
    """An update filled against the version it replaces (``before``) comes out as a full
    fill does: the parts equal to the stored ones are left, the changed ones filled."""
    stored = schema.zero_filled(pod(containers=[{"name": "a", "ports": [{}]}]), stored=True)
    update = copy.deepcopy(stored)
    update["spec"]["nodeName"] = "node-1"
    update["spec"]["containers"].append({"name": "b"})  # a new element: filled
    update["status"] = {"conditions": [{"type": "PodScheduled", "status": "True"}]}
    out = schema.zero_filled(update, stored=True, before=stored)
    assert out == schema.zero_filled(update, stored=True)
    assert out["spec"]["containers"][1]["resources"] == {}
    assert out["status"]["conditions"][0]["lastProbeTime"] is None
