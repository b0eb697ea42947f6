"""How fast does kubelearn schedule? 150,000 pods onto 5,000 nodes, end to end through the API.

Every pod is created through the client (authentication, RBAC, admission,
validation, etcd), seen by the scheduler's informer, scheduled by the
Scheduler's SimPy process through the full framework, bound through
``pods/binding``, and announced with a ``Scheduled`` Event -- as in a real
cluster. By default nodes are registered through the API as kubelets register
them (each under its own ``system:node:<name>`` identity) and their not-ready
taint is lifted as the node lifecycle controller would; no kubelet runs, so the
figure is the control plane's: nothing starts the pods. ``--kubelets`` runs a
real kubelet per node instead (``kl.Cluster(nodes=N)``): heartbeats, image
pulls and pod status too. Pods arrive in batches, one batch per virtual second.

Prints pods per second (wall clock, from the first create to the last bind),
the peak memory of the process (getrusage maxrss) and how the pods spread.

CPython's cyclic garbage collector is tuned as for any long-running service
with a large heap (``gc.freeze()`` after start-up, a first-generation threshold
of 50,000 allocations instead of 700): with 150,000 pods in memory the default
settings spend a sixth of the time re-scanning objects that live for the whole
run. ``--default-gc`` measures without it.

    python benchmarks/scheduler.py                     # 150,000 pods, 5,000 nodes
    python benchmarks/scheduler.py --pods 5000 --nodes 500
    python benchmarks/scheduler.py --profile           # cProfile's top functions
    python benchmarks/scheduler.py --anti-affinity-every 10   # a tenth with anti-affinity

Wall time is read here, and only here, to measure: the cluster runs on its virtual clock.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import resource
import sys
import time
from collections import Counter

import kubelearn as kl
from kubelearn.apiserver import authn

ZONES = ("zone-a", "zone-b", "zone-c", "zone-d")
# Only the node lifecycle controller by default (with --kubelets it lifts the not-ready taint
# new nodes get): the pods here have no owners, so the other controllers would only add
# work. Its pod informer caches every pod, as upstream's does (~11 KB a pod in Python
# dicts); --controllers "" measures the scheduler and the API server alone.
# kube-controller-manager --controllers alike.
CONTROLLERS = ("nodelifecycle",)
CPU_CHOICES = ("100m", "250m", "500m", "1")
MEMORY_CHOICES = ("128Mi", "256Mi", "512Mi", "1Gi")


class CollectorClock:
    """A gc callback: how many collections ran, and how long they took (wall clock)."""

    def __init__(self) -> None:
        self.runs = 0
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.runs += 1
            self.seconds += time.perf_counter() - self._started


def node_manifest(i: int) -> dict:
    """A worker as its kubelet registers it: capacity, allocatable, hostname and zone labels."""
    name = f"node-{i:05d}"
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "topology.kubernetes.io/zone": ZONES[i % len(ZONES)]}},
            "status": {"capacity": capacity, "allocatable": capacity,
                       "conditions": [{"type": "Ready", "status": "True", "reason":
                                       "KubeletReady"}],
                       "images": [{"names": ["nginx:1.27"], "sizeBytes": 70 * 2**20}]
                       if i % 3 == 0 else []}}


def pod_manifest(i: int, anti_affinity_every: int = 0) -> dict:
    """A pod with one of 16 request shapes; every 10th tolerates the gpu taint.

    ``anti_affinity_every`` N > 0: every Nth pod (offset 5, so not the tolerating ones)
    joins one of 50 groups whose members refuse to share a node (required pod
    anti-affinity on ``kubernetes.io/hostname``), as replicas spread for availability do.
    """
    container = {"name": "app", "image": "nginx:1.27", "resources": {"requests": {
        "cpu": CPU_CHOICES[i % 4], "memory": MEMORY_CHOICES[(i // 4) % 4]}}}
    spec: dict = {"containers": [container]}
    labels = {"app": f"app-{i % 50}"}
    if i % 10 == 0:
        spec["tolerations"] = [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if anti_affinity_every and i % anti_affinity_every == 5 % anti_affinity_every:
        group = f"spread-{(i // anti_affinity_every) % 50}"
        labels["spread"] = group
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"spread": group}},
             "topologyKey": "kubernetes.io/hostname"}]}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:06d}", "labels": labels}, "spec": spec}


def register_nodes(cluster: kl.Cluster, n: int) -> None:
    """Create Nodes under their kubelet identities; lift the not-ready taint as the controller."""
    for i in range(n):
        manifest = node_manifest(i)
        name = manifest["metadata"]["name"]
        cluster.client(authn.node_user(name)).create(manifest)
        taints = [{"key": "gpu", "value": "true", "effect": "NoSchedule"}] if i % 20 == 0 else []
        cluster.admin.patch("nodes", name, {"spec": {"taints": taints}}, patch_type="merge")


def run(pods: int, nodes: int, batch: int, seed: int, progress: bool,
        kubelets: bool = False, controllers: tuple[str, ...] = CONTROLLERS,
        anti_affinity_every: int = 0) -> dict:
    """Register the nodes, then create pods batch by batch until every one is bound."""
    t = time.perf_counter()
    if kubelets:
        cluster = kl.Cluster(seed=seed, audit_limit=1000, nodes=nodes, node_cpu="32",
                             node_memory="128Gi", zones=ZONES, controllers=controllers)
        cluster.run(10)  # the kubelets register and report Ready
    else:
        cluster = kl.Cluster(seed=seed, audit_limit=1000, controllers=controllers)
        register_nodes(cluster, nodes)
        cluster.run(1)
    scheduler = cluster.scheduler
    assert scheduler is not None
    setup = time.perf_counter() - t
    admin = cluster.admin
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=pods, unit="pod", file=sys.stderr)

    def creator():
        created = 0
        while created < pods:
            for i in range(created, min(pods, created + batch)):
                admin.create(pod_manifest(i, anti_affinity_every))
            created = min(pods, created + batch)
            yield cluster.sim.timeout(1)

    start = time.perf_counter()
    cluster.sim.process(creator())
    done = 0
    while scheduler.scheduled + scheduler.failed_attempts < pods or done < pods:
        cluster.run(1)
        if bar is not None:
            bar.update(scheduler.scheduled - done)
        done = scheduler.scheduled
        if cluster.now > pods / batch + 120:
            break
    elapsed = time.perf_counter() - start
    if bar is not None:
        bar.close()
    per_node = Counter(info.name for info in scheduler.cache.node_infos()
                       for _ in info.pods)
    counts = [per_node.get(info.name, 0) for info in scheduler.cache.node_infos()]
    vector = scheduler.vector
    return {"pods": pods, "nodes": nodes, "scheduled": scheduler.scheduled,
            "failed attempts": scheduler.failed_attempts, "seconds": elapsed,
            "setup seconds": setup, "virtual seconds": cluster.now,
            "pods per node": (min(counts), max(counts)) if counts else (0, 0),
            "vectorised cycles": vector.cycles if vector else 0,
            "per-node cycles": vector.fallbacks if vector else scheduler.scheduled,
            "revision": cluster.etcd.revision}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=150_000)
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=5_000, help="pods created per virtual second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="a tqdm progress bar")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--kubelets", action="store_true",
                        help="a kubelet per node (kl.Cluster(nodes=N)), not bare Node objects")
    parser.add_argument("--controllers", default=",".join(CONTROLLERS),
                        help='controllers to run, comma-separated ("" for none)')
    parser.add_argument("--anti-affinity-every", type=int, default=0, metavar="N",
                        help="every Nth pod carries required pod anti-affinity (10: a tenth)")
    parser.add_argument("--default-gc", action="store_true",
                        help="leave the garbage collector's thresholds at CPython's defaults")
    args = parser.parse_args()
    if not args.default_gc:
        gc.freeze()  # what start-up allocated lives on: never scan it again
        gc.set_threshold(50_000, 20, 100)
    collector = CollectorClock()
    gc.callbacks.append(collector)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    controllers = tuple(c for c in args.controllers.split(",") if c)
    figures = run(args.pods, args.nodes, args.batch, args.seed, args.progress, args.kubelets,
                  controllers, args.anti_affinity_every)
    if profiler is not None:
        profiler.disable()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(f"kubelearn scheduler benchmark -- Python {platform.python_version()}, "
          f"{platform.machine()}, one core")
    if args.kubelets:
        print("a kubelet per node (kl.Cluster(nodes=N)): heartbeats, pulls, pod status too")
    else:
        print("nodes registered through the API as kubelets would; no kubelet runs "
              "(--kubelets for kl.Cluster(nodes=N))")
    print(f"controllers running: {', '.join(controllers) or 'none'}")
    if args.anti_affinity_every:
        print(f"every {args.anti_affinity_every}th pod carries required pod anti-affinity "
              "(50 groups, one member per node)")
    print("garbage collector: " + ("CPython defaults" if args.default_gc else
                                   "frozen after start-up, gen0 threshold 50,000")
          + f"; {collector.runs:,} collections took {collector.seconds:.1f} s in all")
    print(f"{figures['pods']:,} pods onto {figures['nodes']:,} nodes: "
          f"{figures['scheduled']:,} bound, {figures['failed attempts']:,} failed attempts")
    print(f"end to end (create -> schedule -> bind -> Scheduled event): "
          f"{figures['seconds']:.1f} s wall, {figures['pods'] / figures['seconds']:,.0f} pods/s")
    print(f"node registration: {figures['setup seconds']:.1f} s; virtual time "
          f"{figures['virtual seconds']:.0f} s; etcd revision {figures['revision']:,}")
    print(f"pods per node: min {figures['pods per node'][0]}, max {figures['pods per node'][1]}")
    print(f"cycles: {figures['vectorised cycles']:,} vectorised, "
          f"{figures['per-node cycles']:,} per-node")
    print(f"peak memory (maxrss): {peak / 2**30:.2f} GiB")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
