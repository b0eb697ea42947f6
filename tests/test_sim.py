"""The virtual clock: time only moves on run(), and a seed fixes the whole history."""

import pytest

from kubelearn.sim import EPOCH, RECORD_COLUMNS, Simulation


def jittery_workers(sim: Simulation, workers: int = 5, beats: int = 20) -> None:
    """A scenario with randomness in it: workers that heartbeat at random intervals."""

    def worker(name: str):
        rng = sim.rng(name)
        for beat in range(beats):
            yield sim.timeout(rng.uniform(0.5, 1.5))
            sim.record(name, "Heartbeat", f"node/{name}", f"beat {beat}")
            if sim.random.random() < 0.1:
                sim.record(name, "Hiccup", f"node/{name}", "slow disk")

    for i in range(workers):
        sim.process(worker(f"node-{i}"))


def history(seed: int) -> list:
    sim = Simulation(seed=seed)
    jittery_workers(sim)
    sim.run(60)
    return sim.records


def test_same_seed_same_history_to_the_event():
    first, second = history(7), history(7)
    assert len(first) > 100
    assert first == second


def test_another_seed_another_history():
    assert history(7) != history(8)


def test_time_moves_only_when_run():
    sim = Simulation()
    fired = []
    sim.call_later(5, lambda: fired.append(sim.now))
    assert sim.now == 0 and fired == []
    sim.run(4.9)
    assert fired == []
    sim.run(0.2)
    assert fired == [5.0]
    assert sim.now == pytest.approx(5.1)


@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf")])
def test_run_backwards_or_forever_is_refused(seconds):
    with pytest.raises(ValueError, match="finite number of seconds >= 0"):
        Simulation().run(seconds)


@pytest.mark.parametrize("seconds", ["5", None, True])
def test_run_needs_a_number(seconds):
    with pytest.raises(TypeError, match="seconds must be a number"):
        Simulation().run(seconds)


def test_run_zero_runs_what_is_due_now_and_keeps_the_clock():
    sim = Simulation()
    fired = []
    sim.call_later(0, lambda: fired.append(sim.now))
    sim.call_later(1, lambda: fired.append(sim.now))
    assert sim.run(0) == 0
    assert fired == [0]
    sim.run(1)
    assert sim.run(0) == 1 and fired == [0, 1]


def test_component_generators_are_independent_of_each_other():
    a = Simulation(seed=3)
    a_first = a.rng("scheduler").random()
    b = Simulation(seed=3)
    b.rng("kubelet").random()  # another component draws first
    assert b.rng("scheduler").random() == a_first


def test_records_become_a_dataframe():
    sim = Simulation()
    sim.record("etcd", "Compacted", "revision/5", "compacted up to 5")
    sim.run(3)
    sim.record("kubelet", "Started", "pod/web-0", "Started container web")
    frame = sim.events()
    assert list(frame.columns) == RECORD_COLUMNS
    assert frame["time"].tolist() == [0.0, 3.0]
    assert sim.events("kubelet")["reason"].tolist() == ["Started"]


def test_subscribers_see_each_record():
    sim = Simulation()
    seen = []
    sim.subscribe(seen.append)
    sim.record("etcd", "LeaseExpired", "lease/1", "")
    assert [r.reason for r in seen] == ["LeaseExpired"]


def test_timestamps_are_rfc3339_from_the_epoch():
    sim = Simulation()
    assert sim.timestamp() == EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ") == "2024-01-01T00:00:00Z"
    sim.run(61.25)
    assert sim.timestamp() == "2024-01-01T00:01:01Z"
    assert sim.micro_timestamp() == "2024-01-01T00:01:01.250000Z"


def test_a_served_cluster_can_start_its_clock_at_another_instant():
    from datetime import datetime, timezone

    sim = Simulation(epoch=datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc))
    sim.run(90)
    assert sim.timestamp() == "2026-11-27T06:01:30Z"


def test_running_says_whether_the_call_comes_from_inside_a_run():
    """A Raft group's client tells a component's call (inside run) from a learner's."""
    sim = Simulation(0)
    seen = []

    def component():
        seen.append(sim.running)
        yield sim.timeout(1)

    sim.process(component())
    assert sim.running is False
    sim.run(2)
    assert seen == [True] and sim.running is False


def test_a_run_collects_cycles_less_often_and_puts_the_setting_back():
    import gc

    from kubelearn.sim import GC_THRESHOLD_WHILE_RUNNING

    seen = []

    def watch(sim: Simulation):
        seen.append(gc.get_threshold())
        Simulation(seed=1).run(1)  # a run inside a run (a lesson's helper) nests
        seen.append(gc.get_threshold())
        yield sim.timeout(1)

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        sim = Simulation(seed=0)
        sim.process(watch(sim))
        sim.run(5)
        assert seen == [(GC_THRESHOLD_WHILE_RUNNING, 10, 10)] * 2
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(0)  # the collector turned off by the caller stays off
        Simulation(seed=0).run(1)
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*saved)
