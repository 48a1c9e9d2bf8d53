"""Settings from the environment and the command line."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ccstats.ratelimit import AuthLimits

__all__ = [
    "Settings",
    "default_db",
    "admin_token_path",
    "load_or_create_admin_token",
    "env_size",
    "env_number",
    "auth_limits_from_env",
    "MAX_BODY_BYTES",
    "MAX_QUERY_BODY_BYTES",
]

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Default limit of an ingest body (`$CCSTATS_MAX_BODY_BYTES`): `ccstats import` sends 10 000
records per request through a running server, and 10 000 records of 6.7 KB (a demo record with its
transcript averages 1.2 KB, the largest 4.4 KB) fit in 64 MiB."""
MAX_QUERY_BODY_BYTES = 1024 * 1024
"""Default limit of every other request body (`$CCSTATS_MAX_QUERY_BODY_BYTES`): report requests,
logins and queries are a few hundred bytes; list parameters are bounded far below this."""


def default_db() -> str:
    """`$CCSTATS_DB`, then `./ccstats.duckdb` (`spec/data-model.md`, CLI)."""
    return os.environ.get("CCSTATS_DB") or "ccstats.duckdb"


def admin_token_path(db: str) -> Path | None:
    """Where the server keeps a generated admin token beside a file database."""
    return None if db == ":memory:" else Path(db + ".admin-token")


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


_UNITS = {
    "": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE = re.compile(r"([0-9]+)\s*([kmg]i?b)?", re.IGNORECASE)


def env_size(name: str, default: int) -> int:
    """A positive number of bytes from the environment (`67108864`, `64MiB`, `1MB`, `512KiB`).

    Example:
        >>> os.environ["CCSTATS_EXAMPLE"] = "64MiB"
        >>> env_size("CCSTATS_EXAMPLE", 1)
        67108864
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    found = _SIZE.fullmatch(text)
    size = int(found[1]) * _UNITS[(found[2] or "").lower()] if found else 0
    if size <= 0:
        raise ValueError(
            f"${name} must be a positive number of bytes (e.g. 67108864 or 64MiB), got {text!r}"
        )
    return size


def env_number(name: str, default: float) -> float:
    """A positive number from the environment (`CCSTATS_AUTH_WINDOW_S=300`)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"${name} must be a positive number, got {text!r}")
    return value


def auth_limits_from_env() -> AuthLimits:
    """Failed-authentication limits: `$CCSTATS_AUTH_FAILURES_PER_KEY` (default 10),
    `$CCSTATS_AUTH_FAILURES_PER_ADDRESS` (100) within `$CCSTATS_AUTH_WINDOW_S` seconds (300)."""
    default = AuthLimits()
    return AuthLimits(
        per_key=int(env_number("CCSTATS_AUTH_FAILURES_PER_KEY", default.per_key)),
        per_address=int(env_number("CCSTATS_AUTH_FAILURES_PER_ADDRESS", default.per_address)),
        window_s=env_number("CCSTATS_AUTH_WINDOW_S", default.window_s),
    )


@dataclass(frozen=True)
class Settings:
    """How the server runs; the body limits default to `$CCSTATS_MAX_BODY_BYTES` (ingest and
    admin settings) and `$CCSTATS_MAX_QUERY_BODY_BYTES` (every other path), the limits of failed
    authentications to `auth_limits_from_env()`."""

    db: str = ":memory:"
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = None
    max_body_bytes: int = field(
        default_factory=lambda: env_size("CCSTATS_MAX_BODY_BYTES", MAX_BODY_BYTES)
    )
    max_query_body_bytes: int = field(
        default_factory=lambda: env_size("CCSTATS_MAX_QUERY_BODY_BYTES", MAX_QUERY_BODY_BYTES)
    )
    auth_limits: AuthLimits = field(default_factory=auth_limits_from_env)
