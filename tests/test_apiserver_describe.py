"""kubectl describe: exact text, laid out as kubectl lays it out.

The expected texts below are real ``kubectl describe`` outputs (as users have
posted them), rebuilt from equivalent objects, and agree with the kubectl v1.32
installed here run against ``cluster.serve()``.
"""

import pytest

from kubelearn.apiserver.describe import (
    PrefixWriter,
    compact_rules,
    describe,
    events_for,
    go_value,
    pod_qos_class,
    rfc1123z,
    smart_label,
    tabwrite,
)

# -- Go's tabwriter -------------------------------------------------------------------------------


def test_tabwrite_aligns_blocks_of_consecutive_lines():
    text = "Name:\tweb\nNamespace:\tdefault\nIPs:\n  IP:\t10.0.0.1\nControlled By:\tReplicaSet/x\n"
    assert tabwrite(text) == ("Name:       web\n"
                              "Namespace:  default\n"
                              "IPs:\n"
                              "  IP:           10.0.0.1\n"
                              "Controlled By:  ReplicaSet/x\n")


def test_tabwrite_nested_columns_and_trailing_cells():
    text = "a\tbb\tc\naaaa\tb\t\nx\n"
    # column 0 spans both lines (width 4+2); column 1 too (width 2+2); the text
    # after the last tab is never padded, an empty cell before a tab is.
    assert tabwrite(text) == "a     bb  c\naaaa  b   \nx\n"


def test_prefix_writer_levels_flush_and_escapes():
    w = PrefixWriter()
    w.write(0, "Key:\tvalue\n")
    w.write(1, "Longer key:\tv\n")
    w.flush()
    w.write(0, "K:\t\x1b[31mred\r\n")
    w.write_line("done", 1)
    assert w.text() == ("Key:           value\n"
                        "  Longer key:  v\n"
                        "K:  ^[[31mred\\r\n"
                        "done 1\n")


def test_go_formatting_helpers():
    assert rfc1123z("2024-01-06T13:04:05Z") == "Sat, 06 Jan 2024 13:04:05 +0000"
    assert rfc1123z(None) == "Mon, 01 Jan 0001 00:00:00 +0000"
    assert [go_value(v) for v in (1, 0.5, 1e6, 123456.0, 1e-5, True, None, ["a", 2])] == [
        "1", "0.5", "1e+06", "123456", "1e-05", "true", "<nil>", "[a 2]"]
    assert [smart_label(f) for f in ("apiVersion", "podIP", "holderIdentity", "renew_time",
                                     "metadata", "HTTPGet")] == [
        "API Version", "Pod IP", "Holder Identity", "renew_time", "Metadata", "HTTPGet"]


# -- pods -----------------------------------------------------------------------------------------

POD_NAME = "nginx-56466f869b-f5sgg"
POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": POD_NAME, "namespace": "default", "uid": "u-pod",
                 "creationTimestamp": "2025-11-24T14:38:46Z",
                 "labels": {"app": "nginx", "pod-template-hash": "56466f869b"},
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                      "name": "nginx-56466f869b", "uid": "u-rs",
                                      "controller": True}]},
    "spec": {"serviceAccountName": "default", "nodeName": "kodekloud-control-plane",
             "priority": 0,
             "containers": [{"name": "nginx", "image": "nginx:latest", "volumeMounts": [
                 {"name": "kube-api-access-ggzsw", "readOnly": True,
                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
             "volumes": [{"name": "kube-api-access-ggzsw", "projected": {"sources": [
                 {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                 {"configMap": {"name": "kube-root-ca.crt"}},
                 {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                     "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
             "tolerations": [
                 {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                  "effect": "NoExecute", "tolerationSeconds": 300},
                 {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                  "effect": "NoExecute", "tolerationSeconds": 300}]},
    "status": {"phase": "Running", "hostIP": "172.17.0.2", "podIP": "10.244.0.5",
               "podIPs": [{"ip": "10.244.0.5"}], "startTime": "2025-11-24T14:38:46Z",
               "conditions": [{"type": "Initialized", "status": "True"},
                              {"type": "Ready", "status": "True"},
                              {"type": "ContainersReady", "status": "True"},
                              {"type": "PodScheduled", "status": "True"}],
               "containerStatuses": [{
                   "name": "nginx", "ready": True, "restartCount": 0, "image": "nginx:latest",
                   "imageID": "docker.io/library/nginx@sha256:553f64aecdc31b5b",
                   "containerID": "containerd://4d1ddeb64a0ae5f0",
                   "state": {"running": {"startedAt": "2025-11-24T14:38:48Z"}}}]}}


def pod_event(reason, message, component, when, *, count=1, last=None, kind="Pod",
              name=POD_NAME, type="Normal"):
    return {"kind": "Event", "metadata": {"name": f"{name}.{reason}", "namespace": "default"},
            "involvedObject": {"kind": kind, "name": name, "namespace": "default"},
            "reason": reason, "message": message, "source": {"component": component},
            "type": type, "firstTimestamp": when, "lastTimestamp": last or when, "count": count}


POD_EVENTS = [
    pod_event("Scheduled", f"Successfully assigned default/{POD_NAME} to kodekloud-control-plane",
              "default-scheduler", "2025-11-24T14:38:46Z"),
    pod_event("Pulling", 'Pulling image "nginx:latest"', "kubelet", "2025-11-24T14:38:46Z"),
    pod_event("Started", "Started container nginx", "kubelet", "2025-11-24T14:38:47Z"),
]

POD_TEXT = """\
Name:             nginx-56466f869b-f5sgg
Namespace:        default
Priority:         0
Service Account:  default
Node:             kodekloud-control-plane/172.17.0.2
Start Time:       Mon, 24 Nov 2025 14:38:46 +0000
Labels:           app=nginx
                  pod-template-hash=56466f869b
Annotations:      <none>
Status:           Running
IP:               10.244.0.5
IPs:
  IP:           10.244.0.5
Controlled By:  ReplicaSet/nginx-56466f869b
Containers:
  nginx:
    Container ID:   containerd://4d1ddeb64a0ae5f0
    Image:          nginx:latest
    Image ID:       docker.io/library/nginx@sha256:553f64aecdc31b5b
    Port:           <none>
    Host Port:      <none>
    State:          Running
      Started:      Mon, 24 Nov 2025 14:38:48 +0000
    Ready:          True
    Restart Count:  0
    Environment:    <none>
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-ggzsw (ro)
Conditions:
  Type              Status
  Initialized       True 
  Ready             True 
  ContainersReady   True 
  PodScheduled      True 
Volumes:
  kube-api-access-ggzsw:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    ConfigMapOptional:       <nil>
    DownwardAPI:             true
QoS Class:                   BestEffort
Node-Selectors:              <none>
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  29s   default-scheduler  Successfully assigned default/nginx-56466f869b-f5sgg to kodekloud-control-plane
  Normal  Pulling    29s   kubelet            Pulling image "nginx:latest"
  Normal  Started    28s   kubelet            Started container nginx
"""  # noqa: E501, W291


def test_describe_pod_matches_kubectl():
    assert describe(POD, POD_EVENTS, now="2025-11-24T14:39:15Z") == POD_TEXT


def test_events_none_and_omitted():
    text = describe(POD, [], now="2025-11-24T14:39:15Z")
    assert text.endswith("Events:                      <none>\n")
    assert "Events" not in describe(POD, None, now="2025-11-24T14:39:15Z")


def test_event_repeats_and_warnings():
    """kubectl v1.32 shows neither the fieldPath nor the Source host in describe's events."""
    events = [pod_event("BackOff", "Back-off restarting failed container", "kubelet",
                        "2025-11-24T14:30:00Z", count=4, last="2025-11-24T14:39:00Z",
                        type="Warning"),
              pod_event("Pulled", "Container image already present", "kubelet",
                        "2025-11-24T14:29:00Z")]
    events[1]["involvedObject"]["fieldPath"] = "spec.containers{nginx}"
    tail = describe(POD, events, now="2025-11-24T14:39:15Z").split("Events:\n")[1]
    assert tail == (
        "  Type     Reason   Age                  From     Message\n"
        "  ----     ------   ----                 ----     -------\n"
        "  Normal   Pulled   10m                  kubelet  Container image already present\n"
        "  Warning  BackOff  15s (x4 over 9m15s)  kubelet  Back-off restarting failed container\n")


def test_terminating_pod_and_container_details():
    """The deletion is 20s ahead of now: HumanDuration says <invalid>, as kubectl does."""
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "dev",
                                       "deletionTimestamp": "2024-01-01T00:00:30Z",
                                       "deletionGracePeriodSeconds": 30},
           "spec": {"containers": [{
               "name": "app", "image": "app:1",
               "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"},
                         {"containerPort": 9090, "protocol": "TCP"}],
               "command": ["sh", "-c"], "args": ["serve --port 8080"],
               "resources": {"limits": {"memory": "1Gi", "cpu": "1"},
                             "requests": {"cpu": "0.5", "memory": "1Gi"}},
               "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                                 "timeoutSeconds": 1, "periodSeconds": 10,
                                 "successThreshold": 1, "failureThreshold": 3},
               "env": [{"name": "MODE", "value": "prod"},
                       {"name": "POD", "valueFrom": {"fieldRef": {
                           "apiVersion": "v1", "fieldPath": "metadata.name"}}},
                       {"name": "PASS", "valueFrom": {"secretKeyRef": {
                           "name": "db", "key": "password"}}}]}]},
           "status": {"phase": "Running", "containerStatuses": [{
               "name": "app", "ready": False, "restartCount": 2,
               "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                            "startedAt": "2024-01-01T00:00:01Z",
                                            "finishedAt": "2024-01-01T00:00:02Z"}}}]}}
    assert describe(pod, None, now="2024-01-01T00:00:10Z") == TERMINATING_TEXT


TERMINATING_TEXT = """\
Name:                      web
Namespace:                 dev
Node:                      <none>
Labels:                    <none>
Annotations:               <none>
Status:                    Terminating (lasts <invalid>)
Termination Grace Period:  30s
IP:                        
IPs:                       <none>
Containers:
  app:
    Container ID:  
    Image:         app:1
    Image ID:      
    Ports:         8080/TCP, 9090/TCP
    Host Ports:    0/TCP, 0/TCP
    Command:
      sh
      -c
    Args:
      serve --port 8080
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      Mon, 01 Jan 2024 00:00:01 +0000
      Finished:     Mon, 01 Jan 2024 00:00:02 +0000
    Ready:          False
    Restart Count:  2
    Limits:
      cpu:     1
      memory:  1Gi
    Requests:
      cpu:     500m
      memory:  1Gi
    Liveness:  http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:      prod
      POD:       web (v1:metadata.name)
      PASS:      <set to the key 'password' in secret 'db'>  Optional: false
    Mounts:      <none>
Volumes:         <none>
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     <none>
"""  # noqa: W291 (kubectl pads empty cells too)


def test_qos_classes():
    def with_resources(**resources):
        return {"spec": {"containers": [{"name": "a", "resources": resources}]}}
    assert pod_qos_class(with_resources()) == "BestEffort"
    assert pod_qos_class(with_resources(requests={"cpu": "100m"})) == "Burstable"
    assert pod_qos_class(with_resources(limits={"cpu": "1", "memory": "1Gi"},
                                        requests={"cpu": "1", "memory": "1Gi"})) == "Guaranteed"
    assert pod_qos_class(with_resources(limits={"cpu": "1", "memory": "1Gi"},
                                        requests={"cpu": "500m", "memory": "1Gi"})) == "Burstable"
    assert pod_qos_class({"status": {"qosClass": "Guaranteed"}}) == "Guaranteed"


# -- workloads ------------------------------------------------------------------------------------

TEMPLATE_SPEC = {"containers": [{"name": "nginx", "image": "nginx:alpine",
                                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "blue", "namespace": "default", "uid": "u-d",
                 "creationTimestamp": "2026-06-10T12:29:52Z", "labels": {"app": "blue"},
                 "annotations": {"deployment.kubernetes.io/revision": "1"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "blue"}},
             "strategy": {"type": "RollingUpdate",
                          "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
             "template": {"metadata": {"labels": {"app": "blue"}}, "spec": TEMPLATE_SPEC}},
    "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
               "conditions": [
                   {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                   {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}}
REPLICA_SET = {
    "kind": "ReplicaSet",
    "metadata": {"name": "blue-6466bf85df", "namespace": "default", "uid": "u-rs",
                 "labels": {"app": "blue", "pod-template-hash": "6466bf85df"},
                 "ownerReferences": [{"kind": "Deployment", "name": "blue", "uid": "u-d",
                                      "controller": True}]},
    "spec": {"replicas": 3,
             "selector": {"matchLabels": {"app": "blue", "pod-template-hash": "6466bf85df"}},
             "template": {"metadata": {"labels": {"app": "blue",
                                                  "pod-template-hash": "6466bf85df"}},
                          "spec": TEMPLATE_SPEC}},
    "status": {"replicas": 3, "readyReplicas": 3}}

DEPLOYMENT_TEXT = """\
Name:                   blue
Namespace:              default
CreationTimestamp:      Wed, 10 Jun 2026 12:29:52 +0000
Labels:                 app=blue
Annotations:            deployment.kubernetes.io/revision: 1
Selector:               app=blue
Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=blue
  Containers:
   nginx:
    Image:         nginx:alpine
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  <none>
NewReplicaSet:   blue-6466bf85df (3/3 replicas created)
Events:
  Type    Reason             Age   From                   Message
  ----    ------             ----  ----                   -------
  Normal  ScalingReplicaSet  48s   deployment-controller  Scaled up replica set blue-6466bf85df from 0 to 3
"""  # noqa: E501


def test_describe_deployment_matches_kubectl():
    event = pod_event("ScalingReplicaSet", "Scaled up replica set blue-6466bf85df from 0 to 3",
                      "deployment-controller", "2026-06-10T12:29:52Z", kind="Deployment",
                      name="blue")
    text = describe(DEPLOYMENT, [event], now="2026-06-10T12:30:40Z", replica_sets=[REPLICA_SET])
    assert text == DEPLOYMENT_TEXT


def test_deployment_old_and_new_replica_sets():
    old = {**REPLICA_SET, "metadata": {**REPLICA_SET["metadata"], "name": "blue-old"},
           "spec": {**REPLICA_SET["spec"], "replicas": 0, "template": {
               "metadata": {"labels": {"app": "blue"}},
               "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
           "status": {"replicas": 0}}
    stranger = {**REPLICA_SET, "metadata": {"name": "other", "ownerReferences": []}}
    text = describe(DEPLOYMENT, None, now="2026-06-10T12:30:40Z",
                    replica_sets=[old, REPLICA_SET, stranger])
    assert "OldReplicaSets:  <none>\n" in text  # scaled to 0: history, not old pods
    assert "NewReplicaSet:   blue-6466bf85df (3/3 replicas created)\n" in text
    rolling = {**old, "spec": {**old["spec"], "replicas": 2}, "status": {"replicas": 2}}
    text = describe(DEPLOYMENT, None, now="2026-06-10T12:30:40Z",
                    replica_sets=[rolling, REPLICA_SET, stranger])
    assert "OldReplicaSets:  blue-old (2/2 replicas created)\n" in text
    assert "OldReplicaSets" not in describe(DEPLOYMENT, None, now="2026-06-10T12:30:40Z")


def test_describe_replica_set_counts_its_pods():
    def pod(name, phase, owner="u-rs", labels=None):
        return {"metadata": {"name": name, "labels": labels or {
                    "app": "blue", "pod-template-hash": "6466bf85df"},
                "ownerReferences": [{"kind": "ReplicaSet", "uid": owner, "controller": True}]},
                "status": {"phase": phase}}
    pods = [pod("a", "Running"), pod("b", "Running"), pod("c", "Pending"), pod("d", "Failed"),
            pod("e", "Running", owner="someone-else"), pod("f", "Running", labels={"x": "y"})]
    text = describe(REPLICA_SET, [], now="2026-06-10T12:30:40Z", pods=pods)
    assert text.startswith(
        "Name:           blue-6466bf85df\n"
        "Namespace:      default\n"
        "Selector:       app=blue,pod-template-hash=6466bf85df\n"
        "Labels:         app=blue\n"
        "                pod-template-hash=6466bf85df\n"
        "Annotations:    <none>\n"
        "Controlled By:  Deployment/blue\n"
        "Replicas:       3 current / 3 desired\n"
        "Pods Status:    2 Running / 1 Waiting / 0 Succeeded / 1 Failed\n"
        "Pod Template:\n"
        "  Labels:  app=blue\n"
        "           pod-template-hash=6466bf85df\n")
    assert text.endswith("Events:            <none>\n")


# -- services -------------------------------------------------------------------------------------

SERVICE_TEXT = """\
Name:                     my-service
Namespace:                default
Labels:                   <none>
Annotations:              <none>
Selector:                 app=nginx
Type:                     NodePort
IP Family Policy:         SingleStack
IP Families:              IPv4
IP:                       10.43.134.176
IPs:                      10.43.134.176
Port:                     <unset>  80/TCP
TargetPort:               80/TCP
NodePort:                 <unset>  30007/TCP
Endpoints:                10.42.1.13:80
Session Affinity:         None
External Traffic Policy:  Cluster
Events:                   <none>
"""


def test_describe_service_matches_kubectl():
    svc = {"kind": "Service", "metadata": {"name": "my-service", "namespace": "default"},
           "spec": {"selector": {"app": "nginx"}, "type": "NodePort",
                    "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
                    "clusterIP": "10.43.134.176", "clusterIPs": ["10.43.134.176"],
                    "ports": [{"port": 80, "targetPort": 80, "nodePort": 30007,
                               "protocol": "TCP"}],
                    "sessionAffinity": "None", "externalTrafficPolicy": "Cluster"}}
    slices = [{"kind": "EndpointSlice",
               "metadata": {"name": "my-service-x",
                            "labels": {"kubernetes.io/service-name": "my-service"}},
               "addressType": "IPv4", "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
               "endpoints": [{"addresses": ["10.42.1.13"], "conditions": {"ready": True}},
                             {"addresses": ["10.42.2.9"], "conditions": {"ready": False}}]},
              {"kind": "EndpointSlice", "metadata": {"name": "other", "labels": {
                  "kubernetes.io/service-name": "other"}},
               "ports": [{"name": "", "port": 80}], "endpoints": [{"addresses": ["10.9.9.9"]}]}]
    assert describe(svc, [], now="2026-01-01T00:00:00Z", endpoint_slices=slices) == SERVICE_TEXT
    no_endpoints = describe(svc, [], now="2026-01-01T00:00:00Z")
    assert "Endpoints:                <none>\n" in no_endpoints


# -- nodes ----------------------------------------------------------------------------------------

NODE = {
    "kind": "Node",
    "metadata": {"name": "node-1", "uid": "u-n", "creationTimestamp": "2024-01-01T00:00:00Z",
                 "labels": {"kubernetes.io/hostname": "node-1",
                            "node-role.kubernetes.io/worker": ""}},
    "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"],
             "taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                        {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]},
    "status": {
        "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110",
                        "ephemeral-storage": "100Gi"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": "2024-01-01T00:10:00Z",
                        "lastTransitionTime": "2024-01-01T00:00:10Z"}],
        "addresses": [{"type": "InternalIP", "address": "192.168.1.11"},
                      {"type": "Hostname", "address": "node-1"}],
        "nodeInfo": {"machineID": "m1", "systemUUID": "s1", "bootID": "b1",
                     "kernelVersion": "6.8.0", "osImage": "Ubuntu 22.04.4 LTS",
                     "operatingSystem": "linux", "architecture": "amd64",
                     "containerRuntimeVersion": "containerd://1.7.22",
                     "kubeletVersion": "v1.32.0"}}}
NODE_POD = {"kind": "Pod", "metadata": {"name": "web-0", "namespace": "default",
                                        "creationTimestamp": "2024-01-01T00:05:00Z"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "resources": {
                "requests": {"cpu": "500m", "memory": "256Mi"},
                "limits": {"cpu": "1", "memory": "512Mi"}}}]},
            "status": {"phase": "Running"}}

NODE_TEXT = """\
Name:               node-1
Roles:              worker
Labels:             kubernetes.io/hostname=node-1
                    node-role.kubernetes.io/worker=
Annotations:        <none>
CreationTimestamp:  Mon, 01 Jan 2024 00:00:00 +0000
Taints:             dedicated=gpu:NoExecute
                    node.kubernetes.io/unreachable:NoSchedule
Unschedulable:      false
Lease:
  HolderIdentity:  node-1
  AcquireTime:     <unset>
  RenewTime:       Mon, 01 Jan 2024 00:09:58 +0000
Conditions:
  Type    Status  LastHeartbeatTime                 LastTransitionTime                Reason         Message
  ----    ------  -----------------                 ------------------                ------         -------
  Ready   True    Mon, 01 Jan 2024 00:10:00 +0000   Mon, 01 Jan 2024 00:00:10 +0000   KubeletReady   kubelet is posting ready status
Addresses:
  InternalIP:  192.168.1.11
  Hostname:    node-1
Capacity:
  cpu:                4
  ephemeral-storage:  100Gi
  memory:             8Gi
  pods:               110
Allocatable:
  cpu:                4
  ephemeral-storage:  100Gi
  memory:             8Gi
  pods:               110
System Info:
  Machine ID:                 m1
  System UUID:                s1
  Boot ID:                    b1
  Kernel Version:             6.8.0
  OS Image:                   Ubuntu 22.04.4 LTS
  Operating System:           linux
  Architecture:               amd64
  Container Runtime Version:  containerd://1.7.22
  Kubelet Version:            v1.32.0
  Kube-Proxy Version:         
PodCIDR:                      10.244.1.0/24
PodCIDRs:                     10.244.1.0/24
Non-terminated Pods:          (1 in total)
  Namespace                   Name     CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----     ------------  ----------  ---------------  -------------  ---
  default                     web-0    500m (12%)    1 (25%)     256Mi (3%)       512Mi (6%)     5m5s
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests    Limits
  --------           --------    ------
  cpu                500m (12%)  1 (25%)
  memory             256Mi (3%)  512Mi (6%)
  ephemeral-storage  0 (0%)      0 (0%)
Events:              <none>
"""  # noqa: E501, W291


def test_describe_node_matches_kubectl():
    lease = {"kind": "Lease", "spec": {"holderIdentity": "node-1",
                                       "renewTime": "2024-01-01T00:09:58.123456Z"}}
    done = {**NODE_POD, "metadata": {"name": "job-1", "namespace": "default"},
            "status": {"phase": "Succeeded"}}
    elsewhere = {**NODE_POD, "spec": {"nodeName": "node-2", "containers": []}}
    text = describe(NODE, [], now="2024-01-01T00:10:05Z", pods=[NODE_POD, done, elsewhere],
                    lease=lease)
    assert text == NODE_TEXT


def test_node_without_lease_says_so():
    text = describe(NODE, None, now="2024-01-01T00:10:05Z")
    assert ('Lease:              Failed to get lease: leases.coordination.k8s.io "node-1" '
            'not found\n') in text
    assert "Non-terminated Pods:          (0 in total)\n" in text


# -- the rest -------------------------------------------------------------------------------------


def test_describe_namespace_has_no_events_section():
    ns = {"kind": "Namespace", "metadata": {"name": "dev", "labels": {
        "kubernetes.io/metadata.name": "dev"}}, "status": {"phase": "Active"}}
    assert describe(ns, [], now="2024-01-01T00:00:00Z") == (
        "Name:         dev\n"
        "Labels:       kubernetes.io/metadata.name=dev\n"
        "Annotations:  <none>\n"
        "Status:       Active\n")


def test_describe_role_compacts_and_sorts_rules():
    role = {"kind": "Role", "metadata": {"name": "pod-reader", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]},
                      {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"],
                       "verbs": ["get"]},
                      {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
                      {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]}
    assert describe(role, None, now="2024-01-01T00:00:00Z") == (
        "Name:         pod-reader\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "PolicyRule:\n"
        "  Resources               Non-Resource URLs  Resource Names  Verbs\n"
        "  ---------               -----------------  --------------  -----\n"
        "  pods                    []                 []              [get watch list delete]\n"
        "                          [/healthz]         []              [get]\n"
        "  deployments.apps/scale  []                 []              [get]\n"
        "  deployments.apps        []                 []              [get]\n")
    assert len(compact_rules(role["rules"])) == 4


def test_describe_binding():
    binding = {"kind": "RoleBinding", "metadata": {"name": "read-pods", "namespace": "dev"},
               "roleRef": {"kind": "Role", "name": "pod-reader"},
               "subjects": [{"kind": "User", "name": "jane"},
                            {"kind": "ServiceAccount", "name": "ci", "namespace": "dev"}]}
    assert describe(binding, None, now="2024-01-01T00:00:00Z") == (
        "Name:         read-pods\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "Role:\n"
        "  Kind:  Role\n"
        "  Name:  pod-reader\n"
        "Subjects:\n"
        "  Kind            Name  Namespace\n"
        "  ----            ----  ---------\n"
        "  User            jane  \n"
        "  ServiceAccount  ci    dev\n")


def test_generic_describer_for_kinds_without_one():
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "node-1", "namespace": "kube-node-lease", "uid": "x",
                          "managedFields": [{"manager": "kubelet"}]},
             "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    assert describe(lease, [], now="2024-01-01T00:00:00Z") == (
        "Name:         node-1\n"
        "Namespace:    kube-node-lease\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "API Version:  coordination.k8s.io/v1\n"
        "Kind:         Lease\n"
        "Metadata:\n"
        "  UID:  x\n"
        "Spec:\n"
        "  Holder Identity:         node-1\n"
        "  Lease Duration Seconds:  40\n"
        "Events:                    <none>\n")


def test_config_map_and_long_annotations():
    cm = {"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default",
                                            "annotations": {"note": "x" * 150}},
          "data": {"b": "2", "a": "line1\nline2"}}
    text = describe(cm, None, now="2024-01-01T00:00:00Z")
    assert "Annotations:  note:\n                " + "x" * 138 + "...\n" in text
    assert text.endswith("\nData\n====\na:\n----\nline1\nline2\n\nb:\n----\n2\n\n\n"
                         "BinaryData\n====\n\n")


def test_events_for_picks_the_objects_events():
    ours = pod_event("Scheduled", "m", "default-scheduler", "2025-11-24T14:38:46Z")
    ours["involvedObject"]["uid"] = "u-pod"
    stale = pod_event("Scheduled", "m", "default-scheduler", "2025-11-24T14:00:00Z")
    stale["involvedObject"]["uid"] = "an-earlier-pod"
    other = pod_event("Pulled", "m", "kubelet", "2025-11-24T14:38:46Z", name="other")
    assert events_for(POD, [ours, stale, other]) == [ours]


def test_bad_now_is_refused():
    with pytest.raises(ValueError):
        describe(POD, None, now="soon")


def test_describe_endpoint_slice():
    eps = {"kind": "EndpointSlice",
           "metadata": {"name": "eps1", "namespace": "default",
                        "labels": {"kubernetes.io/service-name": "web"}},
           "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
           "endpoints": [{"addresses": ["10.244.0.9"], "conditions": {"ready": True},
                          "nodeName": "node-1",
                          "targetRef": {"kind": "Pod", "name": "web-0"}}]}
    assert describe(eps, [], now="2024-01-01T00:00:00Z") == (
        "Name:         eps1\n"
        "Namespace:    default\n"
        "Labels:       kubernetes.io/service-name=web\n"
        "Annotations:  <none>\n"
        "AddressType:  IPv4\n"
        "Ports:\n"
        "  Name  Port  Protocol\n"
        "  ----  ----  --------\n"
        "  http  80    TCP\n"
        "Endpoints:\n"
        "  - Addresses:  10.244.0.9\n"
        "    Conditions:\n"
        "      Ready:    true\n"
        "    Hostname:   <unset>\n"
        "    TargetRef:  Pod/web-0\n"
        "    NodeName:   node-1\n"
        "    Zone:       <unset>\n"
        "Events:         <none>\n")


def test_describe_service_account_lists_its_secrets():
    sa = {"kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "tools"},
          "imagePullSecrets": [{"name": "regcred"}, {"name": "mirror"}],
          "secrets": [{"name": "ci-secret"}]}
    assert describe(sa, [], now="2024-01-01T00:00:00Z") == (
        "Name:                ci\n"
        "Namespace:           tools\n"
        "Labels:              <none>\n"
        "Annotations:         <none>\n"
        "Image pull secrets:  regcred\n"
        "                     mirror\n"
        "Mountable secrets:   ci-secret\n"
        "Tokens:              <none>\n"
        "Events:              <none>\n")
