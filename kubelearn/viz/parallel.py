"""Independent simulations side by side: one process per core, at most four.

A lesson that compares several runs (09's what-ifs, 06's zone failures) need
not run them one after another. Each run builds its own cluster with its own
seeded generators and virtual clock, so which process runs it, and in what
order, changes nothing in its result: the table is the same on a laptop with
eight cores, on Binder with one, and under ``pytest --nbval``.

On Linux the workers are forks of this process: they start at once, with
everything it has imported and computed (Python up to 3.13 does the same by
default there). Elsewhere a fork is not safe, and a worker starts a fresh
interpreter that runs the main module's top level again, so only a notebook
(whose ``__main__`` is not a file) uses them: a script without the ``if
__name__ == "__main__":`` guard would start itself over. Where processes are
not used (one core, one job, a platform without them) the runs happen here,
one after another, with the same results.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

# Four workers at most: each holds its own cluster and the imported libraries (~150 MB),
# and Binder gives a session 2 GB.
MAX_WORKERS = 4


def available_cpus() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 quota.

    Containers (Binder, CI) often see every core of the host but may use fewer:
    ``/sys/fs/cgroup/cpu.max`` says how many (``"200000 100000"`` is two).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def run_each(fn: Callable[..., T], jobs: Sequence[tuple[Any, ...]]) -> list[T]:
    """``[fn(*job) for job in jobs]``, the jobs spread over the available cores.

    ``fn`` must be a module-level function and its arguments and result
    picklable (numbers, strings, DataFrames), as for any process pool.
    """
    workers = min(MAX_WORKERS, len(jobs), available_cpus())
    context = _context()
    if workers < 2 or context is None:
        return [fn(*job) for job in jobs]
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(pool.map(_apply, [fn] * len(jobs), jobs))
    except (BrokenProcessPool, OSError):  # processes refused (e.g. no /dev/shm): run here
        return [fn(*job) for job in jobs]


def _context() -> multiprocessing.context.BaseContext | None:
    """How to start workers here: fork on Linux, else a fresh interpreter, if that is safe."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    if getattr(sys.modules.get("__main__"), "__file__", None):
        return None  # a script: each worker would run it again
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _apply(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """``fn(*args)``, in a worker (a pool maps a function over one list of arguments)."""
    return fn(*args)
