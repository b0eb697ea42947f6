"""Controls that redraw a picture which renders without a kernel.

A lesson read on GitHub, on nbviewer, or in a JupyterLab that does not trust
the notebook yet shows an ipywidget as text (``VBox(children=...)``): drawing
a widget needs JavaScript and, to redraw, a kernel. A picture needs neither.
:func:`redrawn` shows the picture for the controls' starting values as an
ordinary output (a PNG, or text), returns the controls, and whenever one of
them moves draws the picture again into that same output (IPython's
``display_id``). So the saved lesson always shows the default picture, and a
running one behaves like any widget.
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
