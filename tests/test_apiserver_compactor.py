"""The compactor, as etcd3/compact.go: record a revision, compact at it next round."""

from kubelearn.apiserver.compactor import COMPACT_REV_KEY, Compactor
from kubelearn.etcd import Store
from kubelearn.sim import Simulation


def test_first_round_records_second_round_compacts():
    sim = Simulation(0)
    store = Store(sim)
    for i in range(5):
        store.put(f"/k{i}", "v")
    compactor = Compactor(sim, store, start=False)
    assert compactor.compact_once() == 0  # "We don't compact on bootstrap"
    recorded = store.revision  # the txn's own revision
    assert compactor.revision == recorded
    assert store.get(COMPACT_REV_KEY).value == b"0" and store.compact_revision == 0
    store.put("/k0", "again")
    assert compactor.compact_once() == recorded
    assert store.compact_revision == recorded
    assert store.get(COMPACT_REV_KEY).value == str(recorded).encode()
    assert store.get(COMPACT_REV_KEY).version == 2


def test_a_compactor_that_loses_the_race_catches_up():
    sim = Simulation(0)
    store = Store(sim)
    store.put("/a", "1")
    winner, loser = Compactor(sim, store, start=False), Compactor(sim, store, start=False)
    winner.compact_once()
    assert loser.compact_once() == 0  # the compare fails: someone else holds the key
    assert loser.compact_time == store.get(COMPACT_REV_KEY).version == 1
    store.put("/a", "2")
    # now the loser is in step and may win the next round
    assert loser.compact_once() > 0 or winner.compact_once() > 0


def test_the_loop_runs_every_five_minutes():
    sim = Simulation(0)
    store = Store(sim)
    compactor = Compactor(sim, store)
    store.put("/a", "1")
    sim.run(299)
    assert store.get(COMPACT_REV_KEY) is None
    sim.run(2)
    assert store.get(COMPACT_REV_KEY) is not None and store.compact_revision == 0
    sim.run(300)
    assert store.compact_revision == compactor.compact_revision > 0
