"""kubelearn.viz.apiserver: the plots of lesson 03 say what they show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from kubelearn.viz.apiserver import requests_over_time  # noqa: E402


def test_requests_over_time_stacks_each_user_per_bucket_with_a_title_and_labels():
    audit = pd.DataFrame({"time": [0.0, 1.0, 12.0, 13.0, 14.0],
                          "user": ["a", "b", "a", "a", "b"],
                          "verb": ["get", "list", "get", "update", "watch"]})
    fig = requests_over_time(audit, bucket=10)
    ax = fig.axes[0]
    assert ax.get_title() == "Requests to the API server every 10 s, by user"
    assert ax.get_xlabel() == "simulated seconds (10s buckets)"
    assert ax.get_ylabel() == "requests"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a", "b"]  # one entry per user drawn, nothing else
    heights = {(c.get_label(), round(bar.get_x())): bar.get_height()
               for c in ax.containers for bar in c}
    assert heights == {("a", 0): 1, ("a", 10): 2, ("b", 0): 1, ("b", 10): 1}
    plt.close(fig)


def _drawn_labels(ax) -> set[str]:
    return {c.get_label() for c in ax.containers if not c.get_label().startswith("_")}


def test_stage_funnel_stacks_passed_and_rejected_and_says_why_each_was_rejected():
    from kubelearn.viz.apiserver import stage_funnel

    stages = ["authentication", "authorization", "storage"]
    audit = pd.DataFrame({
        "time": [0.0] * 5, "user": ["", "jane", "admin", "admin", "admin"],
        "verb": ["get", "delete", "create", "create", "get"],
        "resource": ["pods"] * 5,
        "stage": ["authentication", "authorization", "storage", "storage", "storage"],
        "decision": ["deny", "deny", "allow", "error", "allow"],
        "code": [401, 403, 201, 409, 200]})
    fig = stage_funnel(audit, stages)
    ax = fig.axes[0]
    assert "5 requests: 3 turned away" in ax.get_title()
    assert ax.get_xlabel().startswith("requests")
    assert ax.get_ylabel() == "pipeline stage, in order"
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert legend == _drawn_labels(ax) == {"went on to the next stage", "rejected at this stage"}
    passed, rejected = ax.containers
    # each bar is the requests that entered: passed, then the rejected ones after them
    assert [b.get_width() for b in passed] == [4, 3, 2]
    assert [(b.get_x(), b.get_width()) for b in rejected] == [(4, 1), (3, 1), (2, 1)]
    texts = [t.get_text() for t in ax.texts]
    assert "401 Unauthorized · no valid credentials: get pods" in texts
    assert "403 Forbidden · jane delete pods" in texts
    assert "409 AlreadyExists · admin create pods" in texts
    plt.close(fig)
