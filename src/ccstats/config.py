"""Settings from the environment and the command line."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["Settings", "default_db", "admin_token_path", "load_or_create_admin_token"]


def default_db() -> str:
    """`$CCSTATS_DB`, then `./ccstats.duckdb` (`spec/data-model.md`, CLI)."""
    return os.environ.get("CCSTATS_DB") or "ccstats.duckdb"


def admin_token_path(db: str) -> Path | None:
    """Where the server keeps a generated admin token beside a file database (or a chDB
    directory); None in memory and on a ClickHouse server (then `$CCSTATS_ADMIN_TOKEN`).

    Example:
        >>> admin_token_path("chdb:///var/lib/ccstats/ch")
        PosixPath('/var/lib/ccstats/ch.admin-token')
    """
    if db.startswith("chdb://"):
        return Path(urlsplit(db).path.rstrip("/") + ".admin-token")
    if db == ":memory:" or "://" in db:
        return None
    return Path(db + ".admin-token")


def load_or_create_admin_token(db: str) -> str:
    """`$CCSTATS_ADMIN_TOKEN`, else the token file beside the database (created on first use)."""
    if token := os.environ.get("CCSTATS_ADMIN_TOKEN"):
        return token
    path = admin_token_path(db)
    if path is not None and path.exists():
        return path.read_text().strip()
    token = "adm_" + secrets.token_urlsafe(24)
    if path is not None:
        path.write_text(token + "\n")
        path.chmod(0o600)
    return token


@dataclass(frozen=True)
class Settings:
    """How the server runs."""

    db: str = ":memory:"
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
