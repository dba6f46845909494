"""raccord's framework: what a connector imports.

``from framework import hookimpl, Connector, Setting, Param, endpoint, job`` is all a
connector needs; the rest of the package is the machinery behind it.
"""

from framework.config.report import did_you_mean
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
from framework.journal import mask_email, mask_emails
from framework.overrides import OverrideBuilder
from framework.storage.records import fold
from framework.storage.requests import (
    DISPATCHED_JOB,
    INSTANCE_STATUSES,
    STATUSES,
    TRIAGE,
    Decision,
    Request,
    RequestStore,
    dispatch_stats,
    notify_dispatched,
)

__all__ = [
    "DISPATCHED_JOB",
    "INSTANCE_STATUSES",
    "REQUIRED",
    "STATUSES",
    "TRIAGE",
    "Accepted",
    "BadRequest",
    "Call",
    "Connector",
    "Decision",
    "EndpointSpec",
    "Forbidden",
    "JobRun",
    "JobSpec",
    "NotFound",
    "OverrideBuilder",
    "Param",
    "RaccordError",
    "Request",
    "RequestStore",
    "Setting",
    "SoapFault",
    "Unavailable",
    "Unwrapped",
    "UpstreamError",
    "UpstreamTimeout",
    "did_you_mean",
    "dispatch_stats",
    "endpoint",
    "extension",
    "fold",
    "hookimpl",
    "job",
    "mask_email",
    "mask_emails",
    "notify_dispatched",
]
