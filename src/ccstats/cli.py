"""The command line: serve, demo, import, tenant, credentials (README, The CLI; docs/configuration.md)."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ccstats import __version__
from ccstats.admin import Admin, AdminError, open_admin, server_admin
from ccstats.auth import KINDS
from ccstats.config import (
    CONFIG_ENV,
    ENV_PREFIX,
    ConfigError,
    Settings,
    admin_token_path,
    default_db,
    load_or_create_admin_token,
    load_settings,
)
from ccstats.importer import Rejected, Totals, import_file
from ccstats.records import TenantSettings, describe_validation_error
from ccstats.storage import (
    DuckDBStore,
    StorageError,
    Store,
    StoreLockedError,
    describe_url,
    open_store,
    restore_store,
)

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(
    help="ccstats: contact-center analytics with vendor-compatible reporting APIs.",
    no_args_is_help=True,
)
tenant_app = typer.Typer(help="Create, configure, list and delete tenants.", no_args_is_help=True)
credentials_app = typer.Typer(
    help="Create, list and revoke credentials for the native API and the vendor dialects.",
    no_args_is_help=True,
)
docs_app = typer.Typer(help="Write the project's generated docs.", no_args_is_help=True)
customers_app = typer.Typer(
    help="Data-protection requests about a tenant's customers.", no_args_is_help=True
)
app.add_typer(tenant_app, name="tenant")
app.add_typer(credentials_app, name="credentials")
app.add_typer(customers_app, name="customers")
app.add_typer(docs_app, name="docs")

err = Console(stderr=True, soft_wrap=True)
DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="DuckDB file, chdb:///absolute/dir or clickhouse[s]://user:pw@host:port/database"
        " (default $CCSTATS_DB, then ./ccstats.duckdb).",
    ),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error (no traceback) and return the exit to raise."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _open(db: str) -> Store:
    try:
        return open_store(db or default_db())
    except StoreLockedError:
        raise fail(
            f"{describe_url(db or default_db())} is in use by a running `ccstats serve`; stop it first"
        ) from None
    except StorageError as error:
        raise fail(str(error)) from None


class _ConsoleLog(logging.Handler):
    """Log lines on the CLI's standard error (whichever stream it is when the line comes)."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(escape(self.format(record)), highlight=False)


def _show_schema_changes() -> None:
    """Print the store's schema migrations as they happen (`storage.duckdb.migrations` logs
    them; `serve` logs them in its own log)."""
    logger = logging.getLogger("ccstats.storage.duckdb.migrations")
    if not any(isinstance(h, _ConsoleLog) for h in logger.handlers):
        logger.addHandler(_ConsoleLog())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _admin(db: str) -> Admin:
    """The store in process, or the admin API of the server that holds it (`admin`)."""
    _show_schema_changes()
    try:
        admin = open_admin(db)
    except AdminError as error:
        raise fail(str(error)) from None
    if admin.through_server:
        err.print(
            f"{db or default_db()} is held by a running server: working through {admin.where}"
        )
    return admin


def progress_bar() -> Progress:
    """The progress bar every long command shows."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


def _setting_help(name: str) -> str:
    """A `serve` option's help: the setting's description, its variable and its default."""
    field = Settings.model_fields[name]
    default = field.get_default(call_default_factory=True)
    shown = ", ".join(default) if isinstance(default, list) else default
    return (
        f"{field.description} (env {ENV_PREFIX}{name.upper()}; default: "
        f"{shown if shown not in (None, '', []) else 'none'})"
    )


def _option(name: str, *flags: str) -> Any:
    return typer.Option(*flags, help=_setting_help(name), show_default=False)


@app.command()
def serve(
    db: Annotated[str | None, _option("db", "--db")] = None,
    host: Annotated[str | None, _option("host", "--host")] = None,
    port: Annotated[int | None, _option("port", "--port")] = None,
    log_format: Annotated[str | None, _option("log_format", "--log-format")] = None,
    log_level: Annotated[str | None, _option("log_level", "--log-level")] = None,
    root_path: Annotated[str | None, _option("root_path", "--root-path")] = None,
    cors_origin: Annotated[list[str] | None, _option("cors_origins", "--cors-origin")] = None,
    forwarded_allow_ips: Annotated[
        str | None, _option("forwarded_allow_ips", "--forwarded-allow-ips")
    ] = None,
    max_body_bytes: Annotated[str | None, _option("max_body_bytes", "--max-body-bytes")] = None,
    max_query_body_bytes: Annotated[
        str | None, _option("max_query_body_bytes", "--max-query-body-bytes")
    ] = None,
    journal: Annotated[str | None, _option("journal", "--journal")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help=f"A TOML settings file, keys as the settings' names (env {CONFIG_ENV}). "
            "Command-line options win over variables, variables over the file.",
        ),
    ] = None,
) -> None:
    """Run the HTTP server: dashboard, native API and every vendor API (docs/configuration.md)."""
    import uvicorn

    from ccstats.app import create_app
    from ccstats.observability import log_config

    try:
        settings = load_settings(
            config,
            db=db,
            host=host,
            port=port,
            log_format=log_format,
            log_level=log_level,
            root_path=root_path,
            cors_origins=cors_origin or None,
            forwarded_allow_ips=forwarded_allow_ips,
            max_body_bytes=max_body_bytes,
            max_query_body_bytes=max_query_body_bytes,
            journal=journal,
        )
    except ConfigError as error:
        raise fail(str(error)) from None
    token_file = admin_token_path(settings.db)
    if token_file is None and settings.db != ":memory:" and settings.admin_token is None:
        raise fail(
            "a server on a ClickHouse server needs $CCSTATS_ADMIN_TOKEN (shared by every process)"
        )
    # Logging first: opening the store may migrate its schema, which is logged.
    logging.config.dictConfig(log_config(settings.log_format, settings.log_level))
    store = _open(settings.db)
    if settings.admin_token is None:
        token = load_or_create_admin_token(settings.db)
        settings = settings.model_copy(update={"admin_token": token})
    where = f"http://{settings.host}:{settings.port}{settings.root_path}"
    kept = f"{token_file} or $CCSTATS_ADMIN_TOKEN" if token_file else "$CCSTATS_ADMIN_TOKEN"
    logging.getLogger("ccstats").info(
        "ccstats serving %s on %s (admin token in %s)", describe_url(settings.db), where, kept
    )
    application = create_app(settings, store)
    # The CLI beside the server finds it by the URL it notes beside the database (`admin`).
    application.state.note_url = True
    # Our request log (`RequestObserver`) replaces uvicorn's access log: it redacts secrets.
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        root_path=settings.root_path,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
        access_log=False,
    )


@app.command()
def demo(
    db: DbOption = "",
    conversations: Annotated[
        int, typer.Option("--conversations", help="How many conversations.")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
) -> None:
    """Create demo tenants, credentials and realistic data that exercise every report."""
    with _admin(db) as admin, progress_bar() as progress:
        summary = _call(admin.demo, conversations, seed, progress)
        admin.finish()  # the server starts with sorted data and fresh pre-aggregates
    print(json.dumps(summary, indent=2, ensure_ascii=False))


@app.command()
def migrate(
    source: Annotated[str, typer.Option("--from", help="The store to copy (e.g. ccstats.duckdb).")],
    target: Annotated[
        str,
        typer.Option("--to", help="The store to fill (e.g. clickhouse://user:pw@host:8123/db)."),
    ],
    verify: Annotated[
        bool, typer.Option("--verify", help="Then compare the answers of both, tenant by tenant.")
    ] = False,
) -> None:
    """Copy tenants, credentials, conversations and agent intervals into another store.

    Resumable: months already copied are skipped. Stop `ccstats serve` on the source first.
    """
    from ccstats import migrate as moving

    if "://" not in source and not Path(source).exists():
        raise fail(f"{source}: no such store to copy")
    origin, destination = _open(source), _open(target)
    try:
        with progress_bar() as progress:
            task = progress.add_task("conversations", total=None)

            def advance(what: str, n: int) -> None:
                progress.update(task, description=what, advance=n)

            copied = moving.migrate(origin, destination, advance)
        print(json.dumps(copied.__dict__))
        if verify:
            differences = moving.verify(origin, destination)
            for line in differences[:50]:
                err.print(f"[yellow]differs[/yellow] {line}")
            if differences:
                raise fail(f"{len(differences)} answers differ between the stores")
            err.print("verified: every compared answer is the same on both stores")
    except StorageError as error:
        raise fail(str(error)) from None
    finally:
        origin.close()
        destination.close()


@app.command("import")
def import_files(
    files: Annotated[list[Path], typer.Argument(help="JSON, NDJSON, CSV or Parquet files.")],
    db: DbOption = "",
    intervals: Annotated[
        bool, typer.Option("--intervals", help="The files hold agent intervals.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Store nothing unless every record of every file is valid."),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help="Write each rejected record with its file, place and reason to this NDJSON file.",
        ),
    ] = None,
) -> None:
    """Import conversations (or agent intervals) from files, with a progress bar.

    While `ccstats serve` holds the database, the records go through the server's admin API.
    Exit code 0 when every record was stored, 1 when any was rejected or the import stopped
    (the summary says what was stored).
    """
    kind = "intervals" if intervals else "conversations"
    with _admin(db) as admin, _RejectLog(rejects) as log:
        if strict:
            checked = _import_all(admin, files, kind, True, log)
            if checked.rejected or checked.failed:
                _summarise(checked, files, True)
                err.print("[red]--strict: nothing was stored[/red]")
                print(json.dumps({"accepted": 0, "rejected": checked.rejected}))
                raise typer.Exit(1)
        totals = _import_all(admin, files, kind, False, log)
        if not admin.through_server:  # (a running server does this in the background)
            err.print("updating pre-aggregates and sort order...")
            admin.finish()
    _summarise(totals, files, False)
    answer: dict[str, Any] = {"accepted": totals.accepted, "rejected": totals.rejected}
    if totals.failed is not None:
        answer["error"] = totals.failed.stopped(False)
    print(json.dumps(answer, ensure_ascii=False))
    if totals.rejected or totals.failed is not None:
        raise typer.Exit(1)


class _RejectLog:
    """Rejections: the first 50 on the terminal, every one in the `--rejects` file."""

    SHOWN = 50

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.shown = 0
        self.handle: Any = None

    def __enter__(self) -> _RejectLog:
        if self.path is not None:
            try:
                self.handle = self.path.open("wb")
            except OSError as error:
                raise fail(f"{self.path}: cannot write the rejects file: {error}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()

    def __call__(self, rejected: Rejected) -> None:
        if self.shown < self.SHOWN:
            err.print(f"[yellow]rejected[/yellow] {escape(rejected.text())}", highlight=False)
        self.shown += 1
        if self.handle is not None:
            self.handle.write(orjson.dumps(rejected.as_dict(), default=str) + b"\n")


def _import_all(
    admin: Admin, files: list[Path], kind: str, dry_run: bool, log: _RejectLog
) -> Totals:
    totals = Totals()
    with progress_bar() as progress:
        for file in files:
            task = progress.add_task(("checking " if dry_run else "") + file.name, total=None)

            def advance(count: int, task: Any = task) -> None:
                progress.update(task, advance=count)

            outcome = import_file(admin, file, kind, dry_run, log, advance)
            progress.update(task, total=outcome.read)
            totals.files.append(outcome)
            if outcome.error is not None:
                break  # the files after it are not read
    return totals


def _summarise(totals: Totals, files: list[Path], dry_run: bool) -> None:
    if totals.rejected > _RejectLog.SHOWN:
        err.print(f"... and {totals.rejected - _RejectLog.SHOWN} more rejected")
    failed = totals.failed
    if failed is not None:
        err.print(f"[red]error:[/red] {escape(failed.stopped(dry_run))}", highlight=False)
        skipped = [file.name for file in files[len(totals.files) :]]
        if skipped:
            err.print(f"not imported: {escape(', '.join(skipped))}", highlight=False)


@tenant_app.command("add")
def tenant_add(
    tenant_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the tenant's reports.")] = "UTC",
    db: DbOption = "",
) -> None:
    """Create a tenant."""
    try:
        tenant = TenantSettings(id=tenant_id, name=name, timezone=timezone)
    except ValidationError as error:
        raise fail(describe_validation_error(error)) from None
    with _admin(db) as admin:
        if _call(admin.tenant, tenant_id) is not None:
            raise fail(f"tenant {tenant_id!r} exists; change it with `ccstats tenant set`")
        print(_call(admin.put_tenant, tenant).model_dump_json())


@tenant_app.command("set")
def tenant_set(
    tenant_id: Annotated[str, typer.Argument(metavar="ID")],
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            help="JSON settings (satisfaction_options, agent_statuses, agents, bots, instances, name, timezone).",
        ),
    ],
    db: DbOption = "",
) -> None:
    """Change a tenant's settings from a JSON file (keys not in the file keep their values)."""
    try:
        changes = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"{file}: {error}") from None
    if not isinstance(changes, dict):
        raise fail(f"{file}: expected a JSON object of settings")
    with _admin(db) as admin:
        current = _call(admin.tenant, tenant_id)
        if current is None:
            raise fail(
                f"unknown tenant {tenant_id!r}; create it with `ccstats tenant add {tenant_id}`"
            )
        try:
            tenant = TenantSettings.model_validate(
                {**current.model_dump(), **changes, "id": tenant_id}
            )
        except ValidationError as error:
            raise fail(f"{file}: {describe_validation_error(error)}") from None
        print(_call(admin.put_tenant, tenant).model_dump_json())


@tenant_app.command("list")
def tenant_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array of settings.")
    ] = False,
    db: DbOption = "",
) -> None:
    """List the tenants: id, name, time zone, retention and masking."""
    with _admin(db) as admin:
        tenants = _call(admin.tenants)
    if as_json:
        print(json.dumps([t.model_dump() for t in tenants], ensure_ascii=False))
        return
    rows = [
        (
            t.id,
            t.name or "",
            t.timezone,
            f"{t.retention_days} days" if t.retention_days else "-",
            ", ".join(n for n, on in (("phones", t.mask_phones), ("names", t.mask_names)) if on)
            or "-",
        )
        for t in tenants
    ]
    _table(("ID", "NAME", "TIMEZONE", "RETENTION", "MASKED"), rows)


@tenant_app.command("delete")
def tenant_delete(
    tenant_id: Annotated[str, typer.Argument(metavar="ID")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: every record of the tenant is deleted.")
    ] = False,
    db: DbOption = "",
) -> None:
    """Delete a tenant with all its data (conversations, messages, agent intervals, pre-
    aggregates), its settings and credentials. Prints what was deleted."""
    if not yes:
        raise fail(
            f"this deletes tenant {tenant_id!r} and every record of it for good: "
            "add --yes to do so (a backup first: `ccstats backup`)"
        )
    with _admin(db) as admin:
        print(json.dumps(_call(admin.delete_tenant, tenant_id), ensure_ascii=False))


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Plain columns on standard output (ids and keys are shown whole, never cut)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@credentials_app.command("list")
def credentials_list(
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT_ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    db: DbOption = "",
) -> None:
    """List a tenant's credentials (id, kind, key, created, scope), oldest first; never a
    secret."""
    with _admin(db) as admin:
        found = _call(admin.credentials, tenant_id)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    rows = [(c["id"], c["kind"], c["key"], c["created_at"] or "", _scope_text(c)) for c in found]
    _table(("ID", "KIND", "KEY", "CREATED", "SCOPE"), rows)


def _scope_text(credential: dict[str, Any]) -> str:
    """A credential's scope in one column: `sources=huawei,none channels=chat`; `-`: none."""
    scope = credential.get("scope")
    if not scope:
        return "-"
    parts = []
    for name, values in scope.items():
        if values is not None:
            shown = ",".join(NO_SOURCE if v is None else str(v) for v in values)
            parts.append(f"{name}={shown}")
    return " ".join(parts)


@credentials_app.command("revoke")
def credentials_revoke(
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT_ID")],
    credential: Annotated[
        str,
        typer.Argument(
            metavar="CREDENTIAL", help="Its id (`credentials list`), or its key when unique."
        ),
    ],
    db: DbOption = "",
) -> None:
    """Revoke a credential: refused from the next request on, with the tokens issued for it.
    To rotate a key without downtime: `credentials add`, move the clients, then revoke."""
    with _admin(db) as admin:
        revoked = _call(admin.revoke_credential, tenant_id, credential)
    print(json.dumps({"revoked": revoked}, ensure_ascii=False))


@customers_app.command("erase")
def customers_erase(
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT_ID")],
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID")],
    db: DbOption = "",
) -> None:
    """Erase a customer: every conversation with this `customer_id` of the tenant, with its
    transcript and what reports derived from it (a data-protection request). Prints the counts."""
    with _admin(db) as admin:
        print(json.dumps(_call(admin.erase_customer, tenant_id, customer_id), ensure_ascii=False))


NO_SOURCE = "none"
"""In `--scope-sources`, the word for records with no source."""


def _scope_list(option: str, text: str | None) -> list[str] | None:
    """A comma-separated option value as a list (None when the option is not given)."""
    if text is None:
        return None
    values = [part.strip() for part in text.split(",")]
    if not all(values):
        raise fail(f"{option}: an empty value in {text!r}; separate values by single commas")
    return values


def _scope_parts(
    sources: str | None, access_codes: str | None, channels: str | None, directions: str | None
) -> dict[str, Any] | None:
    """The `--scope-*` options as scope parts (`Scope.from_dict`), None when none is given."""
    listed = _scope_list("--scope-sources", sources)
    parts: dict[str, Any] = {
        "sources": None if listed is None else [None if s == NO_SOURCE else s for s in listed],
        "access_codes": _scope_list("--scope-access-codes", access_codes),
        "channels": _scope_list("--scope-channels", channels),
        "directions": _scope_list("--scope-directions", directions),
    }
    given = {name: values for name, values in parts.items() if values is not None}
    return given or None


@credentials_app.command("add")
def credentials_add(
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT_ID")],
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")],
    key: Annotated[
        str | None,
        typer.Option(help="Key id to use (7moor appkey, Twin24 email, Alibaba AccessKeyId)."),
    ] = None,
    scope_sources: Annotated[
        str | None,
        typer.Option(
            "--scope-sources",
            help="Vendor credentials: the sources its answers read, comma-separated; `none` for "
            "records with no source (default: the vendor's own source and none).",
            show_default=False,
        ),
    ] = None,
    scope_access_codes: Annotated[
        str | None,
        typer.Option(
            "--scope-access-codes",
            help="Vendor credentials: only these access codes, comma-separated (default: any).",
            show_default=False,
        ),
    ] = None,
    scope_channels: Annotated[
        str | None,
        typer.Option(
            "--scope-channels",
            help="Vendor credentials: only these channels, voice and/or chat (default: any).",
            show_default=False,
        ),
    ] = None,
    scope_directions: Annotated[
        str | None,
        typer.Option(
            "--scope-directions",
            help="Vendor credentials: only these directions, of inbound, outbound, transfer "
            "(default: any).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: DbOption = "",
) -> None:
    """Create a credential; the secret is printed once and stored hashed where it can be.

    A vendor credential answers over its scope only: by default its vendor's source and none.
    """
    parts = _scope_parts(scope_sources, scope_access_codes, scope_channels, scope_directions)
    with _admin(db) as admin:
        shown = _call(admin.add_credential, tenant_id, kind, key, parts)
    if as_json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        for name, value in shown.items():
            text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
            print(f"{name}: {text}")


def _call(method: Callable[..., T], *args: Any) -> T:
    """An `Admin` call whose failure is a message, not a traceback."""
    try:
        return method(*args)
    except AdminError as error:
        raise fail(str(error)) from None
    except StorageError as error:
        raise fail(f"the store failed: {error}") from None


@app.command()
def backup(
    destination: Annotated[
        Path, typer.Argument(help="The backup file to write (it must not exist).")
    ],
    db: DbOption = "",
) -> None:
    """Back the store up to a new file, consistently, while `ccstats serve` runs or not.

    With a server running, the server writes the file (the path is taken on its machine):
    ingest goes on meanwhile and every record acknowledged before the backup is in it.
    """
    target = destination.expanduser().resolve()  # the server's working directory is not ours
    if target.exists():
        raise fail(f"{target} exists: remove it or choose another name")
    with _admin(db) as admin:
        print(json.dumps(_call(admin.backup, str(target))))


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A backup file made by `ccstats backup`.")],
    db: DbOption = "",
    force: Annotated[
        bool, typer.Option("--force", help="Replace the database file when it exists.")
    ] = False,
) -> None:
    """Put a backup in place as the database file. Stop `ccstats serve` first: a running server
    holds the file and cannot have it replaced underneath it."""
    path = db or default_db()
    if Path(path).exists() and not force:
        raise fail(f"{path} exists: a restore replaces it; add --force to do so")
    _show_schema_changes()
    try:
        restore_store(str(source), path)
    except StoreLockedError:
        raise fail(
            f"{path} is held by a running `ccstats serve`: stop it, restore, then start it again"
        ) from None
    except StorageError as error:
        raise fail(str(error)) from None
    with _admin(path) as admin:  # opened once: an older backup is migrated here, and logged
        info = _call(admin.store_info)
        tenants = len(_call(admin.tenants))
    print(json.dumps({"restored": str(source), "db": path, "tenants": tenants, **info}))


def _store_versions(db: str) -> str:
    """`ccstats --version`'s line about the store at `db`, read without changing it."""
    if db != ":memory:" and not Path(db).exists():
        return f"{db}: no store yet"
    try:
        with open_store(db, read_only=True) as store:
            stored, code = store.schema_version(), store.SCHEMA_VERSION
        where = db
    except StoreLockedError:
        try:
            with server_admin(db) as admin:
                info = admin.store_info()
        except AdminError as error:
            return f"{db}: {error}"
        stored, code = info["schema_version"], info["code_schema_version"]
        where = f"{db} (held by the server at {admin.where}, ccstats {info['version']})"
    except StorageError as error:
        return f"{db}: {error}"
    if stored < code:
        return f"{where}: store schema {stored} (migrated to {code} when next opened for writing)"
    return f"{where}: store schema {stored}"


def _print_version(value: bool) -> None:
    if not value:
        return
    print(f"ccstats {__version__} (store schema {DuckDBStore.SCHEMA_VERSION})")
    print(_store_versions(default_db()))
    raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the versions of ccstats and its store schema, and the schema version of "
            "the store at $CCSTATS_DB (default ./ccstats.duckdb), then exit.",
        ),
    ] = False,
) -> None:
    """ccstats: contact-center analytics with vendor-compatible reporting APIs."""


@docs_app.command("metrics")
def docs_metrics() -> None:
    """Print docs/metrics.md from the metric catalogue (`ccstats docs metrics > docs/metrics.md`)."""
    from ccstats.metrics.docs import catalogue_markdown

    sys.stdout.write(catalogue_markdown())


def main() -> None:
    """Entry point for `python -m ccstats`."""
    app(prog_name="ccstats")


if __name__ == "__main__":  # pragma: no cover
    main()
