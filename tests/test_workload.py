"""kubelearn.workload: the pods lesson 04 writes, and many nodes and pods at once."""

from __future__ import annotations

import re

import kubelearn as kl
from kubelearn import workload


def test_pod_manifest_puts_resources_annotations_and_spec_fields_where_the_api_expects_them():
    pod = workload.pod_manifest("spiky", {"cpu": "1"}, limits={"cpu": "8"},
                                annotations={"sim.kubelearn.io/app.cpu-usage": "3"},
                                priorityClassName="urgent")
    assert pod["metadata"] == {"name": "spiky",
                               "annotations": {"sim.kubelearn.io/app.cpu-usage": "3"}}
    assert pod["spec"]["priorityClassName"] == "urgent"
    assert pod["spec"]["containers"] == [{"name": "app", "image": "nginx:1.27", "resources": {
        "requests": {"cpu": "1"}, "limits": {"cpu": "8"}}}]
    bare = workload.pod_manifest("web")
    assert bare["spec"]["containers"] == [{"name": "app", "image": "nginx:1.27"}]
    assert "annotations" not in bare["metadata"]


def test_mixed_pods_cycle_three_cpu_and_four_memory_sizes():
    pods = workload.mixed_pods(5, schedulerName="bin-packing")
    requests = [p["spec"]["containers"][0]["resources"]["requests"] for p in pods]
    assert [p["metadata"]["name"] for p in pods] == [f"app-{i}" for i in range(5)]
    assert requests == [{"cpu": "250m", "memory": "256Mi"}, {"cpu": "500m", "memory": "1Gi"},
                        {"cpu": "1", "memory": "512Mi"}, {"cpu": "250m", "memory": "2Gi"},
                        {"cpu": "500m", "memory": "256Mi"}]
    assert {p["spec"]["schedulerName"] for p in pods} == {"bin-packing"}


def test_run_until_scheduled_binds_every_pod_of_the_arrivals(capsys):
    cluster = kl.Cluster(seed=0, audit_limit=100)
    workload.register_nodes(cluster, 20, cpu="4", memory="8Gi")
    cluster.run(1)
    cluster.sim.process(workload.pod_arrivals(cluster, total=30, per_second=10))
    workload.run_until_scheduled(cluster, 30)
    pods = cluster.admin.list("pods")["items"]
    assert len(pods) == 30 and all(p["spec"].get("nodeName") for p in pods)
    # outside a notebook the bar is tqdm's text on stdout; its last line has no wall-clock time
    last = capsys.readouterr().out.replace("\r", "\n").strip().splitlines()[-1]
    assert re.fullmatch(r"100%\|.{10}\| 30/30 pods scheduled", last), last
