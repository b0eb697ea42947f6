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


def test_a_progress_bar_written_to_a_line_display_is_one_output_ending_on_its_last_line():
    from tqdm.std import tqdm

    from kubelearn.viz.interact import LineDisplay

    shown: list[str] = []

    class Handle:
        def update(self, obj) -> None:
            shown.append(obj.data)

    def show(obj, display_id: bool = False):
        assert display_id, "the line must be displayed with an id, to be redrawn in place"
        shown.append(obj.data)
        return Handle()

    line = LineDisplay(show)
    with tqdm(total=3, unit="pod", file=line, mininterval=0, ascii=False) as bar:
        for _ in range(3):
            bar.update(1)
    assert shown[0].startswith("  0%")
    assert shown[-1].startswith("100%|██████████| 3/3")
    assert not any("\r" in text or "\n" in text for text in shown)
    assert line.line == shown[-1]


def test_a_line_display_ignores_blank_writes_and_repeats():
    from kubelearn.viz.interact import LineDisplay

    shown: list[str] = []

    class Handle:
        def update(self, obj) -> None:
            shown.append(obj.data)

    line = LineDisplay(lambda obj, display_id: shown.append(obj.data) or Handle())
    for text in ("\r", "first  ", "\rfirst", "\n", "\rsecond\n"):
        assert line.write(text) == len(text)
    assert shown == ["first", "second"]
