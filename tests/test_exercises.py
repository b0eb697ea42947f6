"""The lessons' exercise checks (kubelearn.exercises): "Correct!" for a right answer in any
sensible form, a plain-words hint that never holds the answer for a wrong one, and a
sentence -- never an exception -- for a malformed one."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kubelearn import exercises
from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD
from kubelearn.exercises import lesson08
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.proxy.iptables import probability
from kubelearn.viz import traffic as vt

CORRECT = "Correct!"


def hint(text: str) -> bool:
    """A hint: a sentence, not the word of success."""
    return text != CORRECT and text.endswith((".", "?")) and len(text) > 30


def test_an_unknown_exercise_names_the_known_ones():
    with pytest.raises(ValueError, match="no exercise '08.9' .*08.1, 08.2, 08.3"):
        exercises.check("08.9", 1)
    with pytest.raises(ValueError, match="starts from no cluster"):
        exercises.setup("08.1")


# -- 08.1: the probabilities of six endpoint rules -------------------------------------------------

N = lesson08.ENDPOINTS_08_1
EXACT = [1 / (N - k) for k in range(N - 1)] + [None]


def test_08_1_reads_the_probabilities_off_kube_proxys_rules():
    written = lesson08._written_probabilities(N)
    assert len(written) == N and written[-1] is None
    # what upstream's computeProbability prints for 1/6, 1/5, ..., 1/2
    assert [f"{float(p):0.10f}" for p in written[:-1]] == [probability(N - k)
                                                          for k in range(N - 1)]


@pytest.mark.parametrize("answer", [
    EXACT,
    tuple(EXACT),
    [Fraction(1, N - k) for k in range(N - 1)] + [None],
    [f"1/{N - k}" for k in range(N - 1)] + [None],
    [float(probability(N - k)) for k in range(N - 1)] + [None],  # as kube-proxy prints them
    [round(p, 3) for p in EXACT[:-1]] + [None],
], ids=["floats", "tuple", "fractions", "strings", "ten decimals", "three decimals"])
def test_08_1_accepts_the_right_answer_in_any_sensible_form(answer):
    assert exercises.check("08.1", answer) == CORRECT


@pytest.mark.parametrize("answer, says", [
    ([round(p, 2) for p in EXACT[:-1]] + [None], "rounded too far"),
    (EXACT[:-1] + [1], "Write None for such a rule"),
    ([1 / N] * (N - 1) + [None], "each rule sees only what the rules above it let through"),
    (list(reversed(EXACT[:-1])) + [None], "right numbers in the wrong order"),
    ([0.1, 0.2, 0.3, 0.4, 0.5, None], "What share of those must each rule take?"),
    ([1 / (N + 1 - k) for k in range(N)], "What share of those must each rule take?"),
])
def test_08_1_tells_each_kind_of_mistake_apart_without_giving_the_answer(answer, says):
    text = exercises.check("08.1", answer)
    assert hint(text) and says in text
    told = forms(EXACT) - forms(answer)  # right values the learner did not write
    assert not [value for value in told if value in text]


def forms(values: list) -> set[str]:
    """The ways a probability could be written in a sentence: 0.25, 0.250, 1/4, 1 / 4."""
    out = set()
    for value in values:
        if value is None:
            continue
        fraction = Fraction(value).limit_denominator(10)
        out |= {f"{float(value):g}"[:5], f"{float(value):.3f}", f"{fraction}",
                f"{fraction.numerator} / {fraction.denominator}"}
    return out


@pytest.mark.parametrize("answer, says", [
    (None, "Write your answer in answer_1 first"),
    ("1/6 1/5", "Give a list"),
    (0.5, "Give a list"),
    ({"rule 1": 0.5}, "Give a list"),
    ([1, 2], f"gets {N} endpoint rules"),
    ([0.5, "half", 0.3, 0.4, 0.5, None], "Entry 2 ('half') is not a probability"),
    ([True] + EXACT[1:], "Entry 1 (True) is not a probability"),
    ([0] + EXACT[1:], "Entry 1 is 0"),
    ([1.5] + EXACT[1:], "at most 1"),
    ([float("nan")] + EXACT[1:], "is not a probability"),
])
def test_08_1_answers_a_malformed_answer_in_plain_words(answer, says):
    text = exercises.check("08.1", answer)
    assert hint(text) and says in text


# -- 08.2: fix the Service shop ------------------------------------------------------------------

FIXED = {"spec": {"selector": {"app": "shop"}, "ports": [{"port": 80, "targetPort": "web"}]}}


def test_08_2_starts_from_a_service_that_answers_nobody():
    cluster = exercises.setup("08.2")
    slices = cluster.get("endpointslices")
    assert slices.loc[slices["NAME"].str.startswith("shop-"), "ENDPOINTS"].tolist() == ["<unset>"]
    assert len(cluster.get("pods")) == 2
    assert exercises.setup("08.2") is not cluster  # a fresh copy each time


@pytest.mark.parametrize("patch", [
    FIXED,
    {"spec": {"selector": {"app": "shop"}, "ports": [{"port": 80, "targetPort": 80}]}},
], ids=["named port", "port number"])
def test_08_2_accepts_a_patch_that_makes_shop_answer(patch):
    assert exercises.check("08.2", patch) == CORRECT


@pytest.mark.parametrize("patch, says", [
    ({}, "still has no endpoints"),
    ({"spec": {"ports": [{"port": 80, "targetPort": "web"}]}}, "still has no endpoints"),
    ({"spec": {"selector": {"app": "shop"}}}, "nothing listens on the port it sends to"),
    ({"spec": {"selector": {"app": "shop"}, "ports": [{"$patch": "replace"},
                                                      {"port": 81, "targetPort": 80}]}},
     "get no answer at all"),
])
def test_08_2_says_what_the_requests_met_without_the_fix(patch, says):
    text = exercises.check("08.2", patch)
    assert hint(text) and says in text
    assert "shop-frontend" not in text and "targetPort" not in text and "'web'" not in text


@pytest.mark.parametrize("patch, says", [
    (None, "Write your patch in answer_2 first"),
    ("spec: {selector: {app: shop}}", "A patch is a dict"),
    ([FIXED], "A patch is a dict"),
    ({"spec": {"ports": [{"targetPort": 80}]}}, "does not contain declared merge key: port"),
    ({"spec": {"selector": "app=shop"}}, "The API server refused this patch (BadRequest"),
    ({"spec": {"type": "Router"}}, "The API server refused this patch (Invalid"),
])
def test_08_2_answers_a_malformed_patch_in_plain_words(patch, says):
    text = exercises.check("08.2", patch)
    assert hint(text) and says in text


# -- 08.3: a power cut at 52 s ------------------------------------------------------------------

def _expected_window() -> float:
    """From the components' periods: the last heartbeat before the cut, the grace period, the
    node controller's next check; the requests sent until then failed."""
    at = lesson08.POWER_OFF_08_3
    renew = KubeletConfig().node_lease_renew_interval
    last_heartbeat = (at // renew) * renew
    due = last_heartbeat + NODE_MONITOR_GRACE_PERIOD
    marked = -(-due // NODE_MONITOR_PERIOD) * NODE_MONITOR_PERIOD
    return marked - at


def test_08_3_measures_the_window_the_periods_predict():
    assert abs(lesson08._window_08_3() - _expected_window()) < 0.1


@pytest.mark.parametrize("offset", [0, 0.5, -0.9, 1.0])
def test_08_3_accepts_the_window_to_a_second(offset):
    assert exercises.check("08.3", round(_expected_window() + offset, 2)) == CORRECT


def test_08_3_accepts_a_number_written_as_text():
    assert exercises.check("08.3", str(int(_expected_window()))) == CORRECT


@pytest.mark.parametrize("seconds, says", [
    (NODE_MONITOR_GRACE_PERIOD, "the grace period alone"),
    (40, "find node-2's last lease renewal"),
    (90, "find node-2's last lease renewal"),
    (-5, "can't be negative"),
])
def test_08_3_hints_at_the_method_not_the_number(seconds, says):
    text = exercises.check("08.3", seconds)
    assert hint(text) and says in text
    assert f"{_expected_window():g}" not in text


@pytest.mark.parametrize("seconds, says", [
    (None, "Write your answer in answer_3 first"),
    ("about a minute", "Give a number of seconds"),
    ([48], "Give a number of seconds"),
    (float("inf"), "Give a number of seconds"),
])
def test_08_3_answers_a_malformed_answer_in_plain_words(seconds, says):
    text = exercises.check("08.3", seconds)
    assert hint(text) and says in text


def test_the_checks_use_the_lessons_simulations():
    # the cluster 08.3 runs is the lesson's power cut, moved to 52 s
    dark = vt.simulate_power_off(at=lesson08.POWER_OFF_08_3, node="node-2")
    failed = vt.requests(dark, "web").query("outcome != 'ok'")
    assert failed["time"].max() - lesson08.POWER_OFF_08_3 == pytest.approx(
        lesson08._window_08_3())


def test_no_lesson_commits_a_solved_exercise():
    """Reading a lesson on GitHub gives no answer away: no check cell shows "Correct!"."""
    import json
    from pathlib import Path

    for path in sorted(Path(__file__).resolve().parent.parent.glob("notebooks/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            assert not source.lstrip().startswith("# Solution"), f"{path.name}: a solution cell"
            for output in cell.get("outputs", []):
                text = "".join(output.get("data", {}).get("text/plain", "")) + \
                    "".join(output.get("text", ""))
                assert CORRECT not in text, f"{path.name}: a solved check is committed"


def test_an_explanation_shows_only_after_the_right_answer():
    shown = []

    def explanation():
        shown.append(True)
        return "the table"

    for answer in (None, "Completed", 7):
        text = exercises.explained("05.1", answer, explanation)
        assert text == "This explains exercise 05.1: it shows once your answer to 05.1 is right."
    assert not shown
    right, _ = exercises.lesson05._pod_row(exercises.lesson05.BATCH_05_1, "batch",
                                           exercises.lesson05.WAIT_05_1)
    assert exercises.explained("05.1", right, explanation) == "the table"
    assert shown == [True]
