"""Pods, a ReplicaSet and a Service for the Endpoints and EndpointSlice controller tests."""

FAIL_READINESS = "sim.kubelearn.io/web.fail-readiness-after"
SHUTDOWN = "sim.kubelearn.io/web.shutdown-seconds"


def pod(name: str, port: int = 8080, annotations: dict | None = None, labels: dict | None = None
        ) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "web"},
                         "annotations": annotations or {}},
            "spec": {"containers": [{
                "name": "web", "image": "nginx",
                "ports": [{"name": "http", "containerPort": port}],
                "readinessProbe": {"httpGet": {"path": "/", "port": port}, "periodSeconds": 5}}]}}


def service(name: str = "web", target: int | str = "http", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": target}], **spec}}


def replicaset(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "nginx",
                                      "ports": [{"name": "http", "containerPort": 8080}]}]}}}}
