"""The real kubectl (a v1.32 client) against a served cluster.

Skipped only when kubectl is not installed -- and under CI (``CI`` set) a
missing kubectl fails instead, since the machines running it have one.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import shutil
import subprocess
import textwrap
import threading
import time

import pytest
import yaml

from kubelearn.cluster import Cluster

KUBECTL = shutil.which("kubectl")
if KUBECTL is None:
    if os.environ.get("CI"):
        pytest.fail("kubectl is not on PATH, but CI machines must have it", pytrace=False)
    pytest.skip("kubectl is not installed (these tests drive the real kubectl)",
                allow_module_level=True)

TIMEOUT = 60  # seconds any one kubectl call may take

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  containers:
  - name: nginx
    image: nginx:1.25
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
{containers}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cluster = Cluster(seed=0)
    served = cluster.serve(quiet=True, speed=1,
                           kubeconfig=tmp_path_factory.mktemp("kube") / "config")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def env(server, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "KUBECONFIG": str(server.kubeconfig_path), "HOME": str(home),
            "KUBECACHEDIR": str(home / "cache")}


@pytest.fixture
def kubectl(env, tmp_path):
    """Run kubectl; returns the CompletedProcess (text), never hangs past TIMEOUT."""

    def run(*args: str, stdin: str | None = None, check: bool = True):
        proc = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=TIMEOUT)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}{proc.stderr}")
        return proc

    return run


def manifest(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def container(name: str, image: str, port: int) -> str:
    text = f"- name: {name}\n  image: {image}\n  ports: [{{containerPort: {port}}}]"
    return textwrap.indent(text, " " * 6)


def test_get_nodes_finds_none_yet(kubectl):
    proc = kubectl("get", "nodes")
    assert proc.stdout == ""
    assert proc.stderr.strip() == "No resources found"


def test_version_reports_the_server(kubectl):
    proc = kubectl("version")
    assert "Server Version: v1.32.0-kubelearn" in proc.stdout


def test_create_get_wide_yaml_describe_delete(kubectl, tmp_path):
    created = kubectl("create", "-f", manifest(tmp_path, "pod.yaml", POD.format(name="web")))
    assert created.stdout.strip() == "pod/web created"
    wide = kubectl("get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert wide[1].split()[:4] == ["web", "0/1", "Pending", "0"]
    assert wide[1].split()[5:] == ["<none>"] * 4
    listed = yaml.safe_load(kubectl("get", "pods", "-o", "yaml").stdout)
    assert listed["kind"] == "List"
    pod = listed["items"][0]
    assert (pod["metadata"]["name"], pod["spec"]["containers"][0]["image"]) == ("web",
                                                                              "nginx:1.25")
    assert pod["spec"]["restartPolicy"] == "Always"  # defaulted by the API server
    described = kubectl("describe", "pod", "web").stdout
    assert described.splitlines()[0].split() == ["Name:", "web"]
    fields = dict(line.split(":", 1) for line in described.splitlines()
                  if line[:1].isalpha() and ":" in line)
    assert (fields["Namespace"].strip(), fields["Status"].strip()) == ("default", "Pending")
    assert any(line.startswith("Events:") for line in described.splitlines())
    deleted = kubectl("delete", "pod", "web")
    assert deleted.stdout.strip() == 'pod "web" deleted'
    gone = kubectl("get", "pod", "web", check=False)
    assert gone.returncode == 1
    assert gone.stderr.strip() == 'Error from server (NotFound): pods "web" not found'


def test_apply_creates_then_configures_with_a_strategic_merge(kubectl, tmp_path, server):
    path = manifest(tmp_path, "deploy.yaml", DEPLOYMENT.format(
        replicas=1, containers=container("nginx", "nginx:1.25", 80)))
    first = kubectl("apply", "-f", path)
    assert first.stdout.strip() == "deployment.apps/web created"
    two = container("nginx", "nginx:1.26", 80) + "\n" + container("sidecar", "busybox", 9000)
    manifest(tmp_path, "deploy.yaml", DEPLOYMENT.format(replicas=2, containers=two))
    second = kubectl("apply", "-f", path)
    assert second.stdout.strip() == "deployment.apps/web configured"
    assert "warning" not in second.stderr  # the patch came from our OpenAPI v3 schema
    got = json.loads(kubectl("get", "deployment", "web", "-o", "json").stdout)
    containers = got["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("nginx", "nginx:1.26"),
                                                            ("sidecar", "busybox")]
    assert got["spec"]["replicas"] == 2
    # dropping the sidecar from the file deletes it (the last-applied annotation says it was ours)
    manifest(tmp_path, "deploy.yaml", DEPLOYMENT.format(
        replicas=2, containers=container("nginx", "nginx:1.26", 80)))
    kubectl("apply", "-f", path)
    got = json.loads(kubectl("get", "deployment", "web", "-o", "json").stdout)
    assert [c["name"] for c in got["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    again = kubectl("apply", "-f", path)
    assert again.stdout.strip() == "deployment.apps/web unchanged"


def test_scale_deployment(kubectl, tmp_path):
    kubectl("apply", "-f", manifest(tmp_path, "d.yaml", DEPLOYMENT.format(
        replicas=1, containers=container("nginx", "nginx:1.25", 80))))
    scaled = kubectl("scale", "deployment", "web", "--replicas=3")
    assert scaled.stdout.strip() == "deployment.apps/web scaled"
    replicas = kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").stdout
    assert replicas == "3"
    table = kubectl("get", "deployments").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:2] == ["web", "0/3"]


def test_get_events(kubectl, tmp_path):
    event = textwrap.dedent("""\
        apiVersion: v1
        kind: Event
        metadata: {name: web.17a0, namespace: default}
        involvedObject: {kind: Pod, name: web, namespace: default}
        reason: Scheduled
        message: Successfully assigned default/web to node-1
        type: Normal
        source: {component: default-scheduler}
        count: 1
        firstTimestamp: "2024-01-01T00:00:00Z"
        lastTimestamp: "2024-01-01T00:00:00Z"
        """)
    kubectl("create", "-f", manifest(tmp_path, "event.yaml", event))
    lines = kubectl("get", "events").stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    # (the served cluster also has the earlier tests' deployment and its pending pods)
    rows = [line.split()[1:] for line in lines[1:] if " Scheduled " in line]
    assert rows == [["Normal", "Scheduled", "pod/web", "Successfully", "assigned",
                     "default/web", "to", "node-1"]]


def test_get_pods_watch_streams_new_pods(env, kubectl, tmp_path):
    proc = subprocess.Popen([KUBECTL, "get", "pods", "--watch", "-l", "app=watched"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                              daemon=True)
    reader.start()
    try:
        time.sleep(1.0)  # let it list and start watching
        kubectl("create", "-f", manifest(tmp_path, "w.yaml", POD.format(name="watched")))
        header = lines.get(timeout=20)
        row = lines.get(timeout=20)
        assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert row.split()[:3] == ["watched", "0/1", "Pending"]
        assert proc.poll() is None  # still streaming
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    kubectl("delete", "pod", "watched")


def test_auth_can_i_for_admin_and_a_restricted_user(kubectl, tmp_path, server):
    assert kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"
    with server.lock:
        token = server.cluster.client("jane").token
    rbac = textwrap.dedent("""\
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: pod-reader, namespace: default}
        rules:
        - apiGroups: [""]
          resources: [pods]
          verbs: [get, list, watch]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: jane-reads-pods, namespace: default}
        subjects:
        - {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
        roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
        """)
    kubectl("apply", "-f", manifest(tmp_path, "rbac.yaml", rbac))
    jane = ("--token", token)
    assert kubectl(*jane, "auth", "can-i", "list", "pods").stdout.strip() == "yes"
    denied = kubectl(*jane, "auth", "can-i", "delete", "pods", check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    assert kubectl(*jane, "auth", "can-i", "list", "pods", "-n", "kube-system",
                   check=False).stdout.strip() == "no"
    # the admin may impersonate (kubectl --as); jane may not
    assert kubectl("auth", "can-i", "list", "pods", "--as", "jane").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "delete", "pods", "--as", "jane",
                   check=False).stdout.strip() == "no"
    posing = kubectl(*jane, "get", "pods", "--as", "kubernetes-admin", check=False)
    assert posing.stderr.strip() == (
        'Error from server (Forbidden): users "kubernetes-admin" is forbidden: User "jane" '
        'cannot impersonate resource "users" in API group "" at the cluster scope')
    forbidden = kubectl(*jane, "delete", "pod", "anything", check=False)
    assert forbidden.returncode == 1
    assert forbidden.stderr.strip() == (
        'Error from server (Forbidden): pods "anything" is forbidden: User "jane" cannot '
        'delete resource "pods" in API group "" in the namespace "default"')


def test_create_generators_which_send_protobuf(kubectl):
    """``kubectl create <kind>`` posts protobuf bodies; they arrive as their JSON would."""
    assert kubectl("create", "namespace", "team").stdout.strip() == "namespace/team created"
    made = kubectl("create", "deployment", "gen", "--image=nginx", "--replicas=0",
                   "--port=8080", "-n", "team")
    assert made.stdout.strip() == "deployment.apps/gen created"
    got = json.loads(kubectl("get", "deployment", "gen", "-n", "team", "-o", "json").stdout)
    assert got["spec"]["replicas"] == 0  # a pointer field: zero is kept
    assert got["spec"]["selector"] == {"matchLabels": {"app": "gen"}}
    container = got["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["ports"][0]["containerPort"]) == ("nginx", 8080)
    kubectl("create", "configmap", "settings", "--from-literal=mode=fast", "-n", "team")
    kubectl("create", "secret", "generic", "pw", "--from-literal=pw=hunter2", "-n", "team")
    secret = json.loads(kubectl("get", "secret", "pw", "-n", "team", "-o", "json").stdout)
    assert secret["data"] == {"pw": "aHVudGVyMg=="}  # base64, as JSON carries bytes
    kubectl("create", "serviceaccount", "bot", "-n", "team")
    kubectl("create", "role", "reader", "--verb=get,list", "--resource=pods", "-n", "team")
    kubectl("create", "rolebinding", "bot-reads", "--role=reader",
            "--serviceaccount=team:bot", "-n", "team")
    bot = "system:serviceaccount:team:bot"
    assert kubectl("auth", "can-i", "list", "pods", "-n", "team", "--as", bot,
                   ).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "list", "pods", "-n", "default", "--as", bot,
                   check=False).stdout.strip() == "no"


def test_invalid_pod_gets_upstreams_message(kubectl, tmp_path):
    bad = POD.format(name="bad").replace("name: nginx", "name: Bad_Name")
    proc = kubectl("create", "-f", manifest(tmp_path, "bad.yaml", bad), check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        'The Pod "bad" is invalid: spec.containers[0].name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters")


def test_wrong_token_is_unauthorized(kubectl):
    proc = kubectl("--token", "not-a-real-token", "get", "pods", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("error: You must be logged in to the server "
                                        "(Unauthorized)")


def test_server_side_apply_is_refused_clearly(kubectl, tmp_path):
    proc = kubectl("apply", "--server-side", "-f",
                   manifest(tmp_path, "ssa.yaml", POD.format(name="ssa")), check=False)
    assert proc.returncode == 1
    assert "Server-side apply not available on the server" in proc.stderr


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory):
    """A second served cluster with 3 nodes and a fast clock: pods start, rollouts finish."""
    served = Cluster(seed=0, nodes=3).serve(
        quiet=True, speed=20, kubeconfig=tmp_path_factory.mktemp("kube3") / "config")
    home = tmp_path_factory.mktemp("home3")
    yield served, {**os.environ, "KUBECONFIG": str(served.kubeconfig_path), "HOME": str(home),
                   "KUBECACHEDIR": str(home / "cache")}
    served.stop()


def test_rollout_status_history_and_undo_with_the_real_kubectl(cluster_env):
    served, env = cluster_env

    def kubectl(*args: str, check: bool = True) -> str:
        proc = subprocess.run([KUBECTL, *args], capture_output=True, text=True,
                              env=env, timeout=TIMEOUT)
        if check:
            assert proc.returncode == 0, f"kubectl {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=4")
    assert 'deployment "web" successfully rolled out' in kubectl(
        "rollout", "status", "deployment/web", "--timeout=50s")
    kubectl("set", "image", "deployment/web", "nginx=nginx:1.28")
    assert 'deployment "web" successfully rolled out' in kubectl(
        "rollout", "status", "deployment/web", "--timeout=50s")
    history = kubectl("rollout", "history", "deployment/web").splitlines()
    assert [line.split()[0] for line in history[2:] if line.strip()] == ["1", "2"]
    assert kubectl("rollout", "undo", "deployment/web").strip() == "deployment.apps/web rolled back"
    kubectl("rollout", "status", "deployment/web", "--timeout=50s")
    images = kubectl("get", "rs", "-o",
                     "jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}="
                     "{.status.replicas} {end}").split()
    assert sorted(images) == ["nginx:1.27=4", "nginx:1.28=0"]
    # The Service's endpoints come from the Endpoints and EndpointSlice controllers.
    kubectl("expose", "deployment", "web", "--port=80")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the controllers may not have written them yet
        addresses = kubectl("get", "endpoints", "web", "-o",
                            "jsonpath={.subsets[*].addresses[*].ip}", check=False).split()
        slices = kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
                         "jsonpath={.items[*].endpoints[*].addresses[0]}").split()
        if len(addresses) == 4 and sorted(slices) == sorted(addresses):
            break
        time.sleep(0.5)
    assert len(addresses) == 4
    assert sorted(slices) == sorted(addresses)
    # ...and every node's kube-proxy turns them into rules: the ClusterIP kubectl shows,
    # DNATed to the four pods, once its next sync has landed.
    cluster_ip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with served.lock:
            rules = {name: proxy.rules().save() for name, proxy in served.cluster.proxies.items()}
        if all(f"-d {cluster_ip} --dport 80 -j KUBE-SVC-" in text and
               all(f"--to-destination {ip}:80" in text for ip in addresses)
               for text in rules.values()):
            break
        time.sleep(0.5)
    assert len(rules) == 3
    for text in rules.values():
        assert f'"default/web cluster IP" -m tcp -p tcp -d {cluster_ip} --dport 80' in text
        assert sorted(ip for ip in addresses if f"--to-destination {ip}:80" in text) == \
            sorted(addresses)


def test_services_endpointslices_and_the_kubernetes_service(kubectl, server):
    """ClusterIPs and NodePorts from the allocators; the kubernetes Service's endpoint is the
    API server's address, written by its endpoint reconciler."""
    lines = [line.split() for line in kubectl("get", "svc,endpointslices", "-o", "wide",
                                              "-n", "default").stdout.splitlines()]
    assert ["service/kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"] in \
        [line[:5] for line in lines]
    assert ["endpointslice.discovery.k8s.io/kubernetes", "IPv4", "6443", "172.18.0.2"] in \
        [line[:4] for line in lines]
    assert kubectl("get", "endpoints", "kubernetes", "-o",
                   "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}"
                   ).stdout == "172.18.0.2:6443"
    assert kubectl("create", "service", "nodeport", "svc-np", "--tcp=80").stdout.strip() == \
        "service/svc-np created"
    spec = json.loads(kubectl("get", "svc", "svc-np", "-o", "json").stdout)["spec"]
    node_port = spec["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    assert ipaddress.ip_address(spec["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")
    row = kubectl("get", "svc", "svc-np", "--no-headers").stdout.split()
    assert row[:5] == ["svc-np", "NodePort", spec["clusterIP"], "<none>", f"80:{node_port}/TCP"]
    described = kubectl("describe", "svc", "svc-np").stdout
    with server.cluster.lock:  # kubelearn's describe prints what kubectl's own describer does
        assert server.cluster.describe("service", "svc-np") == described
    # A taken address or port: upstream's 422, as kubectl prints it
    taken_ip = kubectl("create", "service", "clusterip", "svc-dup", "--tcp=80",
                       "--clusterip=10.96.0.1", check=False)
    assert taken_ip.returncode == 1
    assert taken_ip.stderr.strip() == (
        'error: failed to create ClusterIP service: Service "svc-dup" is invalid: '
        'spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: failed to allocate IP 10.96.0.1: '
        "provided IP is already allocated")
    taken_port = kubectl("create", "service", "nodeport", "svc-dup", "--tcp=80",
                         f"--node-port={node_port}", check=False)
    assert taken_port.stderr.strip() == (
        'error: failed to create NodePort service: Service "svc-dup" is invalid: '
        f"spec.ports[0].nodePort: Invalid value: {node_port}: provided port is already "
        "allocated")
    kubectl("delete", "svc", "svc-np")
    # the port is free again
    kubectl("create", "service", "nodeport", "svc-np2", "--tcp=80", f"--node-port={node_port}")
    kubectl("delete", "svc", "svc-np2")


def test_expose_gets_a_cluster_ip(kubectl):
    kubectl("create", "deployment", "exposed", "--image=nginx", "--replicas=0")
    assert kubectl("expose", "deployment", "exposed", "--port", "80").stdout.strip() == \
        "service/exposed exposed"
    ip = kubectl("get", "svc", "exposed", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
    assert ip != "10.96.0.1"
    kubectl("delete", "svc", "exposed")
    kubectl("delete", "deployment", "exposed")


def test_secrets_from_literals_and_string_data_read_back_as_data(kubectl, tmp_path):
    """create secret generic --from-literal, and apply of stringData: get -o yaml shows data."""
    kubectl("create", "secret", "generic", "literal", "--from-literal=password=hunter2",
            "--from-literal=user=admin")
    literal = yaml.safe_load(kubectl("get", "secret", "literal", "-o", "yaml").stdout)
    assert literal["data"] == {"password": "aHVudGVyMg==", "user": "YWRtaW4="}
    assert literal["type"] == "Opaque" and "stringData" not in literal
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: applied}\nstringData: {token: s3cret}\n"
    kubectl("apply", "-f", manifest(tmp_path, "secret.yaml", text))
    applied = yaml.safe_load(kubectl("get", "secret", "applied", "-o", "yaml").stdout)
    assert applied["data"] == {"token": "czNjcmV0"} and "stringData" not in applied
    kubectl("apply", "-f", manifest(tmp_path, "secret.yaml",
                                    text.replace("s3cret", "changed")))  # a three-way patch
    assert kubectl("get", "secret", "applied", "-o", "jsonpath={.data.token}").stdout == \
        "Y2hhbmdlZA=="
    bad = kubectl("apply", "-f", manifest(tmp_path, "bad.yaml", text.replace(
        "applied", "bad").replace("token:", "bad key:")), check=False)  # the server's check
    assert bad.returncode == 1
    assert bad.stderr.startswith('The Secret "bad" is invalid: data[bad key]: Invalid value: '
                                 '"bad key": a valid config key must consist of')
    kubectl("delete", "secret", "literal", "applied")
