"""The kubelet and its Node: registration, lease renewals, status reports, stop and start."""

import pytest

import kubelearn as kl
from kubelearn.kubelet import Kubelet, KubeletConfig


def times(cluster, reason, obj=None, component=None):
    """The virtual times of the records with this reason (about ``obj``, by ``component``)."""
    return [r.time for r in cluster.sim.records if r.reason == reason
            and (obj is None or r.object == obj)
            and (component is None or r.component == component)]


@pytest.fixture
def cluster():
    return kl.Cluster(nodes=3, seed=0, scheduler=False)


def test_registration_fields(cluster):
    assert list(cluster.kubelets) == ["node-1", "node-2", "node-3"]
    node = cluster.admin.get("nodes", "node-2")
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "node-2"
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"] == "amd64"
    assert [cluster.admin.get("nodes", n)["metadata"]["labels"]["topology.kubernetes.io/zone"]
            for n in cluster.kubelets] == ["zone-a", "zone-b", "zone-c"]
    assert node["spec"]["podCIDR"] == "10.244.2.0/24"
    assert node["spec"]["podCIDRs"] == ["10.244.2.0/24"]
    status = node["status"]
    assert status["capacity"] == {"cpu": "4", "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
                                  "hugepages-2Mi": "0", "memory": "8Gi", "pods": "110"}
    assert status["allocatable"] == status["capacity"]
    assert status["addresses"] == [{"type": "InternalIP", "address": "172.18.0.4"},
                                   {"type": "Hostname", "address": "node-2"}]
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == "v1.32.0"
    assert info["containerRuntimeVersion"].startswith("containerd://")
    assert (info["operatingSystem"], info["architecture"]) == ("linux", "amd64")
    assert [c["type"] for c in status["conditions"]] == [
        "MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    ready = status["conditions"][-1]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True", "KubeletReady", "kubelet is posting ready status")
    assert status["images"][0]["names"][1] == "registry.k8s.io/pause:3.10"
    # TaintNodesByCondition (admission) taints a new node until the node controller sees it Ready.
    assert node["spec"]["taints"] == [{"key": "node.kubernetes.io/not-ready",
                                       "effect": "NoSchedule"}]
    table = cluster.get("nodes")
    assert list(table["STATUS"]) == ["Ready"] * 3 and list(table["VERSION"]) == ["v1.32.0"] * 3


def test_registration_events(cluster):
    reasons = [r.reason for r in cluster.sim.records if r.component == "kubelet/node-1"
               and r.object == "node/node-1"]
    assert reasons == ["Starting", "NodeRegistered", "NodeHasSufficientMemory",
                       "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeAllocatableEnforced"]
    events = cluster.admin.list("events", "default")["items"]
    mine = [e for e in events if e["involvedObject"]["name"] == "node-1"]
    assert {e["reason"] for e in mine} == {"Starting", "NodeHasSufficientMemory",
                                           "NodeHasNoDiskPressure", "NodeHasSufficientPID",
                                           "NodeAllocatableEnforced"}
    memory = next(e for e in mine if e["reason"] == "NodeHasSufficientMemory")
    assert memory["message"] == "Node node-1 status is now: NodeHasSufficientMemory"
    assert memory["source"] == {"component": "kubelet", "host": "node-1"}
    assert memory["involvedObject"] == {"kind": "Node", "name": "node-1", "uid": "node-1"}
    assert "Events:" in cluster.describe("node", "node-1")
    assert "Starting kubelet." in cluster.describe("node", "node-1")


def test_lease_renewed_every_ten_seconds(cluster):
    cluster.run(60)
    renewals = times(cluster, "LeaseRenewed", "lease/kube-node-lease/node-1")
    assert renewals == [0, 10, 20, 30, 40, 50]
    lease = cluster.admin.get("leases", "node-1", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "node-1"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["spec"]["renewTime"] == "2024-01-01T00:00:50.000000Z"
    node = cluster.admin.get("nodes", "node-1")
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": node["metadata"]["uid"]}]
    # the lease is written with update (no GET each time), as the lease controller does
    audit = cluster.audit()
    mine = audit[(audit.user == "system:node:node-1") & (audit.resource == "leases")]
    assert list(mine.verb) == ["get", "create"] + ["update"] * 5


def test_status_sent_when_changed_and_every_five_minutes(cluster):
    cluster.run(901)
    # nothing changes on an idle node: the status goes out every nodeStatusReportFrequency
    assert times(cluster, "NodeStatusUpdated", "node/node-1") == [300, 600, 900]
    node = cluster.admin.get("nodes", "node-1")
    ready = node["status"]["conditions"][-1]
    assert ready["lastHeartbeatTime"] == "2024-01-01T00:15:00Z"
    assert ready["lastTransitionTime"] == "2024-01-01T00:00:00Z"
    # a change (a new image on the node) goes out at the next 10 s computation
    [pod] = cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                           "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    cluster.client("scheduler").bind("web", "node-1")
    cluster.run(20)
    assert times(cluster, "NodeStatusUpdated", "node/node-1")[-1] == 910
    images = cluster.admin.get("nodes", "node-1")["status"]["images"]
    assert images[0]["names"][1] == "docker.io/library/nginx:1.27"
    assert images[0]["sizeBytes"] == 68 * 1024 * 1024


def test_intervals_are_settings():
    config = KubeletConfig(node_lease_duration_seconds=20, node_status_report_frequency=60)
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False, kubelet_config=config)
    cluster.run(61)
    assert times(cluster, "LeaseRenewed") == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]
    assert times(cluster, "NodeStatusUpdated") == [60]


def test_a_fresh_node_is_not_ready_until_its_network_is():
    config = KubeletConfig(network_ready_after=15)
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False, kubelet_config=config)
    assert list(cluster.get("nodes")["STATUS"]) == ["NotReady"]
    ready = cluster.admin.get("nodes", "node-1")["status"]["conditions"][-1]
    assert ready["reason"] == "KubeletNotReady" and "cni plugin not initialized" in \
        ready["message"]
    cluster.run(30)
    assert list(cluster.get("nodes")["STATUS"]) == ["Ready"]
    assert times(cluster, "NodeReady") == [20]
    assert times(cluster, "NodeStatusUpdated") == [20]


def test_stop_node_silences_it_and_start_node_brings_it_back(cluster):
    cluster.run(25)
    cluster.stop_node("node-2")
    cluster.run(60)
    lease = "lease/kube-node-lease/node-2"
    assert times(cluster, "LeaseRenewed", lease) == [0, 10, 20]
    assert times(cluster, "KubeletStopped") == [25]
    assert not cluster.kubelets["node-2"].running
    cluster.start_node("node-2")
    cluster.run(21)
    assert times(cluster, "LeaseRenewed", lease) == [0, 10, 20, 85, 95, 105]
    assert times(cluster, "Starting", "node/node-2", "kubelet/node-2") == [0, 85]
    # only the kubelet stopped: the machine, and its kube-proxy, ran on
    assert times(cluster, "Starting", "node/node-2", "kube-proxy/node-2") == [0]
    assert times(cluster, "NodeStatusUpdated", "node/node-2") == [85]  # taken over at once
    # the other nodes never stopped
    assert times(cluster, "LeaseRenewed", "lease/kube-node-lease/node-1")[-1] == 100


def test_a_deleted_node_registers_again(cluster):
    cluster.admin.delete("nodes", "node-3")
    cluster.run(301)  # the next report finds the Node gone and creates it again
    assert cluster.admin.get("nodes", "node-3")["metadata"]["labels"][
        "kubernetes.io/hostname"] == "node-3"
    assert times(cluster, "NodeRegistered", "node/node-3") == [0, 300]


def test_a_kubelet_on_its_own():
    cluster = kl.Cluster(seed=0, scheduler=False)
    client = cluster.client(kl.apiserver.authn.node_user("edge"))
    kubelet = Kubelet(cluster.sim, client, "edge", cpu="2", memory="4Gi", pods=10,
                      zone="zone-x", labels={"disktype": "ssd"}, start=False)
    assert not kubelet.running and "stopped" in repr(kubelet)
    kubelet.start()
    node = cluster.admin.get("nodes", "edge")
    assert node["metadata"]["labels"]["disktype"] == "ssd"
    assert node["status"]["capacity"]["pods"] == "10"
    assert "podCIDR" not in node["spec"]  # no node IPAM gave it one
    added = cluster.add_node(cpu="8")
    assert added.node_name == "node-1" and cluster.admin.get("nodes", "node-1")["status"][
        "capacity"]["cpu"] == "8"


def test_upstream_jitter_is_seeded():
    def renewals(seed):
        config = KubeletConfig(heartbeat_jitter=0.04)
        cluster = kl.Cluster(nodes=1, seed=seed, scheduler=False, kubelet_config=config)
        cluster.run(100)
        return times(cluster, "LeaseRenewed")

    first = renewals(1)
    gaps = [b - a for a, b in zip(first, first[1:], strict=False)]
    assert all(10 <= gap <= 10.4 for gap in gaps) and len(set(gaps)) > 1
    assert renewals(1) == first and renewals(2) != first


def test_cluster_node_settings():
    cluster = kl.Cluster(nodes=2, seed=0, scheduler=False, zones=(), node_bandwidth=100,
                         node_memory="16Gi", node_ephemeral_storage="20Gi")
    node = cluster.admin.get("nodes", "node-2")
    assert "topology.kubernetes.io/zone" not in node["metadata"]["labels"]
    assert node["status"]["capacity"]["memory"] == "16Gi"
    assert node["status"]["capacity"]["ephemeral-storage"] == "20Gi"
    assert cluster.kubelets["node-2"].runtime.bandwidth == 100 * 1024 * 1024
    with pytest.raises(TypeError):
        kl.Cluster(seed=0, node_gpus=1)
