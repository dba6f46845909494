"""The paths the gateway serves itself, named once.

The gateway dispatches on these names (:mod:`framework.gateway.app`); the
configuration refuses instance and profile names that would be shadowed by them
(:mod:`framework.config.names`) and the verifier endpoint names
(:mod:`framework.verify`), so an instance called ``metrics`` is a ``check`` error
instead of a commune whose index page is Prometheus text. This module imports
nothing: the configuration reads it without loading the gateway.
"""

from __future__ import annotations

HEALTHZ = "healthz"
READYZ = "readyz"
METRICS = "metrics"
SERVICE = (HEALTHZ, READYZ, METRICS)  # GET /<name>
STATUS_PAGE = "_status"  # /_status/…, the status page (status_page.py)
TOP_LEVEL = (*SERVICE, STATUS_PAGE)  # first path segments that are not instances
OPENAPI = "openapi.json"
INSTANCE_LEVEL = (OPENAPI,)  # /<instance>/<name>: second segments that are not profiles
JOBS = "jobs"
PROFILE_LEVEL = (JOBS,)  # /<instance>/<profile>/jobs/<id>: third segments that are not endpoints
