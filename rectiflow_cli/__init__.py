"""The composition root: builds the runtime (core + worker registry) and hands it to the web app or
the worker. The only package allowed to import both ``webapp`` and ``workers``."""
