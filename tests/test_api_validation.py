"""Validation refuses what the API server refuses, in its words; nothing else ever escapes.

Messages come from k8s.io/apimachinery/pkg/util/validation (names, labels),
pkg/api/validation/objectmeta.go, and kubernetes pkg/apis/{core,apps,coordination}/validation.
"""

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubelearn.api import (
    NAME_RULES,
    BadRequest,
    Invalid,
    StatusError,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_key,
    is_label_value,
    load,
    to_yaml,
    validate,
    validate_errors,
)
from kubelearn.api.errors import GO_POINTER_ADDRESS
from kubelearn.api.names import is_config_map_key, is_valid_ip, is_valid_port_name

# -- name rules -----------------------------------------------------------------------------

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")


def test_dns1123_subdomain() -> None:
    # validation.MaxLenError in v1.32 says "characters" (content.MaxLenError: "bytes", v1.35)
    assert is_dns1123_subdomain("web-0.example.com") == []
    assert is_dns1123_subdomain("Web") == [SUBDOMAIN_MSG]
    assert is_dns1123_subdomain("a" * 253) == []
    assert is_dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]
    assert is_dns1123_subdomain("-a") == [SUBDOMAIN_MSG]


def test_dns1123_label() -> None:
    assert is_dns1123_label("my-name") == [] and is_dns1123_label("123-abc") == []
    assert is_dns1123_label("a.b") == ["must not contain dots"]
    assert is_dns1123_label("a_b") == [LABEL_MSG]
    assert is_dns1123_label("a" * 63) == []
    assert is_dns1123_label("a" * 64) == ["must be no more than 63 characters"]


def test_dns1035_label() -> None:
    assert is_dns1035_label("web") == []
    assert is_dns1035_label("1web") == [DNS1035_MSG]
    assert is_dns1035_label("a" * 64) == ["must be no more than 63 characters"]


def test_label_keys_and_values() -> None:
    assert is_label_key("app") == [] and is_label_key("app.kubernetes.io/name") == []
    assert is_label_key("example.com/") == [
        "name part must be non-empty",
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
        "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
        "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]
    assert is_label_key("/a") == ["prefix part must be non-empty"]
    assert is_label_key("a/b/c") == [  # IsQualifiedName's words (v1.35: "a valid label key")
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    assert is_label_key("Example.com/a")[0].startswith("prefix part a lowercase RFC 1123 subdomain")
    assert is_label_key("a" * 64) == ["name part must be no more than 63 characters"]
    assert is_label_value("") == [] and is_label_value("v1.2_b-3") == []
    assert is_label_value("a" * 64) == ["must be no more than 63 characters"]
    assert is_label_value("-a") == [
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
        "'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]


def test_other_formats() -> None:
    assert is_valid_port_name("http") == []
    assert is_valid_port_name("http-metrics-long") == ["must be no more than 15 characters"]
    assert is_valid_port_name("80") == ["must contain at least one letter (a-z)"]
    assert is_config_map_key("..a") == ["must not start with '..'"]
    assert is_valid_ip("10.0.0.1") == [] and is_valid_ip("2001:db8::1") == []
    assert is_valid_ip("010.0.0.1") == []  # ParseIPSloppy takes leading zeros
    assert is_valid_ip("10.0.0.256") == [
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]


def test_remembered_answers_are_fresh_lists() -> None:
    # The checks cache their answers; a caller changing the list it got changes no later one.
    for _ in range(2):
        reasons = is_dns1123_subdomain("Web")
        assert reasons == [SUBDOMAIN_MSG]
        reasons.append("changed")
    assert is_label_key("app") == [] and is_label_key("app") is not is_label_key("app")

    class Name(str):
        pass

    assert is_dns1123_subdomain(Name("Web")) == [SUBDOMAIN_MSG]  # not cached, same answer


def test_which_rule_each_kind_uses() -> None:
    assert NAME_RULES["Namespace"]("a.b", False) == ["must not contain dots"]
    assert NAME_RULES["Service"]("1web", False) == [DNS1035_MSG]
    assert NAME_RULES["Pod"]("web-0.a", False) == []
    assert NAME_RULES["Node"]("node-1.example.com", False) == []
    assert NAME_RULES["Pod"]("web-", True) == []  # a generateName prefix may end in '-'


# -- valid manifests of each kind ----------------------------------------------------------------

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"containers": [{
           "name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80, "name": "http"}],
           "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                         "limits": {"cpu": "500m", "memory": "128Mi"}}}],
           "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                            "effect": "NoExecute", "tolerationSeconds": 300}]}}
TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
VALID = {
    "Pod": POD,
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                            "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                                "maxSurge": "25%", "maxUnavailable": 0}},
                            "template": TEMPLATE}},
    "ReplicaSet": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1"},
                   "spec": {"replicas": 2, "selector": {"matchExpressions": [
                       {"key": "app", "operator": "In", "values": ["web"]}]},
                       "template": TEMPLATE}},
    "Service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "type": "NodePort",
                         "ports": [{"port": 80, "targetPort": "http", "nodePort": 30080}]}},
    "Node": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
             "spec": {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]},
             "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}},
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"},
                  "spec": {"finalizers": ["kubernetes"]}},
    "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                  "data": {"app.conf": "x=1", "KEY_NAME": "y"}},
    "Lease": {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
              "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                       "renewTime": "2024-01-01T00:00:10.000000Z"}},
    "Event": {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "web.17a1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
              "reason": "Scheduled", "message": "Successfully assigned default/web to node-1",
              "type": "Normal", "firstTimestamp": "2024-01-01T00:00:00Z", "count": 1},
    "Endpoints": {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
                  "subsets": [{"addresses": [{"ip": "10.244.1.5", "nodeName": "node-1"}],
                               "ports": [{"port": 80, "protocol": "TCP"}]}]},
    "EndpointSlice": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": "web-x7k2p",
                                   "labels": {"kubernetes.io/service-name": "web"}},
                      "addressType": "IPv4",
                      "endpoints": [{"addresses": ["10.244.1.5"], "nodeName": "node-1",
                                     "conditions": {"ready": True},
                                     "hints": {"forZones": [{"name": "zone-a"}]}}],
                      "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                 "appProtocol": "http"}]},
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_manifests_pass(kind: str) -> None:
    validate(VALID[kind])
    [again] = load(to_yaml(VALID[kind]))
    validate(again)
    assert validate_errors(again) == []


def changed(kind: str, **edits: Any) -> dict:
    """A copy of VALID[kind] with dotted-path edits (a value of DELETE removes the key)."""
    obj = copy.deepcopy(VALID[kind])
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        node = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return obj


DELETE = object()


def invalid(obj: dict) -> str:
    with pytest.raises(Invalid) as err:
        validate(obj)
    assert err.value.code == 422
    return str(err.value)


# -- pods ---------------------------------------------------------------------------------------


def test_the_common_pod_mistake() -> None:
    obj = changed("Pod", spec__containers__0__image=DELETE)
    assert invalid(obj) == 'Pod "web" is invalid: spec.containers[0].image: Required value'


def test_all_errors_are_aggregated() -> None:
    obj = changed("Pod", metadata__name="Web", spec__containers__0__image=DELETE,
                  spec__restartPolicy="Sometimes")
    assert invalid(obj) == (
        f'Pod "Web" is invalid: [metadata.name: Invalid value: "Web": {SUBDOMAIN_MSG}, '
        "spec.containers[0].image: Required value, "
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"]')


@pytest.mark.parametrize("edits,expected", [
    ({"metadata__name": DELETE},
     "metadata.name: Required value: name or generateName is required"),
    ({"metadata__namespace": "Team_A"},
     f'metadata.namespace: Invalid value: "Team_A": {LABEL_MSG}'),
    ({"metadata__labels": {"app": "-web"}},
     'metadata.labels: Invalid value: "-web": a valid label'),
    ({"metadata__annotations": {"a": "x" * 262144}},
     "metadata.annotations: Too long: may not be more than 262144 bytes"),
    ({"spec__containers": []}, "spec.containers: Required value"),
    ({"spec__containers__0__name": "Web"},
     f'spec.containers[0].name: Invalid value: "Web": {LABEL_MSG}'),
    ({"spec__containers__0__ports__0__containerPort": 70000},
     "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
     "65535, inclusive"),
    ({"spec__containers__0__ports__0__protocol": "HTTP"},
     'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", '
     '"TCP", "UDP"'),
    ({"spec__containers__0__imagePullPolicy": "Sometimes"},
     'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
     '"Always", "IfNotPresent", "Never"'),
    ({"spec__containers__0__resources__requests__cpu": "1"},
     'spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to '
     "cpu limit of 500m"),
    ({"spec__containers__0__resources__requests__memory": "-1"},
     'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than '
     "or equal to 0"),
    ({"spec__containers__0__resources__requests__cpus": "1"},
     'spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard '
     "resource for containers"),
    # v1.32 prints a Quantity passed by value with %#v (its String needs a pointer)
    ({"spec__containers__0__resources__limits__example.com/gpu": "1500m"},
     "spec.containers[0].resources.limits[example.com/gpu]: Invalid value: resource.Quantity{"
     "i:resource.int64Amount{value:1500, scale:-3}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, "
     's:"1500m", Format:"DecimalSI"}: must be an integer'),
    ({"spec__nodeName": "Node_1"}, f'spec.nodeName: Invalid value: "Node_1": {SUBDOMAIN_MSG}'),
    ({"spec__tolerations__0__effect": "NoSchedule"},
     "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
     "`tolerationSeconds` is set"),
    ({"spec__tolerations__0__key": "", "spec__tolerations__0__operator": "Equal"},
     'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` '
     'is empty, which means "match all values and all keys"'),
    ({"spec__tolerations__0__value": "x"},
     'spec.tolerations[0].operator: Invalid value: core.Toleration{Key:"node.kubernetes.io/'
     'unreachable", Operator:"Exists", Value:"x", Effect:"NoExecute", TolerationSeconds:'
     f"(*int64)({GO_POINTER_ADDRESS})}}: value must be empty when `operator` is 'Exists'"),
])
def test_pod_field_errors(edits: dict, expected: str) -> None:
    assert expected in invalid(changed("Pod", **edits))


def test_duplicate_container_names() -> None:
    obj = changed("Pod")
    obj["spec"]["containers"].append({"name": "web", "image": "busybox"})
    assert invalid(obj) == 'Pod "web" is invalid: spec.containers[1].name: Duplicate value: "web"'


def test_a_namespace_and_a_generated_name_are_the_api_servers_to_fill() -> None:
    validate(changed("Pod", metadata__name=DELETE, metadata__generateName="web-"))
    validate(changed("Lease", metadata__namespace=DELETE))


def test_wrong_types_are_bad_requests() -> None:
    with pytest.raises(BadRequest) as err:
        validate(changed("Pod", spec__containers__0__ports__0__containerPort="80"))
    assert str(err.value) == ('Pod in version "v1" cannot be handled as a Pod: json: cannot '
                              "unmarshal string into Go struct field ContainerPort.spec.containers."
                              "ports.containerPort of type int32")
    with pytest.raises(BadRequest, match="quantities must match the regular expression"):
        validate(changed("Pod", spec__containers__0__resources__limits__cpu="half"))
    with pytest.raises(BadRequest) as err:
        validate(changed("Deployment", apiVersion="v1"))
    assert str(err.value) == 'no matches for kind "Deployment" in version "v1"'


def test_invalid_status_body_lists_the_causes() -> None:
    with pytest.raises(Invalid) as err:
        validate(changed("Pod", spec__containers__0__image=DELETE))
    assert err.value.status["details"] == {
        "name": "web", "kind": "Pod",
        "causes": [{"reason": "FieldValueRequired", "message": "Required value",
                    "field": "spec.containers[0].image"}]}


# -- workloads -----------------------------------------------------------------------------------


def test_selector_must_match_the_template() -> None:
    obj = changed("Deployment", spec__template__metadata__labels={"app": "other"})
    assert invalid(obj) == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`')


def test_missing_selector() -> None:
    # A nil selector selects nothing, so the template cannot match it either.
    assert invalid(changed("Deployment", spec__selector=DELETE)) == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, '
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        "`selector` does not match "
        "template `labels`]")


@pytest.mark.parametrize("kind,edits,expected", [
    ("Deployment", {"spec__replicas": -1},
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("Deployment", {"spec__selector": {}},
     "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
     "deployment"),
    ("Deployment", {"spec__strategy": {"type": "Recreate", "rollingUpdate": {}}},
     "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
     "'Recreate'"),
    ("Deployment", {"spec__strategy": {"type": "BlueGreen"}},
     'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", '
     'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", '
     '"RollingUpdate"'),
    ("Deployment", {"spec__strategy__rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}},
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, "
     'IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0'),
    ("Deployment", {"spec__strategy__rollingUpdate": {"maxUnavailable": "110%"}},
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, "
     'IntVal:0, StrVal:"110%"}: must not be greater than 100%'),
    ("Deployment", {"spec__minReadySeconds": 700},
     "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"),
    ("Deployment", {"spec__template__spec__restartPolicy": "Never"},
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    ("Deployment", {"spec__template__metadata__labels": {"app": "web", "b": "-"}},
     'spec.template.labels: Invalid value: "-": a valid label'),
    ("ReplicaSet", {"spec__selector__matchExpressions__0__operator": "Like"},
     'spec.selector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector '
     "operator"),
    ("ReplicaSet", {"spec__selector__matchExpressions__0__values": []},
     "spec.selector.matchExpressions[0].values: Required value: must be specified when "
     "`operator` is 'In' or 'NotIn'"),
    ("ReplicaSet", {"spec__template__spec__containers__0__image": ""},
     "spec.template.spec.containers[0].image: Required value"),
])
def test_workload_field_errors(kind: str, edits: dict, expected: str) -> None:
    assert expected in invalid(changed(kind, **edits))


# -- services, nodes, namespaces and the rest ---------------------------------------------------


@pytest.mark.parametrize("kind,edits,expected", [
    ("Service", {"metadata__name": "1web"}, f'metadata.name: Invalid value: "1web": {DNS1035_MSG}'),
    ("Service", {"spec__ports__0__port": 70000},
     "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ("Service", {"spec__ports": []}, "spec.ports: Required value"),
    ("Service", {"spec__type": "ClusterIP"},
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    ("Service", {"spec__type": "Internal"},
     'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", '
     '"LoadBalancer", "NodePort"'),
    ("Service", {"spec__clusterIP": "10.96.0.300"},
     'spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. '
     "10.9.8.7 or 2001:db8::ffff)"),
    ("Node", {"spec__taints__0__effect": "Never"},
     'metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", '
     '"PreferNoSchedule", "NoExecute"'),
    ("Node", {"status__capacity__cpu": "-4"},
     'status.capacity.cpu: Invalid value: "-4": must be greater than or equal to 0'),
    ("Node", {"metadata__namespace": "default"},
     "metadata.namespace: Forbidden: not allowed on this type"),
    ("Namespace", {"metadata__name": "team.a"},
     'metadata.name: Invalid value: "team.a": must not contain dots'),
    ("Namespace", {"spec__finalizers": ["custom"]},
     'spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor '
     "is it fully qualified"),
    ("ConfigMap", {"data": {"a/b": "x"}},
     'data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric '
     "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
     "for validation is '[-._a-zA-Z0-9]+')"),
    ("ConfigMap", {"data": {"big": "x" * (1024 * 1024 + 1)}},
     "[]: Too long: may not be more than 1048576 bytes"),
    ("Lease", {"spec__leaseDurationSeconds": 0},
     "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"),
    ("Lease", {"spec__leaseTransitions": -1},
     "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"),
    ("Event", {"involvedObject__namespace": "other"},
     'involvedObject.namespace: Invalid value: "other": does not match event.namespace'),
    ("Event", {"metadata__name": "a/b"},
     'metadata.name: Invalid value: "a/b": may not contain \'/\''),
    ("Endpoints", {"subsets__0__addresses__0__ip": "127.0.0.1"},
     'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range '
     "(127.0.0.0/8, ::1/128)"),
    ("Endpoints", {"subsets__0__addresses": []},
     "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"),
    # pkg/apis/discovery/validation
    ("EndpointSlice", {"addressType": "IP"},
     'addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'),
    ("EndpointSlice", {"addressType": DELETE}, "addressType: Required value"),
    ("EndpointSlice", {"endpoints__0__addresses": []},
     "endpoints[0].addresses: Required value: must contain at least 1 address"),
    ("EndpointSlice", {"endpoints__0__addresses": [f"10.0.0.{i}" for i in range(1, 102)]},
     "endpoints[0].addresses: Too many: 101: must have at most 100 items"),
    ("EndpointSlice", {"endpoints__0__addresses": ["10.0.0.300"]},
     'endpoints[0].addresses[0]: Invalid value: "10.0.0.300": must be a valid IPv4 address, '
     'endpoints[0].addresses[0]: Invalid value: "10.0.0.300": must be a valid IP address'),
    ("EndpointSlice", {"endpoints__0__addresses": ["fd00::5"]},
     'endpoints[0].addresses[0]: Invalid value: "fd00::5": must be a valid IPv4 address'),
    ("EndpointSlice", {"addressType": "IPv6", "endpoints__0__addresses": ["::1"]},
     'endpoints[0].addresses[0]: Invalid value: "::1": may not be in the loopback range '
     "(127.0.0.0/8, ::1/128)"),
    ("EndpointSlice", {"addressType": "FQDN", "endpoints__0__addresses": ["web"]},
     'endpoints[0].addresses[0]: Invalid value: "web": should be a domain with at least two '
     "segments separated by dots"),
    ("EndpointSlice", {"endpoints__0__nodeName": "Node_1"},
     'endpoints[0].nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain'),
    ("EndpointSlice", {"endpoints__0__hints__forZones": [{"name": "a"}, {"name": "a"}]},
     'endpoints[0].hints.forZones[1].name: Duplicate value: "a"'),
    ("EndpointSlice", {"ports": [{"name": "http", "protocol": "TCP"},
                                 {"name": "http", "protocol": "ICMP"}]},
     'ports[1].name: Duplicate value: "http", ports[1].protocol: Unsupported value: "ICMP": '
     'supported values: "SCTP", "TCP", "UDP"'),
    ("EndpointSlice", {"ports__0__appProtocol": "a b"},
     'ports[0].appProtocol: Invalid value: "a b": name part must consist of alphanumeric'),
])
def test_kind_field_errors(kind: str, edits: dict, expected: str) -> None:
    assert expected in invalid(changed(kind, **edits))


def test_lease_times_are_micro_times() -> None:
    with pytest.raises(BadRequest) as err:
        validate(changed("Lease", spec__renewTime="2024-01-01T00:00:10Z"))
    assert str(err.value).endswith('parsing time "2024-01-01T00:00:10Z" as '
                                   '"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as '
                                   '".000000"')


def test_unknown_kinds_get_metadata_checks() -> None:
    validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert "metadata.name: Required value" in invalid(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}})


# -- checks skipped when they cannot fail -------------------------------------------------------


def test_skipped_quantity_checks_have_nothing_to_say() -> None:
    # Validation skips these checks (and their paths) when the predicates say they would pass.
    from kubelearn.api import Path
    from kubelearn.api.quantity import parse_quantity
    from kubelearn.api.validation import (
        _native_and_not_negative,
        _plainly_valid,
        validate_container_resource_name,
        validate_quantity_value,
    )
    names = ["cpu", "memory", "ephemeral-storage", "pods", "hugepages-2Mi", "storage",
             "requests.cpu", "example.com/gpu", "kubernetes.io/x", "Bad Name"]
    for name in names:
        for text in ["0", "1", "100m", "1.5", "4Gi", "-1", "-100m"]:
            q, path = parse_quantity(text), Path("x")
            if _native_and_not_negative(name, q):
                assert validate_quantity_value(name, q, path) == []
            if _plainly_valid(name, q):
                assert validate_container_resource_name(name, path) == []
                assert validate_quantity_value(name, q, path) == []


def test_errors_keep_their_paths_and_order_where_checks_are_skipped() -> None:
    # Paths are made only once a check fails: each error still names its field, in order.
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "labels": {"app": "web", "-bad": "x y"},
                        "annotations": {"a/b/c": "v"}, "finalizers": ["a/b/c"]},
           "spec": {"volumes": [{"name": "data"}, {"name": "Data"}, {"name": "data"}],
                    "containers": [{"name": "web", "image": "nginx",
                                    "ports": [{"containerPort": 80, "hostPort": 70000,
                                               "protocol": "tcp"}],
                                    "volumeMounts": [{"name": "nope", "mountPath": "/d"},
                                                     {"name": "data", "mountPath": "/d"}],
                                    "imagePullPolicy": "Sometimes",
                                    "resources": {"requests": {"cpu": "-1",
                                                               "example.com/gpu": "1.5"},
                                                  "limits": {"memory": "1Gi"}}}],
                    "restartPolicy": "Sometimes", "nodeSelector": {"disk": "-ssd"},
                    "nodeName": "Node_1",
                    "tolerations": [{"key": "a/b/c", "operator": "Exists",
                                     "effect": "Sometimes"}],
                    "overhead": {"cpu": "-1m"}}}
    errs = validate_errors(pod)
    assert [e.field for e in errs] == [
        "metadata.labels", "metadata.labels", "metadata.annotations", "metadata.finalizers",
        "spec.volumes[1].name", "spec.volumes[2].name",
        "spec.containers[0].ports[0].hostPort", "spec.containers[0].ports[0].protocol",
        "spec.containers[0].volumeMounts[0].name", "spec.containers[0].volumeMounts[1].mountPath",
        "spec.containers[0].imagePullPolicy", "spec.containers[0].resources.requests[cpu]",
        "spec.containers[0].resources.requests[example.com/gpu]",
        "spec.containers[0].resources.limits", "spec.restartPolicy", "spec.nodeSelector",
        "spec.nodeName", "spec.tolerations[0].key", "spec.tolerations[0].effect",
        "spec.overhead[cpu]"]
    assert [str(e) for e in errs if "Invalid value: \"-" in str(e)] == [
        'metadata.labels: Invalid value: "-bad": ' + is_label_key("-bad")[0],
        'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than '
        'or equal to 0',
        'spec.nodeSelector: Invalid value: "-ssd": ' + is_label_value("-ssd")[0],
        'spec.overhead[cpu]: Invalid value: "-1m": must be greater than or equal to 0']
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "-1", "pods": "110", "example.com/gpu": "1.5"}}}
    assert [str(e) for e in validate_errors(node)] == [
        'status.capacity.cpu: Invalid value: "-1": must be greater than or equal to 0',
        "status.capacity.example.com/gpu: Invalid value: resource.Quantity{i:resource.int64Amount"
        "{value:15, scale:-1}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"\", "
        'Format:"DecimalSI"}: must be an integer']


# -- fuzz: whatever goes in, only a StatusError comes out ---------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
    st.sampled_from(["", "0", "-1", "500m", "1Gi", "1e999", "Always", "Exists", "NoExecute",
                     "None", "a=b", "10.0.0.1", "2024-01-01T00:00:00Z", "25%", "web", "In",
                     "http", "TCP", "NodePort", "RollingUpdate", "Recreate", "x" * 70]))
KEYS = st.one_of(st.text(max_size=6), st.sampled_from(
    ["name", "image", "key", "operator", "values", "matchLabels", "matchExpressions", "labels",
     "cpu", "memory", "requests", "limits", "port", "containerPort", "nodePort", "targetPort",
     "effect", "ip", "items", "kind", "apiVersion", "metadata", "spec", "type"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=8)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a manifest a value can be put: existing keys, items and new keys."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        out.append((*prefix, "<new>"))
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


PATHS = sorted({(kind, p) for kind, obj in VALID.items() for p in _paths(obj)}, key=repr)


def _put(obj: dict, path: tuple, value: Any, new_key: str) -> None:
    node = obj
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if last == "<new>":
        node[new_key] = value
    else:
        node[last] = value


def _loaded_and_validated(source: Any) -> None:
    """Load and validate; any StatusError is a fine answer, anything else a bug."""
    try:
        for obj in load(source):
            validate(obj)
    except StatusError:
        pass


@settings(max_examples=400, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_fuzz_fields_of_every_kind(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(VALID)))
    obj = copy.deepcopy(VALID[kind])
    paths = [p for k, p in PATHS if k == kind]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            _put(obj, path, data.draw(VALUES), data.draw(KEYS))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this place
    form = data.draw(st.sampled_from(["dict", "json", "yaml", "direct"]))
    if form == "direct":
        try:
            validate(obj)
        except StatusError:
            pass
    elif form == "json":
        _loaded_and_validated(json.dumps(obj))
    elif form == "yaml":
        _loaded_and_validated(yaml.safe_dump(obj))
    else:
        _loaded_and_validated(obj)


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=80),
    st.text(alphabet="{}[]:,-'\"\n #&*!|>%@`abkind0123.", max_size=80),
    VALUES.map(lambda v: json.dumps(v)),
    VALUES.map(lambda v: yaml.safe_dump(v)),
    VALUES,
))
def test_fuzz_any_input(source: Any) -> None:
    _loaded_and_validated(source)


def test_an_endpointslice_keeps_its_address_type() -> None:
    """ValidateEndpointSliceUpdate: addressType is immutable."""
    import kubelearn as kl

    cluster = kl.Cluster(seed=0)
    made = cluster.admin.create(VALID["EndpointSlice"])
    made["addressType"] = "IPv6"
    made["endpoints"] = [{"addresses": ["fd00::5"]}]
    with pytest.raises(Invalid) as err:
        cluster.admin.update(made)
    assert 'addressType: Invalid value: "IPv6": field is immutable' in str(err.value)


def test_owner_references_print_as_v1_32_does() -> None:
    """apimachinery v0.32.0 objectmeta.go validateOwnerReference / ValidateOwnerReferences."""
    from kubelearn.api.errors import Path
    from kubelearn.api.validation import validate_owner_references

    path = Path("metadata", "ownerReferences")
    assert [str(e) for e in validate_owner_references([{"apiVersion": "v1"}], path)] == [
        'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty',
        'metadata.ownerReferences.name: Invalid value: "": name must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty']
    event = {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "1"}
    assert [str(e) for e in validate_owner_references([event], path)] == [
        'metadata.ownerReferences: Invalid value: v1.OwnerReference{APIVersion:"v1", '
        'Kind:"Event", Name:"e", UID:"1", Controller:(*bool)(nil), '
        "BlockOwnerDeletion:(*bool)(nil)}: /v1, Kind=Event is disallowed from being an owner"]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "uid": "2", "controller": True}
    two = [dict(rs, name="a"), dict(rs, name="b")]
    assert [str(e) for e in validate_owner_references(two, path)] == [
        "metadata.ownerReferences: Invalid value: []v1.OwnerReference{v1.OwnerReference{"
        'APIVersion:"apps/v1", Kind:"ReplicaSet", Name:"a", UID:"2", Controller:(*bool)('
        f"{GO_POINTER_ADDRESS}), BlockOwnerDeletion:(*bool)(nil)}}, v1.OwnerReference{{"
        'APIVersion:"apps/v1", Kind:"ReplicaSet", Name:"b", UID:"2", Controller:(*bool)('
        f"{GO_POINTER_ADDRESS}), BlockOwnerDeletion:(*bool)(nil)}}}}: Only one reference can "
        'have Controller set to true. Found "true" in references for ReplicaSet/a and '
        "ReplicaSet/b"]


# -- a pod's dnsConfig (validatePodDNSConfig) ----------------------------------------------------

IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def dns_pod(policy: str | None = None, config: Any = None, **more: Any) -> dict:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}], **more}
    if policy is not None:
        spec["dnsPolicy"] = policy
    if config is not None:
        spec["dnsConfig"] = config
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("policy, config, message", [
    ("None", None, "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` "
                   "is None"),
    ("None", {"searches": ["a.example"]},
     "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver "
     "when `dnsPolicy` is None"),
    (None, {"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]},
     'spec.dnsConfig.nameservers: Invalid value: []string{"1.1.1.1", "1.0.0.1", "8.8.8.8", '
     '"8.8.4.4"}: must not have more than 3 nameservers'),
    (None, {"nameservers": ["not-an-ip"]},
     f'spec.dnsConfig.nameservers[0]: Invalid value: "not-an-ip": {IP_MSG}'),
    (None, {"searches": [f"d{i}.example" for i in range(33)]},
     "spec.dnsConfig.searches: Invalid value: []string{" + ", ".join(
         f'"d{i}.example"' for i in range(33)) + "}: must not have more than 32 search paths"),
    (None, {"searches": ["a" * 63 + "." + "b" * 63 + "." + "c" * 63] * 11},
     "spec.dnsConfig.searches: Invalid value: []string{" + ", ".join(
         ['"' + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + '"'] * 11) + "}: must not have "
     "more than 2048 characters (including spaces) in the search list"),
    (None, {"searches": ["Bad_Domain."]},
     f'spec.dnsConfig.searches[0]: Invalid value: "Bad_Domain": {SUBDOMAIN_MSG}'),
    (None, {"options": [{"value": "2"}]},
     "spec.dnsConfig.options[0]: Required value: must not be empty"),
])
def test_dns_config_is_validated_with_upstreams_messages(policy, config, message):
    with pytest.raises(Invalid) as err:
        validate(dns_pod(policy, config))
    assert str(err.value) == f'Pod "p" is invalid: {message}'


def test_dns_config_within_the_limits_passes():
    validate(dns_pod("None", {"nameservers": ["1.1.1.1", "::1", "010.0.0.1"],
                              "searches": ["corp.example.", "svc.cluster.local"],
                              "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}))
    validate(dns_pod("ClusterFirst", {}))  # an empty dnsConfig adds nothing, and is fine
    template = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}}, "spec": dns_pod("None")["spec"]}}}
    with pytest.raises(Invalid, match=r"spec\.template\.spec\.dnsConfig: Required value"):
        validate(template)  # a pod template is a pod spec too
