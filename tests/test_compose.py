"""kubelearn.compose: compose files converted as Kompose (v1.38.0) converts them.

The sample stacks under tests/compose/ are docker/awesome-compose's (CC0), each
file naming its source path.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import kubelearn as kl
from kubelearn.cluster import Cluster
from kubelearn.compose import ComposeError, Conversion, convert, parse_port

STACKS = Path(__file__).parent / "compose"
KUBECTL = shutil.which("kubectl")


def kinds(conv: Conversion) -> list[str]:
    return [f"{m['kind']}/{m['metadata']['name']}" for m in conv]


def find(conv: Conversion, kind: str, name: str) -> dict:
    return next(m for m in conv if m["kind"] == kind and m["metadata"]["name"] == name)


def container(conv: Conversion, name: str) -> dict:
    return find(conv, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def warned(conv: Conversion, service: str, field: str) -> str:
    rows = conv.warnings[(conv.warnings.service == service) & (conv.warnings.field == field)]
    assert len(rows) == 1, conv.warnings.to_string()
    return rows.message.iloc[0]


# -- the sample stacks ---------------------------------------------------------------------


def test_flask_redis_web_and_cache():
    conv = kl.compose.convert(STACKS / "flask-redis" / "compose.yaml")
    # Kompose: Services first, then the rest in service order (SortServicesFirst).
    assert kinds(conv) == ["Service/redis", "Service/web", "ConfigMap/web-cm0",
                           "Deployment/redis", "Deployment/web"]
    web = find(conv, "Service", "web")
    assert web["metadata"]["labels"] == {"io.kompose.service": "web"}
    assert web["spec"] == {"ports": [{"name": "8000", "port": 8000, "targetPort": 8000}],
                           "selector": {"io.kompose.service": "web"}}
    deploy = find(conv, "Deployment", "web")
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["selector"] == {"matchLabels": {"io.kompose.service": "web"}}
    assert container(conv, "web")["image"] == "placeholder/web:latest"
    assert "placeholder" in warned(conv, "web", "build")
    assert "Kubernetes starts every pod at once" in warned(conv, "web", "depends_on.redis")
    assert warned(conv, "web", "stop_signal").startswith("not converted")
    # A bind mount of an existing directory: its files in a ConfigMap (Kompose isConfigFile).
    assert "compose.yaml" in find(conv, "ConfigMap", "web-cm0")["data"]
    assert conv.renames == {}


def test_nginx_flask_mysql_secret_healthcheck_and_claim():
    conv = convert(str(STACKS / "nginx-flask-mysql" / "compose.yaml"))
    assert kinds(conv) == ["Secret/db-password", "Service/db", "Service/backend",
                           "Service/proxy", "PersistentVolumeClaim/db-data", "Deployment/db",
                           "Deployment/backend", "Deployment/proxy"]
    secret = find(conv, "Secret", "db-password")
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["db-password"]) == \
        (STACKS / "nginx-flask-mysql" / "db" / "password.txt").read_bytes()
    db = container(conv, "db")
    assert db["args"] == ["--default-authentication-plugin=mysql_native_password"]
    assert {"name": "db-password", "mountPath": "/run/secrets/db-password",
            "subPath": "db-password"} in db["volumeMounts"]
    assert {"name": "db-data", "mountPath": "/var/lib/mysql"} in db["volumeMounts"]
    # CMD-SHELL runs in a shell; $$ is a literal $; interval 3s, retries 5, start_period 30s,
    # the unset timeout Docker's 30s.
    assert db["livenessProbe"] == {
        "exec": {"command": ["sh", "-c", 'mysqladmin ping -h 127.0.0.1 --password="$(cat '
                             '/run/secrets/db-password)" --silent']},
        "periodSeconds": 3, "timeoutSeconds": 30, "failureThreshold": 5,
        "initialDelaySeconds": 30}
    assert "readinessProbe" not in db
    # expose -> Service ports named by number.
    assert [p["name"] for p in find(conv, "Service", "db")["spec"]["ports"]] == ["3306", "33060"]
    pvc = find(conv, "PersistentVolumeClaim", "db-data")
    assert pvc["spec"] == {"accessModes": ["ReadWriteOnce"],
                           "resources": {"requests": {"storage": "100Mi"}}}
    assert "service_healthy" in warned(conv, "backend", "depends_on.db")
    assert "NetworkPolicy" in warned(conv, "", "networks.backnet")


def test_prometheus_grafana_monitoring():
    conv = convert(STACKS / "prometheus-grafana" / "compose.yaml")
    assert kinds(conv) == ["Service/prometheus", "Service/grafana", "ConfigMap/prometheus-cm0",
                           "ConfigMap/grafana-cm0", "PersistentVolumeClaim/prom-data",
                           "Deployment/prometheus", "Deployment/grafana"]
    prom = container(conv, "prometheus")
    assert prom["args"] == ["--config.file=/etc/prometheus/prometheus.yml"]
    assert list(find(conv, "ConfigMap", "prometheus-cm0")["data"]) == ["prometheus.yml"]
    assert "renamed to 'prom-data'" in warned(conv, "prometheus", "volumes[1]")
    assert "Always" in warned(conv, "grafana", "restart")  # unless-stopped
    assert container(conv, "grafana")["env"] == [
        {"name": "GF_SECURITY_ADMIN_PASSWORD", "value": "grafana"},
        {"name": "GF_SECURITY_ADMIN_USER", "value": "admin"}]  # sorted, as Kompose's EnvSort


def test_react_express_mysql_three_tier():
    conv = convert(STACKS / "react-express-mysql" / "compose.yaml")
    backend = container(conv, "backend")
    assert backend["args"] == ["npm", "run", "start-watch"]  # compose command -> k8s args
    assert [p["containerPort"] for p in backend["ports"]] == [80, 9229, 9230]
    # A missing bind source: an empty claim <service>-claim<N>, with Kompose's words.
    assert "isn't supported - ignoring path on the host" in warned(conv, "backend", "volumes[0]")
    assert find(conv, "PersistentVolumeClaim", "backend-claim0")
    assert "anonymous volume" in warned(conv, "frontend", "volumes[1]")
    # db has neither ports nor expose: no Service, said out loud.
    assert "no Service 'db'" in warned(conv, "db", "ports")
    assert not [m for m in conv if m["kind"] == "Service" and m["metadata"]["name"] == "db"]


def test_nextcloud_redis_mariadb_web_cache_database():
    conv = convert(STACKS / "nextcloud-redis-mariadb" / "compose.yaml")
    assert kinds(conv) == ["Service/nc", "Service/redis", "Service/db",
                           "PersistentVolumeClaim/nc-data", "PersistentVolumeClaim/db-data",
                           "Deployment/nc", "Deployment/redis", "Deployment/db"]
    assert container(conv, "db")["args"] == ["--transaction-isolation=READ-COMMITTED",
                                             "--binlog-format=ROW"]
    assert find(conv, "Service", "redis")["spec"]["ports"] == [
        {"name": "6379", "port": 6379, "targetPort": 6379}]


@pytest.mark.parametrize("stack", sorted(p.name for p in STACKS.iterdir()))
def test_every_manifest_is_accepted_by_our_api_server(stack):
    conv = convert(STACKS / stack / "compose.yaml")
    cluster = Cluster(seed=0, nodes=1)
    admin = cluster.client()
    for obj in conv:
        admin.create(obj, "default", dry_run=True)
    stored = cluster.apply(conv)
    assert [(o["kind"], o["metadata"]["name"]) for o in stored] == \
        [(o["kind"], o["metadata"]["name"]) for o in conv]
    # No provisioner in kubelearn: a claim stays Pending, as on a cluster without a
    # default StorageClass.
    assert all(o["status"]["phase"] == "Pending" for o in stored
               if o["kind"] == "PersistentVolumeClaim")


def test_yaml_is_one_stream_of_the_manifests():
    conv = convert(STACKS / "flask-redis" / "compose.yaml")
    text = conv.yaml()
    assert list(yaml.safe_load_all(text)) == list(conv)
    assert text.startswith("apiVersion: v1\nkind: Service\nmetadata:\n")
    assert "\n---\n" in text


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (checks the manifests "
                    "with the real kubectl)")
def test_the_real_kubectl_accepts_every_manifest(tmp_path):
    cluster = Cluster(seed=0, nodes=1)
    served = cluster.serve(quiet=True, speed=1, kubeconfig=tmp_path / "config")
    env = {**os.environ, "KUBECONFIG": str(served.kubeconfig_path), "HOME": str(tmp_path),
           "KUBECACHEDIR": str(tmp_path / "cache")}
    try:
        for stack in sorted(p.name for p in STACKS.iterdir()):
            conv = convert(STACKS / stack / "compose.yaml")
            proc = subprocess.run([KUBECTL, "apply", "--dry-run=client", "-f", "-"],
                                  input=conv.yaml(), capture_output=True, text=True,
                                  env=env, timeout=60)
            assert proc.returncode == 0, f"{stack}: {proc.stderr}"
            assert proc.stdout.count("(dry run)") == len(conv), proc.stdout
    finally:
        served.stop()


# -- a web + redis stack runs in the simulation --------------------------------------------

WEB_REDIS = """\
services:
  web:
    build: .
    ports: ["8000:5000"]
    environment: [REDIS_HOST=redis]
    depends_on: [redis]
  redis:
    image: redis:7
    expose: ["6379"]
"""


def find_ip(cluster: Cluster, service: str) -> str:
    return cluster.client().get("services", service, "default")["spec"]["clusterIP"]


def test_web_and_redis_come_up_and_answer():
    cluster = Cluster(seed=0, nodes=2)
    cluster.apply(convert(WEB_REDIS))
    cluster.run(60)
    pods = cluster.get("pods")
    assert list(pods.STATUS) == ["Running", "Running"]
    assert cluster.dns.lookup("redis").addresses == [find_ip(cluster, "redis")]
    traffic = cluster.traffic(to="web", rate=10, port=8000)
    cluster.run(10)
    requests = traffic.requests()
    assert len(requests) > 50
    assert (requests.outcome == "ok").all(), requests.outcome.value_counts()


# -- the fields, one by one ----------------------------------------------------------------


@pytest.mark.parametrize(("entry", "expected"), [
    ("80", [(80, None, "TCP", "")]),
    (80, [(80, None, "TCP", "")]),
    ("8080:80", [(80, 8080, "TCP", "")]),
    ("127.0.0.1:8080:80", [(80, 8080, "TCP", "127.0.0.1")]),
    ("[::1]:8080:80", [(80, 8080, "TCP", "::1")]),
    ("8080-8081:80-81", [(80, 8080, "TCP", ""), (81, 8081, "TCP", "")]),
    ("3000-3001", [(3000, None, "TCP", ""), (3001, None, "TCP", "")]),
    ("53/udp", [(53, None, "UDP", "")]),
    ({"target": 80, "published": "8080", "protocol": "udp"}, [(80, 8080, "UDP", "")]),
])
def test_port_syntaxes(entry, expected):
    assert [(p.target, p.published, p.protocol, p.host_ip) for p in parse_port(entry)] == expected


def test_same_port_two_protocols_named_as_kompose():
    conv = convert({"services": {"dns": {"image": "coredns/coredns",
                                         "ports": ["53:53/udp", "53:53"]}}})
    ports = find(conv, "Service", "dns")["spec"]["ports"]
    assert ports == [{"name": "53", "port": 53, "targetPort": 53, "protocol": "UDP"},
                     {"name": "53-tcp", "port": 53, "targetPort": 53}]


def test_renames_are_reported_and_used_everywhere():
    conv = convert({"services": {
        "My_App": {"image": "nginx", "ports": ["80"], "depends_on": ["Backend"]},
        "Backend": {"image": "redis", "expose": [6379]}}})
    assert conv.renames == {"My_App": "my-app", "Backend": "backend"}
    assert "renamed to 'my-app'" in warned(conv, "My_App", "name")
    assert find(conv, "Service", "my-app")["spec"]["selector"] == {"io.kompose.service": "my-app"}
    assert container(conv, "my-app")["name"] == "my-app"
    assert "'backend'" in warned(conv, "My_App", "depends_on.Backend")


def test_environment_list_and_map_entrypoint_command_resources_labels():
    conv = convert({"services": {"api": {
        "image": "python:3.12", "entrypoint": "python -u", "command": ["app.py", 8080],
        "environment": {"B": 2, "A": True, "EMPTY": None, "PORT": "${PORT:-8080}"},
        "labels": ["team=web"], "container_name": "My_Api",
        "deploy": {"replicas": 3, "resources": {"limits": {"cpus": "0.5", "memory": "50M"},
                                                "reservations": {"memory": "20m"}}}}}})
    api = container(conv, "api")
    assert api["command"] == ["python", "-u"] and api["args"] == ["app.py", "8080"]
    assert api["env"] == [{"name": "A", "value": "true"}, {"name": "B", "value": "2"},
                          {"name": "EMPTY", "value": ""}, {"name": "PORT", "value": "8080"}]
    assert "blank" in warned(conv, "api", "environment.EMPTY")
    assert api["resources"] == {"limits": {"cpu": "500m", "memory": "50Mi"},
                                "requests": {"memory": "20Mi"}}
    assert api["name"] == "my-api"  # container_name, as Kompose's GetContainerName
    deploy = find(conv, "Deployment", "api")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["metadata"]["annotations"] == {"team": "web"}
    assert "Service name 'api'" in warned(conv, "api", "container_name")


def test_restart_no_and_on_failure_become_bare_pods():
    conv = convert({"services": {"once": {"image": "busybox", "restart": "no"},
                                 "retry": {"image": "busybox", "restart": "on-failure:3"}}})
    assert kinds(conv) == ["Pod/once", "Pod/retry"]
    assert find(conv, "Pod", "once")["spec"]["restartPolicy"] == "Never"
    assert find(conv, "Pod", "retry")["spec"]["restartPolicy"] == "OnFailure"
    assert "restartPolicy Never" in warned(conv, "once", "restart")


def test_configs_and_secrets_mounts(tmp_path):
    (tmp_path / "nginx.conf").write_text("server {}\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx\n    configs: [site]\n"
        "    secrets: [{source: api_key, target: key.txt}]\n"
        "configs:\n  site: {file: ./nginx.conf}\nsecrets:\n  api_key: {environment: KEY}\n")
    conv = convert(tmp_path / "compose.yaml")
    web = find(conv, "Deployment", "web")["spec"]["template"]["spec"]
    assert {"name": "site", "mountPath": "/site", "subPath": "site"} in \
        web["containers"][0]["volumeMounts"]
    assert find(conv, "ConfigMap", "site")["data"] == {"nginx.conf": "server {}\n"}
    assert {"name": "api-key", "mountPath": "/run/secrets/key.txt", "subPath": "key.txt"} in \
        web["containers"][0]["volumeMounts"]
    assert "empty" in warned(conv, "", "secrets.api_key")


def test_yaml_1_2_scalars_as_compose_reads_them():
    conv = convert("services:\n  a:\n    image: busybox\n    restart: no\n"
                   "    ports: [22:22]\n")
    assert find(conv, "Pod", "a")["spec"]["restartPolicy"] == "Never"  # "no", not False
    assert find(conv, "Service", "a")["spec"]["ports"][0]["port"] == 22  # not 1342


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "message"), [
    ("services:\n  web:\n    image: [nginx\n", "line 4: invalid YAML"),
    ("servics:\n  web: {image: nginx}\n", "(root): additional property 'servics' is not allowed"),
    ("services:\n  web: nginx\n", "services.web: must be a map, not a string"),
    ("services:\n  web: {image: nginx, ports: ['80:abc']}\n",
     'services.web.ports[0]: invalid port "80:abc"'),
    ("services:\n  web: {image: nginx, ports: ['70000']}\n",
     'services.web.ports[0]: invalid port "70000"'),
    ("services:\n  db: {image: postgres, volumes: ['data:/var/lib/postgresql']}\n",
     'services.db.volumes[0]: service "db" refers to undefined volume "data"'),
    ("services:\n  db: {image: postgres, secrets: [pw]}\n",
     'services.db.secrets[0]: service "db" refers to undefined secret "pw"'),
    ("services:\n  db: {image: postgres, configs: [c]}\n",
     'services.db.configs[0]: service "db" refers to undefined config "c"'),
    ("services:\n  web: {image: nginx, depends_on: [db]}\n",
     "depends on undefined service 'db'"),
    ("services:\n  web: {ports: ['80']}\n", "neither an image nor a build context"),
    ("services:\n  web: {image: nginx, restart: sometimes}\n", "invalid restart policy"),
    ("services:\n  web: {image: nginx, healthcheck: {test: [CMD], interval: 1x}}\n",
     "services.web.healthcheck.test"),
    ("services: {}\n", "at least one service"),
    ("- a\n", "a compose file is a map"),
    ("x-common: {}\nservices:\n  web: {image: nginx, env_file: missing.env}\n",
     "services.web.env_file: file 'missing.env' not found"),
])
def test_invalid_compose_is_a_clear_error(source, message):
    with pytest.raises(ComposeError) as err:
        convert(source)
    assert message in str(err.value)


def test_missing_file_is_a_compose_error(tmp_path):
    with pytest.raises(ComposeError, match="cannot read the compose file"):
        convert(tmp_path / "compose.yaml")
    with pytest.raises(ComposeError, match="cannot read"):
        convert(str(tmp_path / "nope.yml"))


def test_compose_error_is_a_value_error():
    assert issubclass(ComposeError, ValueError)
