"""rectiflow: the core (engine wrapper, persistence, services, clock, configuration).

Nothing in this package imports Flask, marshmallow, APScheduler, ``webapp`` or ``workers``;
``tests/test_layers.py`` enforces that with import-linter.
"""
