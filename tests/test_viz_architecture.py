"""kl.viz.architecture and kl.viz.follow: the hub and spoke, one Deployment's path, from records."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.viz.architecture import (  # noqa: E402
    API_SERVER,
    CONTROLLER_MANAGER,
    COREDNS,
    ETCD,
    KUBE_PROXY,
    OTHERS,
    SCHEDULER,
    YOU,
    arrows,
    calls,
    component_of,
)
from kubelearn.viz.traffic import web_manifests  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.run(5)
    cluster.apply(web_manifests(replicas=2))
    cluster.run(25)
    traffic = cluster.traffic(to="web", rate=10)
    cluster.run(2)
    traffic.stop()
    return cluster


@pytest.mark.parametrize(("user", "component"), [
    ("kubernetes-admin", YOU),
    ("system:apiserver", API_SERVER),
    ("system:kube-scheduler", SCHEDULER),
    ("system:kube-proxy", KUBE_PROXY),
    ("system:kube-controller-manager", CONTROLLER_MANAGER),
    ("system:serviceaccount:kube-system:replicaset-controller", CONTROLLER_MANAGER),
    ("system:serviceaccount:kube-system:coredns", COREDNS),
    ("system:node:node-7", "kubelet/node-7"),
    ("system:serviceaccount:default:default", OTHERS),
    ("alice", OTHERS),
])
def test_each_identity_is_the_component_that_runs_as_it(user, component):
    assert component_of(user) == component


def test_calls_count_every_audit_row(cluster):
    frame = calls(cluster)
    assert list(frame.columns) == ["component", "user", "verb", "requests"]
    assert frame["requests"].sum() == len(cluster.api.audit_log)
    kubelets = frame[frame["component"] == "kubelet/node-2"]
    assert set(kubelets["user"]) == {"system:node:node-2"}


def test_every_arrow_starts_or_ends_at_the_api_server(cluster):
    table = arrows(cluster)
    assert ((table["source"] == API_SERVER) | (table["target"] == API_SERVER)).all()
    touching_etcd = table[(table["source"] == ETCD) | (table["target"] == ETCD)]
    assert set(touching_etcd["source"]) | set(touching_etcd["target"]) == {ETCD, API_SERVER}


def test_the_etcd_arrow_counts_every_revision(cluster):
    table = arrows(cluster)
    writes = table[(table["kind"] == "writes")]["count"].item()
    assert writes == cluster.etcd.revision - 1
    before = cluster.etcd.revision
    cluster.etcd.put("/registry/test/x", "1")  # one more write, one more revision
    assert arrows(cluster).query("kind == 'writes'")["count"].item() == writes + 1
    cluster.etcd.delete("/registry/test/x")
    assert cluster.etcd.revision == before + 2


def test_watches_come_from_the_audit_watch_rows(cluster):
    table = arrows(cluster)
    audit = cluster.api.audit()
    scheduler = (audit["user"] == "system:kube-scheduler") & (audit["verb"] == "watch")
    row = table[(table["target"] == SCHEDULER) & (table["kind"] == "watches")]
    assert row["count"].item() == scheduler.sum() > 0


def test_drawing_changes_nothing_and_labels_the_counts(cluster):
    rows = len(cluster.api.audit_log)
    revision = cluster.etcd.revision
    fig = kl.viz.architecture(cluster)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"{revision - 1} writes" in texts
    sched = arrows(cluster).query("source == @SCHEDULER")["count"].item()
    assert str(sched) in texts
    assert "only it touches etcd" in fig.axes[0].get_title()
    assert len(cluster.api.audit_log) == rows and cluster.etcd.revision == revision
    plt.close(fig)


def test_many_nodes_share_a_box_past_five():
    cluster = kl.Cluster(seed=0, nodes=7)
    cluster.run(1)
    fig = kl.viz.architecture(cluster)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("node-5 … node-7" in t for t in texts)
    plt.close(fig)


def test_follow_reads_one_deployment_through_every_component(cluster):
    steps = kl.viz.follow(cluster, "deployment/web")
    assert list(steps.columns) == ["time", "component", "step", "object", "what"]
    order = list(dict.fromkeys(steps["step"]))
    assert order[:4] == ["request", "etcd write", "watch event", "ReplicaSet"]
    for step in ("pod created", "scheduled", "image pull", "container started", "pod ready",
                 "EndpointSlice", "proxy rules", "first request"):
        assert step in order
    assert steps["time"].is_monotonic_increasing
    first = steps.iloc[0]
    assert first["time"] == 5.0 and "kubernetes-admin" in first["what"]
    kv = cluster.etcd.get("/registry/deployments/default/web")
    assert f"revision {kv.create_revision}" in steps.iloc[1]["what"]
    assert "kube-controller-manager" in steps.iloc[2]["what"]
    assert len(steps[steps["step"] == "pod created"]) == 2
    assert set(steps[steps["step"] == "proxy rules"]["component"]) == {
        "kube-proxy/node-1", "kube-proxy/node-2", "kube-proxy/node-3"}
    # The scheduler's choice, as recorded, is the node the pod is on.
    for _, row in steps[steps["step"] == "scheduled"].iterrows():
        pod = cluster.admin.get("pods", row["object"].split("/")[-1])
        assert row["what"].endswith(f"to {pod['spec']['nodeName']}")


def test_follow_changes_nothing(cluster):
    rows, revision = len(cluster.api.audit_log), cluster.etcd.revision
    kl.viz.follow(cluster, "web")
    assert len(cluster.api.audit_log) == rows and cluster.etcd.revision == revision


def test_follow_says_what_it_cannot_follow(cluster):
    with pytest.raises(ValueError, match='deployment "nope" not found'):
        kl.viz.follow(cluster, "deployment/nope")
    with pytest.raises(ValueError, match="follows a Deployment"):
        kl.viz.follow(cluster, "service/web")


def test_follow_without_traffic_or_service_stops_where_the_records_stop():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply(web_manifests(replicas=1).split("---")[0])
    cluster.run(10)
    steps = kl.viz.follow(cluster, "deployment/web")
    assert "pod ready" in set(steps["step"])
    assert not {"EndpointSlice", "proxy rules", "first request"} & set(steps["step"])


def test_writes_per_resource_add_up_to_the_etcd_arrow(cluster):
    from kubelearn.viz.architecture import writes

    table = writes(cluster)
    assert table["writes"].sum() == cluster.etcd.revision - 1
    assert {"deployments", "pods", "events"} <= set(table["resource"])
    revision = cluster.etcd.revision
    writes(cluster)
    assert cluster.etcd.revision == revision


def test_every_line_style_drawn_has_a_legend_entry_and_etcd_watches_are_counted(cluster):
    table = arrows(cluster)
    assert table.query("source == @ETCD")["kind"].item() == "watches"
    fig = kl.viz.architecture(cluster)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "the API server's watch on etcd" in labels
    assert any("system:kube-proxy" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_follow_times_are_rounded_and_say_no_pipeline_jargon(cluster):
    steps = kl.viz.follow(cluster, "deployment/web")
    assert (steps["time"] == steps["time"].round(2)).all()
    assert "stage" not in steps.loc[0, "what"]
