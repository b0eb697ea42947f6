"""Helpers for tests/test_browser.py: a JupyterLab server and a lesson driven in Chromium.

The browser test opens each lesson the way a learner does: JupyterLab in a real
Chromium, "Run All Cells" from the Run menu, then looks at the page. Everything
here reads the DOM JupyterLab draws (prompts, output areas, widget views), not
the notebook file, so a widget that only exists as `VBox(children=...)` text, or
an error printed in red, is caught as the learner would see it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STDERR_MIME = "application/vnd.jupyter.stderr"
# How a widget looks when no widget manager drew it: its repr, e.g. VBox(children=(IntSlider(...
WIDGET_AS_TEXT = re.compile(r"^\s*\w+\(children=\(", re.M)
# What IPython prints for an uncaught exception, and a traceback printed by hand.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception)\b.*:", re.M)
# The Debian package's name first, then the names other distributions use.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The system Chromium Playwright should drive (so no Playwright browser download)."""
    chosen = os.environ.get("KUBELEARN_CHROMIUM")
    if chosen:
        return chosen
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now (the operating system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A running `jupyter lab`: where it listens and the token that lets us in."""

    url: str
    token: str
    root: Path

    def lesson_url(self, name: str) -> str:
        # ?reset starts from an empty workspace, so no other lesson's tab is restored.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read()

    def shutdown_kernels(self) -> None:
        """Stop every kernel, so one lesson's cluster doesn't hold memory during the next."""
        for kernel in json.loads(self.api("kernels")):
            self.api(f"kernels/{kernel['id']}", method="DELETE")


@contextmanager
def jupyter_lab(root: Path, scratch: Path, timeout: float = 60) -> Iterator[LabServer]:
    """Run JupyterLab on `root` on a free loopback port, with a fresh token and its own dirs.

    The runtime, config, data and settings directories live under `scratch`, so the
    test neither reads nor writes the user's ~/.jupyter (no stale workspace, no
    personal settings) and two runs never share a connection file.
    """
    token = secrets.token_hex(24)
    port = free_port()
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
        JUPYTER_CONFIG_DIR=str(scratch / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(scratch / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"),
        JUPYTER_DATA_DIR=str(scratch / "data"),
        PYTHONUNBUFFERED="1",
    )
    _write_settings(scratch / "settings")
    trust(root, scratch / "data")
    log = (scratch / "jupyter-lab.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--port-retries=0", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={token}", "--ServerApp.password=",
         # root in CI containers; no terminals, no PyPI or news look-ups from a test
         "--allow-root", "--ServerApp.terminals_enabled=False",
         "--LabApp.extension_manager=readonly",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         # if pytest is killed before it can stop the server: idle kernels go after 15 min,
         # then the server itself
         "--MappingKernelManager.cull_idle_timeout=900", "--MappingKernelManager.cull_interval=60",
         "--ServerApp.shutdown_no_activity_timeout=900"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root=root)
    try:
        _wait_until_serving(server, process, timeout, scratch / "jupyter-lab.log")
        yield server
    finally:
        _stop(process)
        log.close()


def trust(root: Path, data_dir: Path) -> None:
    """Sign every lesson under `root`, as `jupyter trust` would, into the test's own database.

    A notebook fresh from git is untrusted, and JupyterLab then shows saved widget state as
    the widget's text (`VBox(children=...)`) until the cells run. Signing the copies lets the
    test see what a trusted reader sees before running anything.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    data_dir.mkdir(parents=True, exist_ok=True)
    notary = NotebookNotary(data_dir=str(data_dir))
    for path in sorted(root.glob("*.ipynb")):
        notary.sign(nbformat.read(path, as_version=4))


# JupyterLab's settings for the test, as the Settings editor would save them.
SETTINGS = {
    # Every cell in the DOM: the default windowing attaches only the cells in view, and the
    # test reads every cell's prompt and outputs from the page.
    # The lesson's kernel starts on open, with no "Select Kernel" dialog (which JupyterLab
    # shows when a notebook is opened before it has listed the kernels).
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none",
                                               "autoStartDefaultKernel": True},
    # No "get notified about news?" toast over the notebook, no news fetched.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


def _write_settings(settings_dir: Path) -> None:
    for plugin, values in SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_until_serving(server: LabServer, process: subprocess.Popen, timeout: float,
                        log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        try:
            server.api("status")
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets the server shut its kernels down; SIGKILL the group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- one lesson in the page --------------------------------------------------------------------

# The JavaScript below reads the notebook the way it is drawn (every cell is in the DOM:
# see SETTINGS).
_CELLS_JS = """
() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')]
  .map((cell, index) => ({
    index,
    code: cell.classList.contains('jp-CodeCell'),
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
      mime: o.getAttribute('data-mime-type') || '',
      // a widget view: drawn (its root element is there) or still a placeholder text
      widget: o.querySelector(':scope > .jupyter-widgets') ? 'drawn'
        : /^(Loading widget|Error displaying widget)/.test(o.textContent) ? o.textContent : '',
      // head and tail: a traceback's last line names the exception
      text: o.innerText.length > 4000
        ? o.innerText.slice(0, 2000) + ' ... ' + o.innerText.slice(-2000) : o.innerText,
    })),
  }))
"""

_KERNEL_STATUS_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const name = panel && panel.querySelector('.jp-KernelName');
  if (!indicator || !name || /No Kernel/.test(name.textContent)) return null;
  return indicator.getAttribute('data-status');
}
"""

# What a widget's drawing shows, without its controls: the HTML, text and images of its
# Output and HTML children, and the cell's plain outputs beside it (kubelearn.viz.interact
# draws the picture there, so it renders without a kernel). A slider's own readout
# changing is not a redraw.
_WIDGET_PICTURE_JS = """
view => {
  const inside = [...view.querySelectorAll(
    '.widget-output, .widget-html-content, .widget-htmlmath-content')].map(p => p.innerHTML);
  const cell = view.closest('.jp-Cell');
  const beside = cell ? [...cell.querySelectorAll('.jp-OutputArea-output')]
    .filter(o => !o.closest('.jupyter-widgets') && !o.querySelector('.jupyter-widgets'))
    .map(o => o.innerHTML) : [];
  return inside.concat(beside).join('\\n');
}
"""

# The first thing a learner can move, in the order the widget is drawn.
_FIRST_CONTROL = (
    ".noUi-handle, .widget-dropdown select, .widget-select select, button.jupyter-button, "
    ".widget-toggle-button, .widget-checkbox input"
)


@dataclass
class Cell:
    index: int
    prompt: str
    outputs: list[dict[str, str]]

    @property
    def ran(self) -> bool:
        """The prompt shows an execution count: `[12]:`, not `[ ]:` or `[*]:`."""
        return re.search(r"\[\d+\]", self.prompt) is not None


class LessonPage:
    """One lesson open in JupyterLab, driven through the menus like a learner would."""

    def __init__(self, page: Any, server: LabServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name

    def open(self, timeout: float = 90) -> None:
        """Open the lesson and wait until its kernel has started and is idle."""
        self.page.goto(self.server.lesson_url(self.name))
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
        self.wait_for(lambda: self.kernel_status() == "idle", timeout, "the kernel to start")

    def kernel_status(self) -> str | None:
        return self.page.evaluate(_KERNEL_STATUS_JS)

    def code_cells(self) -> list[Cell]:
        return [Cell(c["index"], c["prompt"], c["outputs"])
                for c in self.page.evaluate(_CELLS_JS) if c["code"]]

    def menu(self, menu: str, item: str) -> None:
        """Click `menu` in the menu bar, then `item` in it (exact labels, as a learner reads)."""
        exactly = re.compile(f"^{re.escape(menu)}$"), re.compile(f"^{re.escape(item)}$")
        self.page.locator(".lm-MenuBar-itemLabel", has_text=exactly[0]).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=exactly[1]).click()

    def clear_outputs(self) -> None:
        """Edit > Clear Outputs of All Cells: the committed outputs and counts go away."""
        self.menu("Edit", "Clear Outputs of All Cells")
        self.wait_for(lambda: not any(c.ran or c.outputs for c in self.code_cells()), 30,
                      "the outputs to clear")

    def run_all(self, timeout: float) -> float:
        """Run > Run All Cells; wall seconds until the kernel is idle with nothing queued.

        That is every cell done, or JupyterLab stopped at a cell that raised (it then
        leaves the cells after it unrun, which the caller reports).
        """
        started = time.monotonic()
        self.menu("Run", "Run All Cells")

        def done() -> bool:
            if self.kernel_status() != "idle":
                return False
            cells = self.code_cells()
            return any(c.ran for c in cells) and not any("*" in c.prompt for c in cells)

        self.wait_for(done, timeout, "every code cell to finish", poll=0.1)
        return time.monotonic() - started

    def wait_for(self, condition: Any, timeout: float, what: str, poll: float = 0.25) -> None:
        """Poll `condition` until it holds; a dialog (kernel died, select kernel) ends the wait."""
        deadline = time.monotonic() + timeout
        while not condition():
            dialog = self.page.locator("dialog.jp-Dialog")
            if dialog.count():
                raise AssertionError(f"{self.name}: a dialog opened while waiting for {what}: "
                                     f"{dialog.first.inner_text()!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: waited {timeout:.0f} s for {what}")
            self.page.wait_for_timeout(poll * 1000)

    def widget_views(self) -> Any:
        """The drawn widgets, not those inside another widget's Output.

        (JupyterLab gives a widget's output area no data-mime-type: its root element says.)
        """
        return self.page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output:has(> .jupyter-widgets)"
            ":not(.jupyter-widgets .jp-OutputArea-output)")

    def cell_of(self, view: Any) -> int:
        """The index of the cell (markdown cells counted) whose output holds `view`."""
        return view.evaluate(
            "v => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')]"
            ".indexOf(v.closest('.jp-Cell'))")

    def picture(self, view: Any) -> str:
        return view.evaluate(_WIDGET_PICTURE_JS)

    def move_first_control(self, view: Any) -> str | None:
        """Move the widget's first control the way a hand would; say what was done.

        None when the widget has nothing to move (a progress bar).
        """
        controls = view.locator(_FIRST_CONTROL)
        if not controls.count():
            return None
        control = controls.first
        control.scroll_into_view_if_needed()
        classes = control.get_attribute("class") or ""
        tag = control.evaluate("e => e.tagName.toLowerCase()")
        if "noUi-handle" in classes:
            # One step right, or left when the slider starts at its end (a revision stepper).
            value, top = (control.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
            key = "ArrowLeft" if value == top else "ArrowRight"
            control.press(key)
            return f"slider: {key}"
        if tag == "select":
            options = control.locator("option").all_inner_texts()
            current = control.evaluate("e => e.options[e.selectedIndex].text")
            other = next(o for o in options if o != current)
            control.select_option(label=other)
            return f"dropdown: {current!r} -> {other!r}"
        control.click()
        return f"{tag}: click"
