"""What the lessons' exercise tests share: what counts as a hint, the check outputs a lesson
commits, and its "Next" links."""

from __future__ import annotations

import json
import pathlib
import re

CORRECT = "Correct!"
NOTEBOOKS = pathlib.Path(__file__).parent.parent / "notebooks"


def hint(text: str) -> bool:
    """A hint: a sentence, not the word of success."""
    return text != CORRECT and text.endswith((".", "?")) and len(text) > 30


def committed(lesson: pathlib.Path) -> dict[str, str]:
    """Each exercise check's committed output by key, from the cells that are not solutions."""
    out = {}
    for cell in json.loads(lesson.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or source.startswith("# Solution"):
            continue
        for key in re.findall(r'check\("(\d\d\.\d)"', source):
            out[key] = "".join("".join(o["data"]["text/plain"]) for o in cell["outputs"]
                               if "data" in o)
    return out


def next_links(lesson: pathlib.Path) -> list[str]:
    """The targets of the "Next: [**...**](...)" links in the lesson's last cell."""
    text = "".join(json.loads(lesson.read_text())["cells"][-1]["source"])
    return re.findall(r"Next: \[\*\*[^]]+\*\*\]\(([^)]+)\)", text)
