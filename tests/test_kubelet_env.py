"""A container's environment (kubelearn.kubelet.envvars), the runtime's record of it, exec.

The table cases are ported from upstream's TestMakeEnvironmentVariables
(pkg/kubelet/kubelet_pods_test.go, v1.32) and the expansion cases from
third_party/forked/golang/expansion/expand_test.go. Upstream sorts both sides
before comparing (its order comes from Go maps); these tests compare dicts,
and a few check kubelearn's declared order.
"""

from __future__ import annotations

import base64

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, InternalError, NotFound
from kubelearn.kubelet.envvars import (
    EnvError,
    expand,
    field_value,
    from_services,
    make_environment,
    resource_value,
    service_env,
)
from kubelearn.kubelet.runtime import process_env


def service(name: str, namespace: str, cluster_ip: str, port: int, protocol: str = "TCP",
            port_name: str = "") -> dict:
    port_spec = {"port": port, "protocol": protocol}
    if port_name:
        port_spec["name"] = port_name
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "ports": [port_spec]}}


SERVICES = [  # buildService(...) in upstream's test
    service("kubernetes", "default", "1.2.3.1", 8081),
    service("test", "test1", "1.2.3.3", 8083),
    service("kubernetes", "test2", "1.2.3.4", 8084),
    service("test", "test2", "1.2.3.5", 8085),
    service("test", "test2", "None", 8085),
    service("test", "test2", "", 8085),
    service("not-special", "default", "1.2.3.8", 8088),
    service("not-special", "default", "None", 8088),
    service("not-special", "default", "", 8088),
]


def links(prefix: str, ip: str, port: int) -> dict[str, str]:
    return {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(port),
            f"{prefix}_PORT": f"tcp://{ip}:{port}", f"{prefix}_PORT_{port}_TCP": f"tcp://{ip}:{port}",
            f"{prefix}_PORT_{port}_TCP_PROTO": "tcp", f"{prefix}_PORT_{port}_TCP_PORT": str(port),
            f"{prefix}_PORT_{port}_TCP_ADDR": ip}


MASTER = links("KUBERNETES", "1.2.3.1", 8081)


def pod(namespace: str, links_enabled: bool = False, **spec) -> dict:
    return {"metadata": {"name": "dapi-test-pod-name", "namespace": namespace, "uid": "uid-1",
                         "labels": {"app": "web"}, "annotations": {"team": "blue"}},
            "spec": {"serviceAccountName": "special", "nodeName": "node-name",
                     "enableServiceLinks": links_enabled, **spec}}


def env_of(container: dict, namespace: str = "test1", links_enabled: bool = False,
           config_maps: dict | None = None, secrets: dict | None = None,
           services: list | None = None, **kw) -> dict[str, str]:
    config_maps, secrets = config_maps or {}, secrets or {}
    return dict(make_environment(
        pod(namespace, links_enabled), container,
        services=SERVICES if services is None else services,
        config_map=lambda ns, name: config_maps.get(name),
        secret=lambda ns, name: secrets.get(name), **kw))


# -- service links ---------------------------------------------------------------------------------
def test_only_the_master_service_without_service_links():
    assert env_of({"env": [{"name": "FOO", "value": "BAZ"}]}) == {"FOO": "BAZ", **MASTER}


def test_service_links_of_the_pods_namespace():
    assert env_of({"env": [{"name": "FOO", "value": "BAZ"}]}, links_enabled=True) == \
        {"FOO": "BAZ", **links("TEST", "1.2.3.3", 8083), **MASTER}


def test_master_service_in_pod_namespace_is_ignored_without_links():
    assert env_of({"env": [{"name": "FOO", "value": "ZAP"}]}, "test2") == {"FOO": "ZAP", **MASTER}


def test_master_service_in_pod_namespace_wins_with_links():
    """Upstream's "master service in pod ns, service env vars": test2's own kubernetes."""
    assert env_of({"env": [{"name": "FOO", "value": "ZAP"}]}, "test2", links_enabled=True) == {
        "FOO": "ZAP", **links("TEST", "1.2.3.5", 8085), **links("KUBERNETES", "1.2.3.4", 8084)}


def test_pod_in_master_namespace():
    assert env_of({}, "default") == MASTER
    assert env_of({}, "default", links_enabled=True) == \
        {**links("NOT_SPECIAL", "1.2.3.8", 8088), **MASTER}


def test_declared_variables_win_over_service_links():
    """"api server = Y, kubelet = Y": the same names declared once, not twice."""
    declared = [{"name": k, "value": v} for k, v in links("TEST", "9.9.9.9", 80).items()]
    got = make_environment(pod("test1", True), {"env": declared}, services=SERVICES,
                           config_map=lambda *a: None, secret=lambda *a: None)
    names = [name for name, _ in got]
    assert len(names) == len(set(names))
    assert dict(got)["TEST_SERVICE_HOST"] == "9.9.9.9"


def test_named_ports_udp_and_ipv6():
    svc = {"metadata": {"name": "my-dns", "namespace": "ns"},
           "spec": {"clusterIP": "fd00::a", "ports": [
               {"name": "dns", "port": 53, "protocol": "UDP"},
               {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}}
    got = dict(from_services([svc]))
    assert got["MY_DNS_SERVICE_PORT"] == "53"
    assert got["MY_DNS_SERVICE_PORT_DNS"] == "53"
    assert got["MY_DNS_SERVICE_PORT_DNS_TCP"] == "53"
    assert got["MY_DNS_PORT"] == "udp://[fd00::a]:53"
    assert got["MY_DNS_PORT_53_UDP_PROTO"] == "udp"
    assert got["MY_DNS_PORT_53_TCP"] == "tcp://[fd00::a]:53"


def test_headless_services_have_no_links():
    assert service_env([service("db", "ns", "None", 5432)], "ns") == {}


# -- env, envFrom, expansion ----------------------------------------------------------------------
EXPANSION = [
    {"name": "TEST_LITERAL", "value": "test-test-test"},
    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                    "fieldPath": "metadata.name"}}},
    {"name": "OUT_OF_ORDER_TEST", "value": "$(OUT_OF_ORDER_TARGET)"},
    {"name": "OUT_OF_ORDER_TARGET", "value": "FOO"},
    {"name": "EMPTY_VAR"},
    {"name": "EMPTY_TEST", "value": "foo-$(EMPTY_VAR)"},
    {"name": "POD_NAME_TEST2", "value": "test2-$(POD_NAME)"},
    {"name": "POD_NAME_TEST3", "value": "$(POD_NAME_TEST2)-3"},
    {"name": "LITERAL_TEST", "value": "literal-$(TEST_LITERAL)"},
    {"name": "SERVICE_VAR_TEST", "value": "$(TEST_SERVICE_HOST):$(TEST_SERVICE_PORT)"},
    {"name": "TEST_UNDEFINED", "value": "$(UNDEFINED_VAR)"},
]


def test_env_expansion_with_service_links():
    got = env_of({"env": EXPANSION}, links_enabled=True)
    assert got["POD_NAME_TEST2"] == "test2-dapi-test-pod-name"
    assert got["POD_NAME_TEST3"] == "test2-dapi-test-pod-name-3"
    assert got["LITERAL_TEST"] == "literal-test-test-test"
    assert got["SERVICE_VAR_TEST"] == "1.2.3.3:8083"
    assert got["OUT_OF_ORDER_TEST"] == "$(OUT_OF_ORDER_TARGET)"  # only what came before
    assert got["EMPTY_VAR"] == "" and got["EMPTY_TEST"] == "foo-"
    assert got["TEST_UNDEFINED"] == "$(UNDEFINED_VAR)"


def test_service_links_are_not_expanded_without_them():
    assert env_of({"env": EXPANSION})["SERVICE_VAR_TEST"] == \
        "$(TEST_SERVICE_HOST):$(TEST_SERVICE_PORT)"


CONFIG_MAP_CONTAINER = {
    "envFrom": [{"configMapRef": {"name": "test-config-map"}},
                {"prefix": "p_", "configMapRef": {"name": "test-config-map"}}],
    "env": [{"name": "TEST_LITERAL", "value": "test-test-test"},
            {"name": "EXPANSION_TEST", "value": "$(REPLACE_ME)"},
            {"name": "DUPE_TEST", "value": "ENV_VAR"}]}


def test_config_map_env_from_with_prefix_and_override():
    got = env_of(CONFIG_MAP_CONTAINER, config_maps={
        "test-config-map": {"REPLACE_ME": "FROM_CONFIG_MAP", "DUPE_TEST": "CONFIG_MAP"}})
    assert got == {"REPLACE_ME": "FROM_CONFIG_MAP", "DUPE_TEST": "ENV_VAR",
                   "p_REPLACE_ME": "FROM_CONFIG_MAP", "p_DUPE_TEST": "CONFIG_MAP",
                   "TEST_LITERAL": "test-test-test", "EXPANSION_TEST": "FROM_CONFIG_MAP",
                   **MASTER}


def test_keys_that_are_not_c_identifiers_are_kept_since_v130():
    """Upstream's configmap_invalid_keys_valid / secret_invalid_keys_valid (v1.30+)."""
    container = {"envFrom": [{"prefix": "1_", "secretRef": {"name": "s"}}]}
    assert env_of(container, secrets={"s": {"1234.name": "abc"}}) == \
        {"1_1234.name": "abc", **MASTER}


def test_secret_env_from():
    container = {**CONFIG_MAP_CONTAINER, "envFrom": [
        {"secretRef": {"name": "test-secret"}},
        {"prefix": "p_", "secretRef": {"name": "test-secret"}}]}
    got = env_of(container, secrets={
        "test-secret": {"REPLACE_ME": "FROM_SECRET", "DUPE_TEST": "SECRET"}})
    assert got["EXPANSION_TEST"] == "FROM_SECRET" and got["p_DUPE_TEST"] == "SECRET"
    assert got["DUPE_TEST"] == "ENV_VAR"


def test_order_is_envfrom_then_env_then_service_links():
    got = make_environment(pod("test1"), CONFIG_MAP_CONTAINER, services=SERVICES,
                           config_map=lambda ns, n: {"REPLACE_ME": "x", "DUPE_TEST": "y"},
                           secret=lambda *a: None)
    assert [name for name, _ in got][:7] == ["REPLACE_ME", "DUPE_TEST", "p_REPLACE_ME",
                                             "p_DUPE_TEST", "TEST_LITERAL", "EXPANSION_TEST",
                                             "KUBERNETES_SERVICE_HOST"]


@pytest.mark.parametrize("container, message", [
    ({"envFrom": [{"configMapRef": {"name": "test-config-map"}}]},
     'configmap "test-config-map" not found'),
    ({"envFrom": [{"secretRef": {"name": "test-secret"}}]}, 'secret "test-secret" not found'),
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]},
     'configmap "cm" not found'),
])
def test_missing_sources_are_errors(container, message):
    with pytest.raises(EnvError, match=message):
        env_of(container)


def test_missing_key_is_an_error_unless_optional():
    ref = {"name": "test-config-map", "key": "key"}
    data = {"test-config-map": {"a": "b"}}
    with pytest.raises(EnvError, match="couldn't find key key in ConfigMap test1/test-config-map"):
        env_of({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": ref}}]}, config_maps=data)
    optional = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {**ref,
                                                                        "optional": True}}}]}
    assert "X" not in env_of(optional, config_maps=data)
    secret_ref = {"name": "s", "key": "key"}
    with pytest.raises(EnvError, match="couldn't find key key in Secret test1/s"):
        env_of({"env": [{"name": "X", "valueFrom": {"secretKeyRef": secret_ref}}]},
               secrets={"s": {"a": "b"}})


def test_optional_missing_sources_give_nothing():
    container = {"envFrom": [{"configMapRef": {"name": "missing", "optional": True}},
                             {"secretRef": {"name": "missing", "optional": True}}],
                 "env": [{"name": "POD_NAME", "valueFrom": {"secretKeyRef": {
                     "name": "missing-secret", "key": "key", "optional": True}}}]}
    assert env_of(container) == MASTER


def test_each_source_is_read_once():
    reads = []

    def config_map(ns: str, name: str) -> dict:
        reads.append(name)
        return {"A": "1", "B": "2"}
    container = {"envFrom": [{"configMapRef": {"name": "cm"}}],
                 "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm",
                                                                         "key": "B"}}}]}
    make_environment(pod("ns"), container, services=[], config_map=config_map,
                     secret=lambda *a: None)
    assert reads == ["cm"]


# -- the downward API ------------------------------------------------------------------------------
def field(path: str) -> dict:
    return {"apiVersion": "v1", "fieldPath": path}


def test_downward_api_fields():
    """Upstream's "downward api pod": both families, the node's first."""
    p = pod("downward-api")
    ips, hosts = ["1.2.3.4", "fd00::6"], ["10.0.0.1", "fd00::1"]
    values = {path: field_value(field(path), p, ips, hosts) for path in (
        "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
        "spec.serviceAccountName", "status.podIP", "status.podIPs", "status.hostIP",
        "status.hostIPs", "metadata.labels['app']", "metadata.annotations['team']",
        "metadata.labels['missing']")}
    assert values == {
        "metadata.name": "dapi-test-pod-name", "metadata.namespace": "downward-api",
        "metadata.uid": "uid-1", "spec.nodeName": "node-name",
        "spec.serviceAccountName": "special", "status.podIP": "1.2.3.4",
        "status.podIPs": "1.2.3.4,fd00::6", "status.hostIP": "10.0.0.1",
        "status.hostIPs": "10.0.0.1,fd00::1", "metadata.labels['app']": "web",
        "metadata.annotations['team']": "blue", "metadata.labels['missing']": ""}


def test_pod_ips_follow_the_node_family_and_drop_invalid():
    """"downward api pod ips reverse order" and "... multiple ips"."""
    p = pod("downward-api")
    assert field_value(field("status.podIPs"), p, ["fd00::6", "1.2.3.4"], ["10.0.0.1"]) == \
        "1.2.3.4,fd00::6"
    assert field_value(field("status.podIPs"), p, ["1.2.3.4", "192.168.1.1.", "fd00::6"],
                       ["10.0.0.1"]) == "1.2.3.4,fd00::6"
    assert field_value(field("status.podIP"), p, ["1.2.3.4", "fd00::6"], ["fd00::1"]) == \
        "fd00::6"


def test_whole_label_map_is_formatted_sorted():
    p = pod("ns")
    p["metadata"]["labels"] = {"b": "2", "a": 'say "hi"'}
    assert field_value(field("metadata.labels"), p, [], []) == 'a="say \\"hi\\""\nb="2"'


@pytest.mark.parametrize("path, message", [
    ("spec.containers", "field label not supported: spec.containers"),
    ("status.phase", "unsupported fieldPath: status.phase"),
    ("spec.nodeName['x']", "field label does not support subscript: spec.nodeName['x']"),
    ("metadata.labels['a b']", "invalid key subscript in metadata.labels['a b']"),
])
def test_bad_field_paths(path, message):
    with pytest.raises(EnvError, match=message.replace("[", r"\[")):
        field_value(field(path), pod("ns"), [], [])


def test_resource_field_ref_defaults_limits_to_allocatable_and_rounds_up():
    allocatable = {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi"}
    web = {"name": "web", "resources": {"requests": {"cpu": "250m", "memory": "100Mi"},
                                        "limits": {"memory": "1Gi"}}}
    side = {"name": "side", "resources": {"limits": {"cpu": "1500m"}}}

    def value(resource: str, divisor: str = "", name: str = "") -> str:
        selector = {"resource": resource, "divisor": divisor, "containerName": name}
        return resource_value(selector, web, [web, side], allocatable)
    assert value("requests.cpu") == "1"  # 250m rounded up to whole cores
    assert value("requests.cpu", "1m") == "250"
    assert value("limits.cpu") == "4"  # no limit: the node's allocatable
    assert value("limits.memory", "1Mi") == "1024"
    assert value("requests.memory") == str(100 * 1024 * 1024)
    assert value("limits.cpu", name="side") == "2"
    with pytest.raises(EnvError, match="container nope not found"):
        value("limits.cpu", name="nope")
    with pytest.raises(EnvError, match="unsupported container resource : limits.gpu"):
        value("limits.gpu")


# -- expansion (expand_test.go) --------------------------------------------------------------------
CONTEXT = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize("text, expected", [
    ("$(VAR_A)", "A"), ("$(VAR_A)-$(VAR_A)", "A-A"), ("___$(VAR_B)___", "___B___"),
    ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"), ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
    ("f000-$$VAR_A", "f000-$VAR_A"), ("foo\\$(VAR_C)bar", "foo\\Cbar"),
    ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"), ("$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"),
    ("$(VAR_REF)", "$(VAR_A)"), ("foo$(VAR_EMPTY)bar", "foobar"),
    ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"), ("$?_boo_$!", "$?_boo_$!"),
    ("$VAR_A", "$VAR_A"), ("$(VAR_DNE)", "$(VAR_DNE)"), ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
    ("$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"), ("$$$$$$$(VAR_A)", "$$$A"),
    ("${VAR_A}", "${VAR_A}"), ("$(VAR_B)_______$(A", "B_______$(A"),
    ("$(VAR_C)_______$(", "C_______$("), ("$(VAR_A)foobarzab$", "Afoobarzab$"),
    ("--$($($($($--", "--$($($($($--"), ("$(foo$$var)", "$(foo$$var)"), ("\n", "\n"),
])
def test_expand(text, expected):
    assert expand(text, CONTEXT) == expected
    assert expand(text, {"VAR_A": "A", "VAR_EMPTY": ""},
                  {"VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)"}) == expected


def test_process_env_replaces_in_place_and_adds_home():
    env = process_env("web-1", [("GREETING", "hi"), ("PATH", "/bin")])
    assert env == (("PATH", "/bin"), ("HOSTNAME", "web-1"), ("GREETING", "hi"),
                   ("HOME", "/root"))


# -- a cluster: the kubelet reads, the runtime keeps, exec shows -----------------------------------
WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        envFrom: [{configMapRef: {name: web-config}}]
"""
CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"},
          "data": {"GREETING": "hello"}}


def greetings(cluster: kl.Cluster) -> dict[str, str]:
    return {name: cluster.exec(name, ["printenv", "GREETING"])
            for name in cluster.get("pods").NAME}


def test_a_config_map_change_reaches_only_new_containers():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply([CONFIG, WEB % 2])
    cluster.run(30)
    old = greetings(cluster)
    assert sorted(old.values()) == ["hello\n", "hello\n"]
    cluster.apply({**CONFIG, "data": {"GREETING": "bonjour"}})
    cluster.admin.scale("deployments", "web", 3)
    cluster.run(30)
    now = greetings(cluster)
    assert {name: now[name] for name in old} == old  # the running ones keep hello
    assert [now[name] for name in now if name not in old] == ["bonjour\n"]
    cluster.rollout_restart("web")
    cluster.run(60)
    assert sorted(greetings(cluster).values()) == ["bonjour\n"] * 3


def test_a_missing_config_map_blocks_the_start_until_it_exists():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply(WEB % 1)
    cluster.run(25)
    pods = cluster.get("pods")
    assert list(pods.STATUS) == ["CreateContainerConfigError"]
    name = pods.NAME[0]
    status = cluster.admin.get("pods", name)["status"]["containerStatuses"][0]
    assert status["state"]["waiting"] == {"reason": "CreateContainerConfigError",
                                          "message": 'configmap "web-config" not found'}
    failed = [e for e in cluster.admin.list("events")["items"] if e["reason"] == "Failed"]
    assert failed and failed[0]["message"] == 'Error: configmap "web-config" not found'
    assert failed[0]["count"] >= 2  # retried on the pod's sync back-off
    with pytest.raises(BadRequest, match=r"container not found \('web'\)"):
        cluster.exec(name, ["env"])
    cluster.apply(CONFIG)
    cluster.run(15)
    assert list(cluster.get("pods").STATUS) == ["Running"]
    assert cluster.exec(name, "printenv GREETING") == "hello\n"


def test_env_text_and_service_links_of_a_new_service():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply([CONFIG, WEB % 1])
    cluster.run(20)
    first = cluster.get("pods").NAME[0]
    text = cluster.exec(first, ["env"])
    lines = text.splitlines()
    assert lines[0].startswith("PATH=") and lines[1] == f"HOSTNAME={first}"
    assert lines[2] == "GREETING=hello" and lines[-1] == "HOME=/root"
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in lines
    assert not any(line.startswith("WEB_") for line in lines)
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    cluster.admin.scale("deployments", "web", 2)
    cluster.run(20)
    second = next(n for n in cluster.get("pods").NAME if n != first)
    ip = cluster.admin.get("services", "web")["spec"]["clusterIP"]
    assert f"WEB_SERVICE_HOST={ip}" in cluster.exec(second, "env").splitlines()
    assert "WEB_SERVICE_HOST" not in cluster.exec(first, "env")  # started before the Service


def test_secret_key_ref_is_decoded():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                    "data": {"password": base64.b64encode(b"s3cret").decode()}},
                   {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
                    "spec": {"enableServiceLinks": False, "containers": [{
                        "name": "app", "image": "nginx:1.27",
                        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
                            "name": "db", "key": "password"}}},
                                {"name": "NODE", "valueFrom": {"fieldRef": {
                                    "fieldPath": "spec.nodeName"}}}]}]}}])
    cluster.run(20)
    assert cluster.exec("app", ["printenv", "DB_PASSWORD", "NODE"]) == "s3cret\nnode-1\n"


def test_exec_errors_are_kubernetes_style():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply([CONFIG, WEB % 1])
    cluster.run(20)
    name = cluster.get("pods").NAME[0]
    with pytest.raises(NotFound, match='pods "nope" not found'):
        cluster.exec("nope", ["env"])
    with pytest.raises(BadRequest, match=f"container sidecar is not valid for pod {name}"):
        cluster.exec(name, ["env"], container="sidecar")
    with pytest.raises(InternalError, match='exec: "ls": executable file not found'):
        cluster.exec(name, ["ls"])
