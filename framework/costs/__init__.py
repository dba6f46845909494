"""The cost model: who pays what (PRODUCT.md, issue 4). See docs/costs.md.

- :mod:`framework.costs.money` — euro cents, days × rate, largest-remainder rounding.
- :mod:`framework.costs.split` — shared costs split with weights and a floor.
- :mod:`framework.costs.size` — measured size of each override (code, tests, changes).
- :mod:`framework.costs.compute` — the territory's cost report.
- :mod:`framework.costs.scenarios` — ``--what-if harmonise=`` and ``--topology``.
- :mod:`framework.costs.render` — table, JSON, CSV and HTML.
"""
