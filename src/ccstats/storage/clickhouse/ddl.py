"""The ClickHouse schema, generated from the column lists of `ccstats.schema`.

Conversations are a sign ledger: `VersionedCollapsingMergeTree(sign, version)`. Replacing a
conversation inserts its current row again with `sign = -1` and the new row with `+1`, in one
block; counts are `sum(sign)`, sums `sum(sign * x)`: exact in every merge state, without FINAL.
Materialized views keep, from the same blocks, the keys an upsert looks up (`conversation_keys`,
by (tenant_id, id)), each customer's conversations for next contacts (`contacts`) and each
tenant's newest `stored_at` (`tenant_as_of`). Every table that takes an insert token keeps a
deduplication window of its own: a retried block counts once in the views too (a view's target
without a window counted it twice: design notes, section 3).

`SCHEMA_VERSION` is kept in `meta`; `statements` creates what is missing and is safe to run on
every start.
"""

from __future__ import annotations

from ccstats.schema import CONVERSATION_COLUMNS, INTERVAL_COLUMNS, MESSAGE_COLUMNS, LogicalType

__all__ = ["SCHEMA_VERSION", "STORE_COLUMNS", "statements", "type_of"]

SCHEMA_VERSION = 1
"""Bumped with every change of the tables; `ClickHouseStore` migrates older databases."""

TIME = "DateTime64(6, 'UTC')"
"""Microseconds, like DuckDB's TIMESTAMP (DateTime64(3) would truncate)."""

_TYPES: dict[LogicalType, str] = {
    "text": "String",
    "int": "Int64",
    "bool": "Bool",
    "time": TIME,
    "float": "Float64",
}

_REQUIRED = frozenset({"id", "tenant_id", "channel", "direction", "created_at", "stored_at"})
"""Conversation columns every record has (the sort key cannot be Nullable)."""

_LOW_CARDINALITY = frozenset({"tenant_id", "channel", "direction"})

STORE_COLUMNS: dict[str, str] = {
    "next_contact_at": f"Nullable({TIME})",
    "messages_version": "UInt64",
    "version": "UInt64",
    "sign": "Int8",
}
"""Columns after the record's: the stored next contact (`contacts`), the version its messages
were written at (a next-contact rewrite keeps it), the row version and its sign."""

_WINDOW = "non_replicated_deduplication_window = 1000"


def type_of(kind: LogicalType) -> str:
    """The ClickHouse type of a logical type (not Nullable)."""
    return _TYPES[kind]


def _column(name: str, kind: LogicalType, required: bool) -> str:
    base = _TYPES[kind]
    if not required:
        base = f"Nullable({base})"
    if name in _LOW_CARDINALITY:
        base = f"LowCardinality({base})"
    return f"`{name}` {base}"


def _conversations(table: str) -> str:
    columns = [_column(n, k, n in _REQUIRED) for n, k in CONVERSATION_COLUMNS.items()]
    columns += [f"`{n}` {t}" for n, t in STORE_COLUMNS.items()]
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})"
        " ENGINE = VersionedCollapsingMergeTree(sign, version)"
        " PARTITION BY toYYYYMM(created_at) ORDER BY (tenant_id, created_at, id)"
        f" SETTINGS {_WINDOW}"
    )


def statements(db: str) -> list[str]:
    """Every CREATE, in dependency order (idempotent). `db` is the quoted database name."""

    def t(name: str) -> str:
        return f"{db}.`{name}`"

    messages = ", ".join(
        _column(n, k, n in ("tenant_id", "conversation_id", "seq"))
        for n, k in MESSAGE_COLUMNS.items()
    )
    intervals = ", ".join(
        _column(n, k, n in ("tenant_id", "agent_id", "kind", "started_at", "stored_at"))
        for n, k in INTERVAL_COLUMNS.items()
    )
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        _conversations(t("conversations")),
        # The upsert's lookup: a key's live versions by primary key, not a scan of the tenant.
        f"CREATE TABLE IF NOT EXISTS {t('conversation_keys')} (tenant_id LowCardinality(String),"
        f" id String, created_at {TIME}, messages_version UInt64, version UInt64, sign Int8)"
        " ENGINE = VersionedCollapsingMergeTree(sign, version) ORDER BY (tenant_id, id)"
        f" SETTINGS {_WINDOW}",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {t('conversation_keys_mv')}"
        f" TO {t('conversation_keys')} AS SELECT tenant_id, id, created_at, messages_version,"
        f" version, sign FROM {t('conversations')}",
        # Next contacts: a customer's conversations, found by primary key.
        f"CREATE TABLE IF NOT EXISTS {t('contacts')} (tenant_id LowCardinality(String),"
        f" customer_id String, id String, created_at {TIME}, ended_at Nullable({TIME}),"
        f" next_contact_at Nullable({TIME}), version UInt64, sign Int8)"
        " ENGINE = VersionedCollapsingMergeTree(sign, version)"
        f" ORDER BY (tenant_id, customer_id, created_at, id) SETTINGS {_WINDOW}",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {t('contacts_mv')} TO {t('contacts')} AS"
        " SELECT tenant_id, assumeNotNull(customer_id) AS customer_id, id, created_at,"
        f" ended_at, next_contact_at, version, sign FROM {t('conversations')}"
        " WHERE customer_id IS NOT NULL",
        # `data_as_of`: the newest stored_at ever written is the newest live one (a row is only
        # ever replaced by one stored later, and a next-contact rewrite keeps its stored_at).
        f"CREATE TABLE IF NOT EXISTS {t('tenant_as_of')} (tenant_id LowCardinality(String),"
        f" stored_at SimpleAggregateFunction(max, {TIME}))"
        f" ENGINE = AggregatingMergeTree ORDER BY tenant_id SETTINGS {_WINDOW}",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {t('tenant_as_of_mv')} TO {t('tenant_as_of')}"
        f" AS SELECT tenant_id, max(stored_at) AS stored_at FROM {t('conversations')}"
        " WHERE sign = 1 GROUP BY tenant_id",
        # Messages are written at their conversation's version and read at the current one:
        # a replaced transcript needs no delete.
        f"CREATE TABLE IF NOT EXISTS {t('messages')} ({messages}, version UInt64)"
        " ENGINE = MergeTree ORDER BY (tenant_id, conversation_id, version, seq)"
        f" SETTINGS {_WINDOW}",
        f"CREATE TABLE IF NOT EXISTS {t('agent_intervals')} ({intervals}, version UInt64)"
        " ENGINE = ReplacingMergeTree(version)"
        " ORDER BY (tenant_id, agent_id, kind, status_id, started_at)"
        f" SETTINGS allow_nullable_key = 1, {_WINDOW}",
        # Customers whose next contacts wait for `flush`: +n when noted, -n when settled.
        f"CREATE TABLE IF NOT EXISTS {t('pending_contacts')} (tenant_id LowCardinality(String),"
        " customer_id String, n Int64) ENGINE = SummingMergeTree(n)"
        f" ORDER BY (tenant_id, customer_id) SETTINGS {_WINDOW}",
        # The registry.
        f"CREATE TABLE IF NOT EXISTS {t('tenants')} (id String, settings String, version UInt64)"
        f" ENGINE = ReplacingMergeTree(version) ORDER BY id SETTINGS {_WINDOW}",
        f"CREATE TABLE IF NOT EXISTS {t('credentials')} (tenant_id String, kind String,"
        f" key_id String, secret_hash Nullable(String), secret Nullable(String),"
        f" created_at {TIME}) ENGINE = MergeTree ORDER BY (kind, key_id, created_at)"
        f" SETTINGS {_WINDOW}",
        f"CREATE TABLE IF NOT EXISTS {t('meta')} (key String, value String, version UInt64,"
        " deleted UInt8) ENGINE = ReplacingMergeTree(version, deleted) ORDER BY key"
        f" SETTINGS {_WINDOW}",
    ]
