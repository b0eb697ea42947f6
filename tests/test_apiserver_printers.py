"""Server-side printing: Table columns and the exact cells kubectl shows, at a fixed now."""

from datetime import timedelta

import pytest

from kubelearn.apiserver.printers import (
    columns_for,
    frame,
    human_duration,
    pod_ready,
    pod_restarts,
    pod_status,
    short_human_duration,
    table,
)

NOW = "2024-01-01T01:00:00Z"
T0 = "2024-01-01T00:00:00Z"  # an hour before NOW


def cells(resource, obj, now=NOW):
    return table(resource, [obj], now=now)["rows"][0]["cells"]


def header(resource):
    return [c["name"] for c in columns_for(resource)]


# -- durations (apimachinery util/duration, duration_test.go) -------------------------------------


@pytest.mark.parametrize("seconds,want", [
    (1, "1s"), (70, "70s"), (119, "119s"), (190, "3m10s"), (600, "10m"), (70 * 60, "70m"),
    (3 * 3600 + 20 * 60, "3h20m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (49 * 3600, "2d1h"),
    ((8 * 24 + 2) * 3600, "8d"), (367 * 24 * 3600, "367d"),
    ((365 * 2 * 24 + 25) * 3600, "2y1d"), ((365 * 8 * 24 + 2) * 3600, "8y"),
    (-1.5, "0s"), (-2, "<invalid>"), (0.9, "0s"),
])
def test_human_duration(seconds, want):
    assert human_duration(seconds) == want


@pytest.mark.parametrize("seconds,want", [
    (59, "59s"), (61, "1m"), (3599, "59m"), (3600 * 23, "23h"), (3600 * 49, "2d"),
    (3600 * 24 * 400, "1y"), (-5, "<invalid>"),
])
def test_short_human_duration(seconds, want):
    assert short_human_duration(timedelta(seconds=seconds)) == want


# -- pods -----------------------------------------------------------------------------------------


def pod(name="web-0", phase="Running", statuses=None, **extra):
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default", "creationTimestamp": T0},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}], "nodeName": "node-1"},
           "status": {"phase": phase, "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
                      "containerStatuses": statuses or []}}
    for key, value in extra.items():
        section, _, field = key.partition("__")
        obj[section][field] = value
    return obj


RUNNING = {"name": "app", "ready": True, "restartCount": 0,
           "state": {"running": {"startedAt": T0}}}


def test_pod_columns_and_priorities():
    assert header("pods") == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node",
                              "Nominated Node", "Readiness Gates"]
    assert [c["priority"] for c in columns_for("pods")] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert columns_for("pods")[0]["format"] == "name"


def test_running_pod_row():
    assert cells("pods", pod(statuses=[RUNNING])) == [
        "web-0", "1/1", "Running", "0", "60m", "10.244.1.5", "node-1", "<none>", "<none>"]


def test_restarts_show_when_the_last_one_was():
    crashing = {"name": "app", "ready": False, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                             "finishedAt": "2024-01-01T00:58:00Z"}}}
    row = cells("pods", pod(statuses=[crashing]))
    assert row[1:4] == ["0/1", "CrashLoopBackOff", "3 (2m ago)"]
    assert pod_status(pod(statuses=[crashing])) == "CrashLoopBackOff"
    assert pod_restarts(pod(statuses=[crashing]), NOW) == "3 (2m ago)"


def test_pending_pod_without_statuses_and_unscheduled():
    p = pod(phase="Pending")
    p["spec"].pop("nodeName")
    p["status"] = {"phase": "Pending"}
    assert cells("pods", p) == ["web-0", "0/1", "Pending", "0", "60m", "<none>", "<none>",
                                "<none>", "<none>"]


def test_container_creating_and_image_pull_backoff():
    creating = {"name": "app", "ready": False, "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}}}
    assert pod_status(pod(phase="Pending", statuses=[creating])) == "ContainerCreating"
    backoff = dict(creating, state={"waiting": {"reason": "ImagePullBackOff"}})
    assert pod_status(pod(phase="Pending", statuses=[backoff])) == "ImagePullBackOff"


def test_completed_pod_has_a_completed_row_condition():
    done = {"name": "app", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    tbl = table("pods", [pod(phase="Succeeded", statuses=[done])], now=NOW)
    row = tbl["rows"][0]
    assert row["cells"][1:3] == ["0/1", "Completed"]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                  "message": "The pod has completed successfully."}]


def test_exit_code_and_signal_without_reason():
    exit_code = {"name": "app", "state": {"terminated": {"exitCode": 137}}}
    signal = {"name": "app", "state": {"terminated": {"exitCode": 0, "signal": 9}}}
    assert pod_status(pod(phase="Failed", statuses=[exit_code])) == "ExitCode:137"
    assert pod_status(pod(phase="Failed", statuses=[signal])) == "Signal:9"


def test_deleted_pod_is_terminating_and_lost_node_unknown():
    p = pod(statuses=[RUNNING])
    p["metadata"]["deletionTimestamp"] = "2024-01-01T01:00:30Z"
    assert pod_status(p) == "Terminating"
    p["status"]["reason"] = "NodeLost"
    assert pod_status(p) == "Unknown"


def test_init_containers():
    p = pod(phase="Pending")
    p["spec"]["initContainers"] = [{"name": "migrate", "image": "busybox"},
                                   {"name": "seed", "image": "busybox"}]
    p["status"]["initContainerStatuses"] = [
        {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "seed", "state": {"running": {"startedAt": T0}}}]
    assert pod_status(p) == "Init:1/2"
    p["status"]["initContainerStatuses"][1] = {
        "name": "seed", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    assert pod_status(p) == "Init:CrashLoopBackOff"
    p["status"]["initContainerStatuses"][1] = {
        "name": "seed", "state": {"terminated": {"exitCode": 2}}}
    assert pod_status(p) == "Init:ExitCode:2"


def test_sidecar_counts_as_a_container():
    p = pod(statuses=[RUNNING])
    p["spec"]["initContainers"] = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    p["status"]["initContainerStatuses"] = [
        {"name": "proxy", "ready": True, "started": True, "restartCount": 1,
         "state": {"running": {"startedAt": T0}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-01-01T00:30:00Z"}}}]
    p["status"]["conditions"] = [{"type": "Initialized", "status": "True"}]
    assert pod_ready(p) == "2/2"
    assert pod_restarts(p, NOW) == "1 (30m ago)"


def test_readiness_gates_and_nominated_node():
    p = pod(statuses=[RUNNING])
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"},
                                   {"conditionType": "example.com/dns"}]
    p["status"]["conditions"] = [{"type": "example.com/lb", "status": "True"}]
    p["status"]["nominatedNodeName"] = "node-2"
    assert cells("pods", p)[7:] == ["node-2", "1/2"]


# -- nodes ----------------------------------------------------------------------------------------


def node(name="node-1", ready="True", **labels):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "creationTimestamp": "2023-12-30T00:00:00Z",
                         "labels": labels},
            "spec": {},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready}],
                       "addresses": [{"type": "InternalIP", "address": "192.168.49.2"},
                                     {"type": "Hostname", "address": name}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0",
                                    "osImage": "Ubuntu 22.04.4 LTS",
                                    "kernelVersion": "6.8.0", "containerRuntimeVersion":
                                    "containerd://1.7.22"}}}


def test_node_row():
    assert header("nodes")[:5] == ["Name", "Status", "Roles", "Age", "Version"]
    assert cells("nodes", node()) == ["node-1", "Ready", "<none>", "2d1h", "v1.32.0",
                                      "192.168.49.2", "<none>", "Ubuntu 22.04.4 LTS", "6.8.0",
                                      "containerd://1.7.22"]


def test_node_roles_status_and_unknown():
    n = node(ready="False", **{"node-role.kubernetes.io/control-plane": "",
                               "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "etcd"})
    n["spec"]["unschedulable"] = True
    row = cells("nodes", n)
    assert row[1:3] == ["NotReady,SchedulingDisabled", "control-plane,etcd,worker"]
    n["status"] = {}
    assert cells("nodes", n)[1] == "Unknown,SchedulingDisabled"
    assert cells("nodes", n)[7:] == ["<unknown>", "<unknown>", "<unknown>"]


# -- services and endpoints -----------------------------------------------------------------------


def service(kind="ClusterIP", ports=None, **spec):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": T0},
            "spec": {"type": kind, "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"],
                     "ports": ports if ports is not None else
                     [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
                     "selector": {"app": "web"}, **spec},
            "status": {"loadBalancer": {}}}


def test_service_rows():
    assert header("services") == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age",
                                  "Selector"]
    assert cells("services", service()) == ["web", "ClusterIP", "10.96.0.12", "<none>", "80/TCP",
                                            "60m", "app=web"]
    node_port = service("NodePort", [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                     {"port": 443, "nodePort": 30443, "protocol": "TCP"}])
    assert cells("services", node_port)[3:5] == ["<none>", "80:30080/TCP,443:30443/TCP"]
    lb = service("LoadBalancer")
    assert cells("services", lb)[3] == "<pending>"
    lb["status"]["loadBalancer"] = {"ingress": [{"ip": "203.0.113.7"}]}
    assert cells("services", lb)[3] == "203.0.113.7"
    headless = service(ports=[], selector={})
    headless["spec"]["clusterIP"], headless["spec"]["clusterIPs"] = "None", ["None"]
    assert cells("services", headless)[2:5] == ["None", "<none>", "<none>"]
    assert cells("services", headless)[6] == "<none>"
    external = service("ExternalName", externalName="db.example.com")
    assert cells("services", external)[3] == "db.example.com"


def test_endpoints_show_three_and_count_the_rest():
    ep = {"kind": "Endpoints", "metadata": {"name": "web", "creationTimestamp": T0},
          "subsets": [{"addresses": [{"ip": f"10.244.1.{i}"} for i in range(1, 6)],
                       "ports": [{"port": 8080, "protocol": "TCP"}]}]}
    assert cells("endpoints", ep) == [
        "web", "10.244.1.1:8080,10.244.1.2:8080,10.244.1.3:8080 + 2 more...", "60m"]
    ep["subsets"] = []
    assert cells("endpoints", ep)[1] == "<none>"


def test_endpoint_slice_row():
    eps = {"kind": "EndpointSlice", "metadata": {"name": "web-abc12", "creationTimestamp": T0},
           "addressType": "IPv4", "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
           "endpoints": [{"addresses": ["10.244.1.5"]}, {"addresses": ["10.244.2.7"]}]}
    assert header("endpointslices") == ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    assert cells("endpointslices", eps) == ["web-abc12", "IPv4", "8080",
                                            "10.244.1.5,10.244.2.7", "60m"]
    eps["endpoints"], eps["ports"] = [], []
    assert cells("endpointslices", eps)[2:4] == ["<unset>", "<unset>"]


# -- workloads ------------------------------------------------------------------------------------


TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"},
                                    {"name": "log", "image": "busybox"}]}}


def test_deployment_row():
    d = {"kind": "Deployment", "metadata": {"name": "web", "creationTimestamp": T0},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                  "template": TEMPLATE},
         "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3,
                    "availableReplicas": 2}}
    assert header("deployments") == ["Name", "Ready", "Up-to-date", "Available", "Age",
                                     "Containers", "Images", "Selector"]
    assert cells("deployments", d) == ["web", "2/3", 3, 2, "60m", "app,log", "nginx:1.27,busybox",
                                       "app=web"]


def test_replica_set_row():
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-5d8f", "creationTimestamp": T0},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web",
                                                               "pod-template-hash": "5d8f"}},
                   "template": TEMPLATE},
          "status": {"replicas": 3, "readyReplicas": 1}}
    assert cells("replicasets", rs) == ["web-5d8f", 3, 3, 1, "60m", "app,log",
                                        "nginx:1.27,busybox", "app=web,pod-template-hash=5d8f"]
    assert [c["type"] for c in columns_for("replicasets")][1:4] == ["integer"] * 3


# -- the rest -------------------------------------------------------------------------------------


def test_namespace_configmap_serviceaccount_lease_rows():
    ns = {"kind": "Namespace", "metadata": {"name": "dev", "creationTimestamp": T0},
          "status": {"phase": "Active"}}
    assert cells("namespaces", ns) == ["dev", "Active", "60m"]
    cm = {"kind": "ConfigMap", "metadata": {"name": "cfg", "creationTimestamp": T0},
          "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("configmaps", cm) == ["cfg", 3, "60m"]
    sa = {"kind": "ServiceAccount", "metadata": {"name": "default", "creationTimestamp": T0}}
    assert cells("serviceaccounts", sa) == ["default", 0, "60m"]
    lease = {"kind": "Lease", "metadata": {"name": "node-1", "creationTimestamp": T0},
             "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    assert header("leases") == ["Name", "Holder", "Age"]
    assert cells("leases", lease) == ["node-1", "node-1", "60m"]


def test_event_row():
    event = {"kind": "Event", "metadata": {"name": "web-0.17a", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default",
                                "fieldPath": "spec.containers{app}"},
             "reason": "Pulled", "type": "Normal", "count": 2,
             "message": "  Container image \"nginx:1.27\" already present on machine\n",
             "source": {"component": "kubelet", "host": "node-1"},
             "firstTimestamp": "2024-01-01T00:50:00Z", "lastTimestamp": "2024-01-01T00:59:55Z"}
    assert header("events") == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source",
                                "Message", "First Seen", "Count", "Name"]
    assert cells("events", event) == [
        "5s", "Normal", "Pulled", "pod/web-0", "spec.containers{app}", "kubelet, node-1",
        "Container image \"nginx:1.27\" already present on machine", "10m", 2, "web-0.17a"]
    new_style = {"kind": "Event", "metadata": {"name": "e"}, "reason": "Scheduled",
                 "type": "Normal", "involvedObject": {"kind": "Pod", "name": "web-0"},
                 "eventTime": "2024-01-01T00:59:00.123456Z", "reportingController":
                 "default-scheduler", "message": "Successfully assigned default/web-0 to node-1"}
    row = cells("events", new_style)
    # 59.876s ago: Go truncates to whole seconds
    assert row[0] == "59s" and row[5] == "default-scheduler" and row[8] == 1


def test_bindings_show_the_role_and_the_subjects_when_wide():
    binding = {"kind": "RoleBinding", "metadata": {"name": "read", "creationTimestamp": T0},
               "roleRef": {"kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                            {"kind": "Group", "name": "devs"},
                            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]}
    assert cells("rolebindings", binding) == ["read", "ClusterRole/view", "60m", "alice, bob",
                                              "devs", "tools/ci"]


def test_roles_get_the_default_name_and_created_at():
    role = {"kind": "ClusterRole", "metadata": {"name": "view",
                                                "creationTimestamp": "2024-01-01T00:00:05Z"}}
    tbl = table("clusterroles", [role], now=NOW)
    assert [(c["name"], c["type"]) for c in tbl["columnDefinitions"]] == [
        ("Name", "string"), ("Created At", "date")]
    assert tbl["rows"][0]["cells"] == ["view", "2024-01-01T00:00:05Z"]
    assert cells("roles", {"metadata": {"name": "r"}}) == ["r", "0001-01-01T00:00:00Z"]


def test_missing_creation_timestamp_is_unknown_age():
    assert cells("namespaces", {"metadata": {"name": "x"}})[2] == "<unknown>"


# -- the Table and the DataFrame ------------------------------------------------------------------


def test_table_shape_and_include_object():
    p = pod(statuses=[RUNNING])
    tbl = table("pods", [p], now=NOW, resource_version="42")
    assert tbl["kind"] == "Table" and tbl["apiVersion"] == "meta.k8s.io/v1"
    assert tbl["metadata"] == {"resourceVersion": "42"}
    assert set(tbl["columnDefinitions"][0]) == {"name", "type", "format", "description",
                                                "priority"}
    assert tbl["rows"][0]["object"] is p and "conditions" not in tbl["rows"][0]
    meta = table("pods", [p], now=NOW, include_object="Metadata")["rows"][0]["object"]
    assert meta["kind"] == "PartialObjectMetadata" and meta["metadata"]["name"] == "web-0"
    assert "object" not in table("pods", [p], now=NOW, include_object="None")["rows"][0]
    assert table("deployments.apps", [], now=NOW)["columnDefinitions"][1]["name"] == "Ready"


def test_bad_now_is_refused():
    with pytest.raises(ValueError):
        table("pods", [], now="yesterday")


def test_frame_shows_kubectls_columns_and_wide_ones_on_request():
    pods = [pod("web-0", statuses=[RUNNING]), pod("web-1", phase="Pending")]
    tbl = table("pods", pods, now=NOW)
    df = frame(tbl)
    assert list(df.columns) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert df.to_dict("records")[0] == {"NAME": "web-0", "READY": "1/1", "STATUS": "Running",
                                        "RESTARTS": "0", "AGE": "60m"}
    assert list(df["STATUS"]) == ["Running", "Pending"]
    wide = frame(tbl, wide=True)
    assert list(wide.columns)[5:] == ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    namespaced = frame(tbl, namespace=True)
    assert list(namespaced.columns)[:2] == ["NAMESPACE", "NAME"]
    assert list(namespaced["NAMESPACE"]) == ["default", "default"]
    empty = frame(table("events", [], now=NOW))
    assert list(empty.columns) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert len(empty) == 0
