"""ValidateListOptions: resourceVersionMatch only where it means something (422 otherwise).

The cases follow apimachinery v0.32.0 TestValidateListOptions
(pkg/apis/meta/internalversion/validation/validation_test.go), in process and over HTTP.
"""

from __future__ import annotations

import http.client
import json
import ssl
from urllib.parse import urlencode

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, Invalid

HEAD = 'ListOptions.meta.k8s.io "" is invalid: '
UNLESS_RV = "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless " \
            "resourceVersion is provided"
EXACT_0 = 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for ' \
          'resourceVersion "0"'
WITH_CONTINUE = "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when " \
                "continue is provided"
WATCH_UNLESS_INITIAL = "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden " \
                       "for watch unless sendInitialEvents is provided"
INITIAL_NEEDS_MATCH = "resourceVersionMatch: Forbidden: sendInitialEvents requires setting " \
                      "resourceVersionMatch to NotOlderThan"

LIST_REFUSED = [
    ({"resourceVersionMatch": "Exact"}, UNLESS_RV),
    ({"resourceVersionMatch": "Exact", "resourceVersion": ""}, UNLESS_RV),
    ({"resourceVersionMatch": "Exact", "resourceVersion": "0"}, EXACT_0),
    ({"resourceVersionMatch": "NotOlderThan"}, UNLESS_RV),
    ({"resourceVersionMatch": "Sometimes", "resourceVersion": "5"},
     'resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", '
     '"NotOlderThan", ""'),
    ({"resourceVersionMatch": "NotOlderThan", "resourceVersion": "5", "continue": "x"},
     WITH_CONTINUE),
    ({"resourceVersionMatch": "Exact", "continue": "x"}, f"[{UNLESS_RV}, {WITH_CONTINUE}]"),
    ({"sendInitialEvents": "true"},
     "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
]
WATCH_REFUSED = [
    ({"resourceVersionMatch": "NotOlderThan"}, WATCH_UNLESS_INITIAL),
    ({"resourceVersionMatch": "Exact", "resourceVersion": "5"},
     f'[{WATCH_UNLESS_INITIAL}, resourceVersionMatch: Unsupported value: "Exact": supported '
     'values: "NotOlderThan"]'),
    ({"sendInitialEvents": "true"}, INITIAL_NEEDS_MATCH),
    ({"sendInitialEvents": "false", "resourceVersionMatch": "Exact"},
     f'[{INITIAL_NEEDS_MATCH}, resourceVersionMatch: Unsupported value: "Exact": supported '
     'values: "NotOlderThan"]'),
]


@pytest.fixture(scope="module")
def cluster():
    c = kl.Cluster(seed=0)
    c.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    return c


def _request(cluster, verb, query):
    return cluster.admin.request(verb, cluster.admin.info("configmaps"), namespace="default",
                                 query=query)


@pytest.mark.parametrize("query, message", LIST_REFUSED)
def test_a_list_with_a_meaningless_match_is_422(cluster, query, message):
    with pytest.raises(Invalid) as err:
        _request(cluster, "list", query)
    assert err.value.code == 422
    assert str(err.value) == HEAD + message
    details = err.value.status["details"]
    assert (details["group"], details["kind"]) == ("meta.k8s.io", "ListOptions")
    assert "name" not in details


@pytest.mark.parametrize("query, message", WATCH_REFUSED)
def test_a_watch_with_a_meaningless_match_is_422(cluster, query, message):
    with pytest.raises(Invalid) as err:
        _request(cluster, "watch", query)
    assert str(err.value) == HEAD + message


def test_the_meaningful_combinations_still_answer(cluster):
    rv = _request(cluster, "list", {})["metadata"]["resourceVersion"]
    for query in ({"resourceVersion": rv, "resourceVersionMatch": "Exact"},
                  {"resourceVersion": "0", "resourceVersionMatch": "NotOlderThan"},
                  {"resourceVersion": rv, "resourceVersionMatch": "NotOlderThan"},
                  {"resourceVersion": "0"}, {}):
        listed = _request(cluster, "list", query)
        assert [o["metadata"]["name"] for o in listed["items"]] == ["a"], query
    stream = _request(cluster, "watch", {"sendInitialEvents": "true",
                                         "resourceVersionMatch": "NotOlderThan",
                                         "allowWatchBookmarks": "true"})
    assert [e["type"] for e in stream.drain()][:2] == ["ADDED", "BOOKMARK"]
    stream.stop()
    # the client sends the match with sendInitialEvents, as client-go's reflector does
    stream = cluster.admin.watch("configmaps", "default", send_initial_events=True)
    assert [e["object"]["metadata"]["name"] for e in stream.drain()] == ["a"]
    stream.stop()


def test_a_watch_from_any_revision_is_a_watch_list_in_v132(cluster):
    """SetListOptionsDefaults: from "" or "0", neither option named, the watch gets
    sendInitialEvents=true; with bookmarks its initial events end with the annotated one."""
    end = {"k8s.io/initial-events-end": "true"}

    def opening(query):
        stream = _request(cluster, "watch", query)
        events = stream.drain()
        stream.stop()
        return [(e["type"], e["object"]["metadata"].get("annotations")) for e in events]
    assert opening({"allowWatchBookmarks": "true"}) == [("ADDED", None), ("BOOKMARK", end)]
    assert opening({"allowWatchBookmarks": "true", "resourceVersion": "0"}) == [
        ("ADDED", None), ("BOOKMARK", end)]
    assert opening({}) == [("ADDED", None)]  # no bookmarks asked: none
    rv = _request(cluster, "list", {})["metadata"]["resourceVersion"]
    assert opening({"allowWatchBookmarks": "true", "resourceVersion": rv}) == []  # legacy
    assert opening({"allowWatchBookmarks": "true", "sendInitialEvents": "false",
                    "resourceVersionMatch": "NotOlderThan"}) == []


def test_a_selector_that_does_not_parse_is_a_400_before_the_options_are_checked(cluster):
    """ListResource (v1.32) decodes the parameters (parsing the selectors) first, then
    validates the ListOptions, then converts field labels."""
    bad_match = {"resourceVersionMatch": "Exact"}
    with pytest.raises(BadRequest):
        _request(cluster, "list", {**bad_match, "labelSelector": "app in (web"})
    with pytest.raises(Invalid):
        _request(cluster, "list", {**bad_match, "fieldSelector": "spec.nodeName=x"})
    with pytest.raises(BadRequest, match="field label not supported: spec.nodeName"):
        _request(cluster, "list", {"fieldSelector": "spec.nodeName=x"})


def test_delete_collection_checks_its_list_options_too(cluster):
    """DeleteCollection (delete.go, v1.32) validates the ListOptions it lists by."""
    with pytest.raises(Invalid) as err:
        _request(cluster, "deletecollection", {"resourceVersionMatch": "Exact"})
    assert str(err.value) == HEAD + UNLESS_RV
    assert [o["metadata"]["name"] for o in _request(cluster, "list", {})["items"]] == ["a"]


def test_boolean_options_read_as_the_parameter_codec_reads_them(cluster):
    """runtime.Convert_Slice_string_To_bool: only "0" and "false" (any case) are false."""
    for yes in ("t", "True", "1", "yes", ""):
        stream = _request(cluster, "watch", {"sendInitialEvents": yes,
                                             "resourceVersionMatch": "NotOlderThan",
                                             "allowWatchBookmarks": yes})
        assert [e["type"] for e in stream.drain()] == ["ADDED", "BOOKMARK"], yes
        stream.stop()
    for no in ("0", "FALSE", "false"):
        stream = _request(cluster, "watch", {"sendInitialEvents": no,
                                             "resourceVersionMatch": "NotOlderThan",
                                             "allowWatchBookmarks": no})
        assert stream.drain() == [], no
        stream.stop()


# -- over HTTP ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served():
    server = kl.Cluster(seed=0).serve(quiet=True, speed=0)
    yield server
    server.stop()


def _get(server, path):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPSConnection(
        host, port, timeout=10, context=ssl.create_default_context(cafile=str(server.ca_path)))
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {server.token}"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


HTTP_CASES = [*LIST_REFUSED[:4], ({"watch": "true", **WATCH_REFUSED[0][0]}, WATCH_UNLESS_INITIAL)]


@pytest.mark.parametrize("query, message", HTTP_CASES)
def test_over_http_the_status_is_upstreams(served, query, message):
    status, body = _get(served, "/api/v1/namespaces/default/configmaps?" + urlencode(query))
    assert status == 422
    assert body["kind"] == "Status" and body["reason"] == "Invalid" and body["code"] == 422
    assert body["message"] == HEAD + message
    assert body["details"]["kind"] == "ListOptions"
    assert body["details"]["causes"][0]["field"] == "resourceVersionMatch"
