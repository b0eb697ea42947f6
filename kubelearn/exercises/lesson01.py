"""Lesson 01 (etcd)'s exercises.

- ``01.1``: the ``(create_revision, mod_revision, version)`` of a key after the
  writes :data:`WRITES_01_1` on a fresh store;
- ``01.2``: a function ``retry_update(etcd, key, change)`` that lands its change
  with a compare on ``mod_revision`` while another writer races it;
- ``01.3``: the slowest keepalive period, in whole seconds, that keeps a key on a
  :data:`LEASE_TTL_01_3`-second lease for :data:`RUN_FOR_01_3` seconds.

Each check works the truth out on a fresh :class:`kubelearn.etcd.Store`, so it
agrees with what the store does, not with a number written here.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from kubelearn.exercises import CORRECT, exercise, number

# -- 01.1: a key's three counters ------------------------------------------------------------------

KEY_A = "/registry/pods/default/a"
KEY_B = "/registry/pods/default/b"
# (operation, key) in order, on a store at revision 1
WRITES_01_1 = (("put", KEY_A), ("put", KEY_B), ("put", KEY_A), ("put", KEY_A),
               ("delete", KEY_A), ("put", KEY_A), ("put", KEY_B), ("put", KEY_A))


@functools.cache
def _counters_01_1() -> tuple[int, int, int]:
    """``a``'s counters after :data:`WRITES_01_1`, as the store keeps them."""
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

    store = Store(Simulation(seed=0))
    for op, key in WRITES_01_1:
        if op == "put":
            store.put(key, "{}")
        else:
            store.delete(key)
    kv = store.get(KEY_A)
    assert kv is not None
    return kv.create_revision, kv.mod_revision, kv.version


@exercise("01.1")
def _check_counters(answer: Any) -> str:
    if answer is None:
        return ("Write your answer in answer_1 first: three numbers, "
                "(create_revision, mod_revision, version).")
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__iter__"):
        return "Give three numbers in a tuple: (create_revision, mod_revision, version)."
    given = [number(value) for value in answer]
    if len(given) != 3 or any(value is None or value.denominator != 1 for value in given):
        return ("Give three whole numbers in a tuple: (create_revision, mod_revision, version); "
                f"yours has {len(given)} entries.")
    create, mod, version = (int(value) for value in given)  # type: ignore[arg-type]
    right = _counters_01_1()
    wrong = [name for name, mine, theirs in zip(("create_revision", "mod_revision", "version"),
                                                (create, mod, version), right, strict=True)
             if mine != theirs]
    if not wrong:
        return CORRECT
    hints = []
    if "create_revision" in wrong or "version" in wrong:
        hints.append("A delete ends a key's life: the put after it creates the key anew, so "
                     "create_revision and version start again from that put.")
    if "mod_revision" in wrong or "create_revision" in wrong:
        hints.append("The store starts at revision 1 and every write, a delete or a write to "
                     "another key too, moves it up by one.")
    return f"Not yet: {' and '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} off. " \
        + " ".join(hints)


# -- 01.2: read, change, write back with a compare, retry ------------------------------------------

KEY_01_2 = "/registry/pods/default/web-1"
MAX_TRIES_01_2 = 50  # a retry loop that needs more than this never re-reads


class _TooManyTries(Exception):
    """The learner's loop wrote with a stale revision again and again."""


class _RacingStore:
    """The store as the learner's function sees it: the first read of the key is followed at
    once by another writer's change (the race), and ``txn`` counts its calls."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._raced = False
        self.txns = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get(self, key: str, **kwargs: Any) -> Any:
        kv = self._store.get(key, **kwargs)
        self._race(key)
        return kv

    def range(self, key: str, *args: Any, **kwargs: Any) -> Any:
        answer = self._store.range(key, *args, **kwargs)
        self._race(key)
        return answer

    def _race(self, key: str) -> None:
        """Right after the first read: the other writer, a scheduler binding the pod."""
        if self._raced or key != KEY_01_2:
            return
        self._raced = True
        pod = json.loads(self._store.get(key).value)
        pod["spec"]["nodeName"] = "node-1"
        self._store.put(key, json.dumps(pod))

    def txn(self, *args: Any, **kwargs: Any) -> Any:
        self.txns += 1
        if self.txns > MAX_TRIES_01_2:
            raise _TooManyTries
        return self._store.txn(*args, **kwargs)


def _add_track_label(pod: dict) -> None:
    pod["metadata"].setdefault("labels", {})["track"] = "stable"


@exercise("01.2")
def _check_retry_update(retry_update: Any) -> str:
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

    if retry_update is None:
        return "Write retry_update(etcd, key, change) first, then check it."
    if not callable(retry_update):
        return f"Give the function itself (retry_update), not a {type(retry_update).__name__}."
    store = Store(Simulation(seed=0))
    store.put(KEY_01_2, json.dumps({"apiVersion": "v1", "kind": "Pod",
                                    "metadata": {"name": "web-1", "labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web",
                                                             "image": "nginx:1.27"}]}}))
    racing = _RacingStore(store)
    try:
        written = retry_update(racing, KEY_01_2, _add_track_label)
    except _TooManyTries:
        return (f"Not yet: your function tried {MAX_TRIES_01_2} transactions and never got "
                "through. After a failed compare, read the key again: its mod_revision has "
                "moved on.")
    except Exception as err:  # the learner's code: say what it raised, in plain words
        return f"Your function raised {type(err).__name__}: {err}. Fix it and check again."
    return _retry_hint(store, racing, written)


def _retry_hint(store: Any, racing: _RacingStore, written: Any) -> str:
    pod = json.loads(store.get(KEY_01_2).value)
    if not racing._raced:
        return ("Not yet: your function never read the key. Read it first (etcd.get(key)), "
                "then change what you read.")
    if pod["spec"].get("nodeName") != "node-1":
        return ("Not yet: another writer changed the pod between your read and your write, "
                "and your write undid its change. Write with a compare on the key's "
                "mod_revision, so that a stale write fails instead.")
    if pod["metadata"].get("labels", {}).get("track") != "stable":
        return ("Not yet: your change did not land. When the compare fails, read the key "
                "again, apply the change to what you read, and try again.")
    if written != store.get(KEY_01_2).mod_revision:
        return ("Nearly: both changes landed. Now return the revision your write made "
                "(the transaction's answer has it).")
    return CORRECT


# -- 01.3: the slowest keepalive that keeps a key --------------------------------------------------

LEASE_TTL_01_3 = 10
RUN_FOR_01_3 = 60


def survives(every: float, ttl: int = LEASE_TTL_01_3, run_for: float = RUN_FOR_01_3) -> bool:
    """Whether a key on a ``ttl``-second lease, renewed every ``every`` seconds, is still there
    after ``run_for`` seconds."""
    from kubelearn.etcd import LeaseNotFoundError, Store
    from kubelearn.sim import Simulation

    sim = Simulation(seed=0)
    store = Store(sim)
    lease = store.grant(ttl)
    store.put("/registry/events/default/x", "event", lease=lease.id)

    def renew():
        while True:
            yield sim.timeout(every)
            try:
                store.keepalive(lease.id)
            except LeaseNotFoundError:   # too late: the lease ran out and took the key
                return

    sim.process(renew())
    sim.run(run_for)
    return store.get("/registry/events/default/x") is not None


@exercise("01.3")
def _check_slowest_renewal(every: Any) -> str:
    if every is None:
        return "Write your answer in answer_3 first: a renewal period in whole seconds."
    value = number(every)
    if value is None or value.denominator != 1:
        return f"Give a whole number of seconds, like 5, not {every!r}."
    seconds = int(value)
    if seconds <= 0:
        return "Give a period of at least 1 second: a keepalive every 0 s is no timer at all."
    if seconds > 10 * RUN_FOR_01_3:
        seconds = 10 * RUN_FOR_01_3   # keeps the simulation short; the answer is the same
    if not survives(seconds):
        return (f"Not yet: renewed every {seconds} s, the key is gone before {RUN_FOR_01_3} s. "
                "A keepalive resets the countdown to the lease's TTL; how long may the key "
                "wait for the next one?")
    if survives(seconds + 1):
        return "It survives, but a slower renewal would too. Try slower ones."
    return CORRECT
