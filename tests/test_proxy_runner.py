"""BoundedFrequencyRunner on the virtual clock: pacing as bounded_frequency_runner_test.go has it.

Test_BoundedFrequencyRunnerNoBurst / Burst / RetryAfter (minInterval 1s, maxInterval
10s) ported as "Run() at these times, the function runs at those times"; then the
iptables proxier's settings (1s, one hour, burst 2).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from kubelearn.proxy.runner import BoundedFrequencyRunner, TokenBucket
from kubelearn.sim import Simulation


def runner_for(sim: Simulation, burst: int, fn=None, min_interval: float = 1.0,
               max_interval: float = 10.0) -> BoundedFrequencyRunner:
    runner = BoundedFrequencyRunner(sim, "test-runner", fn or (lambda: None), min_interval,
                                    max_interval, burst)
    runner.loop()
    return runner


def request_at(sim: Simulation, runner: BoundedFrequencyRunner, *times: float) -> None:
    """Call run() at these times, one after another (each after the loop took the last)."""
    def caller() -> Generator:
        for at in times:
            if at > sim.now:
                yield sim.timeout(at - sim.now)
            runner.run()
            yield sim.timeout(0)
    sim.process(caller())


def run_times(runner: BoundedFrequencyRunner) -> list[float]:
    return [round(started, 6) for started, _ in runner.runs]


def test_no_burst():
    """Test_BoundedFrequencyRunnerNoBurst."""
    sim = Simulation()
    runner = runner_for(sim, burst=1)
    request_at(sim, runner, 0.0, 0.5, 0.999, 1.0001, 1.001, 12.001)
    sim.run(14)
    # 0: at once; 0.5 and 0.999 wait for 1.0; 1.0001 and 1.001 wait for 2.0; then nothing
    # until maxInterval after 2.0; 12.001 waits until a second after 12.0
    assert run_times(runner) == [0.0, 1.0, 2.0, 12.0, 13.0]


def test_burst():
    """Test_BoundedFrequencyRunnerBurst: two at once, then one a second, bursts refill."""
    sim = Simulation()
    runner = runner_for(sim, burst=2)
    request_at(sim, runner, 0.0, 0.001, 0.499, 0.5, 0.501, 1.0, 1.001, 1.999, 4.0, 4.0, 4.0)
    sim.run(16)
    assert run_times(runner) == [0.0, 0.001, 1.0, 2.0, 4.0, 4.0, 5.0, 15.0]


def test_retry_after():
    """Test_BoundedFrequencyRunnerRetryAfter, first part: a run that asks to be retried."""
    sim = Simulation()
    calls = []

    def fn() -> None:
        calls.append(sim.now)
        if len(calls) == 1:
            runner.retry_after(5.0)

    runner = runner_for(sim, burst=1, fn=fn)
    request_at(sim, runner, 0.0)
    sim.run(16)
    assert run_times(runner) == [0.0, 5.0, 15.0]  # the retry, then maxInterval after it


def test_a_slow_function_holds_the_loop_and_requests_meanwhile_coalesce():
    """Ten changes within 100ms while a 50ms run is going: two runs at once, then 1s later."""
    sim = Simulation()

    def slow() -> Generator:
        yield sim.timeout(0.05)

    runner = runner_for(sim, burst=2, fn=slow, max_interval=3600.0)
    request_at(sim, runner, *[i / 100 for i in range(10)])
    sim.run(5)
    assert [(round(a, 6), round(b, 6)) for a, b in runner.runs] == \
        [(0.0, 0.05), (0.05, 0.1), (1.1, 1.15)]


def test_iptables_proxier_settings_sync_hourly_when_nothing_changes():
    """minSyncPeriod 1s, maxInterval proxyutil.FullSyncPeriod (1h), burstSyncs 2."""
    sim = Simulation()
    runner = runner_for(sim, burst=2, max_interval=3600.0)
    sim.run(3 * 3600 + 1)
    assert run_times(runner) == [3600.0, 7200.0, 10800.0]


def test_zero_min_interval_has_no_limiter():
    sim = Simulation()
    runner = runner_for(sim, burst=1, min_interval=0.0)
    request_at(sim, runner, 0.0, 0.0, 0.001)
    sim.run(1)
    assert run_times(runner) == [0.0, 0.0, 0.001]


def test_stopped_runner_runs_no_more_and_a_new_loop_starts_afresh():
    sim = Simulation()
    runner = runner_for(sim, burst=1)
    request_at(sim, runner, 0.0)
    sim.run(1)
    runner.stop()
    runner.run()
    sim.run(30)
    assert run_times(runner) == [0.0]
    runner.loop()
    runner.run()
    sim.run(1)
    assert run_times(runner) == [0.0, 31.0]


def test_max_interval_below_min_interval_is_refused():
    with pytest.raises(ValueError, match=r"maxInterval \(0.5s\) must be >= minInterval \(1.0s\)"):
        BoundedFrequencyRunner(Simulation(), "test-runner", lambda: None, 1.0, 0.5, 2)


def test_token_bucket_starts_full_and_refills_at_qps():
    bucket = TokenBucket(qps=1.0, burst=2)
    assert bucket.try_accept(0) and bucket.try_accept(0) and not bucket.try_accept(0)
    assert bucket.wait_ns(0) == 1_000_000_000
    assert not bucket.try_accept(999_999_000)  # 1µs short of a token
    assert bucket.try_accept(1_000_000_000)
    assert bucket.try_accept(3_000_000_000) and bucket.try_accept(3_000_000_000)
    assert not bucket.try_accept(3_000_000_000)  # never more than the burst
