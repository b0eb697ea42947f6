"""PriorityClasses and the Priority admission plugin, as kube-apiserver v1.32 serves them.

The tables port upstream's unit tests: pkg/apis/scheduling/validation/validation_test.go
(TestValidatePriorityClass, TestValidatePriorityClassUpdate) and
plugin/pkg/admission/priority/admission_test.go (TestPriorityClassAdmission,
TestDefaultPriority, TestPodAdmission). The last part drives the real kubectl v1.32.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess

import pytest
import yaml

from kubelearn.api import Forbidden, Invalid, NotFound
from kubelearn.api.scheduling import (
    HIGHEST_USER_DEFINABLE_PRIORITY,
    SYSTEM_CLUSTER_CRITICAL,
    SYSTEM_CRITICAL_PRIORITY,
    SYSTEM_NODE_CRITICAL,
    pod_priority,
    system_priority_classes,
)
from kubelearn.api.validation import validate_priority_class, validate_priority_class_update
from kubelearn.apiserver.admission import CREATE, DELETE, UPDATE, AdmissionAttributes, Priority
from kubelearn.apiserver.registry import Registry
from kubelearn.cluster import Cluster

REGISTRY = Registry()
PODS, PRIORITY_CLASSES = REGISTRY.lookup("pods"), REGISTRY.lookup("priorityclasses")
NODE_CRITICAL_DESCRIPTION = ("Used for system critical pods that must not be moved from their "
                             "current node.")
CLUSTER_CRITICAL_DESCRIPTION = ("Used for system critical pods that must run in the cluster, but "
                                "can be moved to another node if necessary.")


def pc(name: str, value: int, *, default: bool = False, policy: str | None = None,
       description: str = "") -> dict:
    obj: dict = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                 "metadata": {"name": name}, "value": value}
    if default:
        obj["globalDefault"] = True
    if policy is not None:
        obj["preemptionPolicy"] = policy
    if description:
        obj["description"] = description
    return obj


def pod(name: str = "web", namespace: str = "default", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


@pytest.fixture
def cluster():
    return Cluster(seed=0)


# -- the system classes ----------------------------------------------------------------------------


def test_the_api_server_creates_the_two_system_classes(cluster):
    classes = {c["metadata"]["name"]: c for c in cluster.admin.list("priorityclasses")["items"]}
    assert sorted(classes) == [SYSTEM_CLUSTER_CRITICAL, SYSTEM_NODE_CRITICAL]
    node, clus = classes[SYSTEM_NODE_CRITICAL], classes[SYSTEM_CLUSTER_CRITICAL]
    assert (node["value"], node["description"]) == (2000001000, NODE_CRITICAL_DESCRIPTION)
    assert (clus["value"], clus["description"]) == (2000000000, CLUSTER_CRITICAL_DESCRIPTION)
    for c in (node, clus):
        assert c["preemptionPolicy"] == "PreemptLowerPriority"  # SetDefaults_PriorityClass
        assert c["metadata"]["generation"] == 1 and "globalDefault" not in c
    assert SYSTEM_CRITICAL_PRIORITY == 2 * HIGHEST_USER_DEFINABLE_PRIORITY == 2_000_000_000


def test_the_bootstrap_hook_creates_them_through_the_api_and_the_audit_shows_it(cluster):
    """scheduling/bootstrap-system-priority-classes: a GET, then a create, as system:apiserver,
    like the kubernetes Service the API server also makes through its loopback client."""
    audit = cluster.api.audit()
    rows = audit[audit["resource"] == "priorityclasses"]
    assert list(zip(rows["user"], rows["verb"], rows["name"], rows["code"], strict=True)) == [
        ("system:apiserver", "get", "system-node-critical", 404),
        ("system:apiserver", "create", "", 201),
        ("system:apiserver", "get", "system-cluster-critical", 404),
        ("system:apiserver", "create", "", 201)]
    assert set(audit[audit["user"] == "system:apiserver"]["resource"]) >= {
        "priorityclasses", "services", "endpoints"}


def test_system_classes_cannot_be_deleted(cluster):
    for name in (SYSTEM_NODE_CRITICAL, SYSTEM_CLUSTER_CRITICAL):
        with pytest.raises(Forbidden) as err:
            cluster.admin.delete("priorityclasses", name)
        assert str(err.value) == (f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: '
                                  "this is a system priority class and cannot be deleted")
        assert cluster.admin.get("priorityclasses", name)["metadata"]["name"] == name
    audit = cluster.api.audit()
    deletes = audit[(audit["verb"] == "delete") & (audit["resource"] == "priorityclasses")]
    assert list(zip(deletes["stage"], deletes["code"], strict=True)) == [("storage", 403)] * 2


def test_deletecollection_goes_around_the_refusal_as_upstreams_store_does(cluster):
    """REST overrides Delete only; the store's DeleteCollection calls its own Delete."""
    admin = cluster.admin
    admin.request("deletecollection", admin.info("priorityclasses"))
    assert admin.list("priorityclasses")["items"] == []


def test_system_classes_are_not_created_twice():
    first = Cluster(seed=0)
    before = first.admin.list("priorityclasses")["items"]
    first.api._bootstrap()  # a restart over the same etcd: the hook finds them there
    assert first.admin.list("priorityclasses")["items"] == before


# -- create, read, update, delete ------------------------------------------------------------------


def test_create_get_list_update_delete_a_user_class(cluster):
    admin = cluster.admin
    made = admin.create(pc("high", 1000, description="x"))
    assert made["preemptionPolicy"] == "PreemptLowerPriority"
    assert made["metadata"]["generation"] == 1 and "namespace" not in made["metadata"]
    assert admin.get("pc", "high")["value"] == 1000  # the short name
    names = [c["metadata"]["name"] for c in admin.list("priorityclasses")["items"]]
    assert names == ["high", SYSTEM_CLUSTER_CRITICAL, SYSTEM_NODE_CRITICAL]
    made["description"] = "changed"
    made["globalDefault"] = True
    updated = admin.update(made)
    assert (updated["description"], updated["globalDefault"]) == ("changed", True)
    assert updated["metadata"]["generation"] == 1  # priorityClassStrategy never moves it
    status = admin.delete("priorityclasses", "high")
    assert (status["kind"], status["status"]) == ("Status", "Success")
    with pytest.raises(NotFound):
        admin.get("priorityclasses", "high")


def test_get_shows_kubectls_columns(cluster):
    cluster.admin.create(pc("batch", -10, policy="Never"))
    frame = cluster.get("priorityclasses")
    assert list(frame.columns) == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    rows = frame.set_index("NAME")
    assert rows.loc["batch", "VALUE"] == -10
    assert rows.loc["batch", "PREEMPTIONPOLICY"] == "Never"
    assert rows.loc[SYSTEM_NODE_CRITICAL, "GLOBAL-DEFAULT"] == False  # noqa: E712 (numpy bool)


def test_describe_is_kubectls_priority_class_describer(cluster):
    cluster.admin.create({**pc("high", 1000, description="x"),
                          "metadata": {"name": "high", "annotations": {"b": "2", "a": "1"}}})
    assert cluster.describe("priorityclass", "high") == (
        "Name:              high\n"
        "Value:             1000\n"
        "GlobalDefault:     false\n"
        "PreemptionPolicy:  PreemptLowerPriority\n"
        "Description:       x\n"
        "Annotations:       a=1,b=2\n"
        "Events:            <none>\n")


# -- validation (pkg/apis/scheduling/validation, v1.32) --------------------------------------------


@pytest.mark.parametrize("obj", [
    pc("tier1", 100),  # no description
    pc("tier1", 200, description="Used for the highest priority pods."),
    {**pc(SYSTEM_NODE_CRITICAL, 2000001000), "description": "system priority class 0"},
    pc("top", HIGHEST_USER_DEFINABLE_PRIORITY),
    pc("negative", -5, policy="Never"),
])
def test_valid_priority_classes(obj):
    assert validate_priority_class(obj) == []


@pytest.mark.parametrize(("obj", "message"), [
    ({**pc("tier1", 100), "metadata": {"name": "tier1", "namespace": "foo"}},
     "metadata.namespace: Forbidden: not allowed on this type"),
    (pc("tier&1", 100),
     'metadata.name: Invalid value: "tier&1": a lowercase RFC 1123 subdomain must consist of '
     "lower case alphanumeric characters, '-' or '.', and must start and end with an "
     "alphanumeric character (e.g. 'example.com', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    (pc(SYSTEM_NODE_CRITICAL, 0),  # incorrect system class value
     "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
     "system use only. error: value of system-node-critical PriorityClass must be 2000001000"),
    (pc(SYSTEM_CLUSTER_CRITICAL, SYSTEM_CRITICAL_PRIORITY, default=True),
     "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
     "system use only. error: globalDefault of system-cluster-critical PriorityClass must be "
     "false"),
    (pc("system-something", 2000001000),  # incorrect system class name
     "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for "
     "system use only. error: system-something is not a known system priority class"),
    (pc("too-high", HIGHEST_USER_DEFINABLE_PRIORITY + 1),
     "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"),
    (pc("policy", 1, policy="Sometimes"),
     'preemptionPolicy: Unsupported value: "Sometimes": supported values: '
     '"PreemptLowerPriority", "Never"'),
    (pc("policy", 1, policy=""), "preemptionPolicy: Required value"),
])
def test_invalid_priority_classes(obj, message):
    assert [str(e) for e in validate_priority_class(obj)] == [message]


def test_invalid_class_is_refused_by_the_api_with_the_kind_in_the_message(cluster):
    with pytest.raises(Invalid) as err:
        cluster.admin.create(pc("too-high", 2_000_000_000))
    assert str(err.value) == (
        'PriorityClass.scheduling.k8s.io "too-high" is invalid: value: Forbidden: maximum '
        "allowed value of a user defined priority is 1000000000")
    assert [c["metadata"]["name"] for c in cluster.admin.list("pc")["items"]] == [
        SYSTEM_CLUSTER_CRITICAL, SYSTEM_NODE_CRITICAL]  # nothing stored


@pytest.mark.parametrize(("change", "messages"), [
    ({"description": "new"}, []),
    ({"globalDefault": True}, []),
    ({"value": 101}, ["value: Forbidden: may not be changed in an update."]),
    ({"preemptionPolicy": "Never"},
     ['preemptionPolicy: Invalid value: "Never": field is immutable']),
])
def test_update_may_not_change_value_or_preemption_policy(change, messages):
    old = pc("tier1", 100, policy="PreemptLowerPriority")
    new = {**copy.deepcopy(old), **change}
    assert [str(e) for e in validate_priority_class_update(new, old)] == messages


def test_update_through_the_api_changes_nothing_when_refused(cluster):
    stored = cluster.admin.create(pc("tier1", 100))
    with pytest.raises(Invalid) as err:
        cluster.admin.update({**stored, "value": 7, "preemptionPolicy": "Never"})
    assert str(err.value) == (
        'PriorityClass.scheduling.k8s.io "tier1" is invalid: [value: Forbidden: may not be '
        'changed in an update., preemptionPolicy: Invalid value: "Never": field is immutable]')
    assert cluster.admin.get("pc", "tier1") == stored


# -- the Priority admission plugin on priority classes (TestPriorityClassAdmission) ---------------

DEFAULT_1 = pc("default1", 1000, default=True)
DEFAULT_2 = pc("default2", 2000, default=True)
NONDEFAULT_1 = pc("nondefault1", 2000, description="Just a test priority class")
SYSTEM_CLUSTER_CRITICAL_DEFAULT = pc(SYSTEM_CLUSTER_CRITICAL, SYSTEM_CRITICAL_PRIORITY,
                                     default=True)
SYSTEM_CLASS = pc("system-test", HIGHEST_USER_DEFINABLE_PRIORITY + 1,
                  description="Name has system critical prefix")
NEVER_CLASS = pc("nopreemptionpolicy", 2000, default=True, policy="Never",
                 description="Just a test priority class")
LOWER_CLASS = pc("nopreemptionpolicy", 2000, default=True, policy="PreemptLowerPriority",
                 description="Just a test priority class")


def plugin(*classes: dict) -> Priority:
    """The plugin over an informer that holds ``classes``."""
    held = [copy.deepcopy(c) for c in classes]
    return Priority(lambda resource: held if resource == "priorityclasses" else [])


def class_attrs(operation: str, obj: dict | None) -> AdmissionAttributes:
    name = obj["metadata"]["name"] if obj else "default1"
    return AdmissionAttributes(operation, PRIORITY_CLASSES, "", name,
                               copy.deepcopy(obj) if obj else None)


@pytest.mark.parametrize(("existing", "new", "operation", "refused"), [
    ([], DEFAULT_1, CREATE, False),  # create operator with default class
    ([DEFAULT_1], DEFAULT_2, CREATE, True),  # create operator with one existing default class
    ([], SYSTEM_CLASS, CREATE, False),  # system name and value allowed by admission controller
    ([], DEFAULT_1, UPDATE, False),  # update operator with default class
    ([DEFAULT_1], DEFAULT_2, UPDATE, True),  # update operator with one existing default class
    ([], SYSTEM_CLASS, UPDATE, False),
    ([DEFAULT_1], DEFAULT_1, UPDATE, False),  # the default itself may be updated
    ([], DEFAULT_1, DELETE, False),  # delete operation with default class
])
def test_priority_class_admission(existing, new, operation, refused):
    p, attrs = plugin(*existing), class_attrs(operation, new)
    if operation == DELETE:
        attrs.obj = None
    if not p.handles(attrs):
        assert not refused
        return
    if refused:
        with pytest.raises(Forbidden) as err:
            p.validate(attrs)
        assert str(err.value) == (
            f'priorityclasses.scheduling.k8s.io "{new["metadata"]["name"]}" is forbidden: '
            "PriorityClass default1 is already marked as default. Only one default can exist")
    else:
        p.validate(attrs)


def test_a_second_global_default_is_refused_by_the_api(cluster):
    cluster.admin.create(pc("low", 10, default=True))
    with pytest.raises(Forbidden) as err:
        cluster.admin.create(pc("low2", 20, default=True))
    assert str(err.value) == ('priorityclasses.scheduling.k8s.io "low2" is forbidden: '
                              "PriorityClass low is already marked as default. Only one default "
                              "can exist")
    other = cluster.admin.create(pc("other", 5))
    with pytest.raises(Forbidden):
        cluster.admin.update({**other, "globalDefault": True})


@pytest.mark.parametrize(("before", "after", "default_before", "default_after"), [
    ([DEFAULT_1], [DEFAULT_1], ("default1", 1000), ("default1", 1000)),  # simple resolution
    ([NONDEFAULT_1], [NONDEFAULT_1, DEFAULT_1], (None, 0), ("default1", 1000)),  # add a default
    # multiple default classes resolve to the minimum value among them
    ([DEFAULT_1, DEFAULT_2], [DEFAULT_2], ("default1", 1000), ("default2", 2000)),
    ([DEFAULT_1], [], ("default1", 1000), (None, 0)),  # delete default priority class
    ([DEFAULT_1], [{**DEFAULT_1, "globalDefault": False}], ("default1", 1000), (None, 0)),
])
def test_default_priority(before, after, default_before, default_after):
    """TestDefaultPriority: the global default class, and the priority a classless pod gets."""
    for classes, (name, value) in ((before, default_before), (after, default_after)):
        p = plugin(*classes)
        found = p.default_priority_class()
        assert (found["metadata"]["name"] if found else None) == name
        attrs = AdmissionAttributes(CREATE, PODS, "default", "web", pod())
        p.admit(attrs)
        assert attrs.obj["spec"]["priority"] == value
        assert attrs.obj["spec"].get("priorityClassName") == name


# -- the Priority admission plugin on pods (TestPodAdmission) ------------------------------------

ZERO, THOUSAND = 0, 1000
POD_CASES = {  # TestPodAdmission's pods[i]: name, namespace, spec fields
    0: ("pod-w-priorityclass", "namespace", {"priorityClassName": "default1"}),
    1: ("pod-wo-priorityclass", "namespace", {}),
    2: ("pod-w-non-existing-priorityclass", "namespace", {"priorityClassName": "non-existing"}),
    3: ("pod-w-integer-priority", "namespace",
        {"priorityClassName": "default1", "priority": THOUSAND}),
    4: ("pod-w-system-priority", "kube-system", {"priorityClassName": SYSTEM_CLUSTER_CRITICAL}),
    7: ("pod-w-system-priority-in-nonsystem-namespace", "non-system-namespace",
        {"priorityClassName": SYSTEM_CLUSTER_CRITICAL}),
    8: ("pod-w-zero-priority-in-nonsystem-namespace", "non-system-namespace",
        {"priority": ZERO}),
    9: ("pod-w-priority-matching-default-priority", "non-system-namespace",
         {"priority": 2000}),
    10: ("pod-w-priority-matching-resolved-default-priority", "kube-system",
         {"priorityClassName": SYSTEM_CLUSTER_CRITICAL, "priority": SYSTEM_CRITICAL_PRIORITY}),
    11: ("pod-never-preemption-policy-matching-resolved-preemption-policy", "kube-system",
         {"priorityClassName": "nopreemptionpolicy", "priority": 2000}),
    12: ("pod-preemption-policy-matching-resolved-preemption-policy", "kube-system",
         {"priorityClassName": "nopreemptionpolicy", "priority": 2000,
          "preemptionPolicy": "PreemptLowerPriority"}),
    13: ("pod-preemption-policy-not-matching-resolved-preemption-policy", "kube-system",
         {"priorityClassName": "nopreemptionpolicy", "priority": 2000,
          "preemptionPolicy": "Never"}),
}


@pytest.mark.parametrize(("existing", "case", "priority", "policy", "refusal"), [
    ([DEFAULT_1, NONDEFAULT_1], 0, 1000, None, None),  # Pod with priority class
    ([DEFAULT_1], 1, 1000, None, None),  # Pod without priority class
    ([], 1, 0, "PreemptLowerPriority", None),  # no class and no existing priority class
    ([NONDEFAULT_1], 1, 0, "PreemptLowerPriority", None),  # no class and no default class
    ([SYSTEM_CLUSTER_CRITICAL_DEFAULT], 4, SYSTEM_CRITICAL_PRIORITY, None, None),
    ([DEFAULT_1, NONDEFAULT_1], 2, None, None,
     "no PriorityClass with name non-existing was found"),
    ([], 3, None, None, "no PriorityClass with name default1 was found"),  # integer priority
    # pod with system critical priority in non-system namespace: allowed since v1.17
    ([SYSTEM_CLUSTER_CRITICAL_DEFAULT], 7, SYSTEM_CRITICAL_PRIORITY, None, None),
    ([NONDEFAULT_1], 8, 0, "PreemptLowerPriority", None),  # matches computed priority
    ([DEFAULT_2], 9, 2000, None, None),  # priority that matches default priority
    ([SYSTEM_CLUSTER_CRITICAL_DEFAULT], 10, SYSTEM_CRITICAL_PRIORITY, None, None),
    ([LOWER_CLASS], 11, 2000, "PreemptLowerPriority", None),  # nil preemption policy
    ([LOWER_CLASS], 12, 2000, "PreemptLowerPriority", None),  # matching preemption policy
    ([LOWER_CLASS], 13, None, None,  # a preemption policy that doesn't match the class's
     "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority "
     "admission controller computed PreemptLowerPriority from the given PriorityClass name"),
    ([NEVER_CLASS], 1, 2000, "Never", None),  # the default class's policy
    ([DEFAULT_1], 8, None, None,  # a priority that disagrees with the default class
     "the integer value of priority (0) must not be provided in pod spec; priority admission "
     "controller computed 1000 from the given PriorityClass name"),
])
def test_pod_admission(existing, case, priority, policy, refusal):
    name, namespace, spec = POD_CASES[case]
    attrs = AdmissionAttributes(CREATE, PODS, namespace, "", pod(name, namespace, **spec))
    p = plugin(*existing)
    assert p.handles(attrs)
    if refusal is not None:
        with pytest.raises(Forbidden) as err:
            p.admit(attrs)
        assert str(err.value) == f'pods "{name}" is forbidden: {refusal}'
        return
    p.admit(attrs)
    assert attrs.obj["spec"]["priority"] == priority
    assert attrs.obj["spec"].get("preemptionPolicy") == policy


def test_the_plugin_leaves_subresources_and_other_kinds_alone():
    p = plugin(DEFAULT_1)
    binding = AdmissionAttributes(CREATE, PODS, "default", "web", {"target": {"name": "n"}},
                                  subresource="binding")
    assert not p.handles(binding)
    node = AdmissionAttributes(CREATE, REGISTRY.lookup("nodes"), "", "n", {"metadata": {}})
    assert not p.handles(node)


# -- pods through the API server ----------------------------------------------------------------


def test_pods_get_their_priority_from_their_class(cluster):
    admin = cluster.admin
    admin.create(pc("high", 1000, policy="Never"))
    high = admin.create(pod("urgent", priorityClassName="high"))
    assert (high["spec"]["priority"], high["spec"]["preemptionPolicy"]) == (1000, "Never")
    assert pod_priority(high) == 1000
    plain = admin.create(pod("plain"))
    assert (plain["spec"]["priority"], plain["spec"]["preemptionPolicy"]) == (
        0, "PreemptLowerPriority")
    assert "priorityClassName" not in plain["spec"]
    critical = admin.create(pod("dns", "kube-system", priorityClassName=SYSTEM_NODE_CRITICAL))
    assert critical["spec"]["priority"] == 2000001000
    # v1.32 lets any namespace use a system class (the kube-system-only check went in v1.17)
    anywhere = admin.create(pod("agent", priorityClassName=SYSTEM_CLUSTER_CRITICAL))
    assert pod_priority(anywhere) == SYSTEM_CRITICAL_PRIORITY


def test_a_global_default_class_names_itself_on_classless_pods(cluster):
    cluster.admin.create(pc("standard", 100, default=True))
    made = cluster.admin.create(pod())
    assert (made["spec"]["priorityClassName"], made["spec"]["priority"]) == ("standard", 100)


def test_a_missing_class_refuses_the_pod_and_stores_nothing(cluster):
    with pytest.raises(Forbidden) as err:
        cluster.admin.create(pod("p", priorityClassName="foo"))
    assert str(err.value) == 'pods "p" is forbidden: no PriorityClass with name foo was found'
    assert cluster.admin.list("pods", "default")["items"] == []


def test_a_pod_may_not_choose_its_own_priority(cluster):
    with pytest.raises(Forbidden) as err:
        cluster.admin.create(pod("sneaky", priority=5))
    assert str(err.value) == (
        'pods "sneaky" is forbidden: the integer value of priority (5) must not be provided in '
        "pod spec; priority admission controller computed 0 from the given PriorityClass name")


def test_an_update_that_leaves_priority_out_keeps_it(cluster):
    """admitPod on update: priority and preemptionPolicy are kept, so validation sees no change."""
    admin = cluster.admin
    admin.create(pc("high", 1000))
    stored = admin.create(pod("urgent", priorityClassName="high"))
    body = copy.deepcopy(stored)
    del body["spec"]["priority"], body["spec"]["preemptionPolicy"]
    body["spec"]["containers"][0]["image"] = "nginx:2"
    updated = admin.update(body)
    assert (updated["spec"]["priority"], updated["spec"]["preemptionPolicy"]) == (
        1000, "PreemptLowerPriority")
    with pytest.raises(Invalid):  # and it may not change: ValidatePodUpdate
        admin.update({**updated, "spec": {**updated["spec"], "priority": 1}})


def test_disabling_the_plugin_leaves_priority_unset():
    cluster = Cluster(seed=0, disable_admission_plugins=("Priority",))
    made = cluster.admin.create(pod(priorityClassName="anything"))
    assert "priority" not in made["spec"] and pod_priority(made) == 0


def test_system_priority_classes_are_fresh_objects():
    first, second = system_priority_classes(), system_priority_classes()
    first[0]["value"] = 1
    assert second[0]["value"] == 2000001000


# -- the real kubectl v1.32 ----------------------------------------------------------------------

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None and not os.environ.get("CI"),
                                   reason="kubectl is not installed")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    cluster = Cluster(seed=0)
    server = cluster.serve(quiet=True, speed=1,
                           kubeconfig=tmp_path_factory.mktemp("kube") / "config")
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "KUBECONFIG": str(server.kubeconfig_path), "HOME": str(home),
           "KUBECACHEDIR": str(home / "cache")}

    def kubectl(*args: str, check: bool = True, stdin: str | None = None):
        proc = subprocess.run([KUBECTL or "kubectl", *args], capture_output=True, text=True,
                              env=env, timeout=60, input=stdin)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc

    yield cluster, server, kubectl
    server.stop()


@needs_kubectl
def test_kubectl_get_create_describe_and_delete(served):
    cluster, server, kubectl = served
    table = kubectl("get", "priorityclasses").stdout.splitlines()
    assert table[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert [line.split()[:3] + line.split()[4:] for line in table[1:]] == [
        [SYSTEM_CLUSTER_CRITICAL, "2000000000", "false", "PreemptLowerPriority"],
        [SYSTEM_NODE_CRITICAL, "2000001000", "false", "PreemptLowerPriority"]]
    # a protobuf body, as kubectl's create generators send
    made = kubectl("create", "priorityclass", "high", "--value=1000", "--description=x")
    assert made.stdout.strip() == "priorityclass.scheduling.k8s.io/high created"
    kubectl("create", "priorityclass", "batch", "--value=10", "--global-default",
            "--preemption-policy=Never")
    got = yaml.safe_load(kubectl("get", "pc", "batch", "-o", "yaml").stdout)
    assert (got["value"], got["globalDefault"], got["preemptionPolicy"]) == (10, True, "Never")
    again = kubectl("create", "priorityclass", "batch2", "--value=20", "--global-default",
                    check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        'error: failed to create priorityclass: priorityclasses.scheduling.k8s.io "batch2" is '
        "forbidden: PriorityClass batch is already marked as default. Only one default can "
        "exist")
    kubectl("annotate", "pc", "high", "team=infra")
    described = kubectl("describe", "pc", "high").stdout
    with server.lock:
        assert described == cluster.describe("priorityclass", "high")
    refused = kubectl("delete", "pc", SYSTEM_NODE_CRITICAL, check=False)
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): priorityclasses.scheduling.k8s.io "{SYSTEM_NODE_CRITICAL}"'
        " is forbidden: this is a system priority class and cannot be deleted")
    patched = kubectl("patch", "pc", "high", "-p", '{"value": 5}', check=False)
    assert patched.stderr.strip() == ('The PriorityClass "high" is invalid: value: Forbidden: '
                                      "may not be changed in an update.")
    assert kubectl("delete", "pc", "high").stdout.strip() == (
        'priorityclass.scheduling.k8s.io "high" deleted')
    resources = kubectl("api-resources", "--api-group=scheduling.k8s.io").stdout.splitlines()
    assert resources[1].split() == ["priorityclasses", "pc", "scheduling.k8s.io/v1", "false",
                                    "PriorityClass"]


@needs_kubectl
def test_kubectl_pods_get_the_priority_of_their_class(served):
    cluster, server, kubectl = served
    kubectl("create", "priorityclass", "urgent", "--value=500")
    manifest = yaml.safe_dump(pod("urgent-pod", priorityClassName="urgent"))
    kubectl("create", "-f", "-", stdin=manifest)
    fields = kubectl("get", "pod", "urgent-pod", "-o",
                     "jsonpath={.spec.priority} {.spec.preemptionPolicy}").stdout
    assert fields.split() == ["500", "PreemptLowerPriority"]
    missing = kubectl("create", "-f", "-", check=False,
                      stdin=yaml.safe_dump(pod("lost", priorityClassName="nope")))
    assert missing.stderr.strip() == ('Error from server (Forbidden): error when creating '
                                      '"STDIN": pods "lost" is forbidden: no PriorityClass with '
                                      "name nope was found")
