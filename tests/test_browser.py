"""Every lesson as a learner meets it: JupyterLab in a real Chromium, Run All, then look.

nbval (`make lessons`) proves each cell still prints what was committed; it never
draws a widget. This test opens each lesson in JupyterLab, served from a copy of
notebooks/, in Debian's Chromium driven by Playwright, and checks what the page
shows:

1. before anything runs, every widget saved in the file is drawn from its saved
   state (not `VBox(children=...)`, not "Loading widget...");
2. after Edit > Clear Outputs and Run > Run All Cells, every code cell has an
   execution count, the kernel is idle, and no output is a traceback;
3. every widget is drawn, and moving its first control (a slider one step, a
   dropdown to another option, a button click) redraws its output within
   REDRAW_SECONDS.

The wall time from "Run All" to "every cell done" is recorded per lesson, printed
at the end of the run and written to browser-lessons.json in pytest's temp dir.
Without Playwright or a Chromium the test is skipped, saying which is missing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_testing import (
    STDERR_MIME,
    TRACEBACK,
    WIDGET_AS_TEXT,
    LabServer,
    LessonPage,
    find_chromium,
    jupyter_lab,
)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
RUN_ALL_TIMEOUT = 240  # seconds for one lesson's Run All on a busy CI machine
REDRAW_SECONDS = 10  # a moved control must change its widget's drawing within this
DRAW_SECONDS = 20  # saved or fresh widgets must be drawn within this
# What the issue asks of a lesson on a laptop-class machine; reported, not asserted.
INTERACTIVE_TARGET = 10

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on a copy of notebooks/: running the lessons never touches the repository."""
    scratch = tmp_path_factory.mktemp("jupyterlab")
    root = scratch / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    with jupyter_lab(root, scratch) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set KUBELEARN_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=chromium)
        except sync_api.Error as error:
            pytest.skip(f"Chromium at {chromium} does not start: {str(error).splitlines()[0]}")
        yield launched
        launched.close()


class Report:
    """Per-lesson figures, printed after the test run and kept as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}

    def record(self, lesson: str, **figures: Any) -> None:
        self.rows.setdefault(lesson, {}).update(figures)
        self.path.write_text(json.dumps(self.rows, indent=2))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
            return
        write = terminalreporter.write_line
        terminalreporter.section("lessons in JupyterLab (Chromium)")
        write(f"{'lesson':<24} {'open':>7} {'run all -> done':>16} {'code cells':>11}"
              f" {'widgets':>8} {'slowest redraw':>15}")
        for lesson, row in self.rows.items():
            seconds = row.get("run_all_seconds")
            shown = "-" if seconds is None else f"{seconds:.1f} s"
            if seconds is not None and seconds > INTERACTIVE_TARGET:
                shown += " *"
            redraws = [w["redraw_seconds"] for w in row.get("widgets", [])
                       if w.get("redraw_seconds") is not None]
            slowest = f"{max(redraws):.1f} s" if redraws else "-"
            opened = f"{row['open_seconds']:.1f} s" if "open_seconds" in row else "-"
            write(f"{lesson:<24} {opened:>7} {shown:>16} {row.get('code_cells', '-'):>11}"
                  f" {len(row.get('widgets', [])):>8} {slowest:>15}")
        total = sum(r.get("run_all_seconds") or 0 for r in self.rows.values())
        write(f"{'all lessons':<24} {'':>7} {total:>14.1f} s")
        write(f"* over the {INTERACTIVE_TARGET} s target; figures in {self.path}")


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Report:
    made = Report(tmp_path_factory.getbasetemp() / "browser-lessons.json")
    request.config.pluginmanager.register(made, "kubelearn-browser-report")
    return made


def saved_widget_cells(path: Path) -> list[int]:
    """Indices of the cells whose committed outputs include a widget view."""
    cells = json.loads(path.read_text())["cells"]
    return [i for i, cell in enumerate(cells) if any(
        "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        for output in cell.get("outputs", []))]


def widget_problems(lesson: LessonPage, when: str) -> list[str]:
    """Widget outputs that are not drawn: shown as their text, or still a placeholder."""
    problems = []
    for cell in lesson.code_cells():
        for output in cell.outputs:
            if output["widget"] and output["widget"] != "drawn":
                problems.append(f"{when}: cell {cell.index} shows {output['widget'][:80]!r}")
            elif WIDGET_AS_TEXT.search(output["text"]):
                problems.append(f"{when}: cell {cell.index} shows the widget as text: "
                                f"{output['text'][:80]!r}")
    return problems


def wait_drawn(lesson: LessonPage, expected: int, when: str) -> list[str]:
    """Wait until `expected` widgets are drawn and none is pending; what is still wrong."""
    deadline = time.monotonic() + DRAW_SECONDS
    while True:
        problems = widget_problems(lesson, when)
        drawn = lesson.widget_views().count()
        if (not problems and drawn >= expected) or time.monotonic() > deadline:
            break
        lesson.page.wait_for_timeout(200)
    if drawn < expected and not problems:
        problems.append(f"{when}: {drawn} of {expected} widgets drawn")
    return problems


def error_outputs(lesson: LessonPage) -> list[str]:
    """Outputs in red that are tracebacks (IPython's, or one printed by hand)."""
    return [f"cell {cell.index}: {last_line(output['text'])}"
            for cell in lesson.code_cells() for output in cell.outputs
            if output["mime"] == STDERR_MIME and TRACEBACK.search(output["text"])]


def last_line(traceback: str) -> str:
    """A traceback's last line: the exception and its message."""
    lines = [line for line in traceback.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def redraw(lesson: LessonPage, view: Any) -> dict[str, Any]:
    """Move the widget's first control; how long until its drawing changed (None: never)."""
    deadline = time.monotonic() + DRAW_SECONDS
    while not lesson.picture(view) and time.monotonic() < deadline:
        lesson.page.wait_for_timeout(200)
    before = lesson.picture(view)
    moved = lesson.move_first_control(view)
    if moved is None:
        return {"control": None, "redraw_seconds": None}
    started = time.monotonic()
    while time.monotonic() - started < REDRAW_SECONDS:
        if lesson.picture(view) != before:
            return {"control": moved, "redraw_seconds": round(time.monotonic() - started, 2)}
        lesson.page.wait_for_timeout(100)
    return {"control": moved, "redraw_seconds": None}


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_and_its_widgets_answer_in_jupyterlab(
        name: str, browser: Any, lab: LabServer, report: Report, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    lesson = LessonPage(page, lab, name)
    problems: list[str] = []
    try:
        started = time.monotonic()
        lesson.open()
        report.record(name, open_seconds=round(time.monotonic() - started, 2))
        problems += wait_drawn(lesson, len(saved_widget_cells(lab.root / name)),
                               "opened, before Run All (saved widget state)")

        lesson.clear_outputs()
        seconds = lesson.run_all(timeout=RUN_ALL_TIMEOUT)
        cells = lesson.code_cells()
        report.record(name, run_all_seconds=round(seconds, 2), code_cells=len(cells))
        problems += [f"cell {c.index} did not run (prompt {c.prompt!r})"
                     for c in cells if not c.ran]
        errors = error_outputs(lesson)
        problems += errors + wait_drawn(lesson, 0, "after Run All")

        widgets = []
        for view in lesson.widget_views().all():
            moved = {"cell": lesson.cell_of(view), **redraw(lesson, view)}
            widgets.append(moved)
            if moved["control"] is not None and moved["redraw_seconds"] is None:
                problems.append(f"cell {moved['cell']}: the widget did not redraw within "
                                f"{REDRAW_SECONDS} s of {moved['control']}")
        report.record(name, widgets=widgets)
        # A callback's traceback lands in the widget's output.
        problems += [error for error in error_outputs(lesson) if error not in errors]
    except Exception:
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        raise
    finally:
        if problems:
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        page.close()
        lab.shutdown_kernels()
    assert not problems, f"{name} in JupyterLab (screenshot in {tmp_path}):\n" + "\n".join(problems)
