"""How fast is the API server? Creates, gets and lists per second, in-process and over HTTPS.

Run: python benchmarks/apiserver.py [--pods 2000]

In-process requests go through kubelearn.client.Client, the same pipeline
(authentication, RBAC, admission, validation, storage) every component uses.
Over HTTPS, one keep-alive connection sends what kubectl would send, with the
admin's bearer token; the simulation stands still (speed 0) so only the
request path is measured. Wall time is read here, and only here, to measure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlparse

import kubelearn as kl
from kubelearn.apiserver.patch import strategic_merge_patch, three_way_patch


def pod(name: str) -> dict:
    """A small pod like the ones lessons create."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}


def rate(count: int, work: Callable[[int], object]) -> float:
    """Operations per second of ``work(i)`` for i in range(count)."""
    start = time.perf_counter()
    for i in range(count):
        work(i)
    return count / (time.perf_counter() - start)


def in_process(pods: int) -> dict[str, float]:
    """Creates, gets and lists per second through the in-process client."""
    cluster = kl.Cluster(seed=0)
    admin = cluster.admin
    creates = rate(pods, lambda i: admin.create(pod(f"web-{i}")))
    gets = rate(pods, lambda i: admin.get("pods", f"web-{i}"))
    lists = rate(20, lambda i: admin.list("pods", "default"))
    return {"create": creates, "get": gets, f"list of {pods} pods": lists}


class HTTPS:
    """One keep-alive HTTPS connection to a served cluster, as the admin."""

    def __init__(self, server: object) -> None:
        url = urlparse(server.url)
        context = ssl.create_default_context(cafile=str(server.ca_path))
        self.conn = http.client.HTTPSConnection(url.hostname, url.port, context=context)
        self.headers = {"Authorization": f"Bearer {server.token}",
                        "Content-Type": "application/json", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        assert response.status < 300, (response.status, payload[:300])
        return json.loads(payload)


def over_https(pods: int) -> dict[str, float]:
    """The same operations over HTTPS, plus the time of one list of 1,000 pods."""
    cluster = kl.Cluster(seed=0)
    base = "/api/v1/namespaces/default/pods"
    with cluster.serve(speed=0, quiet=True) as server:
        client = HTTPS(server)
        creates = rate(pods, lambda i: client.call("POST", base, pod(f"web-{i}")))
        gets = rate(pods, lambda i: client.call("GET", f"{base}/web-{i}"))
        lists = rate(20, lambda i: client.call("GET", base))
        cluster.lock.acquire()
        try:
            for i in range(pods, 1000):
                cluster.admin.create(pod(f"web-{i}"))
        finally:
            cluster.lock.release()
        start = time.perf_counter()
        items = client.call("GET", f"{base}?limit=1000")["items"]
        list_1000 = time.perf_counter() - start
        assert len(items) == 1000
    return {"create": creates, "get": gets, f"list of {pods} pods": lists,
            "list of 1,000 pods (ms)": list_1000 * 1000}


def big_patches(items: int) -> dict[str, float]:
    """Milliseconds for patches of ``items`` containers: a strategic merge patch, kubectl
    apply's patch, and the strategic merge patch through the in-process API server under
    dryRun (its validation refuses the new containers: a 422, as the issue 11 reproducer)."""
    names = [f"c{i}" for i in range(items + items // 2)]
    old = {"spec": {"containers": [{"name": n, "image": "x"} for n in names[:items]]}}
    new = {"spec": {"containers": [{"name": n, "image": "y"} for n in names[items // 2:]]}}
    cluster = kl.Cluster(seed=0)
    cluster.admin.create(pod("web"))
    info = cluster.admin.info("pods")

    def dry_run() -> None:
        try:
            cluster.admin.request("patch", info, namespace="default", name="web", body=new,
                                  query={"dryRun": "All"}, patch_type="strategic")
        except kl.api.StatusError:
            pass

    def ms(work: Callable[[], object]) -> float:
        start = time.perf_counter()
        work()
        return (time.perf_counter() - start) * 1000

    return {"strategic merge patch": ms(lambda: strategic_merge_patch(old, new, "Pod")),
            "kubectl apply's patch": ms(lambda: three_way_patch(old, new, "Pod")),
            "patch via the API server": ms(dry_run)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--items", type=int, default=16000)
    args = parser.parse_args()
    local, remote = in_process(args.pods), over_https(args.pods)
    print(f"{'operation':<28}{'in-process client':>20}{'HTTPS, keep-alive':>20}")
    print("-" * 68)
    for name in local:
        print(f"{name + ' (/s)':<28}{local[name]:>20,.0f}{remote[name]:>20,.0f}")
    name = "list of 1,000 pods (ms)"
    print(f"{name:<28}{'':>20}{remote[name]:>20,.1f}")
    print(f"\npatches of {args.items:,} containers (ms, in-process)")
    for name, ms in big_patches(args.items).items():
        print(f"{name:<28}{ms:>20,.0f}")
    print(f"\n(python {platform.python_version()}, {platform.machine()}, one core)")


if __name__ == "__main__":
    main()
