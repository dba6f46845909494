"""raccord's framework: the whole API of connectors, hook implementations and overrides.

``from framework import hookimpl, Connector, Setting, Param, endpoint, job`` is what a
connector needs; ``raccord_check`` hooks get a :class:`Territory`, a
:class:`ConnectorRegistry` and a :class:`Report`; overrides get an
:class:`OverrideBuilder`. Nothing outside this module is public: a connector that
imports a submodule is relying on machinery that may change (a meta-test keeps the
shipped connectors and ``contrib/`` to this module).
"""

import importlib
from typing import TYPE_CHECKING

# Every name is loaded on first use (PEP 562), so that ``import framework.errors`` — the
# command line's first import — costs nothing more: ``raccord --help`` and ``raccord
# check`` must not pay for SQLAlchemy, the journal or the SOAP stack. Keep this table
# and the TYPE_CHECKING imports below in step (tests/test_public_api.py checks both).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "framework.config.files": ("read_bounded",),
    "framework.config.model": ("Binding", "EffectiveSetting", "Instance", "OverrideDecl", "Profile", "SecretRef",
                               "Territory"),
    "framework.config.paths": ("resolve_path",),
    "framework.config.report": ("Finding", "Report", "did_you_mean"),
    "framework.connector": ("Accepted", "Call", "Connector", "JobRun", "Unwrapped", "endpoint", "extension", "job"),
    "framework.declarations": ("REQUIRED", "ConnectorInfo", "EndpointSpec", "JobSpec", "Param", "Setting"),
    "framework.errors": ("BadRequest", "ConfigError", "FileRefused", "Forbidden", "NotFound", "PluginError",
                         "RaccordError", "SoapFault", "Unavailable", "UpstreamError", "UpstreamTimeout"),
    "framework.hookspecs": ("hookimpl",),
    "framework.journal": ("mask_email", "mask_emails"),
    "framework.overrides": ("OverrideBuilder",),
    "framework.registry": ("ConnectorRegister", "ConnectorRegistry"),
    "framework.soap.source": ("WsdlSource", "is_url"),
    "framework.request_model": ("DISPATCHED_JOB", "INSTANCE_STATUSES", "STATUSES", "TRIAGE", "Decision", "Request"),
    "framework.storage.requests": ("RequestStore", "dispatch_stats", "notify_dispatched"),
    "framework.text": ("fold",),
    # The runtime (hooks such as raccord_history receive it) imports the storage and the
    # outbound machinery.
    "framework.app": ("Raccord",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
    from framework.app import Raccord
    from framework.config.files import read_bounded
    from framework.config.model import Binding, EffectiveSetting, Instance, OverrideDecl, Profile, SecretRef, Territory
    from framework.config.paths import resolve_path
    from framework.config.report import Finding, Report, did_you_mean
    from framework.connector import Accepted, Call, Connector, JobRun, Unwrapped, endpoint, extension, job
    from framework.declarations import REQUIRED, ConnectorInfo, EndpointSpec, JobSpec, Param, Setting
    from framework.errors import (
        BadRequest,
        ConfigError,
        FileRefused,
        Forbidden,
        NotFound,
        PluginError,
        RaccordError,
        SoapFault,
        Unavailable,
        UpstreamError,
        UpstreamTimeout,
    )
    from framework.hookspecs import hookimpl
    from framework.journal import mask_email, mask_emails
    from framework.outbound import OutboundHTTP
    from framework.overrides import OverrideBuilder
    from framework.registry import ConnectorRegister, ConnectorRegistry
    from framework.request_model import DISPATCHED_JOB, INSTANCE_STATUSES, STATUSES, TRIAGE, Decision, Request
    from framework.soap.service import SoapService
    from framework.soap.source import WsdlSource, is_url
    from framework.storage.requests import RequestStore, dispatch_stats, notify_dispatched
    from framework.text import fold


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'framework' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later look-ups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def open_service(source: "WsdlSource", http: "OutboundHTTP", *, service: str | None = None,
                 port: str | None = None, address: str | None = None) -> "SoapService":
    """A :class:`framework.soap.SoapService` for ``source`` over a binding's HTTP client
    (zeep is imported on first use, not with ``framework``)."""
    from framework.soap.service import open_service as open_soap

    return open_soap(source, http, service=service, port=port, address=address)

__all__ = [
    "DISPATCHED_JOB",
    "INSTANCE_STATUSES",
    "REQUIRED",
    "STATUSES",
    "TRIAGE",
    "Accepted",
    "BadRequest",
    "Binding",
    "Call",
    "ConfigError",
    "Connector",
    "ConnectorInfo",
    "ConnectorRegister",
    "ConnectorRegistry",
    "Decision",
    "EffectiveSetting",
    "EndpointSpec",
    "FileRefused",
    "Finding",
    "Forbidden",
    "Instance",
    "JobRun",
    "JobSpec",
    "NotFound",
    "OverrideBuilder",
    "OverrideDecl",
    "Param",
    "PluginError",
    "Profile",
    "Raccord",
    "RaccordError",
    "Report",
    "Request",
    "RequestStore",
    "SecretRef",
    "Setting",
    "SoapFault",
    "Territory",
    "Unavailable",
    "Unwrapped",
    "UpstreamError",
    "UpstreamTimeout",
    "WsdlSource",
    "did_you_mean",
    "dispatch_stats",
    "endpoint",
    "extension",
    "fold",
    "hookimpl",
    "is_url",
    "job",
    "mask_email",
    "mask_emails",
    "notify_dispatched",
    "open_service",
    "read_bounded",
    "resolve_path",
]
