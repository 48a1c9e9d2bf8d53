"""The store's administration wherever the store is: in this process when nothing holds the
database file, else through the admin API of the `ccstats serve` that holds it (DuckDB lets one
process hold a file). Every CLI command that reads or writes the store goes through an `Admin`,
so it works the same with the server stopped or running.

The server notes its URL beside the database (`<db>.server-url`, `config.note_server_url`) and
its admin token (`<db>.admin-token`); `$CCSTATS_URL` and `$CCSTATS_ADMIN_TOKEN` win over both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson
import pyarrow as pa

from ccstats.auth import CredentialError, create_credential
from ccstats.config import URL_ENV, client_url, default_db, read_admin_token
from ccstats.ingest import IngestResult, Rejection, arrow_rows
from ccstats.records import TenantSettings
from ccstats.service import Ambiguous, NotFound, Service
from ccstats.storage import StorageError, StoreLockedError, open_store

__all__ = [
    "Admin",
    "AdminError",
    "LocalAdmin",
    "ServerAdmin",
    "ServerRefused",
    "open_admin",
    "server_admin",
]

T = TypeVar("T")

SERVER_BATCH = 10_000
"""Records per request to a running server (its body limit fits them with room to spare)."""


class AdminError(Exception):
    """What went wrong, for the operator (no traceback): the CLI prints it and exits 1."""


class ServerRefused(AdminError):
    """The server answered a request with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Admin:
    """What the CLI asks of the store; `LocalAdmin` or `ServerAdmin`."""

    where: str
    """The database file, or the server's URL (for messages)."""
    through_server: bool = False

    def tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None."""
        raise NotImplementedError

    def tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        raise NotImplementedError

    def put_tenant(self, tenant: TenantSettings) -> TenantSettings:
        """Create or replace a tenant's settings."""
        raise NotImplementedError

    def add_credential(self, tenant_id: str, kind: str, key: str | None) -> dict[str, Any]:
        """A new credential; what its client needs, shown once."""
        raise NotImplementedError

    def credentials(self, tenant_id: str) -> list[dict[str, Any]]:
        """A tenant's credentials without their secrets (`auth.describe_credential`)."""
        raise NotImplementedError

    def revoke_credential(self, tenant_id: str, reference: str) -> dict[str, Any]:
        """Delete a credential named by its id or its key (`Service.revoke_credential`)."""
        raise NotImplementedError

    def delete_tenant(self, tenant_id: str) -> dict[str, Any]:
        """Delete a tenant with its data (`Service.delete_tenant`); the counts."""
        raise NotImplementedError

    def erase_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        """Delete a customer's conversations (`Service.erase_customer`); the counts."""
        raise NotImplementedError

    def ingest(self, items: Sequence[Any], kind: str, dry_run: bool = False) -> IngestResult:
        """Validate and store records (`kind`: conversations or intervals) that name their
        tenant; `dry_run`: validate only. Rejection indexes are positions in `items`."""
        raise NotImplementedError

    def ingest_table(self, table: pa.Table, dry_run: bool = False) -> IngestResult:
        """`ingest` of conversations given as Arrow columns (a Parquet file's batch)."""
        raise NotImplementedError

    def demo(self, conversations: int, seed: int, progress: Any = None) -> dict[str, Any]:
        """Create the demo tenants, credentials and data (`demo.create_demo`); its summary."""
        raise NotImplementedError

    def store_info(self) -> dict[str, Any]:
        """The store's engine and schema version, and the one the code writes."""
        raise NotImplementedError

    def backup(self, destination: str) -> dict[str, Any]:
        """A consistent copy of the store at `destination` (an absolute path that does not
        exist), taken while it serves."""
        raise NotImplementedError

    def finish(self) -> None:
        """After a bulk change: bring the store's upkeep up to date (a server does it itself)."""

    def close(self) -> None:
        """Release the store or the connection."""

    def __enter__(self) -> Admin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalAdmin(Admin):
    """The store opened in this process, behind a `Service` (as the server has it)."""

    def __init__(self, service: Service, where: str) -> None:
        """Administer the store of `service` (a file named `where`)."""
        self.service = service
        self.where = where

    def tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None."""
        return self.service.tenant(tenant_id)

    def tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        return self.service.registry.list_tenants()

    def put_tenant(self, tenant: TenantSettings) -> TenantSettings:
        """Create or replace a tenant's settings."""
        self.service.put_tenant(tenant)
        return tenant

    def add_credential(self, tenant_id: str, kind: str, key: str | None) -> dict[str, Any]:
        """A new credential; what its client needs, shown once."""
        try:
            return create_credential(self.service.registry, tenant_id, kind, key)
        except CredentialError as error:
            raise AdminError(str(error)) from None

    def credentials(self, tenant_id: str) -> list[dict[str, Any]]:
        """From the registry opened here."""
        return self._lifecycle(self.service.credentials, tenant_id)

    def revoke_credential(self, tenant_id: str, reference: str) -> dict[str, Any]:
        """In the registry opened here."""
        return self._lifecycle(self.service.revoke_credential, tenant_id, reference)

    def delete_tenant(self, tenant_id: str) -> dict[str, Any]:
        """In the store opened here."""
        return self._lifecycle(self.service.delete_tenant, tenant_id)

    def erase_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        """In the store opened here."""
        return self._lifecycle(self.service.erase_customer, tenant_id, customer_id)

    @staticmethod
    def _lifecycle(method: Callable[..., T], *args: Any) -> T:
        try:
            return method(*args)
        except (NotFound, Ambiguous, StorageError) as error:
            raise AdminError(str(error)) from None

    def ingest(self, items: Sequence[Any], kind: str, dry_run: bool = False) -> IngestResult:
        """Validate and store records in process."""
        if kind == "conversations":
            return self.service.ingest_conversations(items, dry_run=dry_run)
        return self.service.ingest_intervals(items, dry_run=dry_run)

    def ingest_table(self, table: pa.Table, dry_run: bool = False) -> IngestResult:
        """Validate and store Arrow columns in process (no Python object per record)."""
        return self.service.ingest_table(table, dry_run=dry_run)

    def demo(self, conversations: int, seed: int, progress: Any = None) -> dict[str, Any]:
        """Create the demo in process, with a progress bar."""
        from ccstats.demo import DemoError, create_demo

        try:
            summary = create_demo(self.service.store, conversations, seed=seed, progress=progress)
        except DemoError as error:
            raise AdminError(str(error)) from None
        for tenant in summary["tenants"]:
            self.service.changed_everything(tenant["id"])
        return summary

    def store_info(self) -> dict[str, Any]:
        """The versions of the store opened here."""
        return self.service.store_info()

    def backup(self, destination: str) -> dict[str, Any]:
        """The copy written by this process."""
        try:
            return self.service.backup(destination)
        except StorageError as error:
            raise AdminError(str(error)) from None

    def finish(self) -> None:
        """Finish deferred work and rebuild stale pre-aggregates before the process ends."""
        self.service.maintain()

    def close(self) -> None:
        """Close the store."""
        self.service.store.close()


class ServerAdmin(Admin):
    """The admin API of the `ccstats serve` that holds the database."""

    through_server = True

    def __init__(self, url: str, token: str, source: str, db: str) -> None:
        """Talk to the server at `url` (found in `source`) with the admin `token`."""
        self.where = url
        self.url = url
        self.source = source
        self.db = db
        self._client = httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=600
        )

    def unreachable(self, error: Exception) -> AdminError:
        """The error of a server that does not answer: which variable to set."""
        return AdminError(
            f"{self.db} is in use by another process, but no ccstats server answers at "
            f"{self.url} ({self.source}: {error}). If a `ccstats serve` holds it, set "
            f"{URL_ENV} to its address, e.g. {URL_ENV}=http://127.0.0.1:8080; otherwise stop "
            "the process that holds the file"
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """One admin API request: its JSON answer (None for a 404 when `missing_ok`)."""
        content = orjson.dumps(body) if body is not None else None
        headers = {"content-type": "application/json"} if content is not None else {}
        try:
            response = self._client.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.TransportError as error:
            raise self.unreachable(error) from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 401:
            raise AdminError(
                f"the server at {self.url} refused the admin token: set CCSTATS_ADMIN_TOKEN to "
                "the token it was started with"
            )
        if response.status_code >= 400:
            text = _message(response)
            if response.status_code >= 500 or response.status_code in (405, 413):
                text = f"the server at {self.url} answered {response.status_code}: {text}"
            raise ServerRefused(response.status_code, text)  # else as the store says it here
        return response.json()

    def probe(self) -> None:
        """Raise AdminError unless the server answers."""
        try:
            self._client.get("/healthz", timeout=10)
        except httpx.TransportError as error:
            raise self.unreachable(error) from None

    def tenant(self, tenant_id: str) -> TenantSettings | None:
        """A tenant's settings, or None."""
        found = self.call("GET", f"/v1/tenants/{_segment(tenant_id)}", missing_ok=True)
        return None if found is None else TenantSettings.model_validate(found)

    def tenants(self) -> list[TenantSettings]:
        """Every tenant, by id."""
        found = self.call("GET", "/v1/tenants")["tenants"]
        return [TenantSettings.model_validate(t) for t in found]

    def put_tenant(self, tenant: TenantSettings) -> TenantSettings:
        """Create or replace a tenant's settings (all of them are sent)."""
        path = f"/v1/tenants/{_segment(tenant.id)}"
        return TenantSettings.model_validate(self.call("PUT", path, body=tenant.model_dump()))

    def add_credential(self, tenant_id: str, kind: str, key: str | None) -> dict[str, Any]:
        """A new credential; what its client needs, shown once."""
        path = f"/v1/tenants/{_segment(tenant_id)}/credentials"
        found: dict[str, Any] = self.call("POST", path, body={"kind": kind, "key": key})
        return found

    def credentials(self, tenant_id: str) -> list[dict[str, Any]]:
        """`GET /v1/tenants/{id}/credentials`."""
        path = f"/v1/tenants/{_segment(tenant_id)}/credentials"
        found: list[dict[str, Any]] = self.call("GET", path)["credentials"]
        return found

    def revoke_credential(self, tenant_id: str, reference: str) -> dict[str, Any]:
        """`DELETE /v1/tenants/{id}/credentials/{credential}`."""
        path = f"/v1/tenants/{_segment(tenant_id)}/credentials/{_segment(reference)}"
        found: dict[str, Any] = self.call("DELETE", path)["revoked"]
        return found

    def delete_tenant(self, tenant_id: str) -> dict[str, Any]:
        """`DELETE /v1/tenants/{id}`."""
        found: dict[str, Any] = self.call("DELETE", f"/v1/tenants/{_segment(tenant_id)}")
        return found

    def erase_customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        """`DELETE /v1/tenants/{id}/customers/{customer_id}`."""
        path = f"/v1/tenants/{_segment(tenant_id)}/customers/{_segment(customer_id)}"
        found: dict[str, Any] = self.call("DELETE", path)
        return found

    def ingest(self, items: Sequence[Any], kind: str, dry_run: bool = False) -> IngestResult:
        """Send records in requests of `SERVER_BATCH` (halved while the server finds a request
        too large)."""
        path = "/v1/admin/conversations" if kind == "conversations" else "/v1/admin/agent-intervals"
        total = IngestResult()
        for start in range(0, len(items), SERVER_BATCH):
            total.merge(self._send(path, items[start : start + SERVER_BATCH], dry_run), start)
        return total

    def _send(self, path: str, items: Sequence[Any], dry_run: bool) -> IngestResult:
        params = {"dry_run": "true"} if dry_run else None
        try:
            body = self.call("POST", path, body=list(items), params=params)
        except ServerRefused as error:
            if error.status != 413 or len(items) < 2:  # 413: over the server's body limit
                raise
            half = len(items) // 2
            result = self._send(path, items[:half], dry_run)
            result.merge(self._send(path, items[half:], dry_run), half)
            return result
        rejected = [Rejection(r["index"], r.get("id"), r["reason"]) for r in body["rejected"]]
        return IngestResult(body["accepted"], rejected)

    def ingest_table(self, table: pa.Table, dry_run: bool = False) -> IngestResult:
        """The columns' records as JSON (datetimes as ISO 8601 with offset)."""
        total = IngestResult()
        for start in range(0, table.num_rows, SERVER_BATCH):
            rows = arrow_rows(table.slice(start, SERVER_BATCH))
            total.merge(self.ingest(rows, "conversations", dry_run), start)
        return total

    def demo(self, conversations: int, seed: int, progress: Any = None) -> dict[str, Any]:
        """Create the demo in the server's process (no progress bar: one long request)."""
        found: dict[str, Any] = self.call(
            "POST", "/v1/admin/demo", body={"conversations": conversations, "seed": seed}
        )
        return found

    def store_info(self) -> dict[str, Any]:
        """The versions of the store the server holds."""
        found: dict[str, Any] = self.call("GET", "/v1/admin/store")
        return found

    def backup(self, destination: str) -> dict[str, Any]:
        """The copy written by the server's process (on its machine)."""
        found: dict[str, Any] = self.call(
            "POST", "/v1/admin/backup", body={"destination": destination}
        )
        return found

    def close(self) -> None:
        """Close the connection."""
        self._client.close()


def _segment(value: str) -> str:
    """A path segment: an id may hold any character (`/`, `?`, spaces)."""
    return quote(value, safe="")


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:300]


def open_admin(db: str = "") -> Admin:
    """The store at `db` (default `config.default_db`) opened here, or, while a server holds
    it, that server's admin API. Raises AdminError saying what to do."""
    path = db or default_db()
    try:
        store = open_store(path)
    except StoreLockedError:
        return server_admin(path)
    except StorageError as error:
        raise AdminError(str(error)) from None
    return LocalAdmin(Service(store), path)


def server_admin(db: str) -> ServerAdmin:
    """The admin API of the server holding `db` (`config.client_url`, `config.read_admin_token`),
    checked to answer. Raises AdminError saying which variable to set."""
    url, source = client_url(db)
    token = read_admin_token(db)
    if token is None:
        raise AdminError(
            f"{db} is held by a running `ccstats serve`, but its admin token is neither in "
            f"{db}.admin-token nor in CCSTATS_ADMIN_TOKEN: set CCSTATS_ADMIN_TOKEN to it"
        )
    admin = ServerAdmin(url, token, source, db)
    try:
        admin.probe()
    except AdminError:
        admin.close()
        raise
    return admin
