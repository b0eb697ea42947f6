"""The errors etcd returns, with etcd's own messages.

Every error the store raises is an :class:`EtcdError`. Where etcd has a fixed
message, the class carries it word for word, so a learner who searches for it
lands in etcd's source:

- ``mvcc: ...`` messages come from the storage layer (server/mvcc/kv.go). Over
  gRPC etcd prefixes them with ``etcdserver: `` (api/v3rpc/rpctypes/error.go).
- ``etcdserver: ...`` messages come from the server and the lessor.

:class:`InvalidArgumentError` is ours: a wrong type or a negative revision is a
bug in the caller, reported in plain words instead of a raw ``TypeError``.
"""

from __future__ import annotations


class EtcdError(Exception):
    """Anything the store refuses to do."""

    message = "etcdserver: unknown error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class InvalidArgumentError(EtcdError):
    """A request the caller got wrong: a wrong type, a negative revision, ..."""


class EmptyKeyError(EtcdError):
    """A request without a key."""

    message = "etcdserver: key is not provided"


class CompactedError(EtcdError):
    """A read or watch asked for a revision that compaction already dropped."""

    message = "mvcc: required revision has been compacted"

    def __init__(self, compact_revision: int = 0, message: str | None = None) -> None:
        super().__init__(message)
        self.compact_revision = compact_revision  # the oldest revision still readable


class FutureRevisionError(EtcdError):
    """A read or compaction asked for a revision the store has not reached."""

    message = "mvcc: required revision is a future revision"


class DuplicateKeyError(EtcdError):
    """A txn branch writes the same key twice (two puts, or a put inside a delete)."""

    message = "etcdserver: duplicate key given in txn request"


class TooManyOpsError(EtcdError):
    """A txn with more compares or operations than ``--max-txn-ops`` allows."""

    message = "etcdserver: too many operations in txn request"


class RequestTooLargeError(EtcdError):
    """A request larger than ``--max-request-bytes``."""

    message = "etcdserver: request is too large"


class LeaseNotFoundError(EtcdError):
    """A lease id that was never granted, or has expired or been revoked."""

    message = "etcdserver: requested lease not found"


class LeaseExistsError(EtcdError):
    """A grant asked for a lease id that is already in use."""

    message = "etcdserver: lease already exists"


class LeaseTTLTooLargeError(EtcdError):
    """A grant asked for a TTL above etcd's maximum."""

    message = "etcdserver: too large lease TTL"


class UnavailableError(EtcdError):
    """No etcd endpoint answered in time: every one refused, or the client's deadline passed.

    The client's deadline is the caller's context: kube-apiserver's request
    timeout (60 s). Until it passes, Go's clientv3 retries what is safe to
    retry (client/v3/retry_interceptor.go, v3.5): a read that failed with an
    ``Unavailable`` error (``etcdserver: request timed out``, a lost
    connection), and any request whose member's own context ended
    (:class:`DeadlineExceededError`). Then it says what the context says. A
    real etcd (:class:`~kubelearn.etcd.remote.RemoteStore`) raises it, and so
    does a Raft group's client (raftstore.py), also for a request whose member
    died under it.
    """

    message = "context deadline exceeded"  # Go's context.DeadlineExceeded.Error()


class DeadlineExceededError(EtcdError):
    """A member's own context ended before any leader took the write (no leader for 7 s).

    etcd-io/raft takes no proposal while it knows no leader (node.go: the
    proposal channel is nil), so the member's ``Propose`` waits until its
    request timeout ends it with ``context.DeadlineExceeded``; gRPC sends that
    as code DeadlineExceeded (v3rpc/util.go togRPCError, v3.5). clientv3 takes
    it for its own call's deadline and tries again until the caller's deadline
    passes (:class:`UnavailableError`); a caller without one would see this text.
    """

    message = "rpc error: code = DeadlineExceeded desc = context deadline exceeded"


class SnapshotError(EtcdError):
    """A snapshot file that cannot be restored: empty, truncated, corrupted or foreign."""


class RequestTimeoutError(EtcdError):
    """A write entered Raft but was not applied within etcd's request timeout.

    etcd waits ``ReqTimeout`` = 5 s + 2 x election timeout (7 s with the
    defaults; server/config/config.go, v3.5) for its proposal to commit and
    apply, then answers ``ErrTimeout`` (server/etcdserver/errors.go). When a
    leader was elected while the request waited, the message adds
    ", possibly due to previous leader failure" (ErrTimeoutDueToLeaderFail).
    A linearizable read that gets no read index in that time fails the same way.
    """

    message = "etcdserver: request timed out"
