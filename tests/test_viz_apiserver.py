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
