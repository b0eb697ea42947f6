"""kl.Cluster(etcd_members=3): the whole control plane on a Raft group.

The same cluster as the default one (same objects, same revisions, same
records but etcd's own), which keeps working while a minority of etcd members
fails, answers with kube-apiserver's Status errors while the majority is gone,
and loses nothing it acknowledged once the majority is back.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

import kubelearn as kl
from kubelearn.api import StatusError, Timeout
from kubelearn.etcd import Store
from kubelearn.etcd.raft import LEADER, RaftGroup
from kubelearn.etcd.raftstore import ReplicatedStore
from kubelearn.viz.architecture import writes

# kubectl's view of a failed write while etcd has no majority: kube-apiserver passes
# etcd's error on as a 500 with an empty reason (responsewriters/status.go ErrorToAPIStatus).
NO_QUORUM = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": "etcdserver: request timed out", "code": 500}
# A read gets no read index without a majority; clientv3 retries it until the request's
# 60 s deadline, and the timeout filter answers (server/filters/timeout.go), without a kind.
READ_TIMED_OUT = {"metadata": {}, "status": "Failure",
                  "message": "Timeout: request did not complete within the allotted timeout",
                  "reason": "Timeout", "details": {}, "code": 504}
# ... and a write no member can take: the deadline passes in the handler's finisher.go.
NO_MEMBER = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": "Timeout: request did not complete within requested timeout - "
                        "context deadline exceeded", "reason": "Timeout", "code": 504}

# ... and a write whose member dies while it waits: gRPC's error, as it is, in a 500.
CONNECTION_LOST = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "rpc error: code = Unavailable desc = error reading from server: EOF",
                   "code": 500}

def deployment(replicas: int = 3, name: str = "web") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": "v"}}


def available(cluster: kl.Cluster, name: str = "web") -> int:
    status = cluster.admin.get("deployments", name, "default").get("status", {})
    return status.get("availableReplicas", 0)


def stored(cluster: kl.Cluster) -> set[tuple[str, str, str, str]]:
    """Every object the admin can list: kind, namespace, name and resourceVersion."""
    objects = set()
    for resource in ("namespaces", "configmaps", "deployments", "replicasets", "pods",
                     "services", "nodes"):
        for obj in cluster.admin.list(resource, None)["items"]:
            meta = obj["metadata"]
            objects.add((resource, meta.get("namespace", ""), meta["name"],
                         meta["resourceVersion"]))
    return objects


def scenario(**settings) -> kl.Cluster:
    """A rollout, a scale-up and ten minutes: compaction, repairs, leases and all."""
    cluster = kl.Cluster(seed=0, nodes=2, **settings)
    cluster.apply(deployment(3))
    cluster.run(30)
    cluster.apply(deployment(5))
    cluster.run(600)  # the compactor's second round compacts, at 600 s
    return cluster


@pytest.fixture(scope="module")
def default_and_raft() -> tuple[kl.Cluster, kl.Cluster]:
    return scenario(), scenario(etcd_members=3)


def test_the_default_cluster_is_unchanged(default_and_raft):
    default, _ = default_and_raft
    assert type(default.etcd) is Store and default.etcd_members is None
    # The revision this scenario reached before etcd_members existed: the default
    # cluster's history must not move (the lessons' committed outputs depend on it). 371
    # until the root CA publisher: its ClusterRole and binding, and four kube-root-ca.crt.
    assert default.etcd.revision == 377


def test_on_three_members_it_is_the_same_cluster(default_and_raft):
    default, raft = default_and_raft
    assert isinstance(raft.etcd, ReplicatedStore) and isinstance(raft.etcd_members, RaftGroup)
    assert raft.etcd_members.names == ["etcd-1", "etcd-2", "etcd-3"]
    assert available(raft) == 5
    assert raft.etcd.revision == default.etcd.revision
    assert stored(raft) == stored(default)
    # Every record but etcd's own (a Raft group keeps those: etcd_members.records()).
    theirs = [r for r in default.sim.records if r.component != "etcd"]
    assert raft.sim.records == theirs
    # Every member applied the same log: same revision everywhere.
    status = raft.etcd_members.status()
    assert set(status["revision"]) == {raft.etcd.revision}
    assert list(status["role"]).count(LEADER) == 1


def test_the_first_leader_is_elected_before_the_api_server_writes():
    cluster = kl.Cluster(seed=0, etcd_members=3)
    assert cluster.now == 0
    group = cluster.etcd_members
    records = group.records()
    elected = records[records["event"] == "BecameLeader"]["time"].iloc[0]
    first_commit = records[records["event"] == "Commit"]["time"].iloc[0]
    # One randomized election timeout (10 to 19 ticks of 100 ms from a tick phase in the
    # first 100 ms), then the vote round trip; the API server's writes come after it.
    assert 0.9 <= elected < 2.0
    assert elected <= first_commit < group.offset
    assert cluster.admin.get("namespaces", "kube-system")["metadata"]["name"] == "kube-system"


def test_writes_per_resource_read_through_etcd_on_every_backend(default_and_raft):
    default, raft = default_and_raft
    assert default.etcd.compact_revision > 0  # the count spans a compaction
    pd.testing.assert_frame_equal(writes(raft), writes(default))
    assert writes(raft)["writes"].sum() == raft.etcd.revision - 1


def test_the_control_plane_carries_on_when_the_leader_crashes_mid_run():
    cluster = kl.Cluster(seed=0, nodes=2, etcd_members=3)
    group = cluster.etcd_members
    old = group.leader
    cluster.apply(deployment(4))
    cluster.sim.call_later(3, lambda: group.crash(old))  # in the middle of the rollout
    cluster.run(40)
    assert group.leader not in (None, old)
    assert group.members[group.leader].term > group.members[old].term
    assert available(cluster) == 4
    assert cluster.etcd.endpoint != old  # the client moved to a member that is up
    assert not (cluster.events()["reason"] == "EtcdRequestFailed").any()


def test_without_a_majority_the_api_server_answers_with_status_errors_and_recovers():
    cluster = kl.Cluster(seed=0, nodes=2, etcd_members=3, compaction_interval=60)
    group = cluster.etcd_members
    cluster.apply(deployment(3))
    cluster.apply(configmap("before"))
    cluster.run(30)
    acknowledged = stored(cluster)
    group.crash("etcd-2")
    group.crash("etcd-3")
    lead = group.now - cluster.now
    with pytest.raises(StatusError) as err:  # the leader takes it; no majority commits it
        cluster.admin.create(configmap("during"))
    assert err.value.status == NO_QUORUM
    # One call after the other, from outside the simulation: the group keeps each wait.
    assert group.now - cluster.now == pytest.approx(lead + 7)
    with pytest.raises(StatusError) as err:  # kubectl apply reads first: the GET times out
        cluster.apply(configmap("during"))
    assert err.value.status == READ_TIMED_OUT
    with pytest.raises(StatusError) as err:
        cluster.get("pods")
    assert err.value.status == READ_TIMED_OUT
    lead = group.now - cluster.now
    assert lead == pytest.approx(7 + 60 + 60, abs=2)
    # Every component keeps calling and failing, each call waiting 7 s (a write) or 60 s (a
    # read) of the group's time: concurrent calls wait together, so the group ends at most
    # one 60 s deadline ahead of where it was, for a millisecond or so of wall time each.
    failed_before = (cluster.events()["reason"] == "EtcdRequestFailed").sum()
    started = time.perf_counter()
    cluster.run(60)
    assert time.perf_counter() - started < 30
    assert cluster.now == 90
    assert (cluster.events()["reason"] == "EtcdRequestFailed").sum() > failed_before + 5
    assert group.now - cluster.now <= lead + 60 + 0.1
    cluster.run(200)  # the compactor's and the repair loops' rounds fail too, and go on
    reasons = set(cluster.events()["reason"])
    assert {"EtcdRequestFailed", "CompactionFailed", "RepairFailed"} <= reasons
    group.restart("etcd-2")
    cluster.run(10)
    assert group.leader is not None
    assert acknowledged <= stored(cluster)  # nothing acknowledged was lost
    cluster.apply(deployment(5))  # writes resume; the controllers, scheduler, kubelets too
    cluster.run(30)
    assert available(cluster) == 5


def test_a_write_whose_member_crashes_under_it_is_a_500_with_grpcs_error():
    cluster = kl.Cluster(seed=0, etcd_members=3)
    group = cluster.etcd_members
    serving = cluster.etcd.endpoint
    group.advance()
    # The txn reaches the member; half a millisecond later, while it waits for the commit,
    # the member dies. clientv3 does not repeat a write, and passes gRPC's error on as it is.
    group.clock.at(group.cluster_now + 0.0005, group.crash, serving)
    with pytest.raises(StatusError) as err:
        cluster.admin.create(configmap("lost"))
    assert err.value.status == CONNECTION_LOST
    assert cluster.etcd.requests()["outcome"].iloc[-1] == CONNECTION_LOST["message"]
    # The client moves on to a member that is up: the next write goes through.
    cluster.run(5)
    assert cluster.etcd.endpoint != serving
    assert cluster.apply(configmap("after"))[0]["metadata"]["name"] == "after"

def test_without_a_majority_reads_at_resource_version_0_come_from_the_watch_cache():
    cluster = kl.Cluster(seed=0, nodes=2, etcd_members=3)
    group = cluster.etcd_members
    cluster.apply(deployment(3))
    cluster.run(30)
    before = cluster.admin.list("pods", "default")
    group.crash("etcd-2")
    group.crash("etcd-3")
    pods = cluster.admin.info("pods")
    lead = group.now - cluster.now
    # kube-apiserver answers "any version" from its cache, without asking etcd: 200.
    listed = cluster.admin.request("list", pods, namespace="default",
                                   query={"resourceVersion": "0"})
    assert [o["metadata"]["name"] for o in listed["items"]] == [
        o["metadata"]["name"] for o in before["items"]]
    assert len(listed["items"]) == 3
    assert listed["metadata"]["resourceVersion"] == str(cluster.api.watch_cache.revision)
    name = listed["items"][0]["metadata"]["name"]
    got = cluster.admin.request("get", pods, namespace="default", name=name,
                                query={"resourceVersion": "0"})
    assert got == listed["items"][0]
    assert group.now - cluster.now == lead  # nobody waited on etcd
    # A plain GET is a quorum read: no read index, the request's deadline, 504.
    with pytest.raises(StatusError) as err:
        cluster.admin.get("pods", name)
    assert err.value.status == READ_TIMED_OUT
    with pytest.raises(StatusError) as err:  # and so is a list without a resourceVersion
        cluster.admin.list("pods", "default")
    assert err.value.status == READ_TIMED_OUT

def test_with_every_member_down_the_api_server_times_out():
    cluster = kl.Cluster(seed=0, etcd_members=3)
    for name in cluster.etcd_members.names:
        cluster.etcd_members.crash(name)
    with pytest.raises(Timeout) as err:
        cluster.admin.create(configmap("nobody"))
    assert err.value.status == NO_MEMBER
    with pytest.raises(Timeout) as err:
        cluster.admin.get("configmaps", "nobody")
    assert err.value.status == READ_TIMED_OUT
    assert "revision=unknown (context deadline exceeded)" in repr(cluster)
    cluster.run(30)
    cluster.etcd_members.restart("etcd-1")
    cluster.etcd_members.restart("etcd-3")
    assert cluster.apply(configmap("back"))[0]["metadata"]["name"] == "back"


def test_same_seed_same_history():
    def run() -> tuple[list, pd.DataFrame]:
        cluster = kl.Cluster(seed=7, nodes=2, etcd_members=5)
        group = cluster.etcd_members
        cluster.apply(deployment(3))
        cluster.sim.call_later(4, lambda: group.crash(group.leader))
        cluster.sim.call_later(9, lambda: group.partition(["etcd-1", "etcd-2"]))
        cluster.run(20)
        group.heal()
        cluster.run(20)
        return cluster.sim.records, group.records()

    first, second = run(), run()
    assert first[0] == second[0]
    pd.testing.assert_frame_equal(first[1], second[1])


@pytest.mark.parametrize("members", [0, 1, 2, 4, 7, True, 3.0, "3"])
def test_only_three_or_five_members(members):
    with pytest.raises(ValueError, match=r"etcd_members must be 3 or 5"):
        kl.Cluster(etcd_members=members)


def test_etcd_members_and_a_real_etcd_exclude_each_other():
    with pytest.raises(ValueError, match=r"give one of them"):
        kl.Cluster(etcd_members=3, etcd="http://127.0.0.1:2379")
