"""Defaults and admission: what the API server adds to an object, and what it refuses."""

import ipaddress

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden, Invalid, NotFound
from kubelearn.apiserver.defaults import default_pull_policy, set_defaults

NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
               "effect": "NoExecute", "tolerationSeconds": 300}


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0)


def pod(name="web", **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


def test_the_pod_as_submitted_and_as_stored(cluster):
    submitted = pod()
    stored = cluster.admin.create(submitted)
    assert "tolerations" not in submitted["spec"]  # the caller's dict is not changed
    spec = stored["spec"]
    assert spec["tolerations"] == [NOT_READY, UNREACHABLE]  # DefaultTolerationSeconds
    assert spec["serviceAccountName"] == "default"  # ServiceAccount
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    # decoded with defaults (SetDefaults_PodSpec, SetDefaults_Container)
    assert spec["restartPolicy"] == "Always"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["enableServiceLinks"] is True and spec["securityContext"] == {}
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    # the service account token, mounted
    volume = spec["volumes"][0]
    assert volume["name"].startswith("kube-api-access-")
    assert container["volumeMounts"] == [{"name": volume["name"], "readOnly": True,
                                          "mountPath": "/var/run/secrets/kubernetes.io/"
                                                       "serviceaccount"}]
    assert stored["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_existing_tolerations_are_respected(cluster):
    own = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 60}
    stored = cluster.admin.create(pod("a", tolerations=[own]))
    assert stored["spec"]["tolerations"] == [own, UNREACHABLE]
    everything = {"operator": "Exists"}
    stored = cluster.admin.create(pod("b", tolerations=[everything]))
    assert stored["spec"]["tolerations"] == [everything]


def test_image_pull_policy_rules():
    assert default_pull_policy("nginx") == "Always"
    assert default_pull_policy("nginx:latest") == "Always"
    assert default_pull_policy("nginx:1.25") == "IfNotPresent"
    assert default_pull_policy("registry:5000/team/app") == "Always"
    assert default_pull_policy("registry:5000/team/app:v2") == "IfNotPresent"
    assert default_pull_policy("nginx@sha256:" + "a" * 64) == "IfNotPresent"


def test_requests_default_to_limits_in_pods_not_templates():
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    set_defaults(p)
    assert p["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    deploy = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "x", "resources": {"limits": {"cpu": "1"}}}]}}}}
    set_defaults(deploy)
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert "requests" not in container["resources"]
    assert container["imagePullPolicy"] == "Always"
    assert "enableServiceLinks" not in deploy["spec"]["template"]["spec"]


def test_guaranteed_qos_class(cluster):
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert cluster.admin.create(p)["status"]["qosClass"] == "Guaranteed"
    p = pod("b")
    p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1"}}
    assert cluster.admin.create(p)["status"]["qosClass"] == "Burstable"


def test_deployment_and_service_defaults(cluster):
    deploy = cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}})
    spec = deploy["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    svc = cluster.admin.create({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": "web"},
                                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert ipaddress.ip_address(spec["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")
    assert spec["clusterIPs"] == [spec["clusterIP"]] and spec["clusterIP"] != "10.96.0.1"
    node_port = cluster.admin.create({"apiVersion": "v1", "kind": "Service",
                                      "metadata": {"name": "np"},
                                      "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert 30000 <= node_port["spec"]["ports"][0]["nodePort"] <= 32767
    assert node_port["spec"]["externalTrafficPolicy"] == "Cluster"
    # an update that leaves the cluster IP out keeps it; changing it is refused
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 81}]}}
    assert cluster.admin.update(body)["spec"]["clusterIP"] == spec["clusterIP"]
    body["spec"]["clusterIP"] = "10.96.0.99"
    with pytest.raises(Invalid) as err:
        cluster.admin.update(body)
    assert ('spec.clusterIPs[0]: Invalid value: []string{"10.96.0.99"}: may not change once '
            "set") in str(err.value)


def test_the_default_service_account_must_exist_and_named_ones_too(cluster):
    with pytest.raises(Forbidden) as err:
        cluster.admin.create(pod(serviceAccountName="robot"))
    assert str(err.value) == ('pods "web" is forbidden: error looking up service account '
                              'default/robot: serviceaccount "robot" not found')
    cluster.admin.create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "robot"}, "automountServiceAccountToken": False})
    stored = cluster.admin.create(pod(serviceAccountName="robot"))
    assert "volumes" not in stored["spec"]  # the account opts out of the token mount


def test_new_namespaces_get_a_label_and_a_default_service_account(cluster):
    ns = cluster.admin.create({"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": "dev"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    assert cluster.admin.get("serviceaccounts", "default", "dev")["metadata"]["name"] == "default"
    assert cluster.admin.create({**pod(), "metadata": {"name": "web", "namespace": "dev"}})


def test_namespace_lifecycle(cluster):
    with pytest.raises(NotFound) as err:
        cluster.admin.create({**pod(), "metadata": {"name": "web", "namespace": "nope"}})
    assert str(err.value) == 'namespaces "nope" not found'
    cluster.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    cluster.admin.create({**pod("a"), "metadata": {"name": "a", "namespace": "dev"}})
    terminating = cluster.admin.delete("namespaces", "dev")
    assert terminating["status"]["phase"] == "Terminating"
    assert terminating["metadata"]["deletionTimestamp"] == "2024-01-01T00:00:00Z"
    with pytest.raises(Forbidden) as err:
        cluster.admin.create({**pod("b"), "metadata": {"name": "b", "namespace": "dev"}})
    assert str(err.value) == ('pods "b" is forbidden: unable to create new content in namespace '
                              'dev because it is being terminated')
    assert err.value.details["causes"][0]["reason"] == "NamespaceTerminating"
    cluster.run(1)  # the namespace controller's part: empty it, then remove it
    with pytest.raises(NotFound):
        cluster.admin.get("namespaces", "dev")
    for immortal in ("default", "kube-system", "kube-public"):
        with pytest.raises(Forbidden) as err:
            cluster.admin.delete("namespaces", immortal)
        assert str(err.value) == (f'namespaces "{immortal}" is forbidden: this namespace may '
                                  'not be deleted')


def test_new_nodes_are_tainted_not_ready(cluster):
    node = cluster.admin.create({"apiVersion": "v1", "kind": "Node",
                                 "metadata": {"name": "node-1"},
                                 "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}})
    assert node["spec"]["taints"] == [{"key": "node.kubernetes.io/not-ready",
                                       "effect": "NoSchedule"}]
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}


def test_admission_plugins_can_be_turned_off():
    cluster = kl.Cluster(seed=0, disable_admission_plugins=("DefaultTolerationSeconds",
                                                            "TaintNodesByCondition"))
    assert cluster.api.admission.names == ["NamespaceLifecycle", "ServiceAccount",
                                           "NodeRestriction", "Priority"]
    assert "tolerations" not in cluster.admin.create(pod())["spec"]


def test_scheduling_gates_may_only_be_removed(cluster):
    # ValidatePodUpdate (v1.32): validateOnlyDeletedSchedulingGates, and a gated pod may
    # gain nodeSelector entries; the strategy marks a gated pod PodScheduled=False.
    gates = [{"name": "example.com/quota"}, {"name": "example.com/arch"}]
    created = cluster.admin.create(pod(schedulingGates=gates, nodeSelector={"disk": "ssd"}))
    assert created["status"]["conditions"] == [{
        "type": "PodScheduled", "status": "False", "lastProbeTime": None,
        "lastTransitionTime": None, "reason": "SchedulingGated",
        "message": "Scheduling is blocked due to non-empty scheduling gates"}]
    with pytest.raises(Invalid) as err:
        cluster.admin.patch("pods", "web", {"spec": {"schedulingGates": [
            *gates, {"name": "x"}]}}, patch_type="merge")
    assert str(err.value) == ('Pod "web" is invalid: spec.schedulingGates[2].name: Forbidden: '
                              "only deletion is allowed, but found new scheduling gate 'x'")
    narrowed = cluster.admin.patch("pods", "web", {"spec": {"nodeSelector": {"zone": "a"}}})
    assert narrowed["spec"]["nodeSelector"] == {"disk": "ssd", "zone": "a"}
    with pytest.raises(Invalid) as err:
        cluster.admin.patch("pods", "web", {"spec": {"nodeSelector": {"disk": "hdd"}}})
    assert str(err.value) == (
        'Pod "web" is invalid: spec.nodeSelector: Invalid value: map[string]string{"disk":"hdd", '
        '"zone":"a"}: only additions to spec.nodeSelector are allowed (no mutations or '
        "deletions)")
    one = cluster.admin.patch("pods", "web", {"spec": {"schedulingGates": [gates[1]]}},
                              patch_type="merge")
    assert one["spec"]["schedulingGates"] == [gates[1]]
    lifted = cluster.admin.patch("pods", "web", {"spec": {"schedulingGates": None}},
                                 patch_type="merge")
    assert "schedulingGates" not in lifted["spec"]
    with pytest.raises(Invalid) as err:  # no longer gated: the selector is fixed again
        cluster.admin.patch("pods", "web", {"spec": {"nodeSelector": {"rack": "1"}}})
    assert "pod updates may not change fields other than" in str(err.value)


def test_validation_errors_are_422_with_every_field(cluster):
    bad = pod()
    bad["spec"]["containers"][0]["image"] = ""
    bad["spec"]["restartPolicy"] = "Sometimes"
    with pytest.raises(Invalid) as err:
        cluster.admin.create(bad)
    assert err.value.code == 422
    assert str(err.value) == (
        'Pod "web" is invalid: [spec.containers[0].image: Required value, spec.restartPolicy: '
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"]')


def test_immutable_fields_on_update(cluster):
    cluster.admin.create(pod())
    image = cluster.admin.patch("pods", "web", {"spec": {"containers": [
        {"name": "c", "image": "nginx:2"}]}})
    assert image["spec"]["containers"][0]["image"] == "nginx:2"
    with pytest.raises(Invalid) as err:
        cluster.admin.patch("pods", "web", {"spec": {"restartPolicy": "Never"}})
    assert str(err.value).startswith(
        'Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than '
        '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,'
        '`spec.tolerations` (only additions to existing tolerations),'
        '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously '
        'negative)\n')
    added = cluster.admin.patch("pods", "web", {"spec": {"tolerations": [
        NOT_READY, UNREACHABLE, {"key": "x", "operator": "Exists"}]}}, patch_type="merge")
    assert len(added["spec"]["tolerations"]) == 3
    cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web", "v": "1"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    with pytest.raises(Invalid) as err:
        cluster.admin.patch("deployments", "web", {"spec": {"selector": {"matchLabels": {
            "v": "1"}}}})
    assert str(err.value) == ('Deployment.apps "web" is invalid: spec.selector: Invalid value: '
                              'v1.LabelSelector{MatchLabels:map[string]string{"app":"web", '
                              '"v":"1"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: '
                              "field is immutable")


class _CountingReads:
    """The cluster's store, counting the keys read one by one (get)."""

    def __init__(self, store) -> None:
        self._store, self.keys = store, []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def get(self, key, **options):
        self.keys.append(key)
        return self._store.get(key, **options)


def test_admission_reads_service_accounts_and_namespaces_from_the_cache(cluster):
    """As kube-apiserver's plugins read their informers' listers: no etcd read for them."""
    reads = _CountingReads(cluster.api.store)
    cluster.api.store = reads
    cluster.admin.create(pod("cached"))
    looked_up = [k for k in reads.keys if k.startswith(("/registry/serviceaccounts/",
                                                        "/registry/namespaces/"))]
    assert looked_up == []
    # Not in the cache: the plugin looks it up live, one etcd read, then refuses.
    with pytest.raises(Forbidden, match='serviceaccount "ghost" not found'):
        cluster.admin.create(pod("haunted", serviceAccountName="ghost"))
    assert reads.keys.count("/registry/serviceaccounts/default/ghost") == 1
