"""Informer: the store and its indexers follow adds, moves and deletes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubelearn as kl
from kubelearn.scheduler.informer import Informer


def by_label(pod: Mapping[str, Any]) -> list[str]:
    """An index function: the pod's ``tier`` label, if any."""
    tier = (pod["metadata"].get("labels") or {}).get("tier")
    return [tier] if tier else []


def pod(name: str, tier: str | None) -> dict:
    labels = {"tier": tier} if tier else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def names(objs: list[Mapping[str, Any]]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objs)


def test_indexers_follow_adds_moves_and_deletes():
    cluster = kl.Cluster(nodes=0, seed=0)
    client = cluster.admin
    client.create(pod("a", "web"))
    informer = Informer(cluster.sim, client, "pods")
    informer.start()
    informer.add_indexers({"tier": by_label})  # added after the list: indexes what is cached
    client.create(pod("b", "web"))
    client.create(pod("c", None))
    assert names(informer.by_index("tier", "web")) == ["a", "b"]
    client.patch("pods", "b", {"metadata": {"labels": {"tier": "db"}}})
    assert names(informer.by_index("tier", "web")) == ["a"]
    assert names(informer.by_index("tier", "db")) == ["b"]
    client.patch("pods", "c", {"metadata": {"labels": {"tier": "db"}}})
    client.patch("pods", "b", {"metadata": {"annotations": {"x": "y"}}})  # index value unchanged
    assert names(informer.by_index("tier", "db")) == ["b", "c"]
    client.delete("pods", "b", grace_period_seconds=0)
    client.delete("pods", "a", grace_period_seconds=0)
    assert names(informer.by_index("tier", "db")) == ["c"]
    assert informer.indices["tier"] == {"db": {"default/c": None}}


def test_the_pod_trimmer_shares_specs_written_alike_and_only_those():
    from kubelearn.scheduler.scheduler import PodTrimmer

    def pod(name, host_network):
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
                "spec": {"hostNetwork": host_network, "volumes": [{"name": name}],
                         "containers": [{"name": "c", "image": "nginx", "env": [{"name": "A"}]}]},
                "status": {"phase": "Pending"}}

    trim = PodTrimmer()
    a, b, c = trim(pod("a", True)), trim(pod("b", True)), trim(pod("c", 1))
    assert a["spec"] is b["spec"]  # volumes and env are not kept: the rest is the same
    assert a["spec"]["containers"] == [{"name": "c", "image": "nginx"}]
    assert a["metadata"]["labels"] is b["metadata"]["labels"]
    assert c["spec"] is not a["spec"] and c["spec"]["hostNetwork"] == 1  # 1 == True, not alike
    assert c["spec"]["hostNetwork"] is not True
