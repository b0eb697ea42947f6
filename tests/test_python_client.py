"""The official ``kubernetes`` Python client against a served cluster: list, create, patch,
delete, watch -- configured from the kubeconfig ``cluster.serve()`` writes."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from kubelearn.cluster import Cluster


@pytest.fixture(scope="module")
def server():
    cluster = Cluster(seed=0)
    served = cluster.serve(quiet=True, speed=1)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def api_client(server):
    with config.new_client_from_config(config_file=str(server.kubeconfig_path)) as api:
        yield api


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def apps(api_client):
    return client.AppsV1Api(api_client)


def pod(name: str, **labels: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="nginx", image="nginx")]))


def test_list(core):
    namespaces = [ns.metadata.name for ns in core.list_namespace().items]
    assert {"default", "kube-system"} <= set(namespaces)
    services = core.list_namespaced_service("default").items
    assert [s.metadata.name for s in services] == ["kubernetes"]
    assert core.list_node().items == []


def test_create_get_and_errors(core):
    created = core.create_namespaced_pod("default", pod("web"))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.spec.restart_policy == "Always"
    got = core.read_namespaced_pod("web", "default")
    assert got.metadata.uid == created.metadata.uid
    with pytest.raises(ApiException) as conflict:
        core.create_namespaced_pod("default", pod("web"))
    assert conflict.value.status == 409
    assert '"reason":"AlreadyExists"' in conflict.value.body
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", "default")
    assert missing.value.status == 404
    listed = core.list_namespaced_pod("default", label_selector="app=web")
    assert [p.metadata.name for p in listed.items] == ["web"]
    core.delete_namespaced_pod("web", "default")


def test_patch(core, apps):
    core.create_namespaced_pod("default", pod("patched"))
    # a dict body is sent as a strategic merge patch by this client
    patched = core.patch_namespaced_pod("patched", "default",
                                        {"metadata": {"labels": {"tier": "front"}}})
    assert patched.metadata.labels == {"app": "patched", "tier": "front"}
    # a list body is a JSON patch
    patched = core.patch_namespaced_pod(
        "patched", "default", [{"op": "remove", "path": "/metadata/labels/tier"}])
    assert patched.metadata.labels == {"app": "patched"}
    core.delete_namespaced_pod("patched", "default")
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[
                    client.V1Container(name="nginx", image="nginx:1.25")]))))
    apps.create_namespaced_deployment("default", deployment)
    scaled = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    assert scaled.spec.replicas == 4
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 4
    apps.delete_namespaced_deployment("web", "default")


def test_delete(core):
    core.create_namespaced_pod("default", pod("doomed"))
    deleted = core.delete_namespaced_pod("doomed", "default")
    assert deleted.metadata.name == "doomed"  # pods answer DELETE with the object
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("doomed", "default")
    assert gone.value.status == 404


def test_watch(core):
    listed = core.list_namespaced_pod("default")
    seen: list[tuple[str, str]] = []

    def create_later() -> None:
        time.sleep(0.5)
        core.create_namespaced_pod("default", pod("watched"))
        core.delete_namespaced_pod("watched", "default")

    creator = threading.Thread(target=create_later)
    creator.start()
    stream = watch.Watch()
    start = time.monotonic()
    for event in stream.stream(core.list_namespaced_pod, "default", timeout_seconds=10,
                               resource_version=listed.metadata.resource_version):
        if event["object"].metadata.name != "watched":
            continue  # another test's pod, its status still being written by its kubelet
        seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "DELETED":
            stream.stop()
    creator.join()
    assert seen[0] == ("ADDED", "watched")
    assert seen[-1] == ("DELETED", "watched")
    assert time.monotonic() - start < 9  # events arrived live, not at the timeout


def test_watch_ends_at_its_timeout(core):
    start = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespaced_config_map, "kube-system",
                                       timeout_seconds=1))
    assert 0.9 <= time.monotonic() - start < 5
    assert all(e["type"] == "ADDED" for e in events)


def test_services_and_endpoint_slices(api_client, core):
    kubernetes = core.read_namespaced_service("kubernetes", "default")
    assert (kubernetes.spec.cluster_ip, kubernetes.spec.ports[0].target_port) == ("10.96.0.1",
                                                                                  6443)
    slices = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        "default", label_selector="kubernetes.io/service-name=kubernetes").items
    assert [(s.metadata.name, s.address_type, s.endpoints[0].addresses, s.ports[0].port)
            for s in slices] == [("kubernetes", "IPv4", ["172.18.0.2"], 6443)]
    assert slices[0].endpoints[0].conditions.ready is True
    made = core.create_namespaced_service("default", client.V1Service(
        metadata=client.V1ObjectMeta(name="np"),
        spec=client.V1ServiceSpec(type="NodePort", selector={"app": "web"},
                                  ports=[client.V1ServicePort(port=80)])))
    node_port = made.spec.ports[0].node_port
    assert 30000 <= node_port <= 32767 and made.spec.cluster_ips == [made.spec.cluster_ip]
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_service("default", client.V1Service(
            metadata=client.V1ObjectMeta(name="np2"),
            spec=client.V1ServiceSpec(type="NodePort", ports=[
                client.V1ServicePort(port=80, node_port=node_port)])))
    assert taken.value.status == 422
    assert (f"spec.ports[0].nodePort: Invalid value: {node_port}: provided port is already "
            "allocated") in taken.value.body
    core.delete_namespaced_service("np", "default")
