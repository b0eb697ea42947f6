"""The API server: the authenticated front door over etcd.

Every request -- from the in-process :class:`kubelearn.client.Client` or from
kubectl over HTTP -- is a :class:`Request` that :meth:`APIServer.handle` runs
through the same stages (:data:`STAGES`): authentication, authorization,
decode (with defaults), mutating admission, validation, validating admission,
storage. The modules:

- server.py      the pipeline, the audit, ``can_i``, start-up objects
- registry.py    the table of served resources
- storage.py     objects in etcd: create/get/list/update/delete, subresources
- watch.py       the watch cache and the streams it feeds
- patch.py       JSON merge, strategic merge and JSON patches
- defaults.py    the defaults a decoded body gets
- admission.py   the admission plugins
- audit.py       one row per request
- compactor.py   compacting etcd every 5 minutes
- servicealloc.py  a Service's ClusterIPs and NodePorts, all or nothing; over
  allocator.py (the bitmap), rangeallocation.py (kept in etcd), ipallocator.py
  and portallocator.py (the two ranges), repair.py (rebuilt from the Services)
- endpointsreconciler.py  the ``kubernetes`` Service and its endpoints
- authn.py, rbac.py, bootstrap.py   who is asking, may they, the default policy
- printers.py, describe.py          kubectl's tables and describe text
- http.py, serve.py, discovery.py, openapi.py, kubeconfig.py   the HTTP front
"""

from kubelearn.apiserver.registry import RESOURCES, Registry, ResourceInfo
from kubelearn.apiserver.request import Request
from kubelearn.apiserver.server import STAGES, APIServer
from kubelearn.apiserver.watch import WatchStream

__all__ = ["APIServer", "STAGES", "Request", "Registry", "ResourceInfo", "RESOURCES",
           "WatchStream"]
