"""cluster.apply refuses what kubectl apply refuses, in its words, and goes on past a failure.

Every message here is what kubectl v1.32.4 printed for the same manifest against
``kubelearn serve`` (``kubectl apply --validate=false -f``), or what the API server answers
for the same object created over the client (the HTTP path).
"""

from pathlib import Path

import pytest

from kubelearn import Cluster
from kubelearn.api import BadRequest, Invalid, NotFound, StatusError, load
from kubelearn.cluster import ApplyError

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
BAD_NAME = ("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must "
            "consist of lower case alphanumeric characters")


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(seed=0, scheduler=False, controllers=())


def _refused(cluster: Cluster, manifest, stores_nothing: bool = True) -> StatusError:
    """The error apply raises for ``manifest``, having checked it changed nothing."""
    revision = cluster.etcd.revision
    with pytest.raises(StatusError) as err:
        cluster.apply(manifest)
    if stores_nothing:
        assert cluster.etcd.revision == revision, "a refused apply stored something"
    assert err.value.code < 500, err.value
    return err.value


@pytest.mark.parametrize("manifest", [
    "apiVersion: v1\nkind: ConfigMap\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: null\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: default, labels: {a: b}}\n",
])
def test_a_manifest_without_a_name_is_refused_as_kubectl_refuses_it(cluster, manifest) -> None:
    err = _refused(cluster, manifest)
    assert isinstance(err, BadRequest)
    assert str(err) == "resource name may not be empty"  # client-go's Request.Name("")


def test_generate_name_cannot_be_applied(cluster) -> None:
    err = _refused(cluster, "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n")
    assert str(err) == "from x-: cannot use generate name with apply"  # kubectl apply.go


@pytest.mark.parametrize("name,manifest", [
    ("spec-null", "apiVersion: v1\nkind: Pod\nmetadata: {name: spec-null}\nspec: null\n"),
    ("containers-null", "apiVersion: v1\nkind: Pod\nmetadata: {name: containers-null}\n"
                        "spec: {containers: [null]}\n"),
    ("svc-null", "apiVersion: v1\nkind: Service\nmetadata: {name: svc-null}\nspec: null\n"),
])
def test_null_fields_get_the_errors_the_api_server_gives(cluster, name, manifest) -> None:
    # apply sends the object to the server, which decodes it: the same error as a create
    # (a refused Service create moves etcd's revision by 2 over HTTP too: the API server's)
    err = _refused(cluster, manifest, stores_nothing=name != "svc-null")
    [obj] = load(manifest)
    with pytest.raises(StatusError) as direct:
        cluster.admin.create(obj)
    assert type(err) is type(direct.value) and str(err) == str(direct.value)


def test_a_lone_surrogate_in_the_name_is_a_replacement_character_as_in_go(cluster) -> None:
    err = _refused(cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "\ud800"}})
    assert isinstance(err, Invalid)
    assert str(err).startswith('ConfigMap "\ufffd" is invalid: metadata.name: Invalid value: '
                               '"\ufffd": a lowercase RFC 1123 subdomain')


def test_null_annotations_and_labels_apply(cluster) -> None:
    [cm] = cluster.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nulls, "
                         "annotations: null, labels: null}\ndata: null\n")
    assert "kubectl.kubernetes.io/last-applied-configuration" in cm["metadata"]["annotations"]
    [again] = cluster.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nulls, "
                            "annotations: null}\ndata: {a: b}\n")
    assert again["data"] == {"a": "b"}


def test_an_unknown_kind_names_the_kind(cluster, tmp_path: Path) -> None:
    err = _refused(cluster, "apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n")
    assert isinstance(err, NotFound) and err.code == 404
    assert str(err) == ('resource mapping not found for name: "x" namespace: "" from "": '
                        'no matches for kind "Foo" in version "v1"\n'
                        'ensure CRDs are installed first')
    path = tmp_path / "pod.yaml"
    path.write_text("apiVersion: v2\nkind: Pod\nmetadata: {name: p}\n")
    err = _refused(cluster, path)
    assert str(err) == (f'resource mapping not found for name: "p" namespace: "" from '
                        f'"{path}": no matches for kind "Pod" in version "v2"\n'
                        'ensure CRDs are installed first')


def test_a_failing_document_does_not_stop_the_others(cluster) -> None:
    manifest = "---\n".join([CM % "multi-a", CM % "Bad_Name",
                             "apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n", CM % "multi-c"])
    with pytest.raises(ApplyError) as caught:
        cluster.apply(manifest)
    err = caught.value
    # kubectl: every object the builder could map is applied; its errors come first
    assert [o["metadata"]["name"] for o in err.applied] == ["multi-a", "multi-c"]
    assert cluster.admin.get("configmaps", "multi-c")["metadata"]["name"] == "multi-c"
    mapping, invalid = err.errors
    assert isinstance(mapping, NotFound) and 'no matches for kind "Foo"' in str(mapping)
    assert isinstance(invalid, Invalid) and BAD_NAME in str(invalid)
    # printed as kubectl prints an aggregate: one error a line, API errors "from server"
    lines = str(err).split("\n")
    assert lines[0].startswith('resource mapping not found for name: "x" namespace: "" from ""')
    assert lines[1] == "ensure CRDs are installed first"
    assert lines[2].startswith('Error from server (Invalid): ConfigMap "Bad_Name" is invalid: ')
    assert len(lines) == 3
    assert err.code == 404 and err.reason == ""  # the first failure's code; an aggregate


def test_one_failure_is_raised_as_itself(cluster) -> None:
    with pytest.raises(Invalid) as err:
        cluster.apply("---\n".join([CM % "one-a", CM % "Bad_Name"]))
    assert BAD_NAME in str(err.value)
    assert cluster.admin.get("configmaps", "one-a")


def test_a_document_that_cannot_be_read_is_one_of_the_failures(cluster) -> None:
    with pytest.raises(ApplyError) as err:
        cluster.apply("---\n".join([CM % "read-a", "kind: ConfigMap\n",
                                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
                                    CM % "read-d"]))
    assert [str(e) for e in err.value.errors] == [
        "document 2: Object 'apiVersion' is missing in '{\"kind\":\"ConfigMap\"}'",
        "resource name may not be empty"]
    assert [o["metadata"]["name"] for o in err.value.applied] == ["read-a", "read-d"]


def test_a_last_applied_annotation_that_is_no_json_is_refused(cluster) -> None:
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "garbled", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{not json"}}})
    err = _refused(cluster, CM % "garbled")
    assert isinstance(err, BadRequest) and str(err) == "invalid JSON document"  # mergepatch
