"""The array forms of plugins/helper.py equal their per-node forms, node by node."""

from __future__ import annotations

import random

import numpy as np
import pytest

from kubelearn.scheduler.framework import NodeScore
from kubelearn.scheduler.plugins.helper import (
    _go_div,
    broken_linear_columns,
    build_broken_linear_function,
    default_normalize_columns,
    default_normalize_score,
    go_div_columns,
)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("raw", [[0, 0, 0], [3, 0, 7, 7, 1], [5], [1000, 999, 1], []])
def test_default_normalize_columns_is_default_normalize_score(raw, reverse):
    scores = [NodeScore(f"n{i}", s) for i, s in enumerate(raw)]
    default_normalize_score(100, reverse, scores)
    got = default_normalize_columns(np.array(raw, dtype=np.int64), reverse)
    assert [int(v) for v in got] == [s.score for s in scores]


@pytest.mark.parametrize("shape", [
    [(0, 0), (100, 100)],
    [(0, 100), (100, 0)],
    [(0, 0), (50, 100), (100, 0)],
    [(10, 20), (30, 80), (60, 40), (90, 90)],
])
def test_broken_linear_columns_is_build_broken_linear_function(shape):
    f = build_broken_linear_function(shape)
    g = broken_linear_columns(shape)
    points = list(range(-5, 106)) + [random.Random(1).randint(-50, 150) for _ in range(50)]
    got = g(np.array(points, dtype=np.int64))
    assert [int(v) for v in got] == [f(p) for p in points]


def test_go_div_columns_truncates_toward_zero_as_go():
    values = list(range(-20, 21))
    got = go_div_columns(np.array(values, dtype=np.int64), 7)
    assert [int(v) for v in got] == [_go_div(v, 7) for v in values]
