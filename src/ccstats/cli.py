"""The command line: serve, demo, import, tenant, credentials (README, The CLI; docs/configuration.md)."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ccstats.auth import KINDS, CredentialError, create_credential
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
from ccstats.ingest import (
    IMPORT_CHUNK,
    IngestResult,
    PayloadError,
    Rejection,
    detect_format,
    ingest_conversations,
    ingest_intervals,
    ingest_table,
    parquet_tables,
    read_records,
)
from ccstats.records import TenantSettings, describe_validation_error
from ccstats.service import Service
from ccstats.storage import StorageError, Store, StoreLockedError, describe_url, open_store

__all__ = ["app"]

app = typer.Typer(
    help="ccstats: contact-center analytics with vendor-compatible reporting APIs.",
    no_args_is_help=True,
)
tenant_app = typer.Typer(help="Create and configure tenants.", no_args_is_help=True)
credentials_app = typer.Typer(
    help="Create credentials for the native API and the vendor dialects.", no_args_is_help=True
)
docs_app = typer.Typer(help="Write the project's generated docs.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(credentials_app, name="credentials")
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
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _open(db: str) -> Store:
    try:
        return open_store(db or default_db())
    except StoreLockedError:
        raise fail(
            f"{describe_url(db or default_db())} is in use by a running `ccstats serve`; stop it, or use the admin API "
            "(`ccstats import` sends files to the running server by itself)"
        ) from None
    except StorageError as error:
        raise fail(str(error)) from None


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
        )
    except ConfigError as error:
        raise fail(str(error)) from None
    token_file = admin_token_path(settings.db)
    if token_file is None and settings.db != ":memory:" and settings.admin_token is None:
        raise fail(
            "a server on a ClickHouse server needs $CCSTATS_ADMIN_TOKEN (shared by every process)"
        )
    store = _open(settings.db)
    if settings.admin_token is None:
        token = load_or_create_admin_token(settings.db)
        settings = settings.model_copy(update={"admin_token": token})
    logging.config.dictConfig(log_config(settings.log_format, settings.log_level))
    where = f"http://{settings.host}:{settings.port}{settings.root_path}"
    kept = f"{token_file} or $CCSTATS_ADMIN_TOKEN" if token_file else "$CCSTATS_ADMIN_TOKEN"
    logging.getLogger("ccstats").info(
        "ccstats serving %s on %s (admin token in %s)", describe_url(settings.db), where, kept
    )
    # Our request log (`RequestObserver`) replaces uvicorn's access log: it redacts secrets.
    uvicorn.run(
        create_app(settings, store),
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
    from ccstats.demo import create_demo

    store = _open(db)
    with progress_bar() as progress:
        summary = create_demo(store, conversations, seed=seed, progress=progress)
    store.maintain()  # the server starts with sorted data and fresh pre-aggregates
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


def _post_to_server(chunks: list[Any], kind: str, db: str) -> IngestResult:
    """Send records to the running server that holds the database (admin API)."""
    import httpx

    url = os.environ.get("CCSTATS_URL", "http://127.0.0.1:8000")
    token = load_or_create_admin_token(db)
    path = "/v1/admin/conversations" if kind == "conversations" else "/v1/admin/agent-intervals"
    # orjson writes the datetimes of Parquet rows as ISO 8601 with offset (json.dumps cannot).
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    response = httpx.post(url + path, content=orjson.dumps(chunks), headers=headers, timeout=300)
    if response.status_code == 413 and len(chunks) > 1:
        # Over the server's body limit ($CCSTATS_MAX_BODY_BYTES): send the batch in two halves.
        half = len(chunks) // 2
        result = _post_to_server(chunks[:half], kind, db)
        result.merge(_post_to_server(chunks[half:], kind, db), offset=half)
        return result
    if response.status_code != 200:
        raise fail(
            f"the server at {url} refused the batch ({response.status_code}): {response.text[:300]}"
        )
    body = response.json()
    rejected = [Rejection(r["index"], r.get("id"), r["reason"]) for r in body["rejected"]]
    return IngestResult(body["accepted"], rejected)


@app.command("import")
def import_files(
    files: Annotated[list[Path], typer.Argument(help="JSON, NDJSON, CSV or Parquet files.")],
    db: DbOption = "",
    intervals: Annotated[
        bool, typer.Option("--intervals", help="The files hold agent intervals.")
    ] = False,
) -> None:
    """Import conversations (or agent intervals) from files, with a progress bar.

    While `ccstats serve` holds the database, the records go through the server's admin API.
    """
    path = db or default_db()
    kind = "intervals" if intervals else "conversations"
    try:
        store: Store | None = open_store(path)
    except StoreLockedError:
        store = None
        err.print(
            f"{describe_url(path)} is held by a running server: sending the records through its admin API"
        )
    except StorageError as error:
        raise fail(str(error)) from None
    total = IngestResult()
    with progress_bar() as progress:
        for file in files:
            _import_file(file, kind, store, path, progress, total)
    if store is not None:  # (a running server does this in the background)
        err.print("updating pre-aggregates and sort order...")
        store.maintain()
    for rejection in total.rejected[:50]:
        err.print(
            f"[yellow]rejected[/yellow] #{rejection.index} {rejection.id or ''}: {rejection.reason}"
        )
    if len(total.rejected) > 50:
        err.print(f"... and {len(total.rejected) - 50} more rejected")
    print(json.dumps({"accepted": total.accepted, "rejected": len(total.rejected)}))
    if total.rejected and not total.accepted:
        raise typer.Exit(1)


def _import_file(
    file: Path, kind: str, store: Store | None, db: str, progress: Progress, total: IngestResult
) -> None:
    if not file.exists():
        raise fail(f"{file}: no such file")
    task = progress.add_task(file.name, total=None)
    position = 0
    ingest = ingest_conversations if kind == "conversations" else ingest_intervals
    try:
        if store is not None and kind == "conversations" and detect_format(file) == "parquet":
            position = _import_parquet(file, store, progress, task, total)
            progress.update(task, total=position)
            return
        # A running server takes requests of 10 000 records.
        for chunk in read_records(file, chunk_size=10_000 if store is None else IMPORT_CHUNK):
            if store is not None:
                result = ingest(store, chunk)
            else:
                result = _post_to_server(chunk, kind, db)
            total.merge(result, offset=position)
            position += len(chunk)
            progress.update(task, advance=len(chunk))
    except PayloadError as error:
        raise fail(str(error)) from None
    except StorageError as error:
        raise fail(f"{file}: the batch at record {position} was not stored: {error}") from None
    progress.update(task, total=position)


def _import_parquet(
    file: Path, store: Store, progress: Progress, task: Any, total: IngestResult
) -> int:
    """A Parquet file straight as Arrow batches (`ingest.columns`): no Python object per record."""
    import pyarrow as pa

    try:
        # Measured on the bench machine: decoding 100k records 0.45 s with Arrow's default
        # mimalloc pool, 0.18 s with jemalloc (the import is a process of its own).
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        pass  # a pyarrow build without jemalloc
    position = 0
    for table in parquet_tables(file):
        try:
            result = ingest_table(store, table)
        except StorageError as error:
            raise fail(f"{file}: the batch at record {position} was not stored: {error}") from None
        total.merge(result, offset=position)
        position += table.num_rows
        progress.update(task, advance=table.num_rows)
    return position


@tenant_app.command("add")
def tenant_add(
    tenant_id: Annotated[str, typer.Argument(metavar="ID")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the tenant's reports.")] = "UTC",
    db: DbOption = "",
) -> None:
    """Create a tenant."""
    store = _open(db)
    if store.registry.get_tenant(tenant_id) is not None:
        raise fail(f"tenant {tenant_id!r} exists; change it with `ccstats tenant set`")
    try:
        tenant = TenantSettings(id=tenant_id, name=name, timezone=timezone)
    except ValidationError as error:
        raise fail(describe_validation_error(error)) from None
    Service(store).put_tenant(tenant)
    print(tenant.model_dump_json())


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
    store = _open(db)
    current = store.registry.get_tenant(tenant_id)
    if current is None:
        raise fail(f"unknown tenant {tenant_id!r}; create it with `ccstats tenant add {tenant_id}`")
    try:
        changes = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise fail(f"{file}: {error}") from None
    if not isinstance(changes, dict):
        raise fail(f"{file}: expected a JSON object of settings")
    try:
        tenant = TenantSettings.model_validate({**current.model_dump(), **changes, "id": tenant_id})
    except ValidationError as error:
        raise fail(f"{file}: {describe_validation_error(error)}") from None
    Service(store).put_tenant(tenant)
    print(tenant.model_dump_json())


@credentials_app.command("add")
def credentials_add(
    tenant_id: Annotated[str, typer.Argument(metavar="TENANT_ID")],
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")],
    key: Annotated[
        str | None,
        typer.Option(help="Key id to use (7moor appkey, Twin24 email, Alibaba AccessKeyId)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: DbOption = "",
) -> None:
    """Create a credential; the secret is printed once and stored hashed where it can be."""
    store = _open(db)
    try:
        shown = create_credential(store.registry, tenant_id, kind, key)
    except CredentialError as error:
        raise fail(str(error)) from None
    if as_json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        for name, value in shown.items():
            print(f"{name}: {value}")


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
