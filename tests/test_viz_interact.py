"""kubelearn.viz.interact: a picture that renders without a kernel, redrawn by its controls."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from kubelearn.viz.interact import redrawn  # noqa: E402


def test_the_picture_is_drawn_once_at_once_and_again_on_each_change():
    drawn = []

    def picture(size: int, colour: str) -> str:
        drawn.append((size, colour))
        return f"{size} {colour}"

    size = widgets.IntSlider(value=3, min=1, max=9)
    colour = widgets.Dropdown(options=["red", "blue"], value="red")
    box = redrawn(picture, {"size": size, "colour": colour})
    assert drawn == [(3, "red")]
    size.value = 5
    colour.value = "blue"
    assert drawn == [(3, "red"), (5, "red"), (5, "blue")]
    # The controls are returned, one line of them; the picture is not inside the widget.
    assert [list(line.children) for line in box.children] == [[size, colour]]


def test_rows_put_the_controls_on_lines_and_figures_are_closed_after_showing():
    controls = {name: widgets.IntSlider(value=1) for name in "abc"}

    def picture(a: int, b: int, c: int):
        fig, ax = plt.subplots()
        ax.set_title(f"{a}{b}{c}")
        return fig

    before = len(plt.get_fignums())
    box = redrawn(picture, controls, rows=(2,))
    controls["c"].value = 4
    assert [len(line.children) for line in box.children] == [2, 1]
    assert len(plt.get_fignums()) == before  # shown as a plain output, then closed
