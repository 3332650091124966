"""Evidence downloads: ``/files/<sha>`` for whoever may see the unit the file was uploaded for.
Out of scope looks exactly like missing (404). Always an attachment, never sniffed by the browser."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, send_file

from rectiflow.services import files as file_service
from webapp.web import actor, db, runtime

bp = Blueprint("files", __name__, url_prefix="/files")


@bp.route("/<sha>")
def download(sha: str) -> Any:
    row, path = file_service.open_for(db(), runtime().settings, actor(), sha)
    resp = send_file(
        path,
        mimetype=row.media_type,
        as_attachment=True,
        download_name=row.name,
        etag=row.sha256,
        conditional=True,
        max_age=0,
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
