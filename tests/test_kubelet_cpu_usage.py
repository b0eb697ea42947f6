"""A container's declared CPU usage (sim.kubelearn.io/<container>.cpu-usage), capped by a limit."""

from __future__ import annotations

import pytest

from kubelearn.kubelet.behaviour import behaviour_for, cpu_in_use


def _pod(usage: str | None) -> dict:
    annotations = {} if usage is None else {"sim.kubelearn.io/app.cpu-usage": usage}
    return {"metadata": {"annotations": annotations}}


def test_usage_is_the_annotation_in_millicores_and_zero_without_one():
    assert behaviour_for(_pod("1.5"), {"name": "app"}, None).cpu_usage == 1500
    assert cpu_in_use(_pod("250m"), {"name": "app"}) == 250
    assert cpu_in_use(_pod(None), {"name": "app"}) == 0
    assert cpu_in_use(_pod("250m"), {"name": "other"}) == 0  # the annotation names its container


def test_a_cpu_limit_caps_usage_and_a_request_does_not():
    limited = {"name": "app", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}}
    requested = {"name": "app", "resources": {"requests": {"cpu": "100m"}}}
    assert cpu_in_use(_pod("3"), limited) == 1000
    assert cpu_in_use(_pod("3"), requested) == 3000


@pytest.mark.parametrize("text", ["-1", "lots"])
def test_a_usage_that_is_not_a_cpu_quantity_of_zero_or_more_is_refused_in_plain_words(text):
    with pytest.raises(ValueError, match="annotation sim.kubelearn.io/app.cpu-usage: invalid"):
        behaviour_for(_pod(text), {"name": "app"}, None)
