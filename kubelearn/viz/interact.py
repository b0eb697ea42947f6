"""Controls that redraw a picture which renders without a kernel.

A lesson read on GitHub, on nbviewer, or in a JupyterLab that does not trust
the notebook yet shows an ipywidget as text (``VBox(children=...)``): drawing
a widget needs JavaScript and, to redraw, a kernel. A picture needs neither.
:func:`redrawn` shows the picture for the controls' starting values as an
ordinary output (a PNG, or text), returns the controls, and whenever one of
them moves draws the picture again into that same output (IPython's
``display_id``). So the saved lesson always shows the default picture, and a
running one behaves like any widget. :class:`LineDisplay` does the same for a
progress bar: one line, redrawn in place, saved as it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def redrawn(picture: Callable[..., Any], controls: Mapping[str, Any],
            rows: Sequence[int] = ()) -> Any:
    """Display ``picture(**values)`` now and again on every change; return the controls.

    ``controls`` maps ``picture``'s keyword arguments to the ipywidgets that set
    them. ``rows``: how many controls go on each line (all on one by default).
    ``picture`` returns what to show: a matplotlib Figure (shown, then closed, so
    it is not shown twice), a DataFrame, or text.
    """
    import ipywidgets as widgets
    from IPython.display import Pretty, display

    def draw() -> Any:
        shown = picture(**{name: control.value for name, control in controls.items()})
        return Pretty(shown) if isinstance(shown, str) else shown

    def closed(shown: Any) -> None:
        if shown.__class__.__name__ == "Figure":
            import matplotlib.pyplot as plt

            plt.close(shown)

    first = draw()
    handle = display(first, display_id=True)
    closed(first)

    def redraw(change: Any = None) -> None:
        shown = draw()
        if handle is not None:
            handle.update(shown)
        closed(shown)

    for control in controls.values():
        control.observe(redraw, names="value")
    members = list(controls.values())
    lines, start = [], 0
    for size in rows or (len(members),):
        lines.append(widgets.HBox(members[start:start + size]))
        start += size
    if start < len(members):
        lines.append(widgets.HBox(members[start:]))
    return widgets.VBox(lines)


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where outputs can be redrawn in place)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the lab extra
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LineDisplay:
    """A text file for progress bars: shows the last line written, as one output redrawn in place.

    tqdm draws its bar by writing ``\\r`` and the new text. On stdout in a
    notebook every redraw becomes one more piece of the cell's stream output, and
    a saved lesson keeps them all (GitHub shows each as a line). Written here,
    the bar is one display output (IPython's ``display_id``) that each write
    replaces, so the saved lesson shows the bar as it finished. ``show`` is
    IPython's ``display`` unless one is passed in (the tests pass their own).
    """

    encoding = "utf-8"  # tqdm draws its Unicode bar only where the file says it can

    def __init__(self, show: Callable[..., Any] | None = None) -> None:
        self._show = show
        self._handle: Any = None
        self.line = ""

    def write(self, text: str) -> int:
        """Show the last non-blank line of ``text`` in place of the previous one."""
        lines = [part.rstrip() for part in text.replace("\r", "\n").split("\n")]
        last = next((line for line in reversed(lines) if line), "")
        if last and last != self.line:
            from IPython.display import Pretty

            self.line = last
            if self._handle is None:
                show = self._show
                if show is None:
                    from IPython.display import display as show
                self._handle = show(Pretty(last), display_id=True)
            else:
                self._handle.update(Pretty(last))
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: every write is shown at once."""
