"""PersistentVolumeClaims: stored and validated as v1.32 does; no provisioner binds them."""

from __future__ import annotations

import pytest

from kubelearn.api import Invalid
from kubelearn.apiserver import printers
from kubelearn.cluster import Cluster


def claim(name: str = "data", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": spec or {"accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": "100Mi"}}}}


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(seed=0)


def test_a_claim_is_stored_pending_with_upstreams_defaults(cluster):
    stored = cluster.admin.create(claim())
    assert stored["status"] == {"phase": "Pending"}  # SetDefaults_PersistentVolumeClaim
    assert stored["spec"]["volumeMode"] == "Filesystem"  # SetDefaults_PersistentVolumeClaimSpec
    assert cluster.admin.get("pvc", "data")["status"]["phase"] == "Pending"


def test_a_status_sent_on_create_is_reset(cluster):
    body = claim()
    body["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    assert cluster.admin.create(body)["status"] == {"phase": "Pending"}


@pytest.mark.parametrize("spec, message", [
    ({}, "[spec.accessModes: Required value: at least 1 access mode is required, "
         "spec.resources[storage]: Required value]"),
    ({"accessModes": ["ReadWriteAlways"], "resources": {"requests": {"storage": "1Gi"}}},
     'spec.accessModes: Unsupported value: "ReadWriteAlways": supported values: '
     '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'),
    ({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0"}}},
     'spec.resources[storage]: Invalid value: "0": must be greater than zero'),
    ({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
      "volumeMode": "Disk"},
     'spec.volumeMode: Unsupported value: "Disk": supported values: "Block", "Filesystem"'),
])
def test_invalid_claims_are_refused_with_upstreams_words(cluster, spec, message):
    body = claim()
    body["spec"] = spec
    revision = cluster.etcd.revision
    with pytest.raises(Invalid) as err:
        cluster.admin.create(body)
    assert str(err.value) == f'PersistentVolumeClaim "data" is invalid: {message}'
    assert cluster.etcd.revision == revision


def test_kubectl_get_pvc_columns(cluster):
    cluster.admin.create(claim())
    names = [c["name"] for c in printers.columns_for("persistentvolumeclaims")]
    assert names == ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                     "VolumeAttributesClass", "Age", "VolumeMode"]  # printers.go v1.32
    row = cluster.get("pvc").iloc[0]
    assert (row["NAME"], row["STATUS"], row["CAPACITY"], row["VOLUMEATTRIBUTESCLASS"]) == (
        "data", "Pending", "", "<unset>")


def test_access_modes_print_in_upstreams_order():
    assert printers.access_modes(["ReadWriteMany", "ReadWriteOnce"]) == "RWO,RWX"
    assert printers.access_modes(None) == ""
