"""Signals: which one stops a container, and what its process does when it arrives.

When the kubelet stops a container it calls the runtime's ``StopContainer``
with a timeout (the grace period left). containerd sends the **stop signal**
of the container's image -- ``STOPSIGNAL`` in its Dockerfile, ``StopSignal``
in the image config, SIGTERM when the image names none -- once, waits the
timeout, then sends SIGKILL (containerd v1.7
``pkg/cri/server/container_stop.go``). Kubernetes v1.32 has no field to
choose another signal (a container's ``lifecycle.stopSignal`` comes as an
alpha in v1.33, KEP-4960), so the image decides.

What the signal does is up to the process:

- a **handler** runs: the program shuts down (nginx on SIGQUIT finishes its
  requests, exits 0);
- the process **ignores** it (``SIG_IGN``): nothing happens, SIGKILL comes
  when the grace period is up, exit code 137 = 128 + 9;
- otherwise the kernel applies the signal's **default action**
  (``signal(7)``): most signals terminate, and the container exits with
  128 + the signal's number (SIGTERM: 143); SIGWINCH's default is to do
  nothing. But the kernel applies no default action to the first process of
  a PID namespace -- a container's main process, PID 1, unless the pod sets
  ``shareProcessNamespace`` (then the pause container is PID 1) -- so a
  PID 1 without a handler ignores the signal, and only SIGKILL ends it.

:func:`reaction` puts these rules in one place; :func:`exit_code` is what the
runtime reports for a process a signal ended (containerd's shim: 128 + signo).
"""

from __future__ import annotations

from collections.abc import Collection

SIGTERM = "SIGTERM"
SIGKILL = "SIGKILL"
# moby/docker image spec and containerd: an image config without StopSignal means SIGTERM.
DEFAULT_STOP_SIGNAL = SIGTERM

# Linux signal numbers (x86-64 and arm64, signal(7)) of the signals images stop with.
NUMBERS: dict[str, int] = {
    "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGKILL": 9, "SIGUSR1": 10, "SIGUSR2": 12,
    "SIGTERM": 15, "SIGCHLD": 17, "SIGURG": 23, "SIGWINCH": 28, "SIGPWR": 30,
}
# signal(7): the signals whose default action is "Ign" (nothing happens); every other
# signal in NUMBERS terminates the process by default ("Term" or "Core").
DEFAULT_IGNORED = frozenset({"SIGCHLD", "SIGURG", "SIGWINCH"})
# containerd's shim reports a process ended by signal N as exit status 128 + N.
SIGNAL_EXIT_OFFSET = 128

# What a process does with a signal.
HANDLE = "handle"  # its handler shuts it down cleanly
IGNORE = "ignore"  # nothing happens: SIGKILL ends it when the grace period is up
TERMINATE = "terminate"  # the default action kills it at once: exit 128 + N


def exit_code(signal: str) -> int:
    """The exit code of a process that ``signal`` ended: 128 + its number (SIGKILL: 137)."""
    return SIGNAL_EXIT_OFFSET + NUMBERS[signal]


def reaction(signal: str, handles: Collection[str], ignores: Collection[str],
             pid1: bool) -> str:
    """What a process does with ``signal``: :data:`HANDLE`, :data:`IGNORE` or :data:`TERMINATE`.

    ``handles`` are the signals it installed a shutdown handler for, ``ignores``
    the ones it set to ``SIG_IGN``; ``pid1`` is whether it is the first process
    of its PID namespace, to which the kernel applies no default action.
    """
    if signal == SIGKILL:
        return TERMINATE  # can be neither caught nor ignored, not even by PID 1
    if signal in ignores:
        return IGNORE
    if signal in handles:
        return HANDLE
    if pid1 or signal in DEFAULT_IGNORED:
        return IGNORE
    return TERMINATE
