"""Evidence files (支撑材料/佐证材料): stored once by content (sha256) under ``settings.files_dir/ab/cd/<sha>``.

The type is decided by the bytes, never by the name or the browser's claim: PDF, PNG, JPEG, DOCX and
XLSX (a zip whose ``[Content_Types].xml`` names the Word/Excel main part) and plain UTF-8 text are
allowed; a name whose extension promises another type than the content is refused.

Identical bytes are stored once (``StoredFile``); each upload for a unit is a grant (``FileGrant``)
carrying the name given there. Whoever may see one of a file's grant units may download it, under
the name of the grant they see: a unit never learns what another unit called the same bytes.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectiflow.clock import Clock
from rectiflow.db.domain import FileGrant, StoredFile
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.i18n import N_, Message

CHUNK = 64 * 1024
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@dataclass(frozen=True)
class Kind:
    code: str
    media_type: str
    extensions: tuple[str, ...]
    label: str


KINDS = {
    k.code: k
    for k in (
        Kind("pdf", "application/pdf", (".pdf",), "PDF"),
        Kind("png", "image/png", (".png",), "PNG"),
        Kind("jpeg", "image/jpeg", (".jpg", ".jpeg"), "JPEG"),
        Kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",),
             "Word (DOCX)"),
        Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",),
             "Excel (XLSX)"),
        Kind("text", "text/plain; charset=utf-8", (".txt", ".csv", ".md", ".log"), "UTF-8 text"),
    )
}
ALLOWED = "PDF, PNG, JPEG, DOCX, XLSX or UTF-8 text"
# Recognised only to say clearly what a refused file is.
KNOWN_OTHERS = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "a Linux executable"),
    (b"\xcf\xfa\xed\xfe", "a macOS executable"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Office (OLE) document"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
)
TEXT_CONTROLS = set(range(32)) - {9, 10, 12, 13}


def is_sha(value: Any) -> bool:
    return isinstance(value, str) and bool(SHA_RE.fullmatch(value))


def file_path(files_dir: Path, sha: str) -> Path:
    if not is_sha(sha):
        raise NotFound(N_("File not found."))
    return Path(files_dir) / sha[:2] / sha[2:4] / sha


def clean_name(filename: str) -> str:
    """The last path component, without control characters, at most 255 characters (keeping the
    extension)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    name = name.strip(". ") or "file"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 255 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 else name[:255]
    return name


def sniff(head: bytes, path: Path) -> tuple[Kind | None, str]:
    """The kind of a file from its content, or None and what it looks like instead."""
    if head.startswith(b"%PDF-"):
        return KINDS["pdf"], ""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["png"], ""
    if head.startswith(b"\xff\xd8\xff"):
        return KINDS["jpeg"], ""
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    for magic, what in KNOWN_OTHERS:
        if head.startswith(magic):
            return None, what
    if _is_utf8_text(path):
        return KINDS["text"], ""
    return None, "binary content of an unknown type"


def _sniff_zip(path: Path) -> tuple[Kind | None, str]:
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                return None, "a zip archive with an oversized [Content_Types].xml"
            types = z.read(info).decode("utf-8", "replace")
    except KeyError:
        return None, "a zip archive that is not a Word or Excel document"
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return None, "a damaged zip archive"
    if DOCX_MAIN in types:
        return KINDS["docx"], ""
    if XLSX_MAIN in types:
        return KINDS["xlsx"], ""
    return None, "an Office archive that is neither a Word (DOCX) nor an Excel (XLSX) document"


def _is_utf8_text(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                text = decoder.decode(chunk)
                if any(ord(c) in TEXT_CONTROLS for c in text):
                    return False
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _refuse(name: str, code: str, reason: str, **params: str) -> InvalidInput:
    """``details``: file, reason (a message id with ``params``) and a code, for a caller that words it itself."""
    return InvalidInput(N_("%(file)s: %(reason)s"), file=name, reason=Message(reason, **params), code=code,
                        params=params)


def _chunks(stream: bytes | IO[bytes]) -> Any:
    if isinstance(stream, bytes | bytearray | memoryview):
        stream = io.BytesIO(bytes(stream))
    while chunk := stream.read(CHUNK):
        yield chunk


QUOTA_WINDOW = timedelta(hours=24)


def _check_quota(session: Session, clock: Clock, settings: Any, actor: Any, name: str, sha: str, unit_path: str,
                 size: int) -> None:
    """A person's uploads in the last 24 hours stay under ``settings.upload_quota_bytes``: one account
    cannot fill the evidence store. A file they already uploaded for this unit costs nothing again."""
    user_id = getattr(actor, "user_id", None)
    if user_id is None:
        return  # the system's own files (the demo, imports run by an administrator at the console)
    if session.scalar(select(FileGrant.id).where(FileGrant.sha256 == sha, FileGrant.unit_path == unit_path)):
        return
    since = clock.now() - QUOTA_WINDOW
    used = session.scalar(select(func.coalesce(func.sum(StoredFile.size), 0))
                          .join(FileGrant, FileGrant.sha256 == StoredFile.sha256)
                          .where(FileGrant.uploaded_by == user_id, FileGrant.created_at >= since)) or 0
    quota = int(settings.upload_quota_bytes)
    if used + size > quota:
        raise _refuse(name, "quota", N_("Your uploads of the last 24 hours would exceed %(quota)s; "
                                        "try again later or ask an administrator."), quota=_human(quota))


def store_file(session: Session, clock: Clock, settings: Any, actor: Any, filename: str,
               stream_bytes: bytes | IO[bytes], unit_path: str) -> StoredFile:
    """Check and store one upload; return its row (an existing one for identical bytes).

    Raises ``InvalidInput`` naming the file and the reason: empty, larger than
    ``settings.max_upload_bytes``, content of a type that is not allowed, or a name whose extension
    promises another type than the content.
    """
    name = clean_name(filename)
    limit = int(settings.max_upload_bytes)
    root = Path(settings.files_dir)
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=root)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(stream_bytes):
                size += len(chunk)
                if size > limit:
                    raise _refuse(name, "too_large", N_("The file is larger than the limit of %(limit)s."),
                                  limit=_human(limit))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise _refuse(name, "empty", N_("The file is empty."))
        with tmp.open("rb") as fh:
            head = fh.read(16)
        kind, what = sniff(head, tmp)
        if kind is None:
            raise _refuse(name, "type", N_("The content is %(what)s; allowed are %(allowed)s."), what=what,
                          allowed=ALLOWED)
        ext = os.path.splitext(name)[1].lower()
        claimed = next((k for k in KINDS.values() if ext in k.extensions), None)
        if ext and claimed is not None and claimed is not kind:
            raise _refuse(name, "mismatch", N_("The name says %(claimed)s but the content is %(actual)s."),
                          claimed=claimed.label, actual=kind.label)
        if ext and claimed is None and kind.code != "text":
            raise _refuse(name, "mismatch", N_("The extension %(claimed)s does not match the content (%(actual)s)."),
                          claimed=ext, actual=kind.label)
        if ext and claimed is None:
            raise _refuse(name, "extension", N_("Files ending in %(ext)s are not accepted; allowed are %(allowed)s."),
                          ext=ext, allowed=ALLOWED)
        sha = digest.hexdigest()
        _check_quota(session, clock, settings, actor, name, sha, unit_path, size)
        target = file_path(root, sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        row = session.get(StoredFile, sha)
        if row is None:
            row = StoredFile(sha256=sha, media_type=kind.media_type, size=size, created_at=clock.now())
            session.add(row)
        grant = session.scalar(select(FileGrant).where(FileGrant.sha256 == sha, FileGrant.unit_path == unit_path))
        if grant is None:
            session.add(FileGrant(sha256=sha, unit_path=unit_path, name=name,
                                  uploaded_by=getattr(actor, "user_id", None), created_at=clock.now()))
            session.flush()
            from rectiflow.services import audit

            audit.record(session, at=clock.now(), actor=getattr(actor, "username", "system"),
                         action="file.uploaded", object_type="file", object_id=sha,
                         payload={"name": name, "size": size, "media_type": kind.media_type, "unit_path": unit_path})
        return row
    finally:
        tmp.unlink(missing_ok=True)


def _human(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


@dataclass(frozen=True)
class VisibleFile:
    """A file as one actor sees it: the name given in a unit they may see."""

    sha256: str
    name: str
    media_type: str
    size: int


def visible(session: Session, actor: Any, shas: list[str]) -> dict[str, VisibleFile]:
    """The files among ``shas`` the actor may download (one query), each under the name of the first
    grant in their scope. Files they may not see are absent, like missing ones."""
    wanted = sorted({s for s in shas if is_sha(s)})
    if not wanted or actor is None:
        return {}
    rows = session.execute(
        select(FileGrant.sha256, FileGrant.unit_path, FileGrant.name, StoredFile.media_type, StoredFile.size)
        .join(StoredFile, StoredFile.sha256 == FileGrant.sha256)
        .where(FileGrant.sha256.in_(wanted)).order_by(FileGrant.id))
    out: dict[str, VisibleFile] = {}
    for sha, unit_path, name, media_type, size in rows:
        if sha not in out and (actor.is_admin or actor.can_see(unit_path)):
            out[sha] = VisibleFile(sha, name, media_type, size)
    return out


def open_for(session: Session, settings: Any, actor: Any, sha: str) -> tuple[VisibleFile, Path]:
    """The file as the actor sees it and its path on disk; out of scope looks missing."""
    found = visible(session, actor, [sha]).get(sha)
    if found is None:
        raise NotFound(N_("File not found."))
    path = file_path(Path(settings.files_dir), sha)
    if not path.is_file():
        raise NotFound(N_("File not found."))
    return found, path
