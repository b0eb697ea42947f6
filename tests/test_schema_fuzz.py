"""Every field of every served kind set to something hostile: no 5xx, no traceback, no harm.

A structure-aware fuzz test, driven by :data:`kubelearn.api.schema.KIND_TYPES`.
For each built-in kind the API server serves (registry ``RESOURCES``) it starts
from a valid object of that kind (:data:`EXAMPLES`, one table), picks one field
path the kind's schema describes -- reached through lists (item 0) and maps (key
``fuzz``) -- and sets it to ``null``, a value of a wrong JSON type, an empty
value, a huge one (a long string, list or map; the body stays under the 3 MiB
limit), a deeply nested one (400-2000 levels) or a lone surrogate. The object
goes in as a create, as an update (PUT of a freshly created object) and as a
merge patch, both in-process (``cluster.admin``, a :class:`kubelearn.client.Client`)
and over HTTPS (``cluster.serve``, ``http.client``). Each answer must be:

- no 5xx, and in-process no exception but a :class:`kubelearn.api.StatusError`;
- no traceback text in any body or message;
- if refused, nothing changed (the etcd revision is where it was);
- if accepted, the object reads back as JSON and YAML, lists and watches.

A kind served but missing from ``KIND_TYPES`` is fuzzed through the fields of
its example object, and :func:`test_every_served_kind_has_a_schema` fails.

Bounded to about a minute in CI: 25 examples per kind and transport, the same
ones every run (``derandomize``), a failure reported as first drawn (no
shrinking). A longer local run, e.g. half an hour::

    KUBELEARN_FUZZ_EXAMPLES=1000 KUBELEARN_FUZZ_RANDOM=1 KUBELEARN_FUZZ_SHRINK=1 \\
        .venv/bin/python -m pytest tests/test_schema_fuzz.py

``KUBELEARN_FUZZ_EXAMPLES``: examples per kind and transport (default 25);
``KUBELEARN_FUZZ_RANDOM=1``: new examples each run; ``KUBELEARN_FUZZ_SHRINK=1``:
shrink a failure to a simpler one (slow: each try is several requests).
"""

from __future__ import annotations

import copy
import http.client
import itertools
import json
import os
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kubelearn.api import StatusError, schema
from kubelearn.apiserver.registry import RESOURCES, ResourceInfo
from kubelearn.apiserver.rest import MAX_REQUEST_BODY_BYTES
from kubelearn.apiserver.rest import encode as encode_answer
from kubelearn.cluster import Cluster

# Unknown fields are dropped with a warning (fieldValidation=Warn), as the fuzz expects.
pytestmark = pytest.mark.filterwarnings("ignore::kubelearn.client.APIWarning")

FUZZ_EXAMPLES = int(os.environ.get("KUBELEARN_FUZZ_EXAMPLES", "25"))
FUZZ_RANDOM = os.environ.get("KUBELEARN_FUZZ_RANDOM", "") not in ("", "0")
FUZZ_SHRINK = os.environ.get("KUBELEARN_FUZZ_SHRINK", "") not in ("", "0")
# Each example is a handful of requests, some of megabytes: shrinking one failure can
# take minutes, so CI reports the first failing example as drawn.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if FUZZ_SHRINK else [])]
NAMESPACE = "default"
MAP_KEY = "fuzz"  # the key a path takes through a map: valid as a label key and a data key
MAX_PATH_LENGTH = 12  # schema walks stop here (recursive types)

# -- one valid object per served kind ------------------------------------------------------------

RBAC = "rbac.authorization.k8s.io"
CONTAINER = {"name": "app", "image": "nginx", "command": ["nginx"], "args": ["-g"],
             "ports": [{"name": "http", "containerPort": 80}],
             "env": [{"name": "MODE", "value": "fuzz"}],
             "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}},
             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
POD_SPEC = {"containers": [CONTAINER], "volumes": [{"name": "data", "emptyDir": {}}],
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "nodeSelector": {"disk": "ssd"}}
RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
SUBJECTS = [{"kind": "User", "name": "alice", "apiGroup": RBAC}]


def _workload(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": POD_SPEC}}


EXAMPLES: dict[str, Any] = {  # kind -> fields besides apiVersion, kind and metadata.name
    "Namespace": lambda name: {},
    "Pod": lambda name: {"spec": POD_SPEC},
    "Node": lambda name: {"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}},
    "Service": lambda name: {"spec": {"selector": {"app": name},
                                      "ports": [{"name": "http", "port": 80,
                                                 "targetPort": 8080}]}},
    "Endpoints": lambda name: {"subsets": [{"addresses": [{"ip": "10.0.0.1"}],
                                            "ports": [{"name": "http", "port": 80}]}]},
    "Event": lambda name: {"involvedObject": {"kind": "Pod", "name": "web",
                                              "namespace": NAMESPACE},
                           "reason": "Fuzzed", "message": "a fuzzed event", "type": "Normal",
                           "source": {"component": "fuzz"}, "count": 1},
    "ConfigMap": lambda name: {"data": {"key": "value"}},
    "Secret": lambda name: {"type": "Opaque", "data": {"key": "dmFsdWU="}},
    "ServiceAccount": lambda name: {},
    "PersistentVolumeClaim": lambda name: {"spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Mi"}}}},
    "Deployment": lambda name: {"spec": _workload(name)},
    "ReplicaSet": lambda name: {"spec": _workload(name)},
    "EndpointSlice": lambda name: {"addressType": "IPv4",
                                   "endpoints": [{"addresses": ["10.0.0.1"],
                                                  "conditions": {"ready": True}}],
                                   "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    "Lease": lambda name: {"spec": {"holderIdentity": "fuzz", "leaseDurationSeconds": 15}},
    "PodDisruptionBudget": lambda name: {"spec": {
        "minAvailable": "50%", "selector": {"matchLabels": {"app": name}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow"}},
    "PriorityClass": lambda name: {"value": 1000, "description": "fuzz",
                                   "preemptionPolicy": "Never"},
    "Role": lambda name: {"rules": RULES},
    "ClusterRole": lambda name: {"rules": RULES},
    "RoleBinding": lambda name: {"roleRef": {"apiGroup": RBAC, "kind": "Role",
                                             "name": "reader"}, "subjects": SUBJECTS},
    "ClusterRoleBinding": lambda name: {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole",
                                                    "name": "view"}, "subjects": SUBJECTS},
    "SelfSubjectAccessReview": lambda name: {"spec": {"resourceAttributes": {
        "verb": "get", "resource": "pods", "namespace": NAMESPACE}}},
}
SERVED = {info.kind: info for info in RESOURCES}
KINDS = sorted(SERVED)


def example(kind: str, name: str) -> dict[str, Any]:
    """A valid ``kind`` object named ``name``."""
    info = SERVED[kind]
    meta: dict[str, Any] = {"name": name, "labels": {"fuzz": "yes"}, "annotations": {"a": "b"}}
    if info.namespaced:
        meta["namespace"] = NAMESPACE
    return {"apiVersion": info.api_version, "kind": kind, "metadata": meta,
            **copy.deepcopy(EXAMPLES[kind](name))}


# -- the field paths a kind's schema describes ---------------------------------------------------

Path = tuple[str | int, ...]


def schema_of(kind: str) -> Any:
    """The kind's Go type from the schema; for a kind it lacks, one read off the example."""
    return schema.KIND_TYPES.get(kind) or _inferred(example(kind, "x"))


def _inferred(value: Any) -> Any:
    if isinstance(value, dict):
        return schema.Struct("inferred", {k: _inferred(v) for k, v in value.items()})
    if isinstance(value, list):
        return schema.ListOf(_inferred(value[0]) if value else schema.STRING)
    if isinstance(value, bool):
        return schema.BOOL
    if isinstance(value, int):
        return schema.INT64
    return schema.STRING


def field_paths(typ: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, type) below ``typ``: struct fields, list item 0, map key ``fuzz``."""
    if len(path) >= MAX_PATH_LENGTH:
        return
    if isinstance(typ, schema.Struct):
        children = [(name, field) for name, field in typ.fields.items()]
    elif isinstance(typ, schema.ListOf):
        children = [(0, typ.item)]
    elif isinstance(typ, schema.MapOf):
        children = [(MAP_KEY, typ.value)]
    else:
        return
    for key, child in children:
        yield (*path, key), child
        yield from field_paths(child, (*path, key))


# -- the bad values, chosen by the field's type --------------------------------------------------


@dataclass(frozen=True)
class Deep:
    """A value nested ``depth`` levels deep: ``[[[...]]]`` or ``{"a": {"a": ...}}``."""

    depth: int
    shape: str  # "list" or "map"

    def build(self) -> Any:
        value: Any = "bottom"
        for _ in range(self.depth):  # iteratively: Python's own recursion limit is 1000
            value = [value] if self.shape == "list" else {"a": value}
        return value

    def text(self) -> str:
        if self.shape == "list":
            return "[" * self.depth + '"bottom"' + "]" * self.depth
        return '{"a":' * self.depth + '"bottom"' + "}" * self.depth


@dataclass(frozen=True)
class Bad:
    """One hostile value, shown briefly (a 2 MiB string is not printed)."""

    label: str  # null, wrong type, empty, huge, deep, lone surrogate
    value: Any
    shown: str = ""

    def __repr__(self) -> str:
        return f"{self.label}: {self.shown or repr(self.value)}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis shows it
        printer.text(repr(self))


def accepted_kinds(typ: Any) -> set[str]:
    """The JSON kinds a field of Go type ``typ`` decodes from (encoding/json's words)."""
    if isinstance(typ, schema.Scalar):
        return {"string": {"string"}, "int": {"number"}, "bool": {"bool"}}[typ.kind]
    if isinstance(typ, (schema.Struct, schema.MapOf)):
        return {"object"}
    if isinstance(typ, schema.ListOf):
        return {"array"}
    if typ in (schema.QUANTITY, schema.INT_OR_STRING):
        return {"string", "number"}
    return {"string"}  # Time, MicroTime and other custom types decode from a string


SAMPLES = {"string": ["fuzz"], "number": [7, 1.5, 2 ** 64], "bool": [True],
           "array": [["fuzz"], [7]], "object": [{"fuzz": 7}, {"fuzz": "x"}]}
EMPTY = {"string": "", "number": 0, "bool": False, "array": [], "object": {}}
SURROGATES = ["\ud800", "a\udfffz", "\udc00\ud800"]
# A string an object can hold (256 KiB, the most ObjectMeta's annotations may total) and
# one over etcd's 1.5 MiB --max-request-bytes yet under the body limit; lists and maps long
# enough to show quadratic work. Larger accepted values only slow the YAML read-backs.
HUGE_SIZES = [256 * 1024, MAX_REQUEST_BODY_BYTES - 256 * 1024]
HUGE_COUNTS = [2_000, 20_000]


def _item_sample(typ: Any) -> Any:
    """A small value a list or map of ``typ`` could hold."""
    kinds = accepted_kinds(typ)
    if "string" in kinds:
        return "x"
    if "number" in kinds:
        return 1
    return {"bool": True, "array": [], "object": {}}[min(kinds)]


def huge_values(typ: Any) -> st.SearchStrategy[Bad]:
    """A long string, list or map, or a number out of every int64; built only when drawn."""
    kinds = accepted_kinds(typ)
    made = [(f"string of {n} chars", lambda n=n: "x" * n) for n in HUGE_SIZES]
    if "number" in kinds:
        made += [(repr(n), lambda n=n: n) for n in (2 ** 63, -(2 ** 63) - 1, 10 ** 40, 1e308)]
    if isinstance(typ, schema.ListOf):
        item = _item_sample(typ.item)
        made += [(f"list of {n} x {item!r}", lambda n=n: [item] * n) for n in HUGE_COUNTS]
    if isinstance(typ, (schema.MapOf, schema.Struct)):
        item = _item_sample(typ.value) if isinstance(typ, schema.MapOf) else "x"
        made += [(f"map of {n} keys", lambda n=n: {f"k{i}": item for i in range(n)})
                 for n in HUGE_COUNTS]
    return st.sampled_from(made).map(lambda m: Bad("huge", m[1](), m[0]))


def bad_values(typ: Any) -> st.SearchStrategy[Bad]:
    """null, a wrong type, empty, huge, deep or a lone surrogate, for a field of ``typ``."""
    kinds = accepted_kinds(typ)
    wrong = [Bad("wrong type", v) for kind, values in SAMPLES.items() if kind not in kinds
             for v in values]
    empty = [Bad("empty", EMPTY[kind]) for kind in sorted(kinds)]
    surrogates = [Bad("lone surrogate", s) for s in SURROGATES]
    if isinstance(typ, schema.MapOf):
        surrogates.append(Bad("lone surrogate", {"\ud800": _item_sample(typ.value)}))
    deep = st.builds(lambda depth, shape: Bad("deep", Deep(depth, shape)),
                     st.integers(400, 2000), st.sampled_from(["list", "map"]))
    return st.one_of(st.just(Bad("null", None)), st.sampled_from(wrong),
                     st.sampled_from(empty), huge_values(typ), deep,
                     st.sampled_from(surrogates))


@dataclass(frozen=True)
class Case:
    """One fuzzed request: a kind, a field path, a bad value, a verb."""

    kind: str
    path: Path
    bad: Bad
    verb: str  # create, update (PUT) or patch (merge patch)

    def __repr__(self) -> str:
        return (f"Case({self.verb} {self.kind} with "
                f"{'.'.join(map(str, self.path))} = {self.bad!r})")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def cases(kind: str) -> st.SearchStrategy[Case]:
    paths = sorted(field_paths(schema_of(kind)), key=lambda p: tuple(map(str, p[0])))
    verbs = ["create", "update", "patch"] if SERVED[kind].stored else ["create"]
    return st.sampled_from(paths).flatmap(lambda item: st.builds(
        Case, st.just(kind), st.just(item[0]), bad_values(item[1]), st.sampled_from(verbs)))


# -- setting a value at a path -------------------------------------------------------------------


def set_at(obj: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with ``value`` at ``path``, making the lists and maps on the way."""
    obj = copy.deepcopy(obj)
    target: Any = obj
    for key, after in zip(path, path[1:], strict=False):
        empty: Any = [] if isinstance(after, int) else {}
        if isinstance(key, int):
            if not target:
                target.append(empty)
            if not isinstance(target[key], type(empty)):
                target[key] = empty
        elif not isinstance(target.get(key), type(empty)):
            target[key] = empty
        target = target[key]
    key = path[-1]
    if isinstance(key, int) and not target:
        target.append(value)
    else:
        target[key] = value
    return obj


def merge_patch(obj: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """The smallest merge patch putting ``value`` at ``path``: a list goes whole (RFC 7386)."""
    whole = set_at(obj, path, value)
    patch: dict[str, Any] = {}
    target, source = patch, whole
    for i, key in enumerate(path):
        after = path[i + 1] if i + 1 < len(path) else None
        if i + 1 == len(path) or isinstance(after, int):
            target[key] = source[key]
            return patch
        target[key] = {}
        target, source = target[key], source[key]
    return patch


_DEEP_MARK = "\x00deep\x00"


def to_json(obj: Any) -> bytes:
    """JSON text, a Deep value written out by hand (json.dumps would overflow the stack)."""
    deep: list[Deep] = []

    def mark(value: Any) -> str:
        if not isinstance(value, Deep):
            raise TypeError(type(value).__name__)
        deep.append(value)
        return _DEEP_MARK

    text = json.dumps(obj, default=mark)  # ensure_ascii: a lone surrogate as a \ud800 escape
    for value in deep:
        text = text.replace(json.dumps(_DEEP_MARK), value.text(), 1)
    return text.encode()


def built(obj: Any) -> Any:
    """``obj`` with each Deep value built, for the in-process API."""
    if isinstance(obj, Deep):
        return obj.build()
    if isinstance(obj, dict):
        return {k: built(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [built(v) for v in obj]
    return obj


def load_yaml(data: bytes) -> Any:
    """YAML as a client reads it (libyaml's parser: the test's own time is not the point)."""
    return yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


# -- what every answer must be -------------------------------------------------------------------

# A Python traceback, or a Python exception's name, leaking into an answer.
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "|\b[A-Z]\w*(Error|Exception)\b'
                       r"|object has no attribute|NoneType|recursion")


def assert_no_traceback(text: str, case: Case) -> None:
    found = TRACEBACK.search(text)
    assert found is None, f"{case}: traceback text {found[0]!r} in {text[:300]!r}"


@dataclass
class Answer:
    """A request's outcome, in-process or over HTTP."""

    status: int
    body: Any  # the object (accepted) or the Status (refused)


# -- in-process ----------------------------------------------------------------------------------


class InProcess:
    """The fuzzed requests through ``cluster.admin``, under the served cluster's lock."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster, self.admin = cluster, cluster.admin

    def call(self, case: Case, fn: Any, *args: Any, **kw: Any) -> Answer:
        with self.cluster.lock:
            try:
                return Answer(200, fn(*args, **kw))
            except StatusError as err:
                assert_no_traceback(err.message, case)
                return Answer(err.code, err.status)

    def send(self, case: Case, info: ResourceInfo, name: str, body: Any) -> Answer:
        if case.verb == "create":
            return self.call(case, self.admin.create, built(body))
        if case.verb == "update":
            return self.call(case, self.admin.update, built(body))
        return self.call(case, self.admin.patch, info.resource, name, built(body),
                         NAMESPACE if info.namespaced else None, patch_type="merge")

    def read_back(self, case: Case, info: ResourceInfo, name: str, ns: str | None) -> None:
        with self.cluster.lock:
            obj = self.admin.get(info.resource, name, ns)
            listed = self.admin.list(info.resource, ns, field_selector=f"metadata.name={name}")
            stream = self.admin.watch(info.resource, ns, field_selector=f"metadata.name={name}")
            events = stream.drain()
            stream.stop()
        for doc in (obj, listed, *events):
            json.loads(encode_answer(doc, "json"))
            load_yaml(encode_answer(doc, "yaml"))
        assert [item["metadata"]["name"] for item in listed["items"]] == [name], case
        assert [e["type"] for e in events] == ["ADDED"], (case, events)


# -- over HTTPS ----------------------------------------------------------------------------------

JSON = "application/json"
YAML = "application/yaml"
MERGE = "application/merge-patch+json"
DNS1123_SUBDOMAIN_MAX_LENGTH = 253  # k8s.io/apimachinery/pkg/util/validation


class Https:
    """The fuzzed requests over one kept-alive HTTPS connection (a new one per watch)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.host, self.port = server.httpd.server_address[:2]
        self.context = ssl.create_default_context(cafile=str(server.ca_path))
        self.conn: http.client.HTTPSConnection | None = None

    def connect(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                           timeout=30)

    def request(self, case: Case, method: str, path: str, body: bytes | None = None,
                content_type: str = JSON, accept: str = JSON) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.server.token}", "Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            if self.conn is None:
                self.conn = self.connect()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                self.close()  # the server ended the kept-alive connection: once more, anew
                if attempt:
                    raise
                continue
            if resp.will_close:
                self.close()
            assert resp.status < 500, f"{case}: {method} {path} answered {resp.status}: " \
                                      f"{data[:300]!r}"
            assert_no_traceback(data.decode("utf-8", "replace"), case)
            return resp.status, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, case: Case, info: ResourceInfo, name: str, body: Any) -> Answer:
        base = collection(info)
        if case.verb == "create":
            status, data = self.request(case, "POST", base, to_json(body))
        elif case.verb == "update":
            status, data = self.request(case, "PUT", f"{base}/{name}", to_json(body))
        else:
            status, data = self.request(case, "PATCH", f"{base}/{name}", to_json(body), MERGE)
        answer = json.loads(data)
        if status >= 400:
            assert answer.get("kind") == "Status" and answer.get("code") == status, (case, answer)
        return Answer(status, answer)

    def read_back(self, case: Case, info: ResourceInfo, name: str, ns: str | None) -> None:
        where = collection(info, ns)
        by_name = f"fieldSelector=metadata.name%3D{quote(name, safe='')}"
        for accept, parse in ((JSON, json.loads), (YAML, load_yaml)):
            status, data = self.request(case, "GET", f"{where}/{quote(name, safe='')}",
                                        accept=accept)
            if status == 431 and len(name) > DNS1123_SUBDOMAIN_MAX_LENGTH:
                # Only a core/v1 Event's name goes unchecked (legacyValidateEvent), and a
                # request line over 64 KiB is refused: read it back in-process instead.
                InProcess(self.server.cluster).read_back(case, info, name, ns)
                return
            assert status == 200 and parse(data)["metadata"]["name"] == name, (case, data[:300])
            status, data = self.request(case, "GET", f"{where}?{by_name}", accept=accept)
            assert status == 200, (case, data[:300])
            assert [i["metadata"]["name"] for i in parse(data)["items"]] == [name], case
            assert self.first_watch_event(case, where, by_name, accept, parse) == "ADDED", case

    def first_watch_event(self, case: Case, where: str, query: str, accept: str,
                          parse: Any) -> str:
        """The type of a watch's first event (the object, ADDED); the stream then closed."""
        conn = self.connect()
        try:
            conn.request("GET", f"{where}?watch=1&{query}&timeoutSeconds=10",
                         headers={"Authorization": f"Bearer {self.server.token}",
                                  "Accept": accept})
            resp = conn.getresponse()
            assert resp.status == 200, (case, resp.status, resp.read()[:300])
            data = resp.readline() if accept == JSON else self.read_yaml_event(resp)
            assert_no_traceback(data.decode("utf-8", "replace"), case)
            assert data, f"{case}: the {accept} watch ended without an event"
            return parse(data)["type"]
        finally:
            conn.close()


    @staticmethod
    def read_yaml_event(resp: http.client.HTTPResponse) -> bytes:
        """One YAML event: its keys sorted, it ends with the ``type:`` line."""
        data = b""
        while not YAML_EVENT_END.search(data):
            more = resp.read1()
            if not more:
                break
            data += more
        return data


YAML_EVENT_END = re.compile(rb"(^|\n)type: [A-Z]+\n\Z")


def collection(info: ResourceInfo, namespace: str | None = NAMESPACE) -> str:
    """The URL path of ``info``'s objects (in ``namespace`` if namespaced)."""
    prefix = f"/apis/{info.api_version}" if info.group else "/api/v1"
    ns = f"/namespaces/{quote(namespace or '', safe='')}" if info.namespaced else ""
    return f"{prefix}{ns}/{info.resource}"


# -- the property --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    cluster = Cluster(seed=0)
    served = cluster.serve(quiet=True, speed=0)  # frozen clock: only requests could write
    with served.lock:  # what the examples refer to
        cluster.admin.create({"apiVersion": f"{RBAC}/v1", "kind": "Role",
                              "metadata": {"name": "reader", "namespace": NAMESPACE},
                              "rules": RULES})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def transports(server):
    # An object with thousands of unknown fields gets a Warning header for each until 4 Ki
    # runes (the apiserver's warning recorder): over a hundred short ones, which Go reads
    # and http.client refuses ("got more than 100 headers").
    limit, http.client._MAXHEADERS = http.client._MAXHEADERS, 1000
    https = Https(server)
    yield {"in-process": InProcess(server.cluster), "https": https}
    https.close()
    http.client._MAXHEADERS = limit


NAMES = itertools.count()


def run_case(case: Case, transport: Any, cluster: Cluster) -> None:
    info, name = SERVED[case.kind], f"fuzz-{next(NAMES)}"
    admin = cluster.admin
    obj = example(case.kind, name)
    if case.verb != "create":
        with cluster.lock:
            obj = admin.create(obj)  # a fresh object to replace or patch
    body = merge_patch(obj, case.path, case.bad.value) if case.verb == "patch" \
        else set_at(obj, case.path, case.bad.value)
    with cluster.lock:
        before = cluster.etcd.revision
    answer = transport.send(case, info, name, body)
    with cluster.lock:
        after = cluster.etcd.revision
    assert answer.status < 500, f"{case}: {answer.status} {answer.body}"
    if answer.status >= 400:
        assert after == before or stored(cluster, before) == stored(cluster), \
            f"{case} was refused ({answer.status}) but changed what etcd holds"
        ns = NAMESPACE if info.namespaced else None
    elif info.stored:  # where it went: a fuzzed name or namespace may have been taken
        name, ns = answer.body["metadata"]["name"], answer.body["metadata"].get("namespace")
    try:
        if answer.status < 400 and info.stored:
            transport.read_back(case, info, name, ns)
    finally:  # even after a failure, so that hypothesis's replay of it meets the same cluster
        if info.stored:
            delete(case, cluster, info, name, ns)


def stored(cluster: Cluster, revision: int = 0) -> list[tuple[str, bytes]]:
    """Every key and value under /registry, now or as of ``revision``.

    A refused request may still move the revision without changing anything: a
    Service's create allocates its ClusterIP before validating (the store's
    BeginCreate hook runs before BeforeCreate, generic/registry/store.go) and
    releases it on failure -- two writes of the same bitmap.
    """
    with cluster.lock:
        found = cluster.etcd.range("/registry/", prefix=True, revision=revision)
    return [(kv.key, kv.value) for kv in found.kvs]


def delete(case: Case, cluster: Cluster, info: ResourceInfo, name: str, ns: str | None) -> None:
    """Delete the fuzzed object at once (a pod has no kubelet to wait for here)."""
    with cluster.lock:
        try:
            cluster.admin.delete(info.resource, name, ns, grace_period_seconds=0)
        except StatusError as err:
            assert err.code in (404, 409), f"{case}: delete: {err}"


@pytest.mark.parametrize("transport", ["in-process", "https"])
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_field_values_get_a_4xx_or_read_back(kind, transport, server, transports):
    """Each field of ``kind`` set to null/wrong/empty/huge/deep/surrogate: 4xx, or stored well."""

    @settings(max_examples=FUZZ_EXAMPLES, derandomize=not FUZZ_RANDOM, deadline=None,
              database=None, suppress_health_check=list(HealthCheck),
              phases=PHASES)
    @given(case=cases(kind))
    def check(case: Case) -> None:
        run_case(case, transports[transport], server.cluster)

    check()


def test_every_served_kind_has_a_schema():
    """The schema describes every kind the API server serves, so decode checks them all."""
    assert sorted(set(KINDS) - set(schema.KIND_TYPES)) == []


def test_every_served_kind_has_an_example():
    """The table above keeps up with the registry."""
    assert set(EXAMPLES) == set(KINDS)


def test_the_examples_are_valid(server):
    """Each example is created as is: a refusal in the fuzz is the fuzzed value's doing."""
    admin = server.cluster.admin
    for kind in KINDS:
        with server.lock:
            created = admin.create(example(kind, f"valid-{kind.lower()}"))
        assert created["kind"] == kind


def test_the_paths_reach_through_lists_and_maps():
    """The generator walks the schema: Pod paths into containers' items and labels' values."""
    paths = {path for path, _ in field_paths(schema.KIND_TYPES["Pod"])}
    assert ("spec", "containers", 0, "image") in paths
    assert ("metadata", "labels", MAP_KEY) in paths
    pod = set_at(example("Pod", "p"), ("spec", "containers", 0, "ports", 0, "name"), None)
    assert pod["spec"]["containers"][0]["ports"][0] == {"name": None, "containerPort": 80}
    patch = merge_patch(example("Pod", "p"), ("spec", "tolerations", 0, "key"), 7)
    assert patch == {"spec": {"tolerations": [{"key": 7, "operator": "Exists"}]}}
    assert to_json({"a": Deep(3, "list")}) == b'{"a": [[["bottom"]]]}'


def test_the_controllers_run_on_after_the_fuzz(server):
    """The informers meet every fuzzed object's events; the controllers still do their work."""
    cluster = server.cluster
    with server.lock:
        cluster.run(30)  # the clock was frozen: every queued event is handled now
        cluster.admin.create(example("Deployment", "after-fuzz"))
        cluster.admin.create(example("Service", "after-fuzz"))
        cluster.run(10)
        replicasets = cluster.admin.list("replicasets", NAMESPACE,
                                         label_selector={"app": "after-fuzz"})
        slices = cluster.admin.list("endpointslices", NAMESPACE, label_selector={
            "kubernetes.io/service-name": "after-fuzz"})
    assert [rs["metadata"]["ownerReferences"][0]["name"] for rs in replicasets["items"]] == \
        ["after-fuzz"]
    assert len(slices["items"]) == 1
