"""The API server's compactor: every 5 minutes, tell etcd to forget old revisions.

A port of k8s.io/apiserver/pkg/storage/etcd3/compact.go. Every
``--etcd-compaction-interval`` (5 minutes) the compactor runs one etcd txn on
the key ``compact_rev_key``:

    if version(compact_rev_key) == my compact time
    then put compact_rev_key = <the revision I saw last round>
    else get compact_rev_key

If the compare holds, this API server won the round: it compacts etcd at the
revision it *recorded in the previous round* -- so everything written in the
last 5 minutes stays readable -- and remembers the txn's revision for the
next round. The very first round only records a revision ("We don't compact
on bootstrap"). If the compare fails, another API server compacted; this one
catches up on the key's version and tries again next round.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from kubelearn.etcd import Compare, EtcdError, Op

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

COMPACTION_INTERVAL = 300.0  # kube-apiserver --etcd-compaction-interval (5m)
COMPACT_REV_KEY = "compact_rev_key"  # etcd3/compact.go compactRevKey


class Compactor:
    """Compacts ``store`` every ``interval`` virtual seconds, as the API server does."""

    def __init__(self, sim: Simulation, store: Store, interval: float = COMPACTION_INTERVAL,
                 *, start: bool = True) -> None:
        self.sim = sim
        self.store = store
        self.interval = interval
        self.compact_time = 0  # the version of compact_rev_key this compactor expects
        self.revision = 0  # the revision recorded last round: next round's compaction point
        self.compact_revision = 0  # the last revision this compactor compacted at
        self.process = sim.process(self._loop()) if start and interval > 0 else None

    def _loop(self) -> Generator[Any, Any, None]:
        while True:
            yield self.sim.timeout(self.interval)
            self.compact_once()

    def compact_once(self) -> int:
        """One round of compact.go compact(); returns the revision compacted at (0: none).

        If etcd fails the txn (no quorum), the round changes nothing and the next
        one tries again, as the compactor loop logs "compact failed" and goes on.
        Should the failed txn commit after all, the next round's compare fails and
        catches up on the key's version, as after another API server's round.
        """
        try:
            resp = self.store.txn([Compare.version(COMPACT_REV_KEY) == self.compact_time],
                                  [Op.put(COMPACT_REV_KEY, str(self.revision))],
                                  [Op.get(COMPACT_REV_KEY)])
        except EtcdError as err:  # etcd3.go compactor: klog "compact failed", next interval
            self.sim.record("kube-apiserver", "CompactionFailed", "etcd", str(err))
            return 0
        current = resp.revision
        if not resp.succeeded:  # someone else compacted: catch up on their compact time
            kv = resp.responses[0].kvs[0]
            self.compact_time, self.revision = kv.version, current
            return 0
        self.compact_time += 1
        rev, self.revision = self.revision, current
        if rev == 0:
            self.sim.record("kube-apiserver", "CompactRevisionRecorded", "etcd",
                            f"recorded revision {current}; nothing compacted on bootstrap")
            return 0
        try:
            self.store.compact(rev)
        except EtcdError as err:  # e.g. compacted by hand meanwhile: log it, try next round
            self.sim.record("kube-apiserver", "CompactionFailed", "etcd", str(err))
            return 0
        self.compact_revision = rev
        self.sim.record("kube-apiserver", "Compacted", "etcd",
                        f"compacted at revision {rev}; recorded revision {current} for next time")
        return rev
