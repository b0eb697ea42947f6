"""An admission plugin's live lookup that fails: wrapped as the plugin wraps it (v1.32).

ServiceAccount (plugin/pkg/admission/serviceaccount/admission.go) turns any failure
of getServiceAccount into ``admission.NewForbidden(a, "error looking up service
account ns/name: <err>")``; NamespaceLifecycle (lifecycle/admission.go) turns a failed
live namespace GET into ``errors.NewInternalError``. A failure that only the deadline
ends leaves the waiting request to answer its own 504.
"""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden, StatusError, Timeout
from kubelearn.etcd import EtcdError
from kubelearn.etcd.errors import UnavailableError

TOO_MANY = "etcdserver: too many requests"  # rpctypes.ErrTooManyRequests (etcd v3.5)


class _FailingReads:
    """The cluster's store, failing one-key reads of keys under ``prefix``."""

    def __init__(self, store, prefix, error) -> None:
        self._store, self.prefix, self.error = store, prefix, error

    def __getattr__(self, name):
        return getattr(self._store, name)

    def get(self, key, **options):
        if key.startswith(self.prefix):
            raise self.error
        return self._store.get(key, **options)


def pod(name, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0)


def test_a_failed_service_account_lookup_is_403(cluster):
    cluster.api.store = _FailingReads(cluster.api.store, "/registry/serviceaccounts/",
                                      EtcdError(TOO_MANY))
    with pytest.raises(Forbidden) as err:
        cluster.admin.create(pod("web", serviceAccountName="robot"))
    assert err.value.code == 403
    assert str(err.value) == ('pods "web" is forbidden: error looking up service account '
                              f"default/robot: {TOO_MANY}")
    # an account the cache has is not looked up live: nothing to fail
    assert cluster.admin.create(pod("cached"))["spec"]["serviceAccountName"] == "default"


def test_a_lookup_only_the_deadline_ends_leaves_the_request_its_own_504(cluster):
    cluster.api.store = _FailingReads(cluster.api.store, "/registry/serviceaccounts/",
                                      UnavailableError())
    with pytest.raises(Timeout) as err:
        cluster.admin.create(pod("web", serviceAccountName="robot"))
    assert str(err.value) == ("Timeout: request did not complete within requested timeout - "
                              "context deadline exceeded")


def test_a_failed_namespace_lookup_is_an_internal_error(cluster):
    cluster.api.store = _FailingReads(cluster.api.store, "/registry/namespaces/",
                                      EtcdError(TOO_MANY))
    with pytest.raises(StatusError) as err:
        cluster.admin.create({**pod("web"), "metadata": {"name": "web", "namespace": "nowhere"}})
    assert err.value.code == 500 and err.value.reason == "InternalError"
    assert str(err.value) == f"Internal error occurred: {TOO_MANY}"
