"""The HTTP gateway: every instance's endpoints over HTTP (see docs/gateway.md).

Import :func:`framework.gateway.app.make_app` for the WSGI app and
:func:`framework.gateway.server.serve` to run it under gunicorn. This package module
imports nothing, so that the server can set up Prometheus' multiprocess mode before
``prometheus_client`` is first imported.
"""
