"""Outbound calls to business software: timeouts, TLS, errors mapped at the boundary."""

from framework.outbound.client import OutboundHTTP

__all__ = ["OutboundHTTP"]
