"""Configuration from ``RECTIFLOW_*`` environment variables (all listed in README.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rectiflow.errors import ConfigurationError
from rectiflow.i18n import N_

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
    upload_quota_bytes: int = 500 * 1024 * 1024  # per user and 24 hours
    default_locale: str = "zh_CN"
    secure_cookies: bool = False  # RECTIFLOW_SECURE_COOKIES=1 behind HTTPS: the session cookie gets ``Secure``
    # Webhook targets (workers/channels/webhook.py): hosts the administrator allows ("*" = any public host),
    # and whether loopback (tests, single-machine installs) or private addresses may be reached at all.
    webhook_allowed_hosts: tuple[str, ...] = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")
    webhook_allow_loopback: bool = False
    webhook_allow_private: bool = False
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


def _number(env: dict[str, str], name: str, default: Any, kind: Any) -> Any:
    """A numeric setting; a value that is not a number stops the command naming the variable."""
    raw = env.get(name) or default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigurationError(N_("%(name)s must be a number, not “%(value)s”."), name=name, value=raw) from None


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    env = dict(os.environ if env is None else env)
    instance_dir = Path(env.get("RECTIFLOW_INSTANCE_DIR") or PROJECT_ROOT / "instance").resolve()
    db_url = env.get("RECTIFLOW_DATABASE_URL") or f"sqlite:///{instance_dir / 'rectiflow.db'}"
    clock = (env.get("RECTIFLOW_CLOCK") or "wall").strip().lower()
    if clock not in {"wall", "virtual"}:
        raise ConfigurationError(N_("RECTIFLOW_CLOCK must be “wall” or “virtual”, not “%(value)s”."), value=clock)
    tick = _number(env, "RECTIFLOW_TICK_SECONDS", 5, float)
    lease = _number(env, "RECTIFLOW_JOB_LEASE_SECONDS", 60, int)
    timer_batch = _number(env, "RECTIFLOW_TIMER_BATCH", 25, int)
    max_upload = _number(env, "RECTIFLOW_MAX_UPLOAD_MB", 20, int) * 1024 * 1024
    upload_quota = _number(env, "RECTIFLOW_UPLOAD_QUOTA_MB", 500, int) * 1024 * 1024
    if not 1 <= timer_batch <= 500:
        raise ConfigurationError(N_("RECTIFLOW_TIMER_BATCH must be between 1 and 500, not %(value)s."),
                                 value=timer_batch)
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
        upload_quota_bytes=upload_quota,
        default_locale=env.get("RECTIFLOW_DEFAULT_LOCALE") or "zh_CN",
        secure_cookies=_flag(env.get("RECTIFLOW_SECURE_COOKIES")),
        webhook_allowed_hosts=_hosts(env.get("RECTIFLOW_WEBHOOK_ALLOWED_HOSTS")),
        webhook_allow_loopback=_flag(env.get("RECTIFLOW_WEBHOOK_ALLOW_LOOPBACK")),
        webhook_allow_private=_flag(env.get("RECTIFLOW_WEBHOOK_ALLOW_PRIVATE")),
    )
    if overrides:
        settings = settings.with_(**overrides)
    if not settings.secret_key:
        settings = settings.with_(secret_key=_secret_key(settings.instance_dir))
    return settings


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _hosts(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return Settings.webhook_allowed_hosts
    return tuple(h.strip().lower().rstrip(".") for h in value.split(",") if h.strip())


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
