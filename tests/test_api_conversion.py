"""Secrets as the API server converts and validates them: stringData lands in data, keys and
types are checked (pkg/apis/core/v1/conversion.go, pkg/apis/core/validation ValidateSecret)."""

from __future__ import annotations

import base64

import pytest

import kubelearn as kl
from kubelearn.api import Invalid, StatusError, validate
from kubelearn.api.conversion import to_internal
from kubelearn.api.validation import go_json_object_error


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str = "pw", **fields) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields}


@pytest.fixture
def cluster() -> kl.Cluster:
    return kl.Cluster(seed=0, scheduler=False)


def test_to_internal_merges_string_data_over_data():
    obj = secret(data={"user": b64("admin"), "password": b64("old")},
                 stringData={"password": "hunter2", "note": "é"})
    to_internal(obj)
    assert obj["data"] == {"user": b64("admin"), "password": b64("hunter2"), "note": b64("é")}
    assert "stringData" not in obj
    empty = secret(stringData={})
    to_internal(empty)
    assert empty == secret()  # an empty stringData writes nothing, and is gone too


def test_string_data_is_stored_and_served_as_data(cluster):
    created = cluster.admin.create(secret(data={"user": b64("admin")},
                                          stringData={"password": "hunter2"}))
    stored = cluster.admin.get("secrets", "pw")
    for obj in (created, stored):
        assert obj["data"] == {"user": b64("admin"), "password": b64("hunter2")}
        assert "stringData" not in obj and obj["type"] == "Opaque"
    assert b"stringData" not in cluster.etcd.get("/registry/secrets/default/pw").value


def test_update_and_patch_convert_too(cluster):
    cluster.admin.create(secret(stringData={"a": "1"}))
    patched = cluster.admin.patch("secrets", "pw", {"stringData": {"b": "2"}})
    assert patched["data"] == {"a": b64("1"), "b": b64("2")} and "stringData" not in patched
    current = cluster.admin.get("secrets", "pw")
    updated = cluster.admin.update({**current, "stringData": {"a": "one"}})
    assert updated["data"] == {"a": b64("one"), "b": b64("2")}


def test_a_bad_key_in_string_data_is_reported_under_data(cluster):
    with pytest.raises(Invalid) as err:
        cluster.admin.create(secret(stringData={"bad key": "x"}))
    assert str(err.value) == (
        'Secret "pw" is invalid: data[bad key]: Invalid value: "bad key": a valid config key '
        "must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    assert cluster.admin.list("secrets", "default")["items"] == []  # nothing stored


@pytest.mark.parametrize("fields, message", [
    ({"type": "kubernetes.io/tls", "stringData": {"tls.crt": "c"}},
     "data[tls.key]: Required value"),
    ({"type": "kubernetes.io/basic-auth"},
     "[data[username]: Required value, data[password]: Required value]"),
    ({"type": "kubernetes.io/ssh-auth", "stringData": {"ssh-privatekey": ""}},
     "data[ssh-privatekey]: Required value"),
    ({"type": "kubernetes.io/service-account-token"},
     "metadata.annotations[kubernetes.io/service-account.name]: Required value"),
    ({"type": "kubernetes.io/dockerconfigjson"}, "data[.dockerconfigjson]: Required value"),
    ({"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": "{auths}"}},
     'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character '
     "'a' looking for beginning of object key string"),
    ({"type": "kubernetes.io/dockercfg", "stringData": {".dockercfg": "[]"}},
     'data[.dockercfg]: Invalid value: "<secret contents redacted>": json: cannot unmarshal '
     "array into Go value of type map[string]interface {}"),
    ({"stringData": {"big": "x" * (1024 * 1024 + 1)}},
     "data: Too long: may not be more than 1048576 bytes"),
])
def test_each_type_needs_its_keys(cluster, fields, message):
    with pytest.raises(Invalid) as err:
        cluster.admin.create(secret(**fields))
    assert str(err.value) == f'Secret "pw" is invalid: {message}'
    with pytest.raises(Invalid) as local:  # kl.api.validate reads stringData as data too
        validate(secret(**fields))
    assert str(local.value) == str(err.value)


def test_well_formed_typed_secrets_are_stored(cluster):
    cluster.admin.create(secret("tls", type="kubernetes.io/tls",
                                stringData={"tls.crt": "c", "tls.key": "k"}))
    cluster.admin.create(secret("auth", type="kubernetes.io/basic-auth",
                                stringData={"password": ""}))  # either key, even empty
    cluster.admin.create(secret("pull", type="kubernetes.io/dockerconfigjson",
                                stringData={".dockerconfigjson": '{"auths": {}}'}))


def test_type_and_an_immutable_secrets_data_may_not_change(cluster):
    cluster.admin.create(secret(immutable=True, stringData={"a": "b"}))
    current = cluster.admin.get("secrets", "pw")
    with pytest.raises(Invalid) as err:
        cluster.admin.update({**current, "type": "mine", "data": {"a": b64("c")}})
    assert str(err.value) == ('Secret "pw" is invalid: [type: Invalid value: "mine": field is '
                              "immutable, data: Forbidden: field is immutable when `immutable` "
                              "is set]")
    with pytest.raises(Invalid, match="immutable: Forbidden"):
        cluster.admin.update({**current, "immutable": False})
    cluster.admin.update({**current, "metadata": {**current["metadata"],
                                                  "labels": {"ok": "yes"}}})  # metadata may


def test_an_immutable_configmap_keeps_its_data(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                          "immutable": True, "data": {"a": "b"}})
    current = cluster.admin.get("configmaps", "cm")
    with pytest.raises(StatusError) as err:
        cluster.admin.update({**current, "data": {"a": "c"}})
    assert err.value.code == 422
    assert str(err.value) == ('ConfigMap "cm" is invalid: data: Forbidden: field is immutable '
                              "when `immutable` is set")


@pytest.mark.parametrize("raw, message", [
    (b"", "unexpected end of JSON input"),
    (b'{"a": ', "unexpected end of JSON input"),
    (b"nope", "invalid character 'n' looking for beginning of value"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a": 1 "b": 2}', "invalid character '\"' after object key:value pair"),
    (b"[1 2]", "invalid character '2' after array element"),
    (b"{}x", "invalid character 'x' after top-level value"),
    (b'"s"', "json: cannot unmarshal string into Go value of type map[string]interface {}"),
    (b"null", ""),
    (b'{"auths": {}}', ""),
])
def test_json_errors_in_gos_words(raw, message):
    assert go_json_object_error(raw) == message
