"""A gated pod's scheduling directives may narrow (kubelearn.api.gatedpod).

The cases follow upstream's TestValidatePodUpdate (pkg/apis/core/validation/
validation_test.go, v1.32) for gated pods: nodeSelector additions, node affinity
additions, preferred terms free, pod (anti-)affinity fixed, and the same edits
refused once the gate is gone.
"""

from __future__ import annotations

import copy
import http.client
import itertools
import json
import ssl

import pytest

import kubelearn as kl
from kubelearn.api import Invalid

GATE = [{"name": "example.com/queue"}]
TERMS = ("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
         "nodeSelectorTerms")
ONLY_ADDITIONS = "only additions are allowed (no mutations or deletions)"
NO_NEW_TERMS = "no additions/deletions to non-empty NodeSelectorTerms list are allowed"
GENERIC = "pod updates may not change fields other than"
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster():
    return kl.Cluster(seed=0)


def expr(key, op="In", *values):
    req = {"key": key, "operator": op}
    if values:
        req["values"] = list(values)
    return req


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def preferred(weight, *exprs):
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": weight, "preference": {"matchExpressions": list(exprs)}}]}}


def update(cluster, old_spec, new_spec, *, gated=True):
    """Create a pod with ``old_spec`` (gated or not), then PUT it with ``new_spec``."""
    name = f"p{next(_names)}"
    spec = {"containers": [{"name": "c", "image": "nginx"}], **old_spec}
    if gated:
        spec["schedulingGates"] = GATE
    created = cluster.admin.create({"apiVersion": "v1", "kind": "Pod",
                                    "metadata": {"name": name}, "spec": spec})
    new = copy.deepcopy(created)
    for field in ("nodeSelector", "affinity"):
        new["spec"].pop(field, None)
    new["spec"].update(copy.deepcopy(new_spec))
    return cluster.admin.update(new)


ZONE_A = expr("zone", "In", "a")
DISK = expr("disk", "Exists")
NAME_N1 = {"key": "metadata.name", "operator": "In", "values": ["n1"]}

ALLOWED = [
    ("nodeSelector gains an entry", {"nodeSelector": {"a": "1"}},
     {"nodeSelector": {"a": "1", "b": "2"}}),
    ("a nodeSelector where there was none", {}, {"nodeSelector": {"a": "1"}}),
    ("node affinity where there was no affinity", {}, {"affinity": required({
        "matchExpressions": [ZONE_A]})}),
    ("a matchExpression added to a term", {"affinity": required({"matchExpressions": [ZONE_A]})},
     {"affinity": required({"matchExpressions": [ZONE_A, DISK]})}),
    ("a matchField added to a term", {"affinity": required({"matchFields": [NAME_N1]})},
     {"affinity": required({"matchFields": [NAME_N1], "matchExpressions": [DISK]})}),
    ("required terms where only preferred ones were", {"affinity": preferred(1, ZONE_A)},
     {"affinity": {"nodeAffinity": {
         **preferred(1, ZONE_A)["nodeAffinity"],
         **required({"matchExpressions": [DISK]})["nodeAffinity"]}}}),
    ("preferred terms change freely", {"affinity": preferred(1, ZONE_A)},
     {"affinity": preferred(5, DISK)}),
    ("preferred terms may go", {"affinity": preferred(1, ZONE_A)}, {}),
    ("node affinity beside unchanged pod anti-affinity",
     {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
         {"labelSelector": {"matchLabels": {"app": "web"}},
          "topologyKey": "kubernetes.io/hostname"}]}}},
     {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
         {"labelSelector": {"matchLabels": {"app": "web"}},
          "topologyKey": "kubernetes.io/hostname"}]},
         **required({"matchExpressions": [ZONE_A]})}}),
]


@pytest.mark.parametrize("name, old, new", ALLOWED, ids=[c[0] for c in ALLOWED])
def test_a_gated_pod_may_narrow_where_it_runs(cluster, name, old, new):
    stored = update(cluster, old, new)
    for field in ("nodeSelector", "affinity"):
        assert stored["spec"].get(field) == new.get(field)


def _term(*, exprs=None, fields=None):
    def reqs(rs):
        if rs is None:
            return "[]core.NodeSelectorRequirement(nil)"
        inner = ", ".join(
            f'core.NodeSelectorRequirement{{Key:"{r["key"]}", Operator:"{r["operator"]}", '
            f'Values:{values(r.get("values"))}}}' for r in rs)
        return f"[]core.NodeSelectorRequirement{{{inner}}}"

    def values(vs):
        return "[]string(nil)" if vs is None else \
            "[]string{" + ", ".join(json.dumps(v) for v in vs) + "}"
    return f"core.NodeSelectorTerm{{MatchExpressions:{reqs(exprs)}, MatchFields:{reqs(fields)}}}"


REFUSED = [
    ("a matchExpression removed", {"affinity": required({"matchExpressions": [ZONE_A, DISK]})},
     {"affinity": required({"matchExpressions": [ZONE_A]})},
     f"{TERMS}[0]: Invalid value: {_term(exprs=[ZONE_A])}: {ONLY_ADDITIONS}"),
    ("a matchExpression changed", {"affinity": required({"matchExpressions": [ZONE_A]})},
     {"affinity": required({"matchExpressions": [expr("zone", "In", "a", "b")]})},
     f"{TERMS}[0]: Invalid value: {_term(exprs=[expr('zone', 'In', 'a', 'b')])}: "
     f"{ONLY_ADDITIONS}"),
    ("a matchField removed", {"affinity": required({"matchFields": [NAME_N1],
                                                    "matchExpressions": [DISK]})},
     {"affinity": required({"matchExpressions": [DISK]})},
     f"{TERMS}[0]: Invalid value: {_term(exprs=[DISK])}: {ONLY_ADDITIONS}"),
    ("an addition before the old requirements", {"affinity": required(
        {"matchExpressions": [ZONE_A]})},
     {"affinity": required({"matchExpressions": [DISK, ZONE_A]})},
     f"{TERMS}[0]: Invalid value: {_term(exprs=[DISK, ZONE_A])}: {ONLY_ADDITIONS}"),
    ("a term added", {"affinity": required({"matchExpressions": [ZONE_A]})},
     {"affinity": required({"matchExpressions": [ZONE_A]}, {"matchExpressions": [DISK]})},
     f"{TERMS}: Invalid value: []core.NodeSelectorTerm{{{_term(exprs=[ZONE_A])}, "
     f"{_term(exprs=[DISK])}}}: {NO_NEW_TERMS}"),
    ("node affinity removed", {"affinity": required({"matchExpressions": [ZONE_A]})}, {},
     f"{TERMS}: Invalid value: []core.NodeSelectorTerm(nil): {NO_NEW_TERMS}"),
    ("a nodeSelector entry changed", {"nodeSelector": {"a": "1"}}, {"nodeSelector": {"a": "2"}},
     'spec.nodeSelector: Invalid value: map[string]string{"a":"2"}: only additions to '
     "spec.nodeSelector are allowed (no mutations or deletions)"),
]


@pytest.mark.parametrize("name, old, new, message", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_gated_pod_may_not_widen_where_it_runs(cluster, name, old, new, message):
    with pytest.raises(Invalid) as err:
        update(cluster, old, new)
    assert err.value.code == 422
    text = str(err.value)
    assert text.split(" is invalid: ", 1)[1] == message
    cause = err.value.status["details"]["causes"]
    assert [c["reason"] for c in cause] == ["FieldValueInvalid"]


def test_pod_affinity_stays_fixed_on_a_gated_pod(cluster):
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}},
         "topologyKey": "kubernetes.io/hostname"}]}}
    with pytest.raises(Invalid) as err:
        update(cluster, {}, {"affinity": {**anti, **required({"matchExpressions": [ZONE_A]})}})
    assert GENERIC in str(err.value) and "spec.affinity" in str(err.value)


@pytest.mark.parametrize("new", [{"nodeSelector": {"a": "1", "b": "2"}},
                                 {"affinity": required({"matchExpressions": [ZONE_A, DISK]})}])
def test_without_a_gate_nothing_may_narrow(cluster, new):
    old = {"nodeSelector": {"a": "1"}} if "nodeSelector" in new else \
        {"affinity": required({"matchExpressions": [ZONE_A]})}
    with pytest.raises(Invalid) as err:
        update(cluster, old, new, gated=False)
    assert str(err.value).split(" is invalid: ", 1)[1].startswith(f"spec: Forbidden: {GENERIC}")


def test_a_queue_narrows_a_held_pod_then_lifts_the_gate():
    """Kueue's flow through PATCHes: the pod goes only where its narrowed affinity lets it."""
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(5)
    nodes = [n["metadata"]["name"] for n in cluster.admin.list("nodes")["items"]]
    cluster.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}],
                                   "schedulingGates": GATE}})
    cluster.run(2)
    narrowed = cluster.admin.patch("pods", "job", {"spec": {"affinity": required(
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [nodes[1]]}]})}})
    assert narrowed["spec"]["affinity"]["nodeAffinity"]
    with pytest.raises(Invalid, match=ONLY_ADDITIONS.replace("(", r"\(").replace(")", r"\)")):
        cluster.admin.patch("pods", "job", {"spec": {"affinity": required(
            {"matchFields": [{"key": "metadata.name", "operator": "In",
                              "values": [nodes[0]]}]})}}, patch_type="merge")
    cluster.admin.patch("pods", "job", {"spec": {"schedulingGates": None}}, patch_type="merge")
    cluster.run(5)
    assert cluster.admin.get("pods", "job")["spec"]["nodeName"] == nodes[1]


def test_over_http_a_patch_narrows_and_a_widening_one_is_422():
    """kubectl patch as a queueing controller would send it: a strategic merge patch."""
    server = kl.Cluster(seed=0).serve(quiet=True, speed=0)
    host, port = server.httpd.server_address[:2]

    def call(method, path, body, content_type="application/json"):
        conn = http.client.HTTPSConnection(host, port, timeout=10, context=(
            ssl.create_default_context(cafile=str(server.ca_path))))
        try:
            conn.request(method, path, body=json.dumps(body), headers={
                "Authorization": f"Bearer {server.token}", "Content-Type": content_type})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()
    try:
        status, _ = call("POST", "/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "held"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "schedulingGates": GATE,
                     "affinity": required({"matchExpressions": [ZONE_A]})}})
        assert status == 201
        smp = "application/strategic-merge-patch+json"
        status, pod = call("PATCH", "/api/v1/namespaces/default/pods/held", {"spec": {
            "affinity": required({"matchExpressions": [ZONE_A, DISK]})}}, smp)
        assert status == 200
        terms = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchExpressions": [ZONE_A, DISK]}]
        status, body = call("PATCH", "/api/v1/namespaces/default/pods/held", {"spec": {
            "affinity": required({"matchExpressions": [DISK]})}}, smp)
        assert status == 422 and body["reason"] == "Invalid"
        assert body["message"] == (f'Pod "held" is invalid: {TERMS}[0]: Invalid value: '
                                   f"{_term(exprs=[DISK])}: {ONLY_ADDITIONS}")
        assert body["details"]["causes"] == [{"reason": "FieldValueInvalid", "message": (
            f"Invalid value: {_term(exprs=[DISK])}: {ONLY_ADDITIONS}"), "field": f"{TERMS}[0]"}]
    finally:
        server.stop()
