"""etcd, the cluster's memory: a multi-version key-value store on the virtual clock.

The API server keeps every Kubernetes object in etcd, under keys like
``/registry/pods/default/web-0``. This package is an in-process etcd v3 with
etcd's semantics (checked against a real etcd server in tests/test_etcd_real.py):

- store.py     the MVCC store: revisions, put, range, delete, txn, compaction
- kv.py        KeyValue, Event, the responses, key ranges and prefixes
- txn.py       Compare and Op, the parts of a transaction
- watch.py     watchers, indexed by key and range, and in-order delivery
- lease.py     leases and their expiry on the virtual clock
- snapshot.py  saving and restoring the whole store, checksummed
- errors.py    EtcdError and its subclasses, with etcd's messages
- gateway.py   a tiny client for a real etcd's JSON gateway (for comparisons)
- remote.py    RemoteStore: the Store's methods on a real etcd cluster, for
               ``kl.Cluster(etcd=...)``; localcluster.py starts one (``make etcd``)
- raft.py      RaftGroup: members replicating every write through Raft;
               raftnet.py its clock and network; raftstore.py ReplicatedStore,
               the Store's methods answered by a Raft group

    >>> from kubelearn.sim import Simulation
    >>> store = Store(Simulation())
    >>> store.put("/registry/pods/default/web-0", b'{"kind":"Pod"}').revision
    2
"""

from kubelearn.etcd.errors import (
    CompactedError,
    DeadlineExceededError,
    DuplicateKeyError,
    EmptyKeyError,
    EtcdError,
    FutureRevisionError,
    InvalidArgumentError,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
    RequestTimeoutError,
    RequestTooLargeError,
    SnapshotError,
    TooManyOpsError,
    UnavailableError,
)
from kubelearn.etcd.kv import (
    DeleteResponse,
    Event,
    KeyRange,
    KeyValue,
    PutResponse,
    RangeResponse,
    TxnResponse,
    prefix_end,
)
from kubelearn.etcd.lease import MIN_LEASE_TTL, Lease, LeaseTimeToLive
from kubelearn.etcd.store import Store
from kubelearn.etcd.txn import Compare, Op
from kubelearn.etcd.watch import Watcher

__all__ = [
    "Store", "KeyValue", "Event", "Compare", "Op", "Watcher", "Lease", "LeaseTimeToLive",
    "PutResponse", "RangeResponse", "DeleteResponse", "TxnResponse", "KeyRange", "prefix_end",
    "MIN_LEASE_TTL",
    "EtcdError", "CompactedError", "FutureRevisionError", "SnapshotError", "InvalidArgumentError",
    "EmptyKeyError", "DuplicateKeyError", "TooManyOpsError", "RequestTooLargeError",
    "LeaseNotFoundError", "LeaseExistsError", "LeaseTTLTooLargeError", "UnavailableError",
    "RequestTimeoutError", "DeadlineExceededError",
]
