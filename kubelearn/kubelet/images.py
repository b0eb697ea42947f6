"""Images: the simulated registries, a small catalogue of images, and what a pull costs.

A container's ``image`` is a reference like ``nginx:1.27``. The container runtime
(containerd, for kubeadm) normalises it the way Docker does -- no registry means
``docker.io``, a one-word name lives under ``library/``, no tag means ``latest``
-- so ``nginx:1.27`` is ``docker.io/library/nginx:1.27``, the name
``kubectl describe`` shows under *Image*.

The simulated images (compressed linux/amd64 sizes, roughly as Docker Hub lists
them; a pull takes ``size / node bandwidth``), each with the stop signal its
image config names (``STOPSIGNAL`` in the official image's Dockerfile; none
means SIGTERM) and what its default command does on it:

=============================  =======  ========  ======================================
image                          MiB      stop      what its default command does
=============================  =======  ========  ======================================
``nginx``                      68       SIGQUIT   serves HTTP on :80 forever; on SIGQUIT
                                                  (graceful) or SIGTERM (fast) it exits 0
``httpd``                      56       SIGWINCH  serves HTTP on :80 forever; on SIGWINCH
                                                  (graceful stop) or SIGTERM it exits 0
``redis``                      45       SIGTERM   serves on :6379 forever; exits 0 on SIGTERM
``postgres``                   150      SIGINT    serves on :5432 after 5 s of start-up;
                                                  1 s to stop (SIGINT: "fast shutdown")
``mysql``                      170      SIGTERM   serves on :3306 after 15 s of start-up;
                                                  2 s to stop
``busybox``                    2        SIGTERM   runs ``sh``: with no terminal it exits 0
                                                  at once
``alpine``                     3.5      SIGTERM   runs ``sh``: exits 0 at once
``ubuntu``                     28       SIGTERM   runs ``bash``: exits 0 at once
``python``                     380      SIGTERM   runs ``python3``: exits 0 at once
``registry.k8s.io/pause``      0.3      SIGTERM   the sandbox ("pause") container; already
                                                  on every node
=============================  =======  ========  ======================================

Any other image from a known registry (Docker Hub, registry.k8s.io, quay.io,
ghcr.io, gcr.io, mcr.microsoft.com, public.ecr.aws, registry.gitlab.com) pulls
fine: :data:`DEFAULT_SIZE_MIB`, "serves forever", stops on SIGTERM. Pulls fail, with
containerd's own error text, when:

- a repository name contains ``does-not-exist`` (Docker Hub's "pull access
  denied, repository does not exist or may require authorization");
- a tag contains ``does-not-exist`` (``...: not found``);
- the registry host is not one of the known ones (``no such host``);
- the name is not a valid reference (upper case): ``InvalidImageName``.

How a container behaves beyond its image's default is declared on the pod:
see :mod:`kubelearn.kubelet.behaviour`; what a signal does to it, and which
one the runtime sends, :mod:`kubelearn.kubelet.signals`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kubelearn.kubelet.signals import DEFAULT_STOP_SIGNAL

MiB = 1024 * 1024
DEFAULT_SIZE_MIB = 50.0  # an image the catalogue does not know
# The sandbox image kubeadm v1.32 configures (and pre-pulls on every node).
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
DOCKER_HUB = "docker.io"
KNOWN_REGISTRIES = frozenset({
    DOCKER_HUB, "registry.k8s.io", "k8s.gcr.io", "quay.io", "ghcr.io", "gcr.io",
    "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com", "localhost:5000",
})
# What a registry answers before any layer moves (resolving the manifest): also the time
# a pull of an image already on the node takes, and the time a failing pull takes to fail.
RESOLVE_SECONDS = 0.25


# The signals a server's shutdown handler catches, for most servers.
_TERM = frozenset({"SIGTERM"})


@dataclass(frozen=True)
class ImageSpec:
    """A catalogue entry: size, the config's stop signal, what the default command does."""

    size_mib: float
    serves: bool = True  # False: the default command exits at once
    exit_code: int = 0  # when it exits on its own
    startup_seconds: float = 0.0  # until it answers probes
    shutdown_seconds: float = 0.0  # from the stop signal to exit
    handles: frozenset[str] = _TERM  # the signals its process shuts down cleanly on (exit 0)
    ports: tuple[int, ...] = ()  # what its server listens on (TCP), whatever the pod declares
    description: str = ""
    stop_signal: str = DEFAULT_STOP_SIGNAL  # the image config's StopSignal (STOPSIGNAL)


# Stop signals as the official images' Dockerfiles set them: nginx (nginx/docker-nginx
# mainline and stable: STOPSIGNAL SIGQUIT, in the images since 2021, so in every tag
# kubelearn's lessons use, 1.25 to 1.28), httpd (docker-library/httpd 2.4: STOPSIGNAL
# SIGWINCH, "graceful stop"), postgres (docker-library/postgres 16 and 17: STOPSIGNAL
# SIGINT, "fast shutdown"); redis, mysql (8.0), busybox, alpine, ubuntu, python and pause
# name none. Which signals each program catches: nginx -s (QUIT graceful, TERM/INT
# fast), httpd's stopping.html (TERM stop, WINCH graceful-stop), redis (TERM/INT: shutdown),
# postgres server-shutdown.html (TERM smart, INT fast), mysqld (TERM), kubernetes
# build/pause/linux/pause.c (INT, TERM: exit 0).
CATALOGUE: dict[str, ImageSpec] = {
    "docker.io/library/nginx": ImageSpec(68, ports=(80,), description="HTTP server on :80",
                                         stop_signal="SIGQUIT",
                                         handles=frozenset({"SIGQUIT", "SIGTERM", "SIGINT"})),
    "docker.io/library/httpd": ImageSpec(56, ports=(80,), description="Apache HTTP server on :80",
                                         stop_signal="SIGWINCH",
                                         handles=frozenset({"SIGWINCH", "SIGTERM"})),
    "docker.io/library/redis": ImageSpec(45, ports=(6379,), description="Redis on :6379",
                                         handles=frozenset({"SIGTERM", "SIGINT"})),
    "docker.io/library/postgres": ImageSpec(150, startup_seconds=5, shutdown_seconds=1,
                                            ports=(5432,),
                                            description="PostgreSQL on :5432",
                                            stop_signal="SIGINT",
                                            handles=frozenset({"SIGINT", "SIGTERM"})),
    "docker.io/library/mysql": ImageSpec(170, startup_seconds=15, shutdown_seconds=2,
                                         ports=(3306,),
                                         description="MySQL on :3306"),
    # A shell as PID 1 installs no handler for SIGTERM, so the kernel ignores the signal.
    "docker.io/library/busybox": ImageSpec(2, serves=False, handles=frozenset(),
                                           description="sh"),
    "docker.io/library/alpine": ImageSpec(3.5, serves=False, handles=frozenset(),
                                          description="sh"),
    "docker.io/library/ubuntu": ImageSpec(28, serves=False, handles=frozenset(),
                                          description="bash"),
    "docker.io/library/python": ImageSpec(380, serves=False, handles=frozenset(),
                                          description="python3"),
    "registry.k8s.io/pause": ImageSpec(0.3, handles=frozenset({"SIGINT", "SIGTERM"}),
                                       description="pause"),
}

_VALID = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
                    r"(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``docker.io`` / ``library/nginx`` : ``1.27``."""

    registry: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        """``docker.io/library/nginx``."""
        return f"{self.registry}/{self.path}"

    @property
    def name(self) -> str:
        """The normalised reference: ``docker.io/library/nginx:1.27``."""
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def image_id(self) -> str:
        """``repo@sha256:...``: the digest a container status reports as imageID."""
        return f"{self.repository}@sha256:{digest_of(self)}"


def parse_reference(image: str) -> Reference:
    """Normalise like containerd (docker/distribution ParseNormalizedNamed) and add ``latest``."""
    name, _, digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    repo, tag = (name[:colon], name[colon + 1:]) if colon > slash else (name, "")
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, repo
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not tag and not digest:
        tag = "latest"
    return Reference(registry, path, tag, digest)


def is_valid(image: str) -> bool:
    """True if ``image`` parses as a reference (lower-case repository and so on)."""
    return bool(image) and _VALID.match(image) is not None


def digest_of(ref: Reference) -> str:
    """A stable fake sha256 digest for an image (same name, same digest)."""
    if ref.digest.startswith("sha256:"):
        return ref.digest[7:]
    return hashlib.sha256(f"{ref.repository}:{ref.tag}".encode()).hexdigest()


def spec_for(ref: Reference) -> ImageSpec | None:
    """The catalogue entry of an image (any tag), or None."""
    return CATALOGUE.get(ref.repository)


def stop_signal(ref: Reference) -> str:
    """The signal the runtime stops ``ref``'s containers with: its config's, else SIGTERM.

    An image the catalogue does not know has no config to read here, so it gets
    the default, as containerd gives an image whose config names none.
    """
    spec = spec_for(ref)
    return spec.stop_signal if spec else DEFAULT_STOP_SIGNAL


def size_bytes(ref: Reference) -> int:
    """The image's size in bytes: the catalogue's, else :data:`DEFAULT_SIZE_MIB`."""
    spec = spec_for(ref)
    return int((spec.size_mib if spec else DEFAULT_SIZE_MIB) * MiB)


def pull_error(ref: Reference) -> str | None:
    """Why pulling ``ref`` fails, in containerd's words over CRI -- or None if it works."""
    name = ref.name
    prefix = f'failed to pull and unpack image "{name}": failed to resolve reference "{name}": '
    if ref.registry not in KNOWN_REGISTRIES:
        host = ref.registry
        return ("rpc error: code = Unknown desc = " + prefix + "failed to do request: Head "
                f'"https://{host}/v2/{ref.path}/manifests/{ref.tag or ref.digest}": dial tcp: '
                f"lookup {host.partition(':')[0]}: no such host")
    if "does-not-exist" in ref.path:
        return ("rpc error: code = Unknown desc = " + prefix + "pull access denied, repository "
                "does not exist or may require authorization: server message: insufficient_scope: "
                "authorization failed")
    if "does-not-exist" in ref.tag:
        return f"rpc error: code = NotFound desc = {prefix}{name}: not found"
    return None


def invalid_image_message(image: str) -> str:
    """The InvalidImageName message (images.applyDefaultImageTag)."""
    return (f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": '
            "invalid reference format: repository name must be lowercase")


def go_duration(seconds: float) -> str:
    """A duration as Go's ``time.Duration`` prints it, truncated to milliseconds: ``2.72s``."""
    ms = int(round(seconds * 1000, 6))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs
