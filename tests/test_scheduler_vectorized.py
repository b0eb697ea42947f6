"""The numpy path must place every pod exactly where the per-node path does.

The differential test feeds one scheduler's cache (no API server: the informer
handlers are called directly) with a few hundred nodes -- zones, sizes, taints,
labels, images, cordoned nodes -- and a few thousand varied pods, and for each
pod asks both paths for a node with the same start index and the same random
state. Then it places the pod as the scheduler would and goes on. A second
test does the same end to end through the API with two clusters.
"""

import random

import numpy as np
import pytest
from scheduler_testing import make_node, node_of, pod_manifest, register_node

import kubelearn as kl
from kubelearn.scheduler import CycleState, FitError, Scheduler, run_filters, run_scores
from kubelearn.scheduler.nodeinfo import PodInfo
from kubelearn.scheduler.plugins import balanced_allocation
from kubelearn.scheduler.queue import pod_key
from kubelearn.scheduler.vectorized import VectorizedScheduler, popcount
from kubelearn.sim import Simulation

ZONES = ["zone-a", "zone-b", "zone-c", None]  # some nodes have no zone label
GIB = 2**30


def random_node(rng, i):
    name = f"node-{i:03d}"
    labels = {"kubernetes.io/hostname": name, "disktype": rng.choice(["ssd", "hdd"]),
              "cores": str(rng.choice([4, 8, 16]))}
    zone = ZONES[i % len(ZONES)] if i % 17 else None
    if zone:
        labels["topology.kubernetes.io/zone"] = zone
    capacity = {"cpu": str(rng.choice([2, 4, 8])), "memory": f"{rng.choice([4, 8, 16])}Gi",
                "pods": str(rng.choice([8, 20, 110])), "ephemeral-storage": "50Gi"}
    if i % 7 == 0:
        capacity["example.com/gpu"] = str(rng.choice([1, 2]))
    taints = []
    if i % 11 == 0:
        taints.append({"key": "dedicated", "value": "db", "effect": "NoSchedule"})
    if i % 5 == 0:
        taints.append({"key": "spot", "effect": "PreferNoSchedule"})
    if i % 13 == 0:
        taints.append({"key": "legacy", "value": "v1", "effect": "PreferNoSchedule"})
    images = [(["nginx:1.27"], rng.choice([60, 300, 900]) * 2**20)] if i % 3 else []
    if i % 4 == 0:
        images.append((["redis:7"], 120 * 2**20))
    node = make_node(name, capacity, labels=labels, taints=taints, images=images,
                     unschedulable=(i % 29 == 0))
    return node


def random_pod(rng, i):
    kind = i % 12
    requests = rng.choice([None, {"cpu": "100m"}, {"cpu": "250m", "memory": "256Mi"},
                           {"cpu": "1", "memory": "2Gi"}, {"memory": "512Mi"},
                           {"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1Gi"}])
    app = f"app-{i % 6}"
    manifest = pod_manifest(f"pod-{i:05d}", requests, labels={"app": app, "tier": "web"},
                            image=rng.choice(["nginx:1.27", "redis:7", "busybox"]))
    spec = manifest["spec"]
    manifest["metadata"]["namespace"] = "default"
    manifest["metadata"]["uid"] = f"uid-{i}"
    if kind == 1:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "db",
                                "effect": "NoSchedule"}]
    elif kind == 2:
        spec["nodeSelector"] = {"disktype": "ssd"}
    elif kind == 3:
        spec["affinity"] = {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]},
                {"matchExpressions": [{"key": "topology.kubernetes.io/zone",
                                       "operator": "In", "values": ["zone-c"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 30, "preference": {"matchExpressions": [
                    {"key": "disktype", "operator": "NotIn", "values": ["hdd"]}]}},
                {"weight": 5, "preference": {"matchExpressions": [
                    {"key": "topology.kubernetes.io/zone", "operator": "DoesNotExist"}]}}]}}
    elif kind == 4:
        spec["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
             "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"app": app}}}]
    elif kind == 5:
        spec["topologySpreadConstraints"] = [
            {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone",
             "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": app}}},
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
             "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": app}},
             "nodeTaintsPolicy": "Honor"}]
    elif kind == 6:
        spec["containers"][0]["resources"] = {"requests": {"cpu": "200m", "example.com/gpu": "1"},
                                              "limits": {"example.com/gpu": "1"}}
    elif kind == 7:
        spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080 + i % 3}]
    elif kind == 8:
        spec["tolerations"] = [{"operator": "Exists"}]  # tolerates everything, cordons too
    elif kind == 9:  # owned by a ReplicaSet a Service selects: default spreading applies
        manifest["metadata"]["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs-{app}",
             "controller": True, "uid": "rs"}]
    elif kind == 10 and i % 24 == 10:  # one per host, near its own kind by zone if it can
        manifest["metadata"]["labels"]["solo"] = app
        spec["affinity"] = {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"solo": app}},
                 "topologyKey": "kubernetes.io/hostname"}]},
            "podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 40, "podAffinityTerm": {
                    "labelSelector": {"matchLabels": {"app": app}},
                    "topologyKey": "topology.kubernetes.io/zone"}}]}}
    elif kind == 11 and i % 24 == 11:  # in a zone with app-0 pods, away from app-1 pods
        spec["affinity"] = {"podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "app-0"}},
                 "topologyKey": "topology.kubernetes.io/zone"}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": {
                    "labelSelector": {"matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["app-1"]}]},
                    "topologyKey": "kubernetes.io/hostname"}}]}}
    return manifest


SERVICES = [{"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": f"svc-{k}", "namespace": "default"},
             "spec": {"selector": {"app": f"app-{k}"}, "ports": [{"port": 80}]}}
            for k in range(3)]
REPLICA_SETS = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": f"rs-app-{k}", "namespace": "default"},
                 "spec": {"selector": {"matchLabels": {"app": f"app-{k}", "tier": "web"}}}}
                for k in range(6)]


def offline_scheduler(config=None):
    """A Scheduler fed directly through its informer handlers: no API server."""
    sim = Simulation(seed=3)
    sched = Scheduler(sim, None, config, start=False)  # type: ignore[arg-type]
    for svc in SERVICES:
        sched.cache.set_object("services", svc)
    for rs in REPLICA_SETS:
        sched.cache.set_object("replicasets", rs)
    return sched


def decide(sched, pod, vector):
    """(host or None, nodes evaluated, next start index) of one path, changing nothing."""
    profile = sched.config.profile_for(pod)
    saved_vector, saved_start = sched.vector, sched.next_start_node_index
    rng = random.Random()
    rng.setstate(sched.rng.getstate())
    sched.vector = vector
    try:
        result = sched.schedule_pod(profile, CycleState(sched.cache.snapshot()), pod,
                                    PodInfo(pod), rng=rng)
        answer = (result.suggested_host, result.evaluated_nodes, sched.next_start_node_index,
                  rng.getstate())
    except FitError as err:
        answer = (None, err.message(), sched.next_start_node_index, rng.getstate())
    finally:
        sched.vector, sched.next_start_node_index = saved_vector, saved_start
    return answer


def run_differential(nodes, pods, seed, config=None, check_scores_every=25):
    rng = random.Random(seed)
    sched = offline_scheduler(config)
    vector = sched.vector
    assert isinstance(vector, VectorizedScheduler)
    for i in range(nodes):
        sched._add_node(random_node(rng, i))
    placed = failed = 0
    for i in range(pods):
        pod = random_pod(rng, i)
        before = vector.cycles
        fast = decide(sched, pod, vector)
        vectorised = vector.cycles > before
        slow = decide(sched, pod, None)
        assert fast[:3] == slow[:3], f"pod {i}: vectorised {fast[:3]} != per-node {slow[:3]}"
        assert fast[3] == slow[3], f"pod {i}: different draws from the generator"
        if vectorised and fast[0] is not None and i % check_scores_every == 0:
            check_plugin_scores(sched, pod)
        # now do it for real, as the scheduling cycle would
        _, _, sched.next_start_node_index, state = fast
        sched.rng.setstate(state)
        if fast[0] is None:
            failed += 1
            continue
        host = fast[0]
        bound = {**pod, "spec": {**pod["spec"], "nodeName": host}}
        sched.cache.add_pod(pod_key(bound), bound, host)
        placed += 1
        if i % 97 == 0:  # now and then a pod goes away, a node changes
            sched._delete_pod(bound)
        if i % 401 == 0:
            sched._update_node(sched.cache.nodes[host].node, relabel(sched, host, i))
    return placed, failed, vector


def relabel(sched, host, i):
    node = sched.cache.nodes[host].node
    labels = {**node["metadata"]["labels"], "disktype": "ssd" if i % 2 else "nvme"}
    return {**node, "metadata": {**node["metadata"], "labels": labels}}


def check_plugin_scores(sched, pod):
    """Each plugin's normalized score on the feasible nodes, both ways."""
    profile = sched.config.profile_for(pod)
    snapshot = sched.cache.snapshot()
    result = run_filters(profile, pod, snapshot)
    if len(result.feasible) < 2:
        return
    slow = run_scores(profile, pod, result.feasible, result.state)
    vector = sched.vector
    n = vector.arrange(CycleState(snapshot))
    slots = np.array([vector.arrays.slot_of[node.name] for node in result.feasible])
    for pl in profile.score_plugins:
        fast = vector.plugin_scores(pl, result.state, pod, PodInfo(pod), slots, n)
        want = [ns.scores.get(pl.name) for ns in slow]
        if fast is None:
            got = [None] * len(want)
        elif isinstance(fast, int):  # the same score on every node
            got = [fast] * len(want)
        else:
            got = fast.tolist()
        assert got == want, pl.name


def test_vectorised_equals_per_node_on_thousands_of_pods():
    placed, failed, vector = run_differential(nodes=240, pods=2500, seed=11)
    assert placed > 1500 and failed > 0  # the cluster fills up: some pods fit nowhere
    assert vector.cycles > 2000  # most cycles really ran vectorised


def test_vectorised_equals_per_node_with_later_versions_balanced_allocation(monkeypatch):
    """v1.33's best-effort skip and v1.36's change-in-balance score: one formula, both paths."""
    monkeypatch.setattr(balanced_allocation, "SKIPS_BEST_EFFORT", True)
    monkeypatch.setattr(balanced_allocation, "SCORES_CHANGE", True)
    placed, failed, vector = run_differential(nodes=120, pods=700, seed=3)
    assert placed > 400 and vector.cycles > 500


@pytest.mark.parametrize("strategy", [
    "{type: MostAllocated, resources: [{name: cpu, weight: 3}, {name: memory, weight: 1}]}",
    "{type: RequestedToCapacityRatio, resources: [{name: cpu, weight: 2}, {name: memory, "
    "weight: 1}, {name: example.com/gpu, weight: 1}], requestedToCapacityRatio: {shape: "
    "[{utilization: 0, score: 10}, {utilization: 50, score: 2}, {utilization: 100, "
    "score: 7}]}}",
    "{type: LeastAllocated, resources: [{name: cpu, weight: 1}, {name: memory, weight: 1}, "
    "{name: ephemeral-storage, weight: 2}, {name: example.com/gpu, weight: 5}]}",
])
def test_vectorised_equals_per_node_with_other_scoring_strategies(strategy):
    config = f"""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: NodeResourcesFit
    args: {{scoringStrategy: {strategy}}}
  - name: NodeResourcesBalancedAllocation
    args: {{resources: [{{name: cpu}}, {{name: example.com/gpu}}]}}
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions: [{{key: cores, operator: NotIn, values: ["2"]}}]
"""
    placed, failed, vector = run_differential(nodes=130, pods=600, seed=5, config=config)
    assert placed > 300 and vector.cycles > 400


def test_a_learner_plugin_turns_the_vectorised_path_off():
    sched = offline_scheduler()
    assert sched.vector.supports(sched.profiles["default-scheduler"])
    from test_scheduler_scheduler import LEARNER_CONFIG, OnlyEvenNodes, PreferHighNumbers
    cfg = kl.scheduler.load_scheduler_config(
        LEARNER_CONFIG, {"OnlyEvenNodes": OnlyEvenNodes, "PreferHighNumbers": PreferHighNumbers})
    assert not sched.vector.supports(cfg.profiles["default-scheduler"])


def test_popcount():
    words = np.array([[0, 1, 3, 2**63 + 1]], dtype=np.uint64)
    assert popcount(words).tolist() == [[0, 1, 2, 2]]


def test_same_placements_end_to_end_through_the_api():
    """Two clusters, one seed: the per-node scheduler and the vectorised one agree."""
    def run(vectorised):
        cluster = kl.Cluster(seed=4)
        if not vectorised:
            cluster.scheduler.vector = None
        rng = random.Random(8)
        for i in range(60):
            node = random_node(rng, i)
            cap = node["status"]["capacity"]
            register_node(cluster, node["metadata"]["name"], cap,
                          labels=node["metadata"]["labels"], taints=node["spec"].get("taints"),
                          unschedulable=bool(node["spec"].get("unschedulable")))
        for k in range(3):
            cluster.apply(SERVICES[k])
        cluster.run(1)
        names = []
        for i in range(400):
            pod = random_pod(rng, i)
            del pod["metadata"]["uid"]
            pod["metadata"].pop("ownerReferences", None)
            cluster.apply(pod)
            names.append(pod["metadata"]["name"])
            if i % 20 == 19:
                cluster.run(1)
        cluster.run(30)
        return {n: node_of(cluster, n) for n in names}, cluster.scheduler.vector

    per_node, _ = run(vectorised=False)
    fast, vector = run(vectorised=True)
    assert fast == per_node
    assert vector.cycles > 300
    assert sum(v is not None for v in fast.values()) > 250


def test_spread_counts_stay_equal_to_a_recount():
    # The label indexes keep cached counts in step as pods come and go: any cached
    # (namespace, selector) must equal counting every pod again.
    from kubelearn.api import LabelSelector

    rng = random.Random(5)
    sched = offline_scheduler()
    arrays = sched.vector.arrays
    for i in range(20):
        sched._add_node(random_node(rng, i))
    selectors = [(ns, LabelSelector.parse(text)) for ns in ("default", "shop")
                 for text in ("app=a", "app in (a,b)", "app=a,tier=web", "tier", "!app", "")]
    placed = []
    for step in range(400):
        if placed and rng.random() < 0.3:
            sched.cache.remove_pod(placed.pop(rng.randrange(len(placed))))
        else:
            meta = {"name": f"p-{step}", "namespace": rng.choice(["default", "shop"]),
                    "labels": {k: rng.choice(["a", "b"]) for k in ("app", "tier")
                               if rng.random() < 0.7}}
            if rng.random() < 0.2:
                meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
            pod = {"metadata": meta, "spec": {"nodeName": f"node-{rng.randrange(20):03d}",
                                              "containers": [{"name": "c", "image": "x"}]}}
            sched.cache.add_pod(pod_key(pod), pod, pod["spec"]["nodeName"])
            placed.append(pod_key(pod))
        ns, selector = rng.choice(selectors)
        arrays.matching_pods(ns, selector)  # start counting this one, if not yet
    assert len(arrays.spread_counts) == len(selectors)  # all kept up to date, none recounted
    for (ns, selector), cached in arrays.spread_counts.items():
        expected = np.zeros(arrays.cap, dtype=np.int64)
        for name, info in sched.cache.nodes.items():
            expected[arrays.slot_of[name]] = sum(
                1 for p in info.pods if not p.terminating and p.namespace == ns
                and selector.matches(p.labels))
        assert (cached == expected).all(), (ns, str(selector))
