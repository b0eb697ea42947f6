"""Writing a file safely: a new file of mode 0600, renamed into place.

Used for what must never be half-written or written through someone else's
symlink: the kubeconfig ``kubelearn serve`` writes (it holds a token, a
password) and etcd snapshots. ``mkstemp`` creates a fresh file with
``O_CREAT | O_EXCL`` and mode 0600 in the target's directory, so it is never
a link and never readable by others; ``os.replace`` then swaps it in, which
replaces a symlink at the path itself rather than the file it points to.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Put ``data`` at ``path`` atomically, as a new file of mode 0600 (synced to disk)."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
