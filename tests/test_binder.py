"""binder/ builds a working environment: the files mybinder.org uses, in a fresh venv.

mybinder.org installs binder/requirements.txt on top of its base image (which
brings Jupyter and ipykernel), then runs binder/postBuild from the repository
root. This test does the same in a new virtual environment and runs every
lesson there under nbval, so a broken Binder badge (which opens lesson 00)
shows up here first.
"""

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What mybinder.org's base image already has, plus the runner for the lesson.
BASE_IMAGE = ["ipykernel", "pytest", "nbval"]
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.egg-info", "build", ".pytest_cache", ".hypothesis",
    ".ruff_cache", ".ipynb_checkpoints",
)


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    tail = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{tail}"


@pytest.mark.binder
def test_binder_files_build_an_environment_that_runs_every_lesson(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=IGNORE)
    env_dir = tmp_path / "binder-env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")

    run([python, "-m", "pip", "install", "--quiet", *BASE_IMAGE], repo)
    run([python, "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"], repo)
    postbuild = (repo / "binder" / "postBuild").read_text()
    assert postbuild.startswith("#!/bin/bash") and "set -e" in postbuild
    run(["bash", "-c", f'PATH="{env_dir / "bin"}:$PATH" bash binder/postBuild'], repo)

    # The package came from postBuild, not from this checkout's editable install.
    located = subprocess.run(
        [python, "-c", "import kubelearn, sys; print(kubelearn.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert str(env_dir) in located
    lessons = sorted(str(p.relative_to(repo)) for p in (repo / "notebooks").glob("*.ipynb"))
    assert "notebooks/00_tour.ipynb" in lessons  # the lesson the Binder badge opens
    run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", "notebooks/sanitize.cfg", *lessons],
        repo,
    )
