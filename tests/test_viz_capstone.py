"""Lesson 09's story and pictures (kubelearn.viz.capstone): the moments read from the records,
the spans that add up to the error window, the what-ifs, and the figures and widget."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest

from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.viz import capstone as cp

RENEW = KubeletConfig().node_lease_renew_interval


@pytest.fixture(scope="module")
def run():
    return cp.simulate_capstone()


def test_the_story_follows_upstreams_periods(run):
    s = cp.story(run)
    assert s.rollout == cp.ROLLOUT_AT and s.power_off == cp.POWER_OFF_AT
    # the last lease renewal before the cut, on the kubelet's 10 s cycle
    assert s.power_off - RENEW < s.last_heartbeat <= s.power_off
    assert s.grace == NODE_MONITOR_GRACE_PERIOD == 50
    # Ready=Unknown at the first 5 s check at or after last heartbeat + grace
    deadline = s.last_heartbeat + s.grace
    assert deadline <= s.unknown < deadline + NODE_MONITOR_PERIOD
    assert s.unknown % NODE_MONITOR_PERIOD == 0
    assert s.slice_unready == s.unknown
    # tainted NoExecute on the next pass; evicted after admission's 300 s
    assert s.noexecute == s.unknown + NODE_MONITOR_PERIOD
    assert s.toleration == 300 and s.evicted == s.noexecute + 300
    assert s.evicted < s.replacements_ready <= s.rollout_done
    # requests to the dead node's pod time out from the cut until the rules change
    # (the first to pick node-2's pod after the cut: 2 of 5 ready endpoints)
    assert s.power_off <= s.first_failed < s.power_off + 0.1
    # ... and until the rules change (the last to pick it: 1 of 5 ready endpoints by then)
    assert s.unknown - 0.1 <= s.last_failed <= max(s.rules_gone.values())


def test_the_error_budget_adds_up_to_the_window(run):
    table = cp.error_budget(run).set_index("span")
    spans = table["seconds"].iloc[1:5]
    total = table.iloc[5]
    assert spans.sum() == pytest.approx(total["seconds"], abs=0.002)
    assert total["from"] == cp.POWER_OFF_AT
    assert total["seconds"] == pytest.approx(cp.outcome(run)["window"], abs=0.002)
    assert table["seconds"].iloc[0] + table["seconds"].iloc[1] == NODE_MONITOR_GRACE_PERIOD
    assert 0 <= table["seconds"].iloc[4] < 1.0  # one sync, within minSyncPeriod


def test_a_grace_period_off_the_check_cycle_waits_for_the_next_check():
    table = cp.error_budget(cp.simulate_capstone(grace_period=42)).set_index("span")
    check = table.loc["until the node controller's next check", "seconds"]
    assert 0 < check < NODE_MONITOR_PERIOD
    assert table.iloc[5]["seconds"] == pytest.approx(table["seconds"].iloc[1:5].sum(), abs=0.002)


def test_the_outcome_counts_every_failed_request(run):
    o = cp.outcome(run)
    frame = run.traffics[0].requests()
    assert o["failed"] == int((frame["outcome"] != "ok").sum()) == o["timeout"] + o["refused"]
    assert o["timeout"] > 10 * o["refused"] > 0
    assert o["endpoints unready after"] == cp.story(run).unknown - cp.POWER_OFF_AT


def test_each_setting_moves_what_it_should():
    base = cp.outcome(cp.simulate_capstone())
    shorter = cp.outcome(cp.simulate_capstone(grace_period=20))
    assert shorter["window"] == pytest.approx(base["window"] - 30, abs=0.1)
    assert shorter["timeout"] < base["timeout"] / 2
    sooner = cp.outcome(cp.simulate_capstone(toleration_seconds=0))
    assert sooner["timeout"] == base["timeout"]  # the eviction has nothing to do with the window
    assert sooner["rollout done after"] < base["rollout done after"] - 250
    assert cp.outcome(cp.simulate_capstone(prestop=5))["refused"] == 0


def test_runs_are_cached_and_bad_settings_are_named():
    assert cp.simulate_capstone() is cp.simulate_capstone()
    with pytest.raises(ValueError, match="grace_period must be between 20 and 300, not 5"):
        cp.simulate_capstone(grace_period=5)
    with pytest.raises(ValueError, match="replicas must be a whole number"):
        cp.simulate_capstone(replicas=2.5)


def test_the_rollout_can_drop_the_dead_nodes_pods_before_unknown():
    slow = cp.simulate_capstone(probe_period=5)
    s = cp.story(slow)
    assert max(s.rules_gone.values()) < s.unknown
    with pytest.raises(ValueError, match="the rollout deleted them first"):
        cp.error_budget(slow)


def test_marks_put_each_component_on_its_lane(run):
    marks = cp.capstone_marks(run)
    kinds = marks.groupby("lane")["kind"].agg(set).to_dict()
    assert {"power", "lease"} <= kinds["kubelet node-2"]
    assert {"unknown", "noschedule", "noexecute", "check"} <= kinds["node controller"]
    assert kinds["taint eviction"] == {"countdown", "evicted"}
    assert {"scale-up", "scale-down"} <= kinds["rollout"]
    assert {"kube-proxy node-1", "kube-proxy node-3", "EndpointSlice", "scheduler"} <= set(kinds)
    leases = marks[(marks["lane"] == "kubelet node-2") & (marks["kind"] == "lease")]["time"]
    assert leases.max() < cp.POWER_OFF_AT


def test_the_timeline_breaks_its_axis_only_for_a_long_wait(run):
    fig = cp.capstone_timeline(run)
    assert len(fig.axes) == 8  # 4 rows, the axis cut in two
    failed = cp.outcome(run)["failed"]
    assert failed > 500 and f"{failed} requests failed" in fig._suptitle.get_text()
    plt.close(fig)
    fig = cp.capstone_timeline(cp.simulate_capstone(toleration_seconds=0))
    assert len(fig.axes) == 4
    plt.close(fig)


def test_what_ifs_change_one_setting_at_a_time():
    table = cp.what_ifs({"grace_period": (30, 50), "toleration_seconds": (60,)})
    assert list(table["lesson's value"]) == [False, True, False]
    assert table.loc[0, "timeout"] < table.loc[1, "timeout"] == table.loc[2, "timeout"]
    fig = cp.what_if_figure(table)
    assert len(fig.axes) == 4
    plt.close(fig)


def test_the_widget_has_a_slider_per_setting():
    widget = cp.capstone_widget()
    sliders = [w for box in widget.children[:2] for w in box.children]
    assert [s.value for s in sliders] == [50, 300, 1, 0, 6]
    plt.close("all")


def figure_texts(fig):
    texts = [fig._suptitle.get_text()] if fig._suptitle else []
    return texts + [t.get_text() for ax in fig.axes for t in ax.texts]


def test_times_in_the_pictures_are_whole_seconds(run):
    fig = cp.capstone_timeline(run)
    assert "back to full strength 351 s after the cut" in fig._suptitle.get_text()
    plt.close(fig)
    # 3 replicas: the rollout finishes 357 s after the cut
    assert cp.outcome(cp.simulate_capstone(replicas=3))["rollout done after"] == 357
    fig = cp.capstone_figure(cp.Settings(replicas=3))
    assert "back to full strength 357 s after the cut" in fig._suptitle.get_text()
    assert not [t for t in figure_texts(fig) if re.search(r"\d\.\d+ s\b", t)]
    plt.close(fig)


def test_the_story_runs_lesson_08s_app_with_its_settings_written_out():
    from kubelearn.api import load
    from kubelearn.viz import traffic as vt

    settings = cp.Settings(toleration_seconds=30, probe_period=5, prestop=5, replicas=4)
    deployment, service = load(cp._manifests(settings, image="nginx:1.28"))
    assert (deployment, service) == tuple(load(vt.web_manifests(
        4, image="nginx:1.28", prestop=5, probe_period=5, toleration_seconds=30)))
    pod = deployment["spec"]["template"]["spec"]
    assert [t["tolerationSeconds"] for t in pod["tolerations"]] == [30, 30]
    container, = pod["containers"]
    assert container["readinessProbe"]["periodSeconds"] == 5
    assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}


def recovery_bars(fig):
    """The second span row's bars, (from, to), in time order (each once: both halves draw
    every bar, clipped to their part of the axis)."""
    spans = fig.axes[6]  # row 4, first part of the broken axis (axes go row by row)
    bars = {(round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3)) for p in spans.patches
            if round(p.get_y() + p.get_height() / 2, 3) == 1}
    return sorted(bars)


def test_the_recovery_lane_runs_from_the_cut_and_adds_up_to_the_title(run):
    s = cp.story(run)
    fig = cp.capstone_timeline(run)
    bars = recovery_bars(fig)
    assert bars[0] == (s.power_off, s.noexecute)  # the wait for the taint is drawn too
    assert all(a[1] == b[0] for a, b in zip(bars, bars[1:], strict=False))  # no gap
    back = cp.outcome(run)["rollout done after"]
    assert bars[-1][1] - bars[0][0] == pytest.approx(back)
    assert f"back to full strength {back:.0f} s after the cut" in fig._suptitle.get_text()
    words = figure_texts(fig)
    assert f"power cut to NoExecute taint: {s.noexecute - s.power_off:.0f} s" in words
    assert sum(int(re.search(r"(\d+) s", w).group(1)) for w in words
               if w.startswith(("power cut to", "replacements:")) or w.endswith("toleration")) \
        == round(back)
    plt.close(fig)


def test_the_recovery_spans_come_from_the_story_and_cover_a_late_rollout():
    s = cp.Story("node-9", power_off=10.0, noexecute=71.0, evicted=101.0,
                 replacements_ready=104.5, rollout_done=112.0)
    recovery = [(a, b, label) for row, a, b, _, label in cp._spans(s) if row == 1]
    assert recovery == [(10.0, 71.0, "power cut to NoExecute taint: 61 s"),
                        (71.0, 101.0, "30 s toleration"),
                        (101.0, 104.5, "replacements: 4 s"),
                        (104.5, 112.0, "rest of the rollout: 8 s")]


def test_lease_renewals_and_rules_landed_differ_in_colour_not_just_size(run):
    from matplotlib.colors import to_rgb

    style = cp.KIND_STYLE

    def apart(a: str, b: str) -> float:
        return sum((x - y) ** 2 for x, y in zip(to_rgb(a), to_rgb(b), strict=True)) ** 0.5

    # two kinds of the same shape differ in colour by more than two greys do
    assert apart("0.55", "tab:gray") < 0.1
    for kind, (marker, colour, _) in style.items():
        for other, (marker2, colour2, _) in style.items():
            if kind < other and marker == marker2:
                assert apart(colour, colour2) > 0.3, (kind, other)
    fig = cp.capstone_timeline(run)
    legend = fig.axes[5].get_legend()  # the lanes' row (3rd), last column
    colours = {t.get_text(): h.get_color() for t, h in zip(legend.get_texts(),
                                                           legend.legend_handles, strict=True)}
    assert colours["lease renewal (every 10 s)"] == style["lease"][1]
    assert colours["rules landed"] == style["sync"][1]
    plt.close(fig)
