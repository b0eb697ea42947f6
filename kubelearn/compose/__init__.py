"""docker compose files to Kubernetes manifests, the way Kompose converts them (lesson 00).

:func:`convert` reads a compose file (the Compose Specification) and returns a
:class:`Conversion`: the manifests, in the order to apply them, with every
field it dropped or approximated listed in ``.warnings`` (a DataFrame) and every
service it renamed in ``.renames``. A file that is not valid compose raises a
:class:`ComposeError` that names the service and field.

What it emits follows Kompose (kubernetes/kompose v1.38.0,
pkg/loader/compose/compose.go and utils.go, pkg/transformer/kubernetes/
kubernetes.go, k8sutils.go and podspec.go), with its default options:

- per service a Deployment (``deploy.replicas``, else 1) -- or a bare Pod when
  ``restart`` is ``no`` or ``on-failure`` (Kompose's Transform) -- and a
  Service of type ClusterIP when it has ``ports`` or ``expose``, both labelled
  and selected by ``io.kompose.service: <name>``;
- Service ports named by their port number (``"8080"``, and ``"53-udp"`` for a
  second protocol on the same port), ``port`` the published port (else the
  container's), ``targetPort`` the container's; ``expose`` adds ports too;
- ``entrypoint`` becomes the container's ``command`` and ``command`` its
  ``args``; ``environment`` (list or map) becomes ``env`` sorted by name;
  ``env_file`` a ConfigMap and ``envFrom``; ``container_name`` the container's
  name; ``labels`` annotations; ``deploy.labels`` the Deployment's labels;
- ``healthcheck`` a livenessProbe only (Kompose reads a readinessProbe from
  ``kompose.service.healthcheck.readiness.*`` labels, never from the
  healthcheck): exec of the test, ``interval`` -> periodSeconds, ``timeout`` ->
  timeoutSeconds, ``retries`` -> failureThreshold, ``start_period`` ->
  initialDelaySeconds, each truncated to whole seconds;
- named and anonymous volumes a PersistentVolumeClaim of 100Mi
  (``PVCRequestSize``), ReadWriteOnce (ReadOnlyMany for ``:ro``); a bind mount
  of an existing file or directory a ConfigMap of its files; a bind mount of a
  missing path a claim ``<service>-claim<N>`` ("Volume mount on the host ...
  isn't supported"); ``tmpfs`` an emptyDir in memory;
- ``secrets`` a Secret (type Opaque, one key named after it) mounted at
  ``/run/secrets/<target>``; ``configs`` a ConfigMap mounted at ``/<name>`` or
  its target;
- ``deploy.resources`` limits and reservations as limits and requests;
- ``networks``: nothing (Kompose makes NetworkPolicies only with
  ``--generate-network-policies``); ``depends_on``: nothing.
- Service names are made valid as Kompose's ``normalizeServiceNames`` does:
  lower case, ``_`` and ``.`` as ``-``.
- Order: Secrets, then every Service, then the rest (Kompose's
  SortServicesFirst); ConfigMaps and claims before the workloads that mount them.

Where we differ from Kompose, and why:

- Nothing is silent. Kompose logs (or says nothing about) what it drops; here
  every dropped, approximated, renamed or placeholder field is a warning row.
- ``build:`` without ``image``: Kompose uses the service name as the image (and
  can build and push it); we use ``placeholder/<service>:latest`` so the
  learner sees it is not a real image. It pulls and runs in kubelearn's
  simulated registries (any image there "serves forever"); on a real cluster
  it fails to pull until replaced by a pushed image.
- A ``CMD-SHELL`` healthcheck (or a string test) runs as ``sh -c "<test>"``:
  Kompose drops the first word and would exec the whole string as one program.
- An unset healthcheck interval, timeout or retries gets Docker's default
  (30s, 30s, 3; moby daemon/health.go) where Kompose leaves them to
  Kubernetes' (10s, 1s, 3): the probe then checks what compose checked.
- ``environment`` keys that are also in an ``env_file`` stay in ``env``:
  Kubernetes lets ``env`` win over ``envFrom``, as compose lets ``environment``
  win over ``env_file``; Kompose drops them.
- ``${VAR}`` is never read from the machine's environment (a conversion is the
  same everywhere): ``${VAR:-default}`` and ``${VAR-default}`` take the
  default, a bare ``${VAR}`` becomes "" with a warning, ``$$`` is ``$``.
- Memory is written in binary units when exact (``50Mi``), where Kompose
  writes bytes (``52428800``): the same quantity.
- No ``kompose.cmd``/``kompose.version`` annotations (Kompose's own defaults
  leave them out too, ``--with-kompose-annotation=false``).
- Objects target the Kubernetes v1.32 API, the version kubelearn models.

In kubelearn's cluster a claim is stored and stays ``Pending``, as on a
cluster without a default StorageClass: kubelearn models no storage
provisioner, and unlike a real scheduler's VolumeBinding plugin ours does not
wait for the claim, so the pods that mount it run anyway.

The package (one concept a module; :func:`convert` ties them together):

- reading.py    the file as compose-go reads it: YAML, ``${VAR}``, top-level checks
- workload.py   one service as a Service and a Deployment or Pod
- ports.py      ``ports`` and ``expose`` as Service and container ports
- container.py  the container: image, command, env, probe, resources
- volumes.py    volumes, tmpfs, secrets, configs as claims, ConfigMaps, Secrets, mounts
- project.py    what they share: ComposeError, the warnings, the project
"""

from __future__ import annotations

from typing import Any

import yaml

from kubelearn.compose.container import (
    DOCKER_HEALTH_INTERVAL,
    DOCKER_HEALTH_RETRIES,
    DOCKER_HEALTH_TIMEOUT,
    PLACEHOLDER_IMAGE,
    cpu_quantity,
    memory_quantity,
    parse_duration,
)
from kubelearn.compose.ports import parse_port
from kubelearn.compose.project import SELECTOR, ComposeError, Notes, Project
from kubelearn.compose.reading import TOP_LEVEL_KEYS, check_top_level, read_source
from kubelearn.compose.volumes import PVC_REQUEST_SIZE
from kubelearn.compose.workload import convert_service, normalize_name, service_names

__all__ = ["DOCKER_HEALTH_INTERVAL", "DOCKER_HEALTH_RETRIES", "DOCKER_HEALTH_TIMEOUT",
           "PLACEHOLDER_IMAGE", "PVC_REQUEST_SIZE", "SELECTOR", "TOP_LEVEL_KEYS",
           "WARNING_COLUMNS", "ComposeError", "Conversion", "convert", "cpu_quantity",
           "memory_quantity", "normalize_name", "parse_duration", "parse_port"]

WARNING_COLUMNS = ["service", "field", "message"]


class Conversion(list):
    """The manifests (dicts) in apply order, and what the conversion had to say about them."""

    def __init__(self, manifests: list[dict], warnings: list[tuple[str, str, str]],
                 renames: dict[str, str], name: str | None = None) -> None:
        super().__init__(manifests)
        import pandas as pd

        self.warnings = pd.DataFrame(warnings, columns=WARNING_COLUMNS)
        self.renames = dict(renames)
        self.name = name

    def yaml(self) -> str:
        """The manifests as one multi-document YAML stream, as ``kompose convert --stdout``."""
        return yaml.safe_dump_all(list(self), sort_keys=False, default_flow_style=False)

    def __repr__(self) -> str:
        kinds = ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in self)
        return f"Conversion([{kinds}], {len(self.warnings)} warnings)"


def convert(source: Any, *, name: str | None = None) -> Conversion:
    """Convert a compose file -- a path, its YAML text or a parsed dict -- to manifests.

    ``name`` is the project's name (compose's ``name:``, else the file's
    directory); it is kept as ``Conversion.name``. Raises :class:`ComposeError`
    for a file that is not valid compose.
    """
    doc, base = read_source(source)
    check_top_level(doc)
    notes = Notes()
    project = Project(doc, base, notes, service_names(doc["services"], notes))
    if name is None:
        name = doc.get("name") or (base.resolve().name if base is not None else None)
    services, workloads = [], []
    for compose_name, spec in doc["services"].items():
        svc, workload = convert_service(project, compose_name, spec)
        services += svc
        workloads.append(workload)
    for net_name in project.section("networks"):
        if net_name != "default":
            notes.warn("", f"networks.{net_name}", "Kubernetes has one flat pod network: every "
                       "pod can reach every Service, so this network isolates nothing (Kompose "
                       "makes a NetworkPolicy only with --generate-network-policies)")
    manifests = [*project.secrets.values(), *services, *project.configmaps.values(),
                 *project.claims.values(), *workloads]
    renames = {k: v for k, v in project.names.items() if k != v}
    return Conversion(manifests, notes.rows, renames, name)
