"""The HTTP front (kubelearn.apiserver.http, .rest): paths, discovery, Status codes, Tables,
watches, TLS, the kubeconfig and `kubelearn serve`."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import ssl
import stat
import subprocess
import sys
import threading
import time

import pytest
import yaml

from kubelearn.apiserver import discovery, openapi, protobuf, rest
from kubelearn.apiserver.kubeconfig import kubeconfig
from kubelearn.apiserver.request import Request
from kubelearn.cluster import Cluster

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
ADMIN = object()  # "use the admin's token"


class Response:
    """What came back: the status, the headers and the body."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict:
        return json.loads(self.body)


class Caller:
    """A tiny HTTPS client for one served cluster."""

    def __init__(self, server) -> None:
        self.server = server
        self.host, self.port = server.httpd.server_address[:2]
        self.context = ssl.create_default_context(cafile=str(server.ca_path))

    def connection(self, timeout: float = 10) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                           timeout=timeout)

    def __call__(self, method: str, path: str, body=None, *, token=ADMIN,
                 headers: dict | None = None) -> Response:
        headers = dict(headers or {})
        if token is ADMIN:
            token = self.server.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server():
    cluster = Cluster(seed=0)
    served = cluster.serve(quiet=True, speed=0)  # virtual time stands still unless run
    yield served
    served.stop()


@pytest.fixture(scope="module")
def call(server):
    return Caller(server)


@pytest.fixture
def pod(call):
    """A pod named web in default, deleted afterwards."""
    created = call("POST", "/api/v1/namespaces/default/pods", POD)
    assert created.status == 201, created.body
    yield created.json()
    call("DELETE", "/api/v1/namespaces/default/pods/web")


def status_of(resp: Response, code: int, reason: str) -> dict:
    """The Status body of an error answer, checked."""
    assert resp.status == code, resp.body
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert (body["code"], body["reason"]) == (code, reason)
    return body


# -- routing -----------------------------------------------------------------------------------


def test_route_maps_paths_and_methods_to_requests(server):
    index = server.httpd.index
    r = rest.route("GET", "/api/v1/namespaces/default/pods", {}, index)
    assert (r.verb, r.resource, r.namespace, r.name, r.group) == ("list", "pods", "default",
                                                                 None, "")
    r = rest.route("GET", "/api/v1/pods", {"watch": "1"}, index)
    assert (r.verb, r.namespace) == ("watch", None)
    r = rest.route("PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/scale", {}, index)
    assert (r.verb, r.group, r.resource, r.name, r.subresource) == ("patch", "apps",
                                                                   "deployments", "web", "scale")
    r = rest.route("PUT", "/api/v1/namespaces/team/finalize", {}, index)
    assert (r.verb, r.resource, r.name, r.subresource, r.namespace) == (
        "update", "namespaces", "team", "finalize", None)
    r = rest.route("GET", "/api/v1/watch/namespaces/default/pods/web", {}, index)
    assert (r.verb, r.name, r.query["fieldSelector"]) == ("watch", None, "metadata.name=web")
    r = rest.route("DELETE", "/api/v1/namespaces/default/pods", {}, index)
    assert r.verb == "deletecollection"
    assert isinstance(r, Request) and r.path == "/api/v1/namespaces/default/pods"
    for path in ("/api/v1/foos", "/api/v1/pods/web", "/api/v1/namespaces/default/pods/web/logz",
                 "/apis/apps/v2/deployments", "/api/v1/namespaces//pods", "/nothing"):
        with pytest.raises(rest.RouteNotFound):
            rest.route("GET", path, {}, index)
    with pytest.raises(rest.MethodNotAllowed):
        rest.route("PUT", "/api/v1/namespaces/default/pods", {}, index)
    with pytest.raises(rest.MethodNotAllowed):
        rest.route("POST", "/api/v1/namespaces/default/pods/web", {}, index)


def test_negotiate_reads_accept_as_the_api_server_does():
    assert rest.negotiate(None) == rest.Answer("json")
    assert rest.negotiate("application/yaml") == rest.Answer("yaml")
    assert rest.negotiate(f"{TABLE},application/json") == rest.Answer("json", "Table", "v1")
    assert rest.negotiate("application/vnd.kubernetes.protobuf,application/json") == \
        rest.Answer("json")
    assert rest.negotiate("application/json;q=0.5,application/yaml") == rest.Answer("yaml")
    with pytest.raises(rest.NotAcceptable):
        rest.negotiate("application/vnd.kubernetes.protobuf")
    assert rest.wants_aggregated(f"{AGGREGATED},application/json") == "v2"
    assert rest.wants_aggregated("application/json") == ""


def test_query_integers_are_checked_like_the_parameter_codec():
    assert rest.query_options("limit=5&watch=true&limit=7") == {"limit": "5", "watch": "true"}
    with pytest.raises(rest.BadRequest, match=r'strconv.ParseInt: parsing "abc": invalid syntax'):
        rest.query_options("limit=abc")
    with pytest.raises(rest.BadRequest, match="value out of range"):
        rest.query_options("timeoutSeconds=99999999999999999999")
    assert rest.go_bool("yes") and not rest.go_bool("0") and not rest.go_bool("False")


# -- non-resource paths -------------------------------------------------------------------------


def test_version_and_health(call):
    version = call("GET", "/version", token=None).json()
    assert (version["major"], version["minor"]) == ("1", "32")
    assert version["gitVersion"] == discovery.GIT_VERSION
    for path in ("/healthz", "/livez", "/readyz", "/readyz/ping"):
        resp = call("GET", path, token=None)
        assert (resp.status, resp.body) == (200, b"ok")


def test_discovery_needs_a_valid_token(call):
    status_of(call("GET", "/api", token=None), 401, "Unauthorized")
    body = status_of(call("GET", "/apis", token="not-a-token"), 401, "Unauthorized")
    assert body["message"] == "Unauthorized"


def test_legacy_discovery_documents(call):
    versions = call("GET", "/api").json()
    assert versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    groups = call("GET", "/apis").json()
    names = [g["name"] for g in groups["groups"]]
    assert groups["kind"] == "APIGroupList" and "" not in names
    assert {"apps", "rbac.authorization.k8s.io", "coordination.k8s.io"} <= set(names)
    apps = call("GET", "/apis/apps").json()
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    core = call("GET", "/api/v1").json()
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"] == {
        "name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                  "watch"],
        "shortNames": ["po"], "categories": ["all"]}
    assert by_name["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["pods/binding"] == {"name": "pods/binding", "singularName": "",
                                       "namespaced": True, "kind": "Binding",
                                       "verbs": ["create"]}
    assert by_name["nodes"]["namespaced"] is False
    scale = {r["name"]: r for r in call("GET", "/apis/apps/v1").json()["resources"]}
    assert (scale["deployments/scale"]["group"], scale["deployments/scale"]["kind"]) == (
        "autoscaling", "Scale")
    status_of(call("GET", "/apis/apps/v7"), 404, "NotFound")
    status_of(call("GET", "/apis/nothing.example.com"), 404, "NotFound")


def test_aggregated_discovery_when_asked_for(call):
    resp = call("GET", "/apis", headers={"Accept": f"{AGGREGATED},application/json"})
    assert resp.headers["Content-Type"] == AGGREGATED
    doc = resp.json()
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    apps = next(i for i in doc["items"] if i["metadata"].get("name") == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"]
                       if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced" and deployments["shortNames"] == ["deploy"]
    assert {"subresource": "scale", "verbs": ["get", "patch", "update"],
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}} in \
        deployments["subresources"]
    core = call("GET", "/api", headers={"Accept": AGGREGATED}).json()
    assert [i["metadata"].get("name", "") for i in core["items"]] == [""]


def test_openapi_v3_says_patch_takes_field_validation(call):
    index = call("GET", "/openapi/v3").json()["paths"]
    assert {"api/v1", "apis/apps/v1"} <= set(index)
    url = index["api/v1"]["serverRelativeURL"]
    doc = call("GET", url).json()
    assert doc["openapi"].startswith("3.")
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1",
                                                        "kind": "Pod"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    schemas = doc["components"]["schemas"]
    assert schemas["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "version": "v1", "kind": "Pod"}]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert (containers["x-kubernetes-patch-strategy"],
            containers["x-kubernetes-patch-merge-key"]) == ("merge", "name")
    ports = schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    # the hash in the index is the document's own
    assert url.endswith(openapi.digest(call("GET", "/openapi/v3/api/v1").body))
    status_of(call("GET", "/openapi/v3/apis/nothing/v1"), 404, "NotFound")


def test_openapi_v2_is_json_only(call):
    swagger = call("GET", "/openapi/v2", headers={"Accept": "application/json"}).json()
    assert swagger["swagger"] == "2.0"
    assert "io.k8s.api.apps.v1.Deployment" in swagger["definitions"]
    protobuf_only = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    status_of(call("GET", "/openapi/v2", headers={"Accept": protobuf_only}), 406,
              "NotAcceptable")


def test_unknown_paths_and_methods(call):
    body = status_of(call("GET", "/apis/nothing/v1/things"), 404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    status_of(call("GET", "/metrics-please"), 404, "NotFound")
    status_of(call("PUT", "/api/v1/namespaces/default/pods", POD), 405, "MethodNotAllowed")
    status_of(call("DELETE", "/version"), 405, "MethodNotAllowed")
    status_of(call("BREW", "/api/v1/pods"), 405, "MethodNotAllowed")


# -- resource requests and their Status codes ----------------------------------------------------


def test_create_get_conflict_and_delete(call, server):
    created = call("POST", "/api/v1/namespaces/default/pods", POD)
    assert created.status == 201
    pod = created.json()
    assert pod["metadata"]["resourceVersion"] == str(server.cluster.etcd.revision)
    got = call("GET", "/api/v1/namespaces/default/pods/web")
    assert got.status == 200 and got.json()["metadata"]["uid"] == pod["metadata"]["uid"]
    body = status_of(call("POST", "/api/v1/namespaces/default/pods", POD), 409, "AlreadyExists")
    assert body["message"] == 'pods "web" already exists'
    stale = {**pod, "metadata": {**pod["metadata"], "resourceVersion": "1"}}
    body = status_of(call("PUT", "/api/v1/namespaces/default/pods/web", stale), 409, "Conflict")
    assert "the object has been modified" in body["message"]
    deleted = call("DELETE", "/api/v1/namespaces/default/pods/web")
    assert deleted.status == 200
    body = status_of(call("GET", "/api/v1/namespaces/default/pods/web"), 404, "NotFound")
    assert body["message"] == 'pods "web" not found'
    assert body["details"] == {"name": "web", "kind": "pods"}


def test_invalid_is_422_with_upstream_words(call):
    bad = {**POD, "spec": {"containers": [{"name": "Bad_Name", "image": "nginx"}]}}
    body = status_of(call("POST", "/api/v1/namespaces/default/pods", bad), 422, "Invalid")
    assert body["message"].startswith('Pod "web" is invalid: spec.containers[0].name: '
                                      'Invalid value: "Bad_Name"')
    assert body["details"]["causes"][0]["field"] == "spec.containers[0].name"


def test_bodies_that_cannot_be_read_are_400(call):
    path = "/api/v1/namespaces/default/pods"
    body = status_of(call("POST", path, "{not json", headers={"Content-Type": "application/json"}),
                     400, "BadRequest")
    assert body["message"].startswith("couldn't get version/kind; json parse error")
    body = status_of(call("POST", path, "[1, 2]", headers={"Content-Type": "application/json"}),
                     400, "BadRequest")
    assert "cannot unmarshal array" in body["message"]
    status_of(call("POST", path, "a: [", headers={"Content-Type": "application/yaml"}), 400,
              "BadRequest")
    status_of(call("POST", path, b"\xff\xfe", headers={"Content-Type": "application/json"}), 400,
              "BadRequest")
    wrong_type = {**POD, "spec": {"containers": "nginx"}}
    body = status_of(call("POST", path, wrong_type), 400, "BadRequest")
    assert "cannot unmarshal string into Go struct field PodSpec.spec.containers" in \
        body["message"]
    status_of(call("POST", path, POD, token="wrong"), 401, "Unauthorized")
    # the token is checked before the body is read, as upstream's filters run first
    status_of(call("POST", path, "{not json", token="wrong",
                   headers={"Content-Type": "application/json"}), 401, "Unauthorized")


def test_yaml_in_and_out(call, pod):
    text = yaml.safe_dump({**POD, "metadata": {"name": "from-yaml"}})
    created = call("POST", "/api/v1/namespaces/default/pods", text,
                   headers={"Content-Type": "application/yaml"})
    assert created.status == 201, created.body
    resp = call("GET", "/api/v1/namespaces/default/pods/from-yaml",
                headers={"Accept": "application/yaml"})
    assert resp.headers["Content-Type"] == "application/yaml"
    assert yaml.safe_load(resp.body)["metadata"]["name"] == "from-yaml"
    call("DELETE", "/api/v1/namespaces/default/pods/from-yaml")


def test_patch_content_types(call, pod):
    path = "/api/v1/namespaces/default/pods/web"
    merged = call("PATCH", path, json.dumps({"metadata": {"labels": {"tier": "front"}}}),
                  headers={"Content-Type": "application/merge-patch+json"})
    assert merged.status == 200 and merged.json()["metadata"]["labels"]["tier"] == "front"
    ops = [{"op": "add", "path": "/metadata/labels/extra", "value": "yes"}]
    patched = call("PATCH", path, json.dumps(ops),
                   headers={"Content-Type": "application/json-patch+json"})
    assert patched.json()["metadata"]["labels"]["extra"] == "yes"
    body = status_of(call("PATCH", path, json.dumps({}),
                          headers={"Content-Type": "application/json"}),
                     415, "UnsupportedMediaType")
    assert body["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json")
    # server-side apply is not implemented: a 415 says so
    status_of(call("PATCH", path, "metadata: {}",
                   headers={"Content-Type": "application/apply-patch+yaml"}),
              415, "UnsupportedMediaType")
    status_of(call("PATCH", path, json.dumps({"op": "add"}),
                   headers={"Content-Type": "application/json-patch+json"}), 400, "BadRequest")


def test_bodies_over_3_mib_are_413(call):
    huge = json.dumps({**POD, "metadata": {"name": "huge",
                                           "annotations": {"a": "x" * (3 * 1024 * 1024)}}})
    body = status_of(call("POST", "/api/v1/namespaces/default/pods", huge), 413,
                     "RequestEntityTooLarge")
    assert body["message"] == "Request entity too large: limit is 3145728"


def test_not_acceptable(call):
    status_of(call("GET", "/api/v1/namespaces/default/pods",
                   headers={"Accept": "application/vnd.kubernetes.protobuf"}), 406,
              "NotAcceptable")


def test_protobuf_self_subject_access_review(call):
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    attributes = field(2, b"delete") + field(5, b"pods") + field(1, b"default")
    review = field(2, field(1, attributes))
    type_meta = field(1, b"authorization.k8s.io/v1") + field(2, b"SelfSubjectAccessReview")
    body = protobuf.MAGIC + field(1, type_meta) + field(2, review)
    assert protobuf.decode(body)["spec"]["resourceAttributes"] == {
        "verb": "delete", "resource": "pods", "namespace": "default"}
    resp = call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body,
                headers={"Content-Type": protobuf.MEDIA_TYPE,
                         "Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert resp.status == 201, resp.body
    assert resp.json()["status"]["allowed"] is True


def test_protobuf_bodies_read_like_their_json():
    def tag(number: int, wire: int) -> bytes:
        return bytes([number << 3 | wire])

    def field(number: int, payload: bytes) -> bytes:
        return tag(number, 2) + bytes([len(payload)]) + payload

    entry = field(1, b"app") + field(2, b"web")
    meta = field(1, b"web") + field(3, b"") + field(11, entry)  # an empty namespace is dropped
    spec = tag(1, 0) + b"\x00" + tag(7, 0) + b"\x00"  # replicas=0 (a pointer), paused=false
    type_meta = field(1, b"apps/v1") + field(2, b"Deployment")
    raw = field(1, meta) + field(2, spec)
    body = protobuf.MAGIC + field(1, type_meta) + field(2, raw)
    assert protobuf.decode(body) == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "metadata": {"name": "web", "labels": {"app": "web"}},
                                     "spec": {"replicas": 0}}
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode(b"k8s\x00\x0a\xff")
    with pytest.raises(rest.UnsupportedMediaType):
        protobuf.decode(protobuf.MAGIC + field(1, field(2, b"CronJob")))


# -- Tables ---------------------------------------------------------------------------------------


def test_table_for_kubectl_get(call, pod):
    resp = call("GET", "/api/v1/namespaces/default/pods",
                headers={"Accept": f"{TABLE},application/json"})
    table = resp.json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names[:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert [c["priority"] for c in table["columnDefinitions"]][5:] == [1, 1, 1, 1]
    row = table["rows"][0]
    assert row["cells"][:4] == ["web", "0/1", "Pending", "0"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "web"
    assert table["metadata"]["resourceVersion"]
    full = call("GET", "/api/v1/namespaces/default/pods?includeObject=Object",
                headers={"Accept": TABLE}).json()
    assert full["rows"][0]["object"]["kind"] == "Pod"
    assert full["rows"][0]["object"]["spec"]["containers"][0]["name"] == "nginx"
    none = call("GET", "/api/v1/namespaces/default/pods/web?includeObject=None",
                headers={"Accept": TABLE}).json()
    assert none["rows"][0]["object"] is None and len(none["rows"]) == 1
    body = status_of(call("GET", "/api/v1/namespaces/default/pods?includeObject=All",
                          headers={"Accept": TABLE}), 400, "BadRequest")
    assert body["message"] == ('Unable to convert to Table as requested: includeObject: '
                               'Unsupported value: "All": supported values: "", "Metadata", '
                               '"None", "Object"')


def test_table_of_a_scale_is_not_a_deployments(call):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": POD["spec"]}}}
    path = "/apis/apps/v1/namespaces/default/deployments"
    assert call("POST", path, deployment).status == 201
    listed = call("GET", path, headers={"Accept": TABLE}).json()
    assert [c["name"] for c in listed["columnDefinitions"]][:5] == [
        "Name", "Ready", "Up-to-date", "Available", "Age"]
    scale = call("GET", f"{path}/web/scale", headers={"Accept": TABLE}).json()
    assert [c["name"] for c in scale["columnDefinitions"]] == ["Name", "Created At"]
    call("DELETE", f"{path}/web")


def test_partial_object_metadata(call, pod):
    meta = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    listed = call("GET", "/api/v1/namespaces/default/pods", headers={"Accept": meta}).json()
    assert listed["kind"] == "PartialObjectMetadataList"
    assert listed["items"][0] == {"kind": "PartialObjectMetadata",
                                  "apiVersion": "meta.k8s.io/v1",
                                  "metadata": pod["metadata"] | listed["items"][0]["metadata"]}
    assert "spec" not in listed["items"][0]


# -- watch ---------------------------------------------------------------------------------------


def _read_chunked_line(resp: http.client.HTTPResponse) -> dict:
    return json.loads(resp.readline())


def test_watch_streams_chunked_json_lines(call, server):
    listed = call("GET", "/api/v1/namespaces/default/pods").json()
    rv = listed["metadata"]["resourceVersion"]
    conn = call.connection()
    conn.request("GET", f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}"
                        "&timeoutSeconds=5",
                 headers={"Authorization": f"Bearer {server.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert resp.headers["Content-Type"] == "application/json"
    created = call("POST", "/api/v1/namespaces/default/pods",
                   {**POD, "metadata": {"name": "watched"}})
    assert created.status == 201
    event = _read_chunked_line(resp)
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "watched"
    call("DELETE", "/api/v1/namespaces/default/pods/watched")
    types = [_read_chunked_line(resp)["type"]]
    while types[-1] != "DELETED":
        types.append(_read_chunked_line(resp)["type"])
    assert types[-1] == "DELETED"
    conn.close()


def test_watch_ends_at_timeout_seconds(call, server):
    conn = call.connection()
    start = time.monotonic()
    conn.request("GET", "/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=1",
                 headers={"Authorization": f"Bearer {server.token}"})
    resp = conn.getresponse()
    events = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 3, elapsed
    assert all(e["type"] == "ADDED" for e in events)  # the current ones, then the end
    conn.close()


def test_table_watch_sends_column_definitions_once(call, server, pod):
    conn = call.connection()
    conn.request("GET", "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=5",
                 headers={"Authorization": f"Bearer {server.token}", "Accept": TABLE})
    resp = conn.getresponse()
    first = _read_chunked_line(resp)
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert first["object"]["columnDefinitions"][0]["name"] == "Name"
    assert first["object"]["rows"][0]["cells"][0] == "web"
    call("PATCH", "/api/v1/namespaces/default/pods/web",
         json.dumps({"metadata": {"labels": {"seen": "yes"}}}),
         headers={"Content-Type": "application/merge-patch+json"})
    second = _read_chunked_line(resp)
    assert second["type"] == "MODIFIED"
    assert second["object"]["columnDefinitions"] is None
    assert second["object"]["rows"][0]["cells"][0] == "web"
    conn.close()


def test_watch_from_a_compacted_revision_is_410(call, server):
    with server.lock:
        cluster = server.cluster
        cluster.etcd.compact(cluster.etcd.revision)
    resp = call("GET", "/api/v1/namespaces/default/pods?watch=1&resourceVersion=2")
    if resp.status == 200:  # the API server may say it on the stream instead
        event = json.loads(resp.body.splitlines()[0])
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
    else:
        status_of(resp, 410, "Expired")


# -- serving: TLS, kubeconfig, stop -------------------------------------------------------------


def test_kubeconfig_is_private_and_complete(server):
    path = server.kubeconfig_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "kubernetes-admin@kubelearn"
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == server.url and server.url.startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["certificate-authority-data"]) == \
        server.ca_path.read_bytes()
    assert config["users"][0]["user"]["token"] == server.token
    assert kubeconfig("https://x", "t")["contexts"][0]["context"]["namespace"] == "default"


def test_plain_http_to_the_tls_port_gets_nothing(server):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        conn.request("GET", "/version")
        conn.getresponse().read()
    conn.close()


def test_stop_ends_watches_and_joins_threads():
    cluster = Cluster(seed=1)
    served = cluster.serve(quiet=True, speed=100)
    caller = Caller(served)
    conn = caller.connection()
    conn.request("GET", "/api/v1/namespaces/default/pods?watch=1",
                 headers={"Authorization": f"Bearer {served.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    time.sleep(0.3)
    assert cluster.now > 0  # the driver moves virtual time with the wall clock
    before = threading.active_count()
    start = time.monotonic()
    served.stop()
    assert time.monotonic() - start < 5
    assert resp.read() == b""  # the stream ended cleanly
    assert threading.active_count() < before
    assert not served.running and not served.directory.exists()
    with pytest.raises(OSError):
        Caller(served)("GET", "/version")
    conn.close()


def test_cli_serves_until_interrupted(tmp_path):
    config = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "kubelearn", "serve", "--kubeconfig",
                             str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("kubelearn API server at https://127.0.0.1:")
        assert proc.stdout.readline().strip() == f"export KUBECONFIG={config}"
        assert config.exists()
        assert proc.stdout.readline().strip() == "kubectl get pods"
        assert proc.stdout.readline().strip() == "Press Ctrl-C to stop."
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0 and "stopped" in out
    finally:
        proc.kill()
