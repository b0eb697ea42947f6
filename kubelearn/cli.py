"""The ``kubelearn`` command: ``kubelearn serve`` runs a cluster for the real kubectl.

::

    $ kubelearn serve --speed 10 -f web.yaml
    kubelearn API server at https://127.0.0.1:40123
      export KUBECONFIG=/tmp/kubelearn-x1y2/kubeconfig
      kubectl get pods

The cluster runs until Ctrl-C, its simulated time following the wall clock
``--speed`` times faster (see :mod:`kubelearn.apiserver.serve`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, timezone

from kubelearn.api import StatusError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubelearn", description="Learn how a Kubernetes cluster works by building one.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve a cluster over HTTP for kubectl",
        description="Start a cluster and serve its API server over HTTP until Ctrl-C.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="simulated seconds per wall-clock second (default 1)")
    serve.add_argument("--seed", type=int, default=0, help="the simulation's random seed")
    serve.add_argument("--nodes", type=int, default=3,
                       help="worker nodes, a kubelet each (default 3)")
    serve.add_argument("--kubeconfig", default=None,
                       help="where to write the kubeconfig, as a new file of mode 0600 "
                            "(a symlink there is replaced, never followed; "
                            "default: a temporary file)")
    serve.add_argument("-f", "--filename", action="append", default=[], metavar="MANIFEST",
                       help="apply this manifest file first (repeatable)")
    return parser


def serve_command(args: argparse.Namespace) -> int:
    """``kubelearn serve``: build the cluster, apply manifests, serve until interrupted."""
    from kubelearn.apiserver.kubeconfig import KubeconfigError
    from kubelearn.apiserver.serve import serve
    from kubelearn.cluster import Cluster

    if args.speed < 0:
        print(f"error: --speed must be 0 or more, not {args.speed:g}", file=sys.stderr)
        return 2
    if args.nodes < 0:
        print(f"error: --nodes must be 0 or more, not {args.nodes}", file=sys.stderr)
        return 2
    # Served, the cluster follows the wall clock: its virtual second 0 is now, so the
    # ages kubectl computes from timestamps (describe, events) come out right.
    epoch = datetime.now(timezone.utc).replace(microsecond=0)
    cluster = Cluster(seed=args.seed, nodes=args.nodes, epoch=epoch)
    for manifest in args.filename:
        try:
            for obj in cluster.apply(manifest):
                group = str(obj.get("apiVersion", "")).rpartition("/")[0]
                kind = str(obj.get("kind", "")).lower() + (f".{group}" if group else "")
                print(f"{kind}/{obj.get('metadata', {}).get('name')} applied")
        except StatusError as err:
            print(f"error: {manifest}: {err}", file=sys.stderr)
            return 1
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or kill: stop cleanly
        signal.signal(signum, lambda *_: done.set())
    try:
        server = serve(cluster, host=args.host, port=args.port, speed=args.speed,
                       kubeconfig=args.kubeconfig)
    except KubeconfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kubelearn`` command line; return its exit code."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve_command(args)
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
