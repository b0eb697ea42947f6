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


def _notes_inside_axes(fig) -> list[str]:
    """The texts of the first axes that reach outside it (none, when the plot fits)."""
    fig.draw_without_rendering()
    ax = fig.axes[0]
    box = ax.get_window_extent()
    return [t.get_text() for t in ax.texts
            if not (box.x0 <= t.get_window_extent().x0 and t.get_window_extent().x1 <= box.x1
                    and box.y0 <= t.get_window_extent().y0
                    and t.get_window_extent().y1 <= box.y1)]


def test_stage_funnel_keeps_every_note_inside_the_axes_at_notebook_width():
    from kubelearn.viz.apiserver import stage_funnel

    stages = ["authentication", "authorization", "storage"]
    who = "system:serviceaccount:kube-system:endpointslicemirroring-controller"
    audit = pd.DataFrame({
        "time": [0.0] * 4, "user": ["", "jane", who, "admin"],
        "verb": ["get", "delete", "get", "create"],
        "resource": ["pods", "pods", "endpointslices", "pods"],
        "stage": ["authentication", "authorization", "storage", "storage"],
        "decision": ["deny", "deny", "error", "allow"],
        "code": [401, 403, 404, 201]})
    fig = stage_funnel(audit, stages)
    assert fig.get_figwidth() * fig.dpi <= 900  # a notebook's width
    assert _notes_inside_axes(fig) == []
    # the long note was wrapped after its code and reason; the short ones were not
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"404 NotFound ·\n    {who} get endpointslices" in texts
    assert "403 Forbidden · jane delete pods" in texts
    plt.close(fig)


def test_stage_funnel_of_the_lessons_pipeline_fits_without_wrapping():
    from kubelearn.viz.apiserver import stage_funnel

    stages = ["authentication", "authorization", "decode", "storage"]
    audit = pd.DataFrame({
        "time": [0.0] * 5, "user": ["", "system:apiserver", "system:apiserver", "admin", "a"],
        "verb": ["get", "get", "get", "create", "create"],
        "resource": ["pods", "endpoints", "endpointslices", "pods", "pods"],
        "stage": ["authentication", "storage", "storage", "storage", "decode"],
        "decision": ["deny", "error", "error", "error", "error"],
        "code": [401, 404, 404, 409, 400]})
    fig = stage_funnel(audit, stages)
    assert _notes_inside_axes(fig) == []
    assert ("404 NotFound ×2 · system:apiserver get endpoints, endpointslices\n"
            "409 AlreadyExists · admin create pods") in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)


def test_stage_funnel_breaks_only_the_line_too_wide_and_keeps_it_inside_its_row():
    from kubelearn.viz.apiserver import stage_funnel

    stages = ["authentication", "authorization", "decode", "mutating admission", "validation",
              "validating admission", "storage"]
    missing = ["priorityclasses", "priorityclasses", "endpoints", "endpointslices"]
    audit = pd.DataFrame({
        "time": [0.0] * 6, "user": ["system:apiserver"] * 4 + ["kubernetes-admin", ""],
        "verb": ["get"] * 4 + ["create", "get"], "resource": missing + ["pods", "pods"],
        "stage": ["storage"] * 5 + ["authentication"],
        "decision": ["error"] * 5 + ["deny"], "code": [404] * 4 + [409, 401]})
    fig = stage_funnel(audit, stages)
    assert _notes_inside_axes(fig) == []
    assert ("404 NotFound ×4 ·\n    system:apiserver get priorityclasses, endpoints, "
            "endpointslices\n409 AlreadyExists · kubernetes-admin create pods"
            ) in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)


def test_kubectl_prints_the_command_and_runs_it_with_the_servers_kubeconfig(
        tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    from kubelearn.viz.apiserver import kubectl

    fake = tmp_path / "bin" / "kubectl"  # a stand-in that says what it was given
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "KUBECONFIG=$KUBECONFIG args=$*"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    server = SimpleNamespace(kubeconfig_path=tmp_path / "kubeconfig")
    kubectl(server, "get", "pod", "mypod", "-o", "jsonpath={.spec.tolerations}")
    kubeconfig = tmp_path / "kubeconfig"
    assert capsys.readouterr().out.splitlines() == [
        "$ kubectl get pod mypod -o 'jsonpath={.spec.tolerations}'",  # quoted as a shell needs
        f"KUBECONFIG={kubeconfig} args=get pod mypod -o jsonpath={{.spec.tolerations}}",
        ""]
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    kubectl(server, "get", "pods")
    out = capsys.readouterr().out
    assert out.startswith("$ kubectl get pods\n(kubectl is not installed here")
