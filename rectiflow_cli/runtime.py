"""Assemble a runtime from the environment."""

from __future__ import annotations

from typing import Any

from rectiflow.config import load_settings
from rectiflow.services.runtime import Runtime, build_runtime
from workers.registry import build_registry


def make_runtime(**overrides: Any) -> Runtime:
    return build_runtime(load_settings(**overrides), build_registry())


def make_wsgi_app() -> Any:
    """For gunicorn in scaled mode: ``gunicorn 'rectiflow_cli.runtime:make_wsgi_app()'``."""
    from webapp import create_app

    return create_app(make_runtime())
