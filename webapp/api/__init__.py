"""JSON API under /api/v1 (flask-smorest): bearer tokens (``auth``), marshmallow schemas
(``schemas``), and the endpoints by subject (``tasks``, ``records``, ``stats``)."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api, Blueprint

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="rectiflow JSON API")


def init_app(app: Flask) -> None:
    from webapp.api import records, stats, tasks  # noqa: F401 - their routes register on ``blp``
    from webapp.api.paging import PaginationMetadata
    from webapp.web import csrf

    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # Registered once, before the lists that reference it in their X-Pagination header are documented.
    api.spec.components.schema("PageMetadata", schema=PaginationMetadata)
    api.register_blueprint(blp)
    csrf.exempt(blp)
    app.extensions["rectiflow.api"] = api
