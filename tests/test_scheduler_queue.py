"""The scheduling queue: activeQ order, backoff 1-2-4-8-10 s, unschedulablePods and their moves."""

import pytest
from scheduler_testing import make_pod

from kubelearn.scheduler import queue as q
from kubelearn.scheduler.queue import SchedulingQueue, backoff_duration
from kubelearn.sim import Simulation


def pod(name, priority=0, **kw):
    p = make_pod(name, **kw)
    p["spec"]["priority"] = priority
    return p


def new_queue(**kw):
    sim = Simulation(seed=0)
    return sim, SchedulingQueue(sim, **kw)


def fail(queue, info, plugins=("NodeResourcesFit",)):
    """What the scheduler does with a pod its cycle could not place."""
    info.unschedulable_plugins = set(plugins)
    return queue.add_unschedulable_if_not_present(info, queue.scheduling_cycle)


def test_backoff_doubles_from_1s_to_the_10s_cap():
    assert [backoff_duration(n) for n in range(1, 8)] == [1, 2, 4, 8, 10, 10, 10]
    assert backoff_duration(0) == 0  # never tried: no penalty
    assert [backoff_duration(n, 2, 5) for n in range(1, 4)] == [2, 4, 5]


def test_active_q_pops_higher_priority_first_then_oldest():
    sim, queue = new_queue()
    queue.add(pod("low-old"))
    sim.run(1)
    queue.add(pod("high", priority=100))
    queue.add(pod("low-new"))
    queue.add(pod("low-newer"))  # same virtual instant as low-new: first in, first out
    assert [queue.pop().key for _ in range(4)] == [
        "default/high", "default/low-old", "default/low-new", "default/low-newer"]
    assert queue.pop() is None


def test_a_failed_pod_waits_in_unschedulable_pods_until_an_event_that_may_help():
    sim, queue = new_queue()
    queue.add(pod("web"))
    info = queue.pop()
    assert fail(queue, info) == q.UNSCHEDULABLE_PODS
    assert queue.summary() == "activeQ:0; backoffQ:0; unschedulablePods:1"
    # A pod was added somewhere: NodeResourcesFit does not care (an assigned pod delete would)
    assert queue.move_all_to_active_or_backoff_queue(q.ASSIGNED_POD_ADD) == 0
    assert queue.move_all_to_active_or_backoff_queue(q.NODE_LABEL_CHANGE) == 0
    sim.run(0.5)  # still backing off (1s): to backoffQ, then activeQ once the second is over
    assert queue.move_all_to_active_or_backoff_queue(q.NODE_ADD) == 1
    assert queue.pending_pods() == [("default/web", q.BACKOFF_Q, 1)]
    sim.run(0.49)
    assert queue.pending_pods()[0][1] == q.BACKOFF_Q
    sim.run(0.02)  # (Simulation.run stops just before events due at its end)
    assert queue.pending_pods() == [("default/web", q.ACTIVE_Q, 1)]


@pytest.mark.parametrize("plugin,event,moves", [
    ("TaintToleration", q.NODE_TAINT_CHANGE, True),
    ("TaintToleration", q.NODE_ALLOCATABLE_CHANGE, False),
    ("NodeAffinity", q.NODE_LABEL_CHANGE, True),
    ("NodeResourcesFit", q.ASSIGNED_POD_DELETE, True),
    ("NodeResourcesFit", q.NODE_ALLOCATABLE_CHANGE, True),
    ("PodTopologySpread", q.ASSIGNED_POD_ADD, True),
    ("NodeUnschedulable", q.NODE_SPEC_UNSCHEDULABLE_CHANGE, True),
    ("NodePorts", q.NODE_TAINT_CHANGE, False),
    ("MyLearnerPlugin", q.NODE_CONDITION_CHANGE, True),  # unknown plugins: every event
    ("NodeAffinity", q.UNSCHEDULABLE_TIMEOUT, True),  # the 5-minute flush moves everyone
])
def test_which_events_move_which_rejections(plugin, event, moves):
    sim, queue = new_queue()
    queue.add(pod("web"))
    fail(queue, queue.pop(), [plugin])
    assert queue.move_all_to_active_or_backoff_queue(event) == int(moves)


def test_backoff_timings_1_2_4_8_10_10():
    """A pod that keeps failing, with a helpful event right after each failure."""
    sim, queue = new_queue(pop_from_backoff_q=False)
    queue.add(pod("web"))
    attempts = []

    def scheduler():
        while True:
            info = queue.pop()
            if info is None:
                yield queue.wait()
                continue
            attempts.append(sim.now)
            fail(queue, info)
            yield sim.timeout(0.1)  # then a node is added: worth a retry, after backoff
            queue.move_all_to_active_or_backoff_queue(q.NODE_ADD)

    sim.process(scheduler())
    sim.run(60)
    gaps = [round(b - a, 6) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:7] == [1, 2, 4, 8, 10, 10, 10]


def test_v132_waits_out_the_backoff_when_active_q_is_empty():
    """v1.32 has no SchedulerPopFromBackoffQ: an idle scheduler waits for the backoff to end."""
    sim, queue = new_queue()
    queue.add(pod("web"))
    fail(queue, queue.pop())
    queue.move_all_to_active_or_backoff_queue(q.NODE_ADD)
    assert queue.pending_pods() == [("default/web", q.BACKOFF_Q, 1)]
    assert queue.pop() is None


def test_pop_from_backoff_q_when_active_q_is_empty():
    """SchedulerPopFromBackoffQ (v1.33, beta and on): an idle scheduler does not wait."""
    sim, queue = new_queue(pop_from_backoff_q=True)
    queue.add(pod("web"))
    fail(queue, queue.pop())
    queue.move_all_to_active_or_backoff_queue(q.NODE_ADD)
    assert queue.pending_pods() == [("default/web", q.BACKOFF_Q, 1)]
    info = queue.pop()
    assert info.key == "default/web" and info.attempts == 2 and sim.now == 0


def test_a_pod_that_failed_with_an_error_backs_off_without_waiting_for_events():
    sim, queue = new_queue()
    queue.add(pod("web"))
    assert fail(queue, queue.pop(), plugins=()) == q.BACKOFF_Q
    assert queue.pop() is None  # error backoff is never cut short
    sim.run(1.01)
    assert queue.pop().key == "default/web"


def test_pods_left_in_unschedulable_pods_are_retried_after_5_minutes():
    sim, queue = new_queue()
    queue.run()
    queue.add(pod("web"))
    fail(queue, queue.pop())
    sim.run(300.01)
    assert queue.pending_pods()[0][1] == q.UNSCHEDULABLE_PODS  # exactly 5 min: not yet
    sim.run(30)  # the next 30-second flush, at 330 s
    assert queue.pending_pods() == [("default/web", q.ACTIVE_Q, 1)]


def test_only_real_changes_to_a_pending_pod_move_it():
    sim, queue = new_queue()
    old = pod("web")
    queue.add(old)
    fail(queue, queue.pop())
    sim.run(5)
    status_only = {**old, "status": {"conditions": [{"type": "PodScheduled", "status": "False"}]},
                   "metadata": {**old["metadata"], "resourceVersion": "9"}}
    queue.update(old, status_only)
    assert queue.pending_pods()[0][1] == q.UNSCHEDULABLE_PODS
    relabelled = {**old, "metadata": {**old["metadata"], "labels": {"app": "web"}}}
    queue.update(status_only, relabelled)
    assert queue.pending_pods()[0][1] == q.ACTIVE_Q


def test_scheduling_gates_hold_a_pod_until_removed():
    sim, queue = new_queue()
    gated = pod("web")
    gated["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    queue.add(gated, gating_plugin="SchedulingGates")
    assert queue.pop() is None
    assert queue.move_all_to_active_or_backoff_queue(q.NODE_ADD) == 0
    released = {**gated, "spec": {**gated["spec"], "schedulingGates": []}}
    queue.update(gated, released)
    assert queue.pop().key == "default/web"


def test_delete_forgets_the_pod_wherever_it_is():
    sim, queue = new_queue()
    for name in ("a", "b"):
        queue.add(pod(name))
    fail(queue, queue.pop())
    queue.delete(pod("a"))
    queue.delete(pod("b"))
    assert len(queue) == 0 and queue.pop() is None
