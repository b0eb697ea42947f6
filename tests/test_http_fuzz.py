"""Bad input over HTTP: every answer a 4xx ``kind: Status``, never a 5xx, and nothing stored.

Hypothesis throws over a thousand malformed requests at a served cluster --
unreadable JSON and YAML, values of the wrong type, bodies over 3 MiB,
invalid names, unknown resources and paths, bad selectors and query values,
methods a path does not take, patches that cannot apply, unknown tokens,
formats the server does not speak -- and checks each answer and the etcd
revision after it. Deterministic (``derandomize``) and quick.
"""

from __future__ import annotations

import http.client
import json
import ssl
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubelearn.api import SelectorError, is_dns1123_subdomain, parse_selector, selectable_fields
from kubelearn.apiserver.rest import MAX_REQUEST_BODY_BYTES
from kubelearn.cluster import Cluster

PODS = "/api/v1/namespaces/default/pods"
TARGET = f"{PODS}/target"  # an existing pod the updates and patches aim at
EXAMPLES = 1100
KNOWN_WORDS = {"api", "apis", "version", "healthz", "livez", "readyz", "openapi", "watch",
               "namespaces", "status", "binding", "scale", "finalize"}


def valid_pod(name: str = "fuzz") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                     "ports": [{"containerPort": 80}],
                                     "resources": {"limits": {"cpu": "1"}}}]}}


class Client:
    """One kept-alive HTTPS connection, reopened when the server closes it."""

    def __init__(self, server) -> None:
        self.server = server
        self.host, self.port = server.httpd.server_address[:2]
        self.context = ssl.create_default_context(cafile=str(server.ca_path))
        self.conn: http.client.HTTPSConnection | None = None
        self.sent = 0

    def send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]
             ) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port,
                                                        context=self.context, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                self.sent += 1
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.close()  # the server ended the kept-alive connection: retry on a new one
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@pytest.fixture(scope="module")
def server():
    cluster = Cluster(seed=0)
    served = cluster.serve(quiet=True, speed=0)  # frozen clock: only requests could write
    yield served
    served.stop()


@pytest.fixture(scope="module")
def client(server):
    c = Client(server)
    body = json.dumps(valid_pod("target")).encode()
    status, data = c.send("POST", PODS, body, {"Authorization": f"Bearer {server.token}",
                                               "Content-Type": "application/json"})
    assert status == 201, data
    yield c
    c.close()


# -- the bad requests ----------------------------------------------------------------------------

JSON_TYPE = {"Content-Type": "application/json"}
names = st.text(alphabet=string.ascii_letters + string.digits + "-._!@#$ /", min_size=1,
                max_size=30)
junk = st.from_regex(r"zz[a-z0-9]{1,10}", fullmatch=True)


def request(method: str, path: str, body: Any = None, headers: dict | None = None,
            token: str | None = "admin") -> dict[str, Any]:
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    return {"method": method, "path": path, "body": body, "headers": dict(headers or {}),
            "token": token}


def set_path(obj: Any, path: tuple, value: Any) -> Any:
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


malformed_json = st.one_of(
    st.binary(max_size=200).filter(lambda b: not _is_json_object(b)),
    st.sampled_from(['{"kind": "Pod",', "{'a': 1}", "{]", '{"a": NaN}', '{"a": Infinity}',
                     '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x\\ud800"}}',
                     "[" * 2000, '{"a": 1} trailing', "null", "42", '"pod"', "[]"]),
).map(lambda body: request("POST", PODS, body, JSON_TYPE))


def _is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


# "billion laughs": each list holds ten aliases of the one before, 10**8 values in all
BILLION_LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True))
malformed_yaml = st.sampled_from([
    "a: [", "kind: Pod\n\tbad: tab", "- just\n- a list", "key: value: other", "{{{",
    "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed}", "&anchor a: *nothing",
    "---\nkind: Pod\n---\nkind: Pod\n", "!!python/object:os.system {}", "123", "~",
    BILLION_LAUGHS,
]).map(lambda text: request("POST", PODS, text, {"Content-Type": "application/yaml"}))

WRONG_TYPES = [
    (("metadata", "name"), [5, True, [], {}]),
    (("metadata", "labels"), ["app=web", 5, ["a"]]),
    (("metadata", "annotations"), [{"a": 1}, {"a": True}]),
    (("metadata", "creationTimestamp"), ["yesterday", 5, "2024-13-01T00:00:00Z"]),
    (("spec",), ["spec", 1, []]),
    (("spec", "containers"), ["nginx", 5, {}, True]),
    (("spec", "containers", 0, "ports"), ["80", 80, {}]),
    (("spec", "containers", 0, "ports", 0, "containerPort"), ["eighty", True, 1.5, 2 ** 40]),
    (("spec", "containers", 0, "resources", "limits", "cpu"), ["lots", "1x", True, [], "1.5.5"]),
    (("spec", "containers", 0, "image"), [5, ["nginx"], {"name": "nginx"}]),
    (("spec", "restartPolicy"), [1, [], {}]),
    (("spec", "terminationGracePeriodSeconds"), ["30", 1.5, [], 2 ** 70]),
]
wrong_types = st.sampled_from(WRONG_TYPES).flatmap(
    lambda item: st.sampled_from(item[1]).map(
        lambda value: request("POST", PODS, set_path(valid_pod(), item[0], value), JSON_TYPE)))

huge_bodies = st.integers(MAX_REQUEST_BODY_BYTES + 1, MAX_REQUEST_BODY_BYTES + 4096).map(
    lambda size: request("POST", PODS, b"{" + b" " * (size - 2) + b"}", JSON_TYPE))

invalid_names = st.one_of(
    names.filter(lambda n: bool(is_dns1123_subdomain(n))),  # the errors: invalid ones only
    st.integers(254, 400).map(lambda n: "a" * n),
).flatmap(lambda name: st.sampled_from([
    request("POST", PODS, valid_pod(name), JSON_TYPE),
    request("POST", "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, JSON_TYPE),
    request("POST", PODS, {**valid_pod(), "metadata": {"generateName": name + "_"}},
            JSON_TYPE),
    request("POST", PODS, set_path(valid_pod(), ("spec", "containers", 0, "name"), name),
            JSON_TYPE),
]))

unknown_resources = junk.flatmap(lambda word: st.sampled_from([
    request("GET", f"/api/v1/{word}"),
    request("POST", f"/api/v1/namespaces/default/{word}", valid_pod(), JSON_TYPE),
    request("DELETE", f"/apis/apps/v1/namespaces/default/{word}/x"),
    request("GET", f"/apis/{word}.example.com/v1/things"),
    request("GET", f"/apis/apps/{word}/deployments"),
    request("PUT", f"/api/v1/{word}/x", valid_pod(), JSON_TYPE),
]))

bad_paths = junk.flatmap(lambda word: st.sampled_from([
    request("GET", f"/{word}"),
    request("GET", f"{TARGET}/{word}"),
    request("GET", f"{TARGET}/status/{word}"),
    request("GET", f"{PODS}/a/b/c/d"),
    request("GET", "/api/v1/pods/target"),  # a namespaced object without its namespace
    request("GET", f"/api/v1/namespaces//pods/{word}"),
    request("POST", f"/api/v1/namespaces/{word}/pods", valid_pod(), JSON_TYPE),
    request("GET", f"/openapi/v3/apis/{word}/v1"),
    request("GET", f"/apis/{word}"),
    request("GET", f"/api/{word}"),
]))

bad_label_selectors = st.text(alphabet="ab=!(),<> in", min_size=1, max_size=20).filter(
    lambda text: _invalid_selector(text)).map(
    lambda text: request("GET", f"{PODS}?labelSelector={_quote(text)}"))

POD_FIELDS = set(selectable_fields({"kind": "Pod", "metadata": {"namespace": "x"}}))
bad_field_selectors = st.one_of(
    st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}", fullmatch=True).filter(
        lambda f: f not in POD_FIELDS).map(lambda f: f"{f}=x"),
    st.sampled_from(["metadata.name", "=x", "metadata.name~x", "metadata.name>3"]),
).map(lambda sel: request("GET", f"{PODS}?fieldSelector={_quote(sel)}"))

bad_query_values = st.sampled_from([
    "limit=abc", "limit=1.5", "limit=99999999999999999999", "timeoutSeconds=soon",
    "gracePeriodSeconds=x", "watch=1&timeoutSeconds=-", "includeObject=All",
]).map(lambda q: request("GET", f"{PODS}?{q}",
                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}))

bad_methods = st.one_of(
    st.sampled_from(["FOO", "BREW", "TRACE", "CONNECT", "PROPFIND", "OPTIONS"]).map(
        lambda m: request(m, PODS)),
    st.sampled_from([
        request("PUT", PODS, valid_pod(), JSON_TYPE),
        request("PATCH", PODS, {}, {"Content-Type": "application/merge-patch+json"}),
        request("POST", TARGET, valid_pod("target"), JSON_TYPE),
        request("DELETE", "/version"),
        request("POST", "/apis", {}, JSON_TYPE),
        request("PUT", "/healthz", "ok"),
        request("DELETE", f"{TARGET}/status"),
    ]),
)

JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
bad_patches = st.one_of(
    st.sampled_from([MERGE, STRATEGIC, JSON_PATCH]).flatmap(lambda h: st.sampled_from([
        request("PATCH", TARGET, "{not json", h),
        request("PATCH", TARGET, "", h),
        request("PATCH", TARGET, '"a string"', h),
        request("PATCH", TARGET, "42", h),
    ])),
    st.sampled_from([MERGE, STRATEGIC]).flatmap(lambda h: st.sampled_from([
        request("PATCH", TARGET, [{"op": "add"}], h),
        request("PATCH", TARGET, {"spec": {"containers": "nginx"}}, h),
        request("PATCH", TARGET, {"spec": {"restartPolicy": "Never"}}, h),
        request("PATCH", TARGET, {"metadata": {"name": "other"}}, h),
        request("PATCH", TARGET, {"metadata": {"labels": {"bad key!": "x"}}}, h),
        request("PATCH", TARGET, {"metadata": {"labels": {"a": "b" * 64}}}, h),
        request("PATCH", TARGET, {"spec": {"terminationGracePeriodSeconds": "soon"}}, h),
        request("PATCH", TARGET, {"metadata": {"resourceVersion": "1"},
                                  "spec": {"activeDeadlineSeconds": 5}}, h),
        request("PATCH", f"{PODS}/missing", {"metadata": {"labels": {"a": "b"}}}, h),
    ])),
    st.sampled_from([
        {"op": "add"}, [{"op": "frobnicate", "path": "/metadata"}],
        [{"op": "remove", "path": "/metadata/nothing/here"}],
        [{"op": "test", "path": "/metadata/name", "value": "other"}],
        [{"op": "replace", "path": "/spec/containers/9/image", "value": "x"}],
        [{"op": "add", "path": "no-slash", "value": 1}],
        [{"op": "move", "from": "/nothing", "path": "/metadata/labels"}],
        [{"op": "replace", "path": "/spec/restartPolicy", "value": "Never"}],
        [1, 2, 3],
    ]).map(lambda ops: request("PATCH", TARGET, ops, JSON_PATCH)),
    st.sampled_from(["application/json", "text/plain", "application/apply-patch+yaml",
                     "application/yaml"]).map(
        lambda t: request("PATCH", TARGET, {"metadata": {}}, {"Content-Type": t})),
)

wrong_kinds = st.sampled_from([
    {**valid_pod(), "kind": "Service"},
    {**valid_pod(), "apiVersion": "apps/v1"},
    {**valid_pod(), "apiVersion": "v2"},
    {**valid_pod(), "kind": 5},
    {**valid_pod(), "metadata": {"name": "fuzz", "namespace": "kube-system"}},
]).map(lambda body: request("POST", PODS, body, JSON_TYPE))

bad_updates = st.sampled_from([
    request("PUT", TARGET, {**valid_pod("other")}, JSON_TYPE),
    request("PUT", TARGET, {**valid_pod("target"),
                            "metadata": {"name": "target", "resourceVersion": "1"}},
            JSON_TYPE),
    request("PUT", f"{PODS}/missing", {**valid_pod("missing"),
                                       "metadata": {"name": "missing",
                                                    "resourceVersion": "1"}}, JSON_TYPE),
    request("DELETE", f"{PODS}/missing"),
    request("DELETE", TARGET, {"kind": "DeleteOptions", "propagationPolicy": "Sideways"},
            JSON_TYPE),
    request("DELETE", TARGET, {"gracePeriodSeconds": "soon"}, JSON_TYPE),
    request("DELETE", TARGET, "{not json", JSON_TYPE),
    request("DELETE", TARGET, {"preconditions": {"uid": "not-the-uid"}}, JSON_TYPE),
])

bad_tokens = st.one_of(st.text(alphabet=string.ascii_letters + string.digits, min_size=1,
                               max_size=40), st.just(None)).flatmap(
    lambda token: st.sampled_from([
        request("GET", PODS, token=token),
        request("POST", PODS, valid_pod("sneaky"), JSON_TYPE, token=token),
        request("GET", "/api", token=token),
        request("DELETE", TARGET, token=token),
    ]).filter(lambda r: r["token"] is None or r["token"] != "admin"))

bad_formats = st.one_of(
    st.one_of(st.binary(max_size=100), st.binary(max_size=100).map(lambda b: b"k8s\x00" + b)).map(
        lambda raw: request("POST", PODS, raw,
                            {"Content-Type": "application/vnd.kubernetes.protobuf"})),
    st.sampled_from(["application/vnd.kubernetes.protobuf", "text/html", "image/png",
                     "application/json;as=Nonsense;g=meta.k8s.io;v=v1"]).map(
        lambda accept: request("GET", PODS, headers={"Accept": accept})),
    st.sampled_from(["text/plain", "application/xml", "application/vnd.kubernetes.protobuf",
                     "multipart/form-data"]).map(
        lambda ctype: request("POST", PODS, valid_pod(), {"Content-Type": ctype})),
)

BAD_REQUESTS = st.one_of(malformed_json, malformed_yaml, wrong_types, huge_bodies,
                         invalid_names, unknown_resources, bad_paths, bad_label_selectors,
                         bad_field_selectors, bad_query_values, bad_methods, bad_patches,
                         wrong_kinds, bad_updates, bad_tokens, bad_formats)


def _invalid_selector(text: str) -> bool:
    try:
        parse_selector(text)
    except SelectorError:
        return True
    return False


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# -- the property --------------------------------------------------------------------------------


def test_bad_requests_get_a_4xx_status_and_change_nothing(server, client):
    """Over a thousand bad requests: each a 4xx Status, the etcd revision never moves."""

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large])
    @given(bad=BAD_REQUESTS)
    def check(bad: dict[str, Any]) -> None:
        headers = dict(bad["headers"])
        token = server.token if bad["token"] == "admin" else bad["token"]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        with server.lock:
            before = server.cluster.etcd.revision
        status, data = client.send(bad["method"], bad["path"], bad["body"], headers)
        assert 400 <= status < 500, (status, bad, data)
        answer = json.loads(data)
        assert answer["kind"] == "Status" and answer["status"] == "Failure", answer
        assert answer["code"] == status, answer
        with server.lock:
            assert server.cluster.etcd.revision == before, (bad, answer)

    sent = client.sent
    check()
    assert client.sent - sent >= 1000
