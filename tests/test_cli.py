"""`kubelearn serve` from a terminal: a pod created with the real kubectl is scheduled and runs."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KUBECTL = shutil.which("kubectl")


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([KUBECTL, *args], env=dict(os.environ, KUBECONFIG=str(kubeconfig)),
                          capture_output=True, text=True, timeout=30)


def test_serve_rejects_bad_arguments_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "kubelearn", "serve", "--nodes", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --nodes must be 0 or more, not -1"


def test_kubectl_run_on_a_served_cluster_ends_running_on_a_node(tmp_path: Path):
    if KUBECTL is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not on PATH, but CI machines must have it", pytrace=False)
        pytest.skip("kubectl is not installed (this test drives the real kubectl)")
    kubeconfig = tmp_path / "kubeconfig"
    server = subprocess.Popen(
        [sys.executable, "-m", "kubelearn", "serve", "--speed", "20", "--nodes", "2",
         "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = server.stdout.readline()
        assert banner.startswith("kubelearn API server at https://127.0.0.1:"), banner
        assert kubectl(kubeconfig, "run", "web", "--image=nginx:1.27").returncode == 0
        deadline = time.monotonic() + 30
        while True:
            wide = kubectl(kubeconfig, "get", "pod", "web", "-o", "wide", "--no-headers").stdout
            if "Running" in wide or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        columns = wide.split()
        assert columns[:3] == ["web", "1/1", "Running"], wide
        assert columns[6] in ("node-1", "node-2"), wide
        events = kubectl(kubeconfig, "get", "events", "--field-selector",
                         "involvedObject.name=web", "-o",
                         "custom-columns=REASON:.reason", "--no-headers").stdout.split()
        assert {"Scheduled", "Pulled", "Created", "Started"} <= set(events), events
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0
