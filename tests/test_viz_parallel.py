"""kubelearn.viz.parallel: independent runs side by side give what one after another gives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubelearn.viz import parallel


def test_available_cpus_is_at_least_one():
    assert parallel.available_cpus() >= 1


def test_results_come_back_in_the_jobs_order(monkeypatch):
    monkeypatch.setattr(parallel, "available_cpus", lambda: 4)
    assert parallel.run_each(divmod, [(7, 2), (9, 4), (1, 1)]) == [(3, 1), (2, 1), (1, 0)]


def test_a_script_off_linux_runs_each_job_here(monkeypatch):
    # a fresh interpreter per worker would run the script (here: pytest) again
    monkeypatch.setattr(parallel.sys, "platform", "darwin")
    assert parallel._context() is None


PROGRAM = """
from kubelearn.viz import capstone as cp, nodes, parallel
parallel.available_cpus = lambda: 2
cases = {"prestop": (0, 5), "replicas": (3,)}
side_by_side = cp.what_ifs(cases)
one_by_one = [cp.outcome(cp.simulate_capstone(**{k: v})) for k, vs in cases.items() for v in vs]
assert side_by_side.drop(columns=["setting", "value", "lesson's value"]).to_dict("records") \\
    == one_by_one, (side_by_side, one_by_one)
runs = nodes.zone_failures({"one": (1,), "two, and zone-b": (2, True)})
assert runs["two, and zone-b"].equals(nodes.zone_failure(2, True))
print("identical")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="no forkserver on Windows")
def test_runs_in_worker_processes_equal_runs_here():
    # a fresh process, as a notebook's kernel: the workers are forks of it (Linux) or fresh
    # interpreters (`python -c`: __main__ is not a file, as in a notebook)
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.strip() == "identical", done.stderr[-3000:]
