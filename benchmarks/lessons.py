"""How long does each lesson take to run, top to bottom, in a fresh kernel?

Each notebook is executed as ``jupyter nbconvert --execute`` would: nbclient
starts a new ``python3`` kernel in the lesson's folder, runs every code cell in
order -- as "Run All" in JupyterLab does, so the ``# NBVAL_SKIP`` cells too
(the real etcd of lesson 02), unless ``--nbval`` leaves them out as nbval does
-- and stops the kernel. Nothing is written back: the notebooks on disk are not
touched. Printed per lesson: the seconds to start the kernel, the seconds from
the first cell's start to the last cell's end ("run all"), and the slowest
cells with their first line; then the series' total. Beside each wall time, the
CPU seconds the kernel process and its workers spent (psutil, which ipykernel
depends on; the workers are the processes kubelearn.viz.parallel starts): on a
shared machine the CPU figure moves much less with the load than the wall one.

Issue 14 aims at a lesson interactive within 10 s of "Run All" on a
laptop-class machine and at the whole series under nbval in less than 60 s.

    python benchmarks/lessons.py                         # every lesson
    python benchmarks/lessons.py notebooks/04_scheduler.ipynb --cells 10
    python benchmarks/lessons.py --cells 0               # totals only
    python benchmarks/lessons.py --nbval                 # the cells nbval runs

Wall time is read here, and only here, to measure. On a shared machine run it
twice: the figures move with the load.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbclient
import nbformat
import psutil
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TIMEOUT = 600  # seconds one cell may take before nbclient gives up


@dataclass
class LessonTiming:
    """Where one lesson's seconds went."""

    name: str
    kernel_start: float = 0.0
    run_all: float = 0.0  # from the first cell's start to the last one's end
    failed: str = ""  # the cell that raised, and the error's last line
    # index, wall seconds, kernel CPU seconds, first line
    cells: list[tuple[int, float, float, str]] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return sum(cell[2] for cell in self.cells)

    @property
    def total(self) -> float:
        return self.kernel_start + self.run_all


def first_line(source: str) -> str:
    """The cell's first non-empty line, cut to fit one printed row."""
    line = next((text for text in source.splitlines() if text.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def nbval_skips(cell: nbformat.NotebookNode) -> bool:
    """True for a cell nbval does not run: a ``# NBVAL_SKIP`` line or the ``nbval-skip`` tag."""
    return cell.cell_type == "code" and (
        "nbval-skip" in cell.get("metadata", {}).get("tags", [])
        or any(line.strip() == "# NBVAL_SKIP" for line in cell.source.splitlines()))


def execute(path: Path, as_nbval: bool = False) -> LessonTiming:
    """Run one notebook in a fresh kernel, timing the kernel's start and each code cell."""
    timing = LessonTiming(path.name)
    started: dict[int, tuple[float, float]] = {}
    kernel: list[psutil.Process] = []

    def cpu_seconds() -> float:
        # the kernel's, and its worker processes' (kubelearn.viz.parallel): those alive now,
        # and those ended (in their parent's children_* times)
        total = 0.0
        for process in (kernel[0], *kernel[0].children(recursive=True)):
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
        return total

    def on_execute(cell: nbformat.NotebookNode, cell_index: int, **_: object) -> None:
        started[cell_index] = (time.perf_counter(), cpu_seconds())

    def on_executed(cell: nbformat.NotebookNode, cell_index: int, **_: object) -> None:
        wall, cpu = started[cell_index]
        timing.cells.append((cell_index, time.perf_counter() - wall, cpu_seconds() - cpu,
                             first_line(cell.source)))

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=TIMEOUT, kernel_name="python3", record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_execute=on_execute, on_cell_executed=on_executed)
    t = time.perf_counter()
    with client.setup_kernel():
        timing.kernel_start = time.perf_counter() - t
        kernel.append(psutil.Process(client.km.provisioner.pid))
        t = time.perf_counter()
        try:
            for index, cell in enumerate(notebook.cells):
                if not (as_nbval and nbval_skips(cell)):
                    client.execute_cell(cell, index)
        except CellExecutionError as error:  # as nbconvert, stop there; the next lesson runs
            timing.failed = f"c{index}: {error.ename}: {error.evalue}"[:100]
        timing.run_all = time.perf_counter() - t
    return timing


def report(timing: LessonTiming, slowest: int) -> None:
    """Print one lesson's figures and its slowest cells."""
    print(f"{timing.name:<24} {timing.total:6.1f} s  (kernel start {timing.kernel_start:4.1f} s, "
          f"run all {timing.run_all:5.1f} s, kernel CPU {timing.cpu:5.1f} s, "
          f"{len(timing.cells)} code cells)")
    if timing.failed:
        print(f"    FAILED at {timing.failed}")
    for index, seconds, cpu, line in sorted(timing.cells, key=lambda c: -c[1])[:slowest]:
        print(f"    c{index:<3} {seconds:5.2f} s (CPU {cpu:5.2f} s)  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lessons", nargs="*", type=Path, help="notebooks (default: every lesson)")
    parser.add_argument("--cells", type=int, default=3, help="slowest cells to list per lesson")
    parser.add_argument("--nbval", action="store_true",
                        help="leave out the cells nbval skips (# NBVAL_SKIP)")
    args = parser.parse_args()
    lessons = args.lessons or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    print(f"kubelearn lessons benchmark -- Python {platform.python_version()}, "
          f"{platform.machine()}, nbclient {nbclient.__version__}, a fresh kernel per lesson"
          + (", cells nbval skips left out" if args.nbval else ""))
    total = cpu = 0.0
    for path in lessons:
        timing = execute(path, args.nbval)
        report(timing, args.cells)
        total, cpu = total + timing.total, cpu + timing.cpu
        sys.stdout.flush()
    print(f"{'series':<24} {total:6.1f} s  (kernel CPU {cpu:.1f} s, {len(lessons)} lessons)")


if __name__ == "__main__":
    main()
