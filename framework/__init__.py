"""raccord's framework: what a connector imports.

``from framework import hookimpl, Connector, Setting, Param, endpoint, job`` is all a
connector needs; the rest of the package is the machinery behind it.
"""

from framework.connector import Accepted, Call, Connector, JobRun, Unwrapped, endpoint, extension, job
from framework.declarations import REQUIRED, EndpointSpec, JobSpec, Param, Setting
from framework.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    RaccordError,
    SoapFault,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
)
from framework.hookspecs import hookimpl

__all__ = [
    "REQUIRED",
    "Accepted",
    "BadRequest",
    "Call",
    "Connector",
    "EndpointSpec",
    "Forbidden",
    "JobRun",
    "JobSpec",
    "NotFound",
    "Param",
    "RaccordError",
    "Setting",
    "SoapFault",
    "Unavailable",
    "Unwrapped",
    "UpstreamError",
    "UpstreamTimeout",
    "endpoint",
    "extension",
    "hookimpl",
    "job",
]
