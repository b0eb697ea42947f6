"""Nominated pods keep their room; PreFilter AddPod/RemovePod equal a recount.

Ports the cases of upstream's runtime/framework_test.go TestFilterPluginsWithNominatedPods
(higher-or-equal-priority nominations count, lower ones and the pod itself do not) and
interpodaffinity/filtering_test.go TestPreFilterStateAddRemovePod (the state after
AddPod/RemovePod equals PreFilter's on the changed cluster), here over random clusters.
"""

from __future__ import annotations

import random

import pytest
from scheduler_testing import make_node, make_pod
from test_scheduler_vectorized import decide, offline_scheduler, random_node, random_pod

import kubelearn as kl
from kubelearn.scheduler import CycleState, Profile, Snapshot
from kubelearn.scheduler.cache import Cache
from kubelearn.scheduler.framework import (
    Code,
    Handle,
    run_filter_plugins_with_nominated_pods,
    run_pre_filter_extension_add_pod,
    run_pre_filter_extension_remove_pod,
    run_pre_filter_plugins,
)
from kubelearn.scheduler.nodeinfo import PodInfo
from kubelearn.scheduler.nominator import Nominator
from kubelearn.scheduler.plugins import InterPodAffinity, NodeResourcesFit, PodTopologySpread
from kubelearn.scheduler.plugins.interpodaffinity import PRE_FILTER_STATE_KEY as IPA_KEY
from kubelearn.scheduler.plugins.pod_topology_spread import PRE_FILTER_STATE_KEY as PTS_KEY
from kubelearn.scheduler.queue import pod_key
from kubelearn.scheduler.vectorized import VectorizedScheduler
from kubelearn.viz.scheduler import score_columns, weighted_scores

LOW, MID, HIGH = 10, 100, 1000


def pod(name, cpu="1", priority=MID, **kw):
    p = make_pod(name, requests=[{"cpu": cpu}], **kw)
    p["spec"]["priority"] = priority
    return p


# -- the nominator -------------------------------------------------------------------------------

def nominated(pod_, node):
    return {**pod_, "status": {"nominatedNodeName": node}}


def test_nominator_indexes_by_node_and_follows_updates():
    n = Nominator()
    assert not n and n.pods_for_node("node1") == []
    a, b = nominated(pod("a"), "node1"), nominated(pod("b"), "node1")
    n.add(PodInfo(a))  # ModeNoop: what the status says
    n.add(PodInfo(b))
    assert n and [pi.name for pi in n.pods_for_node("node1")] == ["a", "b"]
    n.add(PodInfo(a), "node2")  # ModeOverride moves it
    assert [pi.name for pi in n.pods_for_node("node1")] == ["b"]
    assert n.node_of(a) == "node2"
    # an update that neither sets nor clears the field keeps the in-memory nomination
    plain = pod("a")
    n.update(plain, PodInfo({**plain, "metadata": {**plain["metadata"], "labels": {"x": "1"}}}))
    assert n.node_of(a) == "node2"
    # clearing the field clears it
    n.update(nominated(pod("b"), "node1"), PodInfo(pod("b")))
    assert n.pods_for_node("node1") == [] and n.nodes() == ["node2"]
    n.add(PodInfo(a), "")  # ModeOverride with "": cleared
    n.delete(b)
    assert not n and len(n) == 0


def test_nominator_skips_pods_gone_or_bound():
    store = {}
    n = Nominator(lister=store.get)
    a = nominated(pod("a"), "node1")
    n.add(PodInfo(a))
    assert not n  # the lister does not have it
    store[pod_key(a)] = {**a, "spec": {**a["spec"], "nodeName": "node2"}}
    n.add(PodInfo(a))
    assert not n  # bound already
    store[pod_key(a)] = a
    n.add(PodInfo(a))
    assert n.node_of(a) == "node1"


# -- RunFilterPluginsWithNominatedPods ------------------------------------------------------------

class NominatingHandle(Handle):
    def __init__(self, profile, nominations):
        super().__init__(profile)
        self.nominations = nominations

    def nominated_pods(self, node_name):
        return [PodInfo(p) for p in self.nominations.get(node_name, [])]


FIT = Profile.of([NodeResourcesFit()])


@pytest.mark.parametrize("name, nominations, incoming, want", [
    ("no nominated pod", [], pod("in", "2"), None),
    ("a higher-priority nominated pod takes the room", [pod("n", "2", HIGH)], pod("in", "2"),
     "Insufficient cpu"),
    ("an equal-priority nominated pod takes the room", [pod("n", "2", MID)], pod("in", "2"),
     "Insufficient cpu"),
    ("a lower-priority nominated pod does not", [pod("n", "2", LOW)], pod("in", "2"), None),
    ("the pod does not count itself", [pod("in", "2", MID)], pod("in", "2"), None),
    ("room for both", [pod("n", "1", HIGH)], pod("in", "1"), None),
])
def test_filter_plugins_with_nominated_pods(name, nominations, incoming, want):
    snapshot = Snapshot.build([make_node("node1", {"cpu": "3", "memory": "4Gi", "pods": "10"})],
                              [pod("running", "1", LOW, node="node1")])
    handle = NominatingHandle(FIT, {"node1": nominations})
    state = CycleState(snapshot)
    run_pre_filter_plugins(FIT, state, incoming, snapshot.node_infos)
    s = run_filter_plugins_with_nominated_pods(handle, state, incoming, snapshot.get("node1"))
    assert (s.message() if s is not None else None) == want
    assert len(snapshot.get("node1").pods) == 1  # the snapshot's NodeInfo is untouched


def test_nominated_pods_count_in_spreading_and_affinity_through_add_pod():
    # Two zones, one "web" pod in zone-a: a web pod spread with maxSkew 1 may go to either
    # zone... unless a web pod is nominated to the zone-b node, which then has one too and
    # the spread says zone-a's node is as good: both pass. Anti-affinity to "web" on the
    # hostname: the nominated pod makes node-b's host taken.
    nodes = [make_node("node-a", {"cpu": "4", "pods": "10"},
                       labels={"zone": "a", "kubernetes.io/hostname": "node-a"}),
             make_node("node-b", {"cpu": "4", "pods": "10"},
                       labels={"zone": "b", "kubernetes.io/hostname": "node-b"})]
    snapshot = Snapshot.build(nodes, [pod("w0", "1", labels={"app": "web"}, node="node-a")])
    profile = Profile.of([InterPodAffinity(), PodTopologySpread()])
    incoming = pod("in", "1", labels={"app": "other"}, affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}},
             "topologyKey": "kubernetes.io/hostname"}]}})
    state = CycleState(snapshot)
    run_pre_filter_plugins(profile, state, incoming, snapshot.node_infos)
    plain = Handle(profile)
    assert run_filter_plugins_with_nominated_pods(plain, state, incoming,
                                                  snapshot.get("node-b")) is None
    handle = NominatingHandle(profile, {"node-b": [pod("w1", "1", HIGH, labels={"app": "web"})]})
    s = run_filter_plugins_with_nominated_pods(handle, state, incoming, snapshot.get("node-b"))
    assert s is not None and s.message() == "node(s) didn't match pod anti-affinity rules"
    # the cycle's own state is unchanged: node-b alone still passes
    assert state.read(IPA_KEY).anti_affinity_counts == {("kubernetes.io/hostname", "node-a"): 1}


# -- both paths, nominations everywhere ----------------------------------------------------------

def test_vectorised_equals_per_node_with_nominated_pods():
    rng = random.Random(11)
    sched = offline_scheduler()
    vector = sched.vector
    assert isinstance(vector, VectorizedScheduler)
    for i in range(80):
        sched._add_node(random_node(rng, i))
    names = [n.name for n in sched.cache.node_infos()]
    compared = 0
    for i in range(300):
        p = random_pod(rng, i)
        p["spec"]["priority"] = rng.choice([LOW, MID, HIGH])
        if i % 3 == 0:  # a pending pod nominated somewhere, as preemption would leave it
            waiting = random_pod(rng, 10_000 + i)
            waiting["spec"]["priority"] = rng.choice([LOW, MID, HIGH])
            sched.nominator.add(PodInfo(waiting), rng.choice(names))
        fast = decide(sched, p, vector)
        slow = decide(sched, p, None)
        assert fast[:3] == slow[:3], f"pod {i}: vectorised {fast[:3]} != per-node {slow[:3]}"
        compared += 1
        _, _, sched.next_start_node_index, st = fast
        sched.rng.setstate(st)
        if fast[0] is not None:
            bound = {**p, "spec": {**p["spec"], "nodeName": fast[0]}}
            sched.cache.add_pod(pod_key(bound), bound, fast[0])
    assert len(sched.nominator) == 100 and vector.cycles > 200 and compared == 300


def test_nominations_change_placements():
    # One roomy node: without the nomination the pod goes there; with a higher-priority
    # pod nominated to it, the pod must take the smaller one -- on both paths.
    def place(vectorised, nominate):
        sched = offline_scheduler()
        sched._add_node(make_node("big", {"cpu": "4", "memory": "8Gi", "pods": "10"}))
        sched._add_node(make_node("small", {"cpu": "2", "memory": "8Gi", "pods": "10"}))
        if nominate:
            sched.nominator.add(PodInfo(pod("urgent", "3", HIGH)), "big")
        return decide(sched, pod("web", "1500m", MID), sched.vector if vectorised else None)[0]
    assert [place(v, False) for v in (True, False)] == ["big", "big"]
    assert [place(v, True) for v in (True, False)] == ["small", "small"]


@pytest.mark.parametrize("vectorised", [True, False])
def test_a_nominated_pods_room_is_not_taken_meanwhile(vectorised):
    """A high-priority pod preempts; a lower-priority pod created while the victim
    terminates must not take the room the nominated pod was promised."""
    cluster = kl.Cluster(seed=0, nodes=1, node_cpu="2", node_memory="4Gi")
    if not vectorised:
        cluster.scheduler.vector = None
    cluster.apply([{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                    "metadata": {"name": name}, "value": value}
                   for name, value in (("low", LOW), ("mid", MID), ("high", HIGH))])

    def api_pod(name, cpu, class_name):
        p = pod(name, cpu)
        del p["metadata"]["uid"], p["spec"]["priority"]
        p["spec"]["priorityClassName"] = class_name
        p["spec"]["containers"][0]["image"] = "nginx:1.27"
        return p
    cluster.apply(api_pod("victim", "1", "low"))
    cluster.run(10)
    assert cluster.admin.get("pods", "victim", "default")["spec"]["nodeName"] == "node-1"
    cluster.apply(api_pod("urgent", "1500m", "high"))
    cluster.run(0.5)
    urgent = cluster.admin.get("pods", "urgent", "default")
    assert urgent["status"].get("nominatedNodeName") == "node-1"
    assert cluster.scheduler.nominator.node_of(urgent) == "node-1"
    # 800m fits beside the terminating victim, but not beside the nominated pod
    cluster.apply(api_pod("meanwhile", "800m", "mid"))
    cluster.run(0.5)
    assert not cluster.admin.get("pods", "meanwhile", "default")["spec"].get("nodeName")
    events = [e["message"] for e in cluster.admin.list("events", "default")["items"]
              if e["reason"] == "FailedScheduling" and e["involvedObject"]["name"] == "meanwhile"]
    assert events and events[0].startswith("0/1 nodes are available: 1 Insufficient cpu.")
    # explain shows the same verdict for the pending pod, and why
    table = cluster.scheduler.explain(cluster.admin.get("pods", "meanwhile", "default"))
    assert not table.loc["node-1", "feasible"]
    assert table.loc["node-1", "filter:NodeResourcesFit"] == \
        "Insufficient cpu (counting nominated default/urgent)"
    assert table.loc["node-1", "nominated"] == "default/urgent"
    cluster.run(60)
    assert cluster.admin.get("pods", "urgent", "default")["spec"]["nodeName"] == "node-1"
    assert not cluster.admin.get("pods", "meanwhile", "default")["spec"].get("nodeName")
    assert not cluster.scheduler.nominator


# -- a gated pod's nomination (scheduling_queue.go, nominator.go, v1.32) -----------------------

def _priority_cluster():
    cluster = kl.Cluster(seed=0, nodes=1, node_cpu="2", node_memory="4Gi")
    cluster.apply([{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                    "metadata": {"name": name}, "value": value}
                   for name, value in (("low", LOW), ("mid", MID), ("high", HIGH))])
    return cluster


def _api_pod(name, cpu, class_name, **spec):
    p = pod(name, cpu)
    del p["metadata"]["uid"], p["spec"]["priority"]
    p["spec"].update(priorityClassName=class_name, **spec)
    p["spec"]["containers"][0]["image"] = "nginx:1.27"
    return p


def test_a_gated_pod_is_nominated_on_update_and_goes_to_its_node_when_the_gate_lifts():
    """Upstream v1.32: Add puts a gated pod in unschedulablePods without nominating it
    (moveToActiveQ nominates only what enters activeQ); every Update of a pod there calls
    UpdateNominatedPod first, gated or not, which nominates it by its status. So a status
    naming a node holds that node's room even while the pod is gated, and when the gate is
    removed (the only change ValidatePodUpdate allows to spec.schedulingGates) the pod tries
    its nominated node first."""
    cluster = _priority_cluster()
    cluster.apply(_api_pod("urgent", "1500m", "high",
                           schedulingGates=[{"name": "example.com/quota"}]))
    cluster.run(1)
    urgent = cluster.admin.get("pods", "urgent", "default")
    assert urgent["status"]["conditions"][0]["reason"] == "SchedulingGated"
    assert cluster.scheduler.queue.pending_pods() == [("default/urgent", "unschedulablePods", 0)]
    assert not cluster.scheduler.nominator  # added gated: not nominated
    # a nomination written while gated (by a scheduler before a restart, say) is taken up
    cluster.admin.patch("pods", "urgent", {"status": {"nominatedNodeName": "node-1"}},
                        "default", patch_type="merge", subresource="status")
    cluster.run(0.5)
    assert cluster.scheduler.nominator.node_of(urgent) == "node-1"
    cluster.apply(_api_pod("meanwhile", "1", "mid"))
    cluster.run(1)
    assert not cluster.admin.get("pods", "meanwhile", "default")["spec"].get("nodeName")
    # the gate lifts: the pod enters activeQ, nominated, and takes the room kept for it
    cluster.admin.patch("pods", "urgent", {"spec": {"schedulingGates": None}}, "default",
                        patch_type="merge")
    cluster.run(1)
    assert cluster.admin.get("pods", "urgent", "default")["spec"]["nodeName"] == "node-1"
    assert not cluster.admin.get("pods", "meanwhile", "default")["spec"].get("nodeName")
    assert not cluster.scheduler.nominator


def test_the_queue_handlers_nominate_a_gated_pod_as_upstream():
    # Through the informer handlers, no API server: the lister says every pod is pending.
    sched = offline_scheduler()
    sched._add_node(make_node("node1", {"cpu": "4", "pods": "10"}))
    gated = nominated(pod("g", "1", HIGH), "node1")
    gated["spec"]["schedulingGates"] = [{"name": "example.com/quota"}]
    sched._add_pod(gated)  # a scheduler (re)starting finds it nominated and gated
    assert not sched.nominator
    labelled = {**gated, "metadata": {**gated["metadata"], "labels": {"x": "1"}}}
    sched._update_pod(gated, labelled)  # still gated: UpdateNominatedPod nominates anyway
    assert sched.nominator.node_of(gated) == "node1"
    assert sched.queue.pending_pods() == [("default/g", "unschedulablePods", 0)]
    lifted = {**labelled, "spec": {k: v for k, v in labelled["spec"].items()
                                   if k != "schedulingGates"}}
    sched._update_pod(labelled, lifted)
    assert sched.nominator.node_of(gated) == "node1"
    assert sched.queue.pending_pods() == [("default/g", "activeQ", 0)]


# -- explain() sees the nominations the cycle sees -----------------------------------------------

def _two_nodes(nomination=None):
    sched = offline_scheduler()
    sched._add_node(make_node("big", {"cpu": "4", "memory": "8Gi", "pods": "10"}))
    sched._add_node(make_node("small", {"cpu": "2", "memory": "8Gi", "pods": "10"}))
    if nomination is not None:
        sched.nominator.add(PodInfo(nomination), "big")
    return sched


def test_explain_counts_a_higher_priority_nomination_as_the_cycle_does():
    sched = _two_nodes(pod("urgent", "3", HIGH))
    web = pod("web", "1500m", MID)
    table = sched.explain(web)
    assert table.loc["big", "filter:NodeResourcesFit"] == \
        "Insufficient cpu (counting nominated default/urgent)"
    assert table["nominated"].tolist() == ["default/urgent", ""]
    assert table["feasible"].tolist() == [False, True]
    assert table["chosen"].tolist() == [False, True]
    # the cycle, on both paths, agrees: small, because big's room is promised
    assert decide(sched, web, sched.vector)[0] == decide(sched, web, None)[0] == "small"
    # the lesson's plots read the table as before: "nominated" is not a score
    assert "nominated" not in score_columns(table)
    assert list(weighted_scores(table, {}).index) == ["small"]
    # and without the nomination big is feasible again (and wins on room)
    plain = _two_nodes().explain(web)
    assert "nominated" not in plain.columns
    assert plain["feasible"].tolist() == [True, True]


def test_explain_ignores_a_lower_priority_nomination_as_the_cycle_does():
    sched = _two_nodes(pod("later", "3", LOW))
    web = pod("web", "1500m", MID)
    table = sched.explain(web)
    assert "nominated" not in table.columns  # nobody counted anywhere
    assert table.loc["big", "filter:NodeResourcesFit"] == "passed"
    host = table.index[table["chosen"]].tolist()
    assert host == [decide(sched, web, sched.vector)[0]] == [decide(sched, web, None)[0]]


@pytest.mark.parametrize("seed", range(3))
def test_explain_agrees_with_the_cycle_under_random_nominations(seed):
    rng = random.Random(40 + seed)
    sched = offline_scheduler()
    for i in range(40):
        sched._add_node(random_node(rng, i))
    names = [n.name for n in sched.cache.node_infos()]
    handle = sched.handles["default-scheduler"]
    for i in range(12):
        waiting = random_pod(rng, 20_000 + i)
        waiting["spec"]["priority"] = rng.choice([LOW, MID, HIGH])
        sched.nominator.add(PodInfo(waiting), rng.choice(names))
    for i in range(40):
        p = random_pod(rng, i)
        p["spec"]["priority"] = rng.choice([LOW, MID, HIGH])
        table = sched.explain(p)
        state = CycleState(sched.cache.snapshot())
        _, rejected, _ = run_pre_filter_plugins(sched.profiles["default-scheduler"], state, p,
                                                state.snapshot.node_infos)
        if rejected is None:
            cycle_feasible = [n.name for n in state.snapshot.node_infos
                              if run_filter_plugins_with_nominated_pods(handle, state, p, n)
                              is None]
            assert table.index[table["feasible"]].tolist() == cycle_feasible, (seed, i)
        chosen = table.index[table["chosen"]].tolist()
        fast, slow = decide(sched, p, sched.vector)[0], decide(sched, p, None)[0]
        assert chosen == ([fast] if fast else []) and fast == slow, (seed, i)


# -- AddPod / RemovePod against a recount ---------------------------------------------------------

def _affinity_pod(rng, i, node=None):
    """A pod with a random mix of labels and required/preferred (anti-)affinity terms."""
    labels = {"app": rng.choice(["web", "db", "cache"]), "tier": rng.choice(["a", "b"])}
    keys = ["kubernetes.io/hostname", "zone"]
    terms = {}
    if rng.random() < 0.5:
        terms["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": rng.choice(["web", "db"])}},
             "topologyKey": rng.choice(keys)}]}
    if rng.random() < 0.3:
        terms["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchExpressions": [
                {"key": "tier", "operator": "In", "values": [rng.choice(["a", "b"])]}]},
             "topologyKey": "zone", **({"namespaces": ["default", "other"]}
                                       if rng.random() < 0.5 else {})}]}
    p = make_pod(f"p{i}", namespace=rng.choice(["default", "default", "other"]),
                 labels=labels, node=node, affinity=terms or None,
                 spread=[{"maxSkew": 1, "topologyKey": "zone",
                          "whenUnsatisfiable": "DoNotSchedule",
                          "labelSelector": {"matchLabels": {"app": labels["app"]}}}]
                 if rng.random() < 0.3 else None)
    return p


def _cluster(rng, n_nodes, n_pods):
    nodes = [make_node(f"n{i}", {"cpu": "8", "pods": "50"},
                       labels={"kubernetes.io/hostname": f"n{i}", "zone": f"z{i % 3}"})
             for i in range(n_nodes)]
    pods = [_affinity_pod(rng, i, f"n{rng.randrange(n_nodes)}") for i in range(n_pods)]
    return nodes, pods


def _states(profile, incoming, snapshot):
    state = CycleState(snapshot)
    _, s, _ = run_pre_filter_plugins(profile, state, incoming, snapshot.node_infos)
    assert s is None or s.code != Code.Error
    return state


def _counts(state):
    out = {}
    if IPA_KEY not in state._storage:
        out["ipa"] = None
    else:
        s = state.read(IPA_KEY)
        out["ipa"] = (s.existing_anti_affinity_counts, s.affinity_counts, s.anti_affinity_counts)
    if PTS_KEY in state._storage:
        out["pts"] = state.read(PTS_KEY).tp_value_to_match_num
    return out


@pytest.mark.parametrize("seed", range(6))
def test_add_and_remove_pod_equal_a_recount(seed):
    rng = random.Random(seed)
    nodes, pods = _cluster(rng, 6, 40)
    profile = Profile.of([InterPodAffinity(), PodTopologySpread()])
    for trial in range(8):
        incoming = _affinity_pod(rng, 1000 + trial)
        snapshot = Snapshot.build(nodes, pods)
        state = _states(profile, incoming, snapshot)
        if not _counts(state).get("ipa") and "pts" not in _counts(state):
            continue
        state = state.clone()
        # take a few pods off their nodes, put others on: incrementally, then recount
        node = snapshot.get(f"n{rng.randrange(6)}").snapshot()
        removed = rng.sample(node.pods, min(3, len(node.pods)))
        for pi in removed:
            node.remove_pod(pi)
            assert run_pre_filter_extension_remove_pod(profile, state, incoming, pi, node) is None
        added = [PodInfo(_affinity_pod(rng, 2000 + trial * 10 + k, node.name)) for k in range(2)]
        for pi in added:
            node.add_pod(pi)
            assert run_pre_filter_extension_add_pod(profile, state, incoming, pi, node) is None
        changed = [n if n.name != node.name else node for n in snapshot.node_infos]
        recount = _states(profile, incoming, Snapshot(changed))
        for key in recount.skip_filter_plugins:
            assert key in state.skip_filter_plugins
        got, want = _counts(state), _counts(recount)
        if want.get("ipa") is not None:
            assert got["ipa"] == want["ipa"], (seed, trial)
        if "pts" in want:
            assert got["pts"] == want["pts"], (seed, trial)


@pytest.mark.parametrize("seed", range(4))
def test_the_cache_indexes_count_as_walking_every_pod(seed):
    # The same PreFilter and PreScore state from the cache's indexes (term groups, pods by
    # label) as from a snapshot built by hand, which walks the pods.
    rng = random.Random(100 + seed)
    nodes, pods = _cluster(rng, 8, 80)
    cache = Cache()
    for node in nodes:
        cache.add_node(node)
    for p in pods:
        cache.add_pod(pod_key(p), p, p["spec"]["nodeName"])
    for p in rng.sample(pods, 10):  # some go away again
        cache.remove_pod(pod_key(p))
    plugin = InterPodAffinity()
    for trial in range(10):
        incoming = _affinity_pod(rng, 5000 + trial)
        if rng.random() < 0.5:
            incoming["spec"].setdefault("affinity", {})["podAffinity"] = {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 7, "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app": "web"}},
                        "topologyKey": "zone"}}]}
        indexed = cache.snapshot()
        walked = Snapshot(list(indexed.node_infos))
        results = []
        for snap in (indexed, walked):
            pre = plugin.pre_filter_state(CycleState(snap), incoming, snap.node_infos)
            score = plugin.pre_score_state(CycleState(snap), incoming)
            results.append((
                pre.code if hasattr(pre, "code") else (
                    pre.existing_anti_affinity_counts, pre.affinity_counts,
                    pre.anti_affinity_counts),
                score.code if hasattr(score, "code") else score.topology_score))
        assert results[0] == results[1], (seed, trial)
