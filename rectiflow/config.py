"""Configuration from ``RECTIFLOW_*`` environment variables (all listed in README.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rectiflow.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    database_url: str
    clock: str = "wall"  # "wall" or "virtual"
    secret_key: str = ""
    processes_dir: Path = PROJECT_ROOT / "processes"
    forms_dir: Path = PROJECT_ROOT / "forms"
    files_dir: Path = PROJECT_ROOT / "instance" / "files"
    smtp_url: str = ""
    mail_from: str = "rectiflow@example.test"
    base_url: str = "http://127.0.0.1:5000"
    tick_seconds: float = 5.0
    timer_batch: int = 25  # due instances fired per transaction (one commit, a savepoint each)
    job_lease_seconds: int = 60
    max_upload_bytes: int = 20 * 1024 * 1024
    default_locale: str = "zh_CN"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def virtual_clock(self) -> bool:
        return self.clock == "virtual"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _secret_key(instance_dir: Path) -> str:
    """Generate a key once and keep it under ``instance/`` so sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    env = dict(os.environ if env is None else env)
    instance_dir = Path(env.get("RECTIFLOW_INSTANCE_DIR") or PROJECT_ROOT / "instance").resolve()
    db_url = env.get("RECTIFLOW_DATABASE_URL") or f"sqlite:///{instance_dir / 'rectiflow.db'}"
    clock = (env.get("RECTIFLOW_CLOCK") or "wall").strip().lower()
    if clock not in {"wall", "virtual"}:
        raise ConfigurationError(f"RECTIFLOW_CLOCK must be 'wall' or 'virtual', not {clock!r}")
    try:
        tick = float(env.get("RECTIFLOW_TICK_SECONDS") or 5)
        lease = int(env.get("RECTIFLOW_JOB_LEASE_SECONDS") or 60)
        timer_batch = int(env.get("RECTIFLOW_TIMER_BATCH") or 25)
        max_upload = int(env.get("RECTIFLOW_MAX_UPLOAD_MB") or 20) * 1024 * 1024
    except ValueError as exc:
        raise ConfigurationError(f"invalid number in configuration: {exc}") from exc
    if not 1 <= timer_batch <= 500:
        raise ConfigurationError(f"RECTIFLOW_TIMER_BATCH must be between 1 and 500, not {timer_batch}")
    settings = Settings(
        instance_dir=instance_dir,
        database_url=_normalise_db_url(db_url),
        clock=clock,
        secret_key=env.get("RECTIFLOW_SECRET_KEY") or "",
        processes_dir=Path(env.get("RECTIFLOW_PROCESSES_DIR") or PROJECT_ROOT / "processes"),
        forms_dir=Path(env.get("RECTIFLOW_FORMS_DIR") or PROJECT_ROOT / "forms"),
        files_dir=Path(env.get("RECTIFLOW_FILES_DIR") or instance_dir / "files"),
        smtp_url=env.get("RECTIFLOW_SMTP_URL") or "",
        mail_from=env.get("RECTIFLOW_MAIL_FROM") or "rectiflow@example.test",
        base_url=env.get("RECTIFLOW_BASE_URL") or "http://127.0.0.1:5000",
        tick_seconds=tick,
        timer_batch=timer_batch,
        job_lease_seconds=lease,
        max_upload_bytes=max_upload,
        default_locale=env.get("RECTIFLOW_DEFAULT_LOCALE") or "zh_CN",
    )
    if overrides:
        settings = settings.with_(**overrides)
    if not settings.secret_key:
        settings = settings.with_(secret_key=_secret_key(settings.instance_dir))
    return settings


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
