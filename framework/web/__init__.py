"""Server-rendered HTML: the status page (``/_status/``) and the cost reports.

Jinja2 with autoescaping on (every value from ``instances.toml``, the database or a
business server is escaped), no JavaScript, no external resource; French by default,
English with ``?lang=en`` or ``Accept-Language`` (:mod:`framework.web.i18n`).
"""
