"""Settings of the server: from the command line, the environment (`CCSTATS_*`) and an optional
TOML settings file, in that order of precedence (docs/configuration.md has the table)."""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ccstats.ratelimit import AuthLimits

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_QUERY_BODY_BYTES",
    "auth_limits_from_env",
    "env_number",
    "parse_size",
    "CONFIG_ENV",
    "ENV_PREFIX",
    "ConfigError",
    "Settings",
    "DEFAULT_URL",
    "URL_ENV",
    "admin_token_path",
    "client_url",
    "default_db",
    "forget_server_url",
    "load_or_create_admin_token",
    "load_settings",
    "note_server_url",
    "read_admin_token",
    "server_url_path",
]

ENV_PREFIX = "CCSTATS_"
CONFIG_ENV = "CCSTATS_CONFIG"
"""The variable naming the settings file when `--config` is not given."""


class ConfigError(ValueError):
    """The settings cannot be read: a missing or malformed file, or an invalid value."""


MAX_BODY_BYTES = 64 * 1024 * 1024
"""Default limit of an ingest body (`$CCSTATS_MAX_BODY_BYTES`): `ccstats import` sends 10 000
records per request through a running server, and 10 000 records of 6.7 KB (a demo record with its
transcript averages 1.2 KB, the largest 4.4 KB) fit in 64 MiB."""
MAX_QUERY_BODY_BYTES = 1024 * 1024
"""Default limit of every other request body (`$CCSTATS_MAX_QUERY_BODY_BYTES`): report requests,
logins and queries are a few hundred bytes; list parameters are bounded far below this."""

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


def parse_size(text: str, name: str) -> int:
    """A positive number of bytes (`67108864`, `64MiB`, `1MB`, `512KiB`); `name` for the error.

    Example:
        >>> parse_size("64MiB", "CCSTATS_MAX_BODY_BYTES")
        67108864
    """
    found = _SIZE.fullmatch(text.strip())
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


def default_db() -> str:
    """`$CCSTATS_DB`, then `./ccstats.duckdb`."""
    return os.environ.get("CCSTATS_DB") or "ccstats.duckdb"


def admin_token_path(db: str) -> Path | None:
    """Where the server keeps a generated admin token beside a file database (or a chDB
    directory); None in memory and on a ClickHouse server (then `$CCSTATS_ADMIN_TOKEN`).

    Example:
        >>> admin_token_path("chdb:///var/lib/ccstats/ch")
        PosixPath('/var/lib/ccstats/ch.admin-token')
    """
    return _beside(db, ".admin-token")


def _beside(db: str, suffix: str) -> Path | None:
    """A file beside a database file or a chDB directory; None in memory and for a ClickHouse
    server (whose processes may run on other machines)."""
    if db.startswith("chdb://"):
        return Path(urlsplit(db).path.rstrip("/") + suffix)
    if db == ":memory:" or "://" in db:
        return None
    return Path(db + suffix)


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


def read_admin_token(db: str) -> str | None:
    """`$CCSTATS_ADMIN_TOKEN`, else the token file beside the database, else None (a client of a
    running server never makes a token of its own)."""
    if token := os.environ.get("CCSTATS_ADMIN_TOKEN"):
        return token
    path = admin_token_path(db)
    if path is not None and path.exists():
        return path.read_text().strip() or None
    return None


URL_ENV = "CCSTATS_URL"
"""The variable that tells the CLI where the server holding the database answers."""
DEFAULT_URL = "http://127.0.0.1:8000"


def server_url_path(db: str) -> Path | None:
    """Where a running server notes its URL beside a file database or a chDB directory
    (`<db>.server-url`); None in memory and on a ClickHouse server (then `$CCSTATS_URL`)."""
    return _beside(db, ".server-url")


def _local_host(host: str) -> str:
    # A server listening on every interface is reached on the loopback by a client beside it.
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def note_server_url(db: str, host: str, port: int, root_path: str = "") -> str | None:
    """Write the URL a client beside the server reaches it at into `<db>.server-url`; the URL."""
    path = server_url_path(db)
    if path is None:
        return None
    url = f"http://{_local_host(host)}:{port}{root_path}"
    path.write_text(url + "\n")
    return url


def forget_server_url(db: str, url: str | None) -> None:
    """Remove `<db>.server-url` if it still holds `url` (the server stops)."""
    path = server_url_path(db)
    try:
        if path is not None and url is not None and path.read_text().strip() == url:
            path.unlink()
    except OSError:
        pass  # gone already, or another server noted its own URL since


def client_url(db: str) -> tuple[str, str]:
    """Where the server holding `db` answers, and where that was found: `$CCSTATS_URL`, else
    the URL the server noted beside the database, else the default."""
    if url := os.environ.get(URL_ENV):
        return url.rstrip("/"), f"${URL_ENV}"
    path = server_url_path(db)
    if path is not None and path.exists():
        noted = path.read_text().strip()
        if noted:
            return noted.rstrip("/"), f"noted in {path}"
    return DEFAULT_URL, "the default address"


_ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*")


class Settings(BaseSettings):
    """How the server runs. Built in code (`Settings(db=":memory:")`), unset fields come from
    `CCSTATS_<FIELD>` variables, then the defaults; `load_settings` adds a TOML file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", validate_default=True
    )

    db: str = Field(
        default="ccstats.duckdb",
        description="The DuckDB database file (`:memory:`: a throwaway store), or a ClickHouse "
        "URL (`chdb:///dir`, `clickhouse://user:pw@host:8123/db`: docs/clickhouse.md).",
    )
    host: str = Field(
        default="127.0.0.1", description="Address to listen on (`0.0.0.0`: every interface)."
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port to listen on.")
    admin_token: str | None = Field(
        default=None,
        repr=False,
        description="The admin API's Bearer token; unset: a token generated once and kept beside "
        "the database (`<db>.admin-token`, mode 600).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as `text` or `json` (one object a line)."
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="The least severe level logged (`info` logs every request)."
    )
    root_path: str = Field(
        default="",
        description="The sub-path a reverse proxy serves ccstats under (`/ccstats`); the proxy "
        "strips it before passing the request on.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web origins whose browser scripts may call the APIs (CORS), e.g. "
        "`https://bi.example.com`; `*` for any. Empty: no cross-origin access. Variable: "
        "comma-separated.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose `X-Forwarded-For`/`-Proto` headers are trusted (comma-"
        "separated addresses, `*` for any): the request log then shows the real client.",
    )

    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES,
        gt=0,
        description="Largest ingest or admin request body, in bytes (`64MiB`, `1MB` accepted); "
        "larger ones are refused with 413 before being read.",
    )
    max_query_body_bytes: int = Field(
        default=MAX_QUERY_BODY_BYTES,
        gt=0,
        description="Largest body of every other request (reports, logins, queries), in bytes.",
    )
    journal: str | None = Field(
        default=None,
        description="A directory for the ingest journal: `POST /v1/conversations` then answers "
        "once a batch is synced to it, and a background thread stores the batches in large "
        "groups (reads see a batch once stored, usually within a second). Unset: a request is "
        "answered once its batch is stored (docs/operations.md, Ingest journal).",
    )
    auth_limits: AuthLimits = Field(
        default_factory=auth_limits_from_env,
        description="Failed authentications allowed per key and per client address within a "
        "window, then 429 (`CCSTATS_AUTH_FAILURES_PER_KEY`, `CCSTATS_AUTH_FAILURES_PER_ADDRESS`, "
        "`CCSTATS_AUTH_WINDOW_S`).",
    )

    @field_validator("max_body_bytes", "max_query_body_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            return parse_size(value, ENV_PREFIX + str(info.field_name).upper())
        return value

    @field_validator("root_path")
    @classmethod
    def _check_root_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not _ROOT_PATH.fullmatch(value):
            raise ValueError(f"must be empty or a path like /ccstats, got {value!r}")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme and host, e.g. https://bi.example.com"
                )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then `CCSTATS_*` variables, then the settings file (if any)."""
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "settings"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


def load_settings(config: str | Path | None = None, **given: Any) -> Settings:
    """The server's settings: `given` values (the command line; None: not given), then
    `CCSTATS_*` variables, then the TOML file `config` (default `$CCSTATS_CONFIG`; none when
    neither is set), then the defaults. Raises ConfigError saying what is wrong.

    Example:
        >>> load_settings(db=":memory:", port=9000).port
        9000
    """
    path = config or os.environ.get(CONFIG_ENV) or None
    cls: type[Settings] = Settings
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: no such settings file")
        try:
            tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{file}: not a TOML file: {error}") from None
        config_dict = SettingsConfigDict(**{**Settings.model_config, "toml_file": file})
        cls = type("FileSettings", (Settings,), {"model_config": config_dict, "__doc__": None})
    try:
        return cls(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as error:
        source = f" (settings file {path})" if path else ""
        raise ConfigError(f"invalid settings{source}: {_describe(error)}") from None
    except ValueError as error:  # a limit in the environment that is not a number
        raise ConfigError(f"invalid settings: {error}") from None
