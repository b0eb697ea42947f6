"""The authorization chain kube-apiserver runs: system:masters, then Node, then RBAC.

pkg/kubeapiserver/authorizer (v1.32) puts authorizerfactory.NewPrivilegedGroups
(user.SystemPrivilegedGroup) in front of every --authorization-mode: a member of
system:masters is allowed with no reason, and no RBAC object can take that away.
"""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden
from kubelearn.apiserver import authn
from kubelearn.apiserver.rbac import Attributes
from kubelearn.apiserver.union import PrivilegedGroups


def attrs(user, verb="delete", resource="nodes", namespace="", name="node-1"):
    return Attributes(user.with_group("system:authenticated"), verb, resource, "", namespace,
                      name, "")


def test_privileged_groups_allow_members_only_and_give_no_reason():
    masters = PrivilegedGroups("system:masters")
    assert masters.authorize(attrs(authn.admin())) == kl.apiserver.rbac.Decision(True, "")
    assert not masters.authorize(attrs(authn.scheduler())).allowed
    assert not masters.authorize(attrs(authn.node_user("node-1"))).allowed


@pytest.fixture
def cluster():
    c = kl.Cluster(seed=0, nodes=1)
    c.run(5)
    return c


def test_each_request_is_decided_by_the_first_authorizer_that_allows(cluster):
    chain = cluster.api.authorizer
    modes = [getattr(a, "mode", None) for a in chain.authorizers]
    assert modes == ["system:masters", "Node", "RBAC"]
    decided = {user.name: chain.decide(attrs(user, "get"))
               for user in (authn.admin(), authn.node_user("node-1"), authn.scheduler())}
    assert {name: (who.mode, d.reason) for name, (who, d) in decided.items()} == {
        "kubernetes-admin": ("system:masters", ""),
        "system:node:node-1": ("Node", ""),
        "system:kube-scheduler": ("RBAC", 'RBAC: allowed by ClusterRoleBinding '
                                  '"system:kube-scheduler" of ClusterRole '
                                  '"system:kube-scheduler" to User "system:kube-scheduler"'),
    }


def test_no_rbac_object_takes_system_masters_rights_away(cluster):
    alice = cluster.client("alice")
    cluster.apply("""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
""")
    assert alice.get("nodes", "node-1")["metadata"]["name"] == "node-1"
    cluster.admin.delete("clusterroles", "cluster-admin")
    with pytest.raises(Forbidden):
        alice.get("nodes", "node-1")  # RBAC's grant is gone with its role
    assert cluster.admin.get("nodes", "node-1")["metadata"]["name"] == "node-1"
    assert cluster.api.can_i(authn.admin(), "delete", "nodes", "")
