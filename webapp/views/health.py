"""Liveness and database check for load balancers and the embedded launcher."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text

from webapp.web import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz() -> Any:
    try:
        db().execute(text("SELECT 1"))
        ok = True
    except Exception:  # the point of a health check is to report, not to raise
        ok = False
    return jsonify({"status": "ok" if ok else "degraded", "db": ok}), 200 if ok else 503
