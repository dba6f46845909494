"""The reliable runtime's queue half: a durable job queue in the database, workers
that claim jobs with a lease, and a scheduler that enqueues periodic jobs.

* :mod:`framework.runtime.queue` — enqueue, inspect, retry and purge jobs;
* :mod:`framework.runtime.lease` — claiming with a lease, completing, failing;
* :mod:`framework.runtime.worker` — the worker loop (``raccord worker``);
* :mod:`framework.runtime.schedule` / :mod:`framework.runtime.triggers` /
  :mod:`framework.runtime.scheduler` — parse and spread schedules, and the single
  scheduler that fires them (``raccord scheduler``);
* :mod:`framework.runtime.service` — the background roles ``raccord serve`` starts;
* :mod:`framework.runtime.sync` — running a periodic job now (``raccord sync``).
"""
