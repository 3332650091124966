"""Persistence: SQLAlchemy 2 models and session factory. Imports nothing from the engine."""

from rectiflow.db import audit, domain, jobs, org, runtime, security  # noqa: F401  (register every table)
from rectiflow.db.base import Base

metadata = Base.metadata
