"""The schema as the gate at decode (kubelearn.api.schema): upstream's v1.32 types, Go's
null and unknown-field semantics, fieldValidation, depth, and the 500s it closed."""

from __future__ import annotations

import http.client
import json
import ssl
import warnings

import pytest
import yaml

from kubelearn.api import BadRequest, StatusError, schema
from kubelearn.apiserver import registry
from kubelearn.cluster import Cluster

RBAC = "rbac.authorization.k8s.io/v1"
TOO_DEEP = "couldn't get version/kind; json parse error: exceeded max depth"


def nested(depth: int, leaf: object = "bottom") -> object:
    """A value ``depth`` maps deep: {"a": {"a": ...}} (built iteratively)."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


# -- the types: upstream's v1.32 OpenAPI ------------------------------------------------------


def test_every_served_kind_has_upstreams_type():
    served = {info.kind for info in registry.RESOURCES}
    assert served | {"Binding", "Scale"} <= set(schema.KIND_TYPES)
    pod = schema.KIND_TYPES["Pod"]
    assert pod.name == "v1.Pod" and pod.definition == "io.k8s.api.core.v1.Pod"
    spec = pod.fields["spec"]
    # fields the hand-written description lacked are there now (types.go, v1.32)
    assert {"ephemeralContainers", "affinity", "securityContext", "os"} <= set(spec.fields)
    assert spec.fields["containers"].name == "[]v1.Container"
    assert spec.fields["restartPolicy"].name == "v1.RestartPolicy"  # the named-type overlay
    assert spec.fields["priority"] is schema.INT32  # integer, format int32
    assert spec.fields["overhead"] is schema.RESOURCE_LIST
    assert spec.extensions["volumes"]["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    assert schema.KIND_TYPES["Secret"].fields["data"].name == "map[string][]uint8"
    service = schema.KIND_TYPES["Service"].fields["spec"]
    assert service.fields["ipFamilies"].name == "[]v1.IPFamily"
    meta = schema.OBJECT_META
    assert meta.fields["managedFields"].item.fields["fieldsV1"] is schema.FIELDS_V1


# -- decoding as Go decodes -------------------------------------------------------------------


def pod(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_an_everyday_body_is_kept_as_it_is():
    body = pod(containers=[{"name": "a", "image": "nginx"}])
    out, unknown = schema.decode_object(body)
    assert unknown == [] and "resources" not in body["spec"]["containers"][0]  # not touched
    # what Go writes back: every struct field, a zero metav1.Time as null
    go = {**body, "metadata": {"name": "p", "creationTimestamp": None}, "status": {},
          "spec": {"containers": [{"name": "a", "image": "nginx", "resources": {}}]}}
    assert out == go
    out, unknown = schema.decode_object(go)
    assert out is go and unknown == []  # already as Go writes it: the very object


def test_null_leaves_the_zero_value():
    body = pod(containers=[None, {"name": "a", "image": "b", "volumeMounts": None,
                                   "ports": [None]}], volumes=None)
    body["metadata"]["labels"] = {"app": None}
    body["metadata"]["creationTimestamp"] = None  # metav1.Time writes its zero as null
    body["status"] = None
    out, unknown = schema.decode_object(body)
    assert unknown == []
    assert out == {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "p", "labels": {"app": ""}, "creationTimestamp": None},
                   # a zero Container and ContainerPort as Go writes them: the fields
                   # without omitempty (name, containerPort) stay, with zero values, and
                   # the struct resources, which omitempty never drops
                   "spec": {"containers": [{"name": "", "resources": {}},
                                           {"name": "a", "image": "b",
                                            "ports": [{"containerPort": 0}], "resources": {}}]},
                   "status": {}}


def test_unknown_fields_are_dropped_and_named_as_sigs_k8s_io_json_names_them():
    body = pod(containers=[{"name": "a", "image": "b", "foo": 1}], bar={"x": 1})
    body["zed"] = 1
    body["metadata"]["annotations"] = {"k": "v"}
    body["spec"]["nodeSelector"] = {"disk": "ssd"}
    out, unknown = schema.decode_object(body)
    assert unknown == ["spec.containers[0].foo", "spec.bar", "zed"]  # document order
    assert out["spec"] == {"containers": [{"name": "a", "image": "b", "resources": {}}],
                           "nodeSelector": {"disk": "ssd"}}
    assert "zed" not in out


def test_unknown_fields_are_reported_once_and_at_most_100():
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            **{f"f{i}": i for i in range(150)}}
    _, unknown = schema.decode_object(body)
    assert len(unknown) == schema.MAX_STRICT_ERRORS == 100


def test_a_lone_surrogate_becomes_u_fffd():
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "x\ud800y", "\udc00": "z"}}
    out, _ = schema.decode_object(body)
    assert out["data"] == {"a": "x\ufffdy", "\ufffd": "z"}


@pytest.mark.parametrize("value,message", [
    # encoding/base64 CorruptInputError offsets (Go's StdEncoding, padding required)
    ("YQ=", "illegal base64 data at input byte 3"),
    ("Y", "illegal base64 data at input byte 0"),
    ("YQ==x", "illegal base64 data at input byte 4"),
    ("a b", "illegal base64 data at input byte 1"),
    ("YWJj\nZA==", None),
])
def test_bytes_are_base64_with_gos_words(value, message):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"k": value}}
    if message is None:
        schema.check_types(body)
        return
    with pytest.raises(BadRequest) as err:
        schema.check_types(body)
    assert str(err.value) == f'Secret in version "v1" cannot be handled as a Secret: {message}'


def test_a_number_where_bytes_belong_names_uint8():
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": 7}}
    with pytest.raises(BadRequest) as err:
        schema.check_types(body)
    assert str(err.value) == ('Secret in version "v1" cannot be handled as a Secret: json: '
                              'cannot unmarshal number into Go struct field Secret.data of type '
                              '[]uint8')


def test_nesting_is_bounded():
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "extra": nested(schema.MAX_DEPTH)}
    with pytest.raises(BadRequest) as err:
        schema.decode_object(body)
    assert str(err.value) == TOO_DEEP
    body["extra"] = nested(schema.MAX_DEPTH - 3)
    assert schema.decode_object(body)[1] == ["extra"]


# -- the 500s the gate closed: in-process and over HTTP ---------------------------------------

CASES = {
    "pod spec null": ("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
                               "spec": None},
                      422, 'Pod "p1" is invalid: spec.containers: Required value'),
    "pod containers [null]": (
        "pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p2"},
                 "spec": {"containers": [None]}},
        422, 'Pod "p2" is invalid: [spec.containers[0].name: Required value, '
             'spec.containers[0].image: Required value]'),
    "pod volumes null": (
        "pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p3"},
                 "spec": {"volumes": None, "containers": [{"name": "a", "image": "b"}]}},
        201, ""),
    "pod volumeMounts null": (
        "pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p4"},
                 "spec": {"containers": [{"name": "a", "image": "b", "volumeMounts": None}]}},
        201, ""),
    "service spec null": (
        "services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1"},
                     "spec": None},
        422, 'Service "s1" is invalid: spec.ports: Required value'),
    "namespace spec null": (
        "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1"},
                       "spec": None}, 201, ""),
    "node spec null": ("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x1"},
                                 "spec": None}, 201, ""),
    "node taints null": ("nodes", {"apiVersion": "v1", "kind": "Node",
                                   "metadata": {"name": "x2"}, "spec": {"taints": None}},
                         201, ""),
    "node status null": ("nodes", {"apiVersion": "v1", "kind": "Node",
                                   "metadata": {"name": "x3"}, "status": None}, 201, ""),
    "endpointslice ports 7": (
        "endpointslices", {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                           "metadata": {"name": "e1"}, "addressType": "IPv4",
                           "endpoints": [], "ports": 7},
        400, 'EndpointSlice in version "v1" cannot be handled as a EndpointSlice: json: '
             'cannot unmarshal number into Go struct field EndpointSlice.ports of type '
             '[]v1.EndpointPort'),
    "rolebinding subjects 7": (
        "rolebindings", {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "r1"},
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                     "name": "x"}, "subjects": 7},
        400, 'RoleBinding in version "v1" cannot be handled as a RoleBinding: json: cannot '
             'unmarshal number into Go struct field RoleBinding.subjects of type []v1.Subject'),
    "clusterrolebinding subjects 7": (
        "clusterrolebindings", {"apiVersion": RBAC, "kind": "ClusterRoleBinding",
                                "metadata": {"name": "r2"},
                                "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                            "kind": "ClusterRole", "name": "x"}, "subjects": 7},
        400, 'ClusterRoleBinding in version "v1" cannot be handled as a ClusterRoleBinding: '
             'json: cannot unmarshal number into Go struct field ClusterRoleBinding.subjects of '
             'type []v1.Subject'),
    "selfsubjectaccessreview spec 7": (
        "selfsubjectaccessreviews", {"apiVersion": "authorization.k8s.io/v1",
                                     "kind": "SelfSubjectAccessReview", "spec": 7},
        400, 'SelfSubjectAccessReview in version "v1" cannot be handled as a '
             'SelfSubjectAccessReview: json: cannot unmarshal number into Go struct field '
             'SelfSubjectAccessReview.spec of type v1.SelfSubjectAccessReviewSpec'),
    "selfsubjectaccessreview verb [null]": (
        "selfsubjectaccessreviews", {"apiVersion": "authorization.k8s.io/v1",
                                     "kind": "SelfSubjectAccessReview",
                                     "spec": {"resourceAttributes": {"verb": [None]}}},
        400, 'SelfSubjectAccessReview in version "v1" cannot be handled as a '
             'SelfSubjectAccessReview: json: cannot unmarshal array into Go struct field '
             'ResourceAttributes.spec.resourceAttributes.verb of type string'),
    "role resources 7": (
        "roles", {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "ro"},
                  "rules": [{"apiGroups": [""], "verbs": ["get"], "resources": 7}]},
        400, 'Role in version "v1" cannot be handled as a Role: json: cannot unmarshal number '
             'into Go struct field PolicyRule.rules.resources of type []string'),
    "configmap lone surrogate": (
        "configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"},
                       "data": {"a": "\ud800"}}, 201, ""),
    "service ipFamilies 7": (
        "services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s2"},
                     "spec": {"ports": [{"port": 80}], "ipFamilies": 7}},
        400, 'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal '
             'number into Go struct field ServiceSpec.spec.ipFamilies of type []v1.IPFamily'),
}
# Services take their ClusterIP (in etcd) before validation and give it back after a 422.
ALLOCATES = {"service spec null"}


NODE_INFO = ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
             "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
             "operatingSystem", "architecture")


def check_stored(cluster: Cluster, case: str, resource: str, obj: dict) -> None:
    """What the accepted objects look like once stored: Go's zero values, read back as YAML."""
    name = obj["metadata"]["name"]
    client = cluster.admin
    stored = client.get(resource, name) if resource in ("nodes", "namespaces") else \
        client.get(resource, name, "default")
    if case == "pod volumes null":  # absent, or what admission added: never null
        assert isinstance(stored["spec"].get("volumes", []), list)
    elif case == "pod volumeMounts null":
        assert isinstance(stored["spec"]["containers"][0].get("volumeMounts", []), list)
    elif case == "namespace spec null":
        assert stored["spec"] == {"finalizers": ["kubernetes"]}  # defaulted as for no spec
    elif case == "node status null":  # NodeStatus's zero form: its struct fields, filled
        assert stored["status"] == {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                                    "nodeInfo": dict.fromkeys(NODE_INFO, "")}
    elif case == "configmap lone surrogate":
        assert stored["data"] == {"a": "\ufffd"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_in_process(case):
    cluster = Cluster(seed=0, nodes=0)
    resource, obj, code, message = CASES[case]
    revision = cluster.etcd.revision
    if code == 201:
        cluster.admin.create(obj)
        check_stored(cluster, case, resource, obj)
        return
    with pytest.raises(StatusError) as err:
        cluster.admin.create(obj)
    assert (err.value.code, str(err.value)) == (code, message)
    if case not in ALLOCATES:
        assert cluster.etcd.revision == revision  # nothing written
    assert cluster.admin.list("pods", "default")["items"] == []  # the next request works


# -- over HTTP ---------------------------------------------------------------------------------


class Caller:
    """HTTPS requests to one served cluster, with the admin's token."""

    def __init__(self, served) -> None:
        self.served = served
        self.host, self.port = served.httpd.server_address[:2]
        self.context = ssl.create_default_context(cafile=str(served.ca_path))

    def __call__(self, method: str, path: str, body: object = None, *,
                 mime: str = "application/json", accept: str = "application/json"):
        headers = {"Authorization": f"Bearer {self.served.token}", "Accept": accept}
        if body is not None:
            headers["Content-Type"] = mime
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def served():
    cluster = Cluster(seed=0, nodes=0)
    server = cluster.serve(quiet=True, speed=0)
    yield cluster, Caller(server)
    server.stop()


def collection(resource: str) -> str:
    info = registry.Registry().lookup(resource)
    root = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    return f"{root}/namespaces/default/{resource}" if info.namespaced else f"{root}/{resource}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_over_http(served, case):
    cluster, call = served
    resource, obj, code, message = CASES[case]
    obj = json.loads(json.dumps(obj))
    if "metadata" in obj:
        obj["metadata"]["name"] += "-http"
    revision = cluster.etcd.revision
    text = json.dumps(obj)  # a lone surrogate travels as the escape "\ud800", as from Go
    status, _, body = call("POST", collection(resource), text)
    answer = json.loads(body)
    assert status == code, answer
    if code == 201:
        check_stored(cluster, case, resource, obj)
        return
    name = (CASES[case][1].get("metadata") or {}).get("name")
    assert answer["message"] == message.replace(f'"{name}"', f'"{name}-http"')
    if case not in ALLOCATES:
        assert cluster.etcd.revision == revision


def test_a_lone_surrogate_reads_back_as_u_fffd_in_json_and_yaml(served):
    _, call = served
    status, _, _ = call("POST", collection("configmaps"),
                        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"sur"},'
                        '"data":{"a":"\\ud800","b":"\\ud83d\\ude00"}}')
    assert status == 201
    status, _, body = call("GET", collection("configmaps") + "/sur")
    assert status == 200 and json.loads(body)["data"] == {"a": "\ufffd", "b": "\U0001f600"}
    status, _, body = call("GET", collection("configmaps") + "/sur", accept="application/yaml")
    assert status == 200 and yaml.safe_load(body)["data"]["a"] == "\ufffd"


# -- fieldValidation ---------------------------------------------------------------------------


def configmap(name: str, **extra) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "bar": 1},
            "data": {"a": "b"}, **extra}


def test_warn_is_the_default_and_sends_warning_headers(served):
    cluster, call = served
    status, headers, body = call("POST", collection("configmaps"), configmap("warn", foo=1))
    assert status == 201
    assert headers.get_all("Warning") == ['299 - "unknown field \\"metadata.bar\\""',
                                          '299 - "unknown field \\"foo\\""']
    stored = cluster.admin.get("configmaps", "warn", "default")
    assert "foo" not in stored and "bar" not in stored["metadata"]


def test_ignore_drops_without_a_word(served):
    _, call = served
    status, headers, _ = call("POST", collection("configmaps") + "?fieldValidation=Ignore",
                              configmap("ignore", foo=1))
    assert status == 201 and headers.get_all("Warning") is None


def test_strict_refuses_with_every_unknown_field(served):
    cluster, call = served
    revision = cluster.etcd.revision
    status, _, body = call("POST", collection("configmaps") + "?fieldValidation=Strict",
                           configmap("strict", foo=1))
    assert status == 400
    assert json.loads(body)["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "metadata.bar", unknown field "foo"')
    assert cluster.etcd.revision == revision


def test_strict_on_a_patch_is_a_422_on_the_patch(served):
    cluster, call = served
    assert call("POST", collection("configmaps"), configmap("patched"))[0] == 201
    revision = cluster.etcd.revision
    status, _, body = call("PATCH", collection("configmaps") + "/patched?fieldValidation=Strict",
                           {"spec": {"x": 1}}, mime="application/merge-patch+json")
    message = json.loads(body)["message"]
    assert status == 422
    assert message.startswith(' "" is invalid: patch: Invalid value: "{')
    assert message.endswith('": strict decoding error: unknown field "spec"')
    assert cluster.etcd.revision == revision
    status, headers, _ = call("PATCH", collection("configmaps") + "/patched",
                              {"spec": {"x": 1}}, mime="application/merge-patch+json")
    assert status == 200 and headers.get_all("Warning") == ['299 - "unknown field \\"spec\\""']


@pytest.mark.parametrize("method,suffix,kind", [("POST", "", "CreateOptions"),
                                                ("PUT", "/opts", "UpdateOptions"),
                                                ("PATCH", "/opts", "PatchOptions")])
def test_a_bad_directive_is_a_422_on_the_options(served, method, suffix, kind):
    _, call = served
    call("POST", collection("configmaps"), configmap("opts"))
    mime = "application/merge-patch+json" if method == "PATCH" else "application/json"
    status, _, body = call(method, collection("configmaps") + suffix + "?fieldValidation=strict",
                           configmap("opts"), mime=mime)
    assert status == 422
    assert json.loads(body)["message"] == (
        f'{kind}.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": '
        'supported values: "", "Ignore", "Strict", "Warn"')


def test_the_client_raises_python_warnings():
    from kubelearn.client import APIWarning

    cluster = Cluster(seed=0, nodes=0)
    with pytest.warns(APIWarning, match='unknown field "spec.foo"'):
        cluster.admin.create(pod(containers=[{"name": "a", "image": "b"}], foo=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cluster.admin.create({**configmap("quiet"), "metadata": {"name": "quiet"}})


# -- depth -------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 330, 5000])  # 100: schema.MAX_DEPTH
def test_deep_bodies_are_400_before_anything_is_stored(served, depth):
    cluster, call = served
    revision = cluster.etcd.revision
    text = ('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":'
            + '{"a":' * depth + '"bottom"' + "}" * depth + "}")
    status, _, body = call("POST", collection("configmaps"), text)
    assert (status, json.loads(body)["message"]) == (400, TOO_DEEP)
    yaml_text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: " + \
        "[" * depth + "1" + "]" * depth + "\n"
    status, _, body = call("POST", collection("configmaps"), yaml_text, mime="application/yaml")
    assert (status, json.loads(body)["message"]) == (400, TOO_DEEP)
    with pytest.raises(BadRequest, match="exceeded max depth"):
        cluster.admin.create({**configmap("deep"), "x": nested(depth)})
    assert cluster.etcd.revision == revision


def test_the_deepest_object_accepted_reads_back_as_yaml(served):
    """managedFields' fieldsV1 is free-form JSON: nested up to the bound, every YAML read works."""
    cluster, call = served
    deep = nested(schema.MAX_DEPTH - 5)  # the bound counts from the object's root
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "deepest", "managedFields": [
               {"manager": "m", "operation": "Update", "fieldsType": "FieldsV1",
                "fieldsV1": deep}]}}
    assert call("POST", collection("configmaps"), obj)[0] == 201
    for path in (collection("configmaps") + "/deepest", collection("configmaps"),
                 collection("configmaps") + "?watch=true&timeoutSeconds=1"):
        status, _, body = call("GET", path, accept="application/yaml")
        assert status == 200, body[:200]
