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

from dataclasses import dataclass

from ccstats.schema import CONVERSATION_COLUMNS, INTERVAL_COLUMNS, MESSAGE_COLUMNS, LogicalType

__all__ = ["SCHEMA_VERSION", "STORE_COLUMNS", "statements", "type_of", "upgrade"]

SCHEMA_VERSION = 3
"""Bumped with every change of the tables; `ClickHouseStore` migrates older databases
(`upgrade`). 2: conversations have `source` (the platform a record came from); `meta` rows
name the state they replaced and their writer (`cas`, `writer`: compare-and-set across
processes)."""

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

_META_CAS = "cas String DEFAULT '', writer String DEFAULT ''"
"""The registry's compare-and-set across processes (`registry`): the state a write replaced
(its insert token) and who wrote it."""


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


@dataclass(frozen=True)
class _Table:
    """A table: its columns, engine (without the Replicated prefix and path), keys, and, on a
    cluster, how it is spread: sharded by `shard` (None: read only through a Distributed table
    over the shards, never inserted into directly), or on every node whole (`everywhere`)."""

    name: str
    columns: str
    engine: str
    args: str
    order: str
    partition: str | None = None
    settings: tuple[str, ...] = ()
    shard: str | None = None
    everywhere: bool = False
    ttl: str | None = None


@dataclass(frozen=True)
class _View:
    """A materialized view from the conversations into a table."""

    name: str
    target: str
    select: str
    """SELECT ... FROM {source} ...: `{source}` is the conversations table of the node."""


def _conversation_columns() -> str:
    columns = [_column(n, k, n in _REQUIRED) for n, k in CONVERSATION_COLUMNS.items()]
    return ", ".join([*columns, *(f"`{n}` {t}" for n, t in STORE_COLUMNS.items())])


def _tables() -> list[_Table]:
    messages = ", ".join(
        _column(n, k, n in ("tenant_id", "conversation_id", "seq"))
        for n, k in MESSAGE_COLUMNS.items()
    )
    intervals = ", ".join(
        _column(n, k, n in ("tenant_id", "agent_id", "kind", "started_at", "stored_at"))
        for n, k in INTERVAL_COLUMNS.items()
    )
    ledger = ("VersionedCollapsingMergeTree", "sign, version")
    return [
        # The shard of a conversation is its customer's (FCR reads a customer's conversations
        # together), or its own without a customer; a tenant spreads over every shard. A cancel
        # row is a copy of the row it cancels, so it lands on that row's shard.
        _Table(
            "conversations",
            _conversation_columns(),
            *ledger,
            order="(tenant_id, created_at, id)",
            partition="toYYYYMM(created_at)",
            shard="cityHash64(tenant_id, ifNull(customer_id, id))",
        ),
        # The upsert's lookup: a key's live versions by primary key, not a scan of the tenant.
        _Table(
            "conversation_keys",
            f"tenant_id LowCardinality(String), id String, created_at {TIME},"
            " messages_version UInt64, version UInt64, sign Int8",
            *ledger,
            order="(tenant_id, id)",
        ),
        # Next contacts: a customer's conversations, found by primary key.
        _Table(
            "contacts",
            f"tenant_id LowCardinality(String), customer_id String, id String, created_at {TIME},"
            f" ended_at Nullable({TIME}), next_contact_at Nullable({TIME}), version UInt64,"
            " sign Int8",
            *ledger,
            order="(tenant_id, customer_id, created_at, id)",
        ),
        # `data_as_of`: the newest stored_at ever written is the newest live one (a row is only
        # ever replaced by one stored later, and a next-contact rewrite keeps its stored_at).
        _Table(
            "tenant_as_of",
            f"tenant_id LowCardinality(String), stored_at SimpleAggregateFunction(max, {TIME})",
            "AggregatingMergeTree",
            "",
            order="tenant_id",
        ),
        # Messages are written at their conversation's version and read at the current one:
        # a replaced transcript needs no delete.
        _Table(
            "messages",
            f"{messages}, version UInt64",
            "MergeTree",
            "",
            order="(tenant_id, conversation_id, version, seq)",
            shard="cityHash64(tenant_id, conversation_id)",
        ),
        _Table(
            "agent_intervals",
            f"{intervals}, version UInt64",
            "ReplacingMergeTree",
            "version",
            order="(tenant_id, agent_id, kind, status_id, started_at)",
            settings=("allow_nullable_key = 1",),
            shard="cityHash64(tenant_id, agent_id)",
        ),
        # Customers whose next contacts wait for `flush`: +n when noted, -n when settled.
        _Table(
            "pending_contacts",
            "tenant_id LowCardinality(String), customer_id String, n Int64",
            "SummingMergeTree",
            "n",
            order="(tenant_id, customer_id)",
            shard="cityHash64(tenant_id, customer_id)",
        ),
        # The registry: small, whole on every node.
        _Table(
            "tenants",
            "id String, settings String, version UInt64",
            "ReplacingMergeTree",
            "version",
            order="id",
            everywhere=True,
        ),
        _Table(
            "credentials",
            "tenant_id String, kind String, key_id String, secret_hash Nullable(String),"
            f" secret Nullable(String), created_at {TIME}, scope Nullable(String)",
            "MergeTree",
            "",
            order="(kind, key_id, created_at)",
            everywhere=True,
        ),
        # What each process changed, for the others' kept answers (`changes`): a day is kept.
        _Table(
            "change_log",
            f"writer String, seq UInt64, tenant_id String, lo Nullable({TIME}),"
            f" hi Nullable({TIME}), logged {TIME} DEFAULT now64(6)",
            "MergeTree",
            "",
            order="(writer, seq)",
            everywhere=True,
            ttl="toDateTime(logged) + INTERVAL 1 DAY",
        ),
        _Table(
            "meta",
            f"key String, value String, version UInt64, deleted UInt8, {_META_CAS}",
            "ReplacingMergeTree",
            "version, deleted",
            order="key",
            everywhere=True,
        ),
    ]


_VIEWS = [
    _View(
        "conversation_keys_mv",
        "conversation_keys",
        "SELECT tenant_id, id, created_at, messages_version, version, sign FROM {source}",
    ),
    _View(
        "contacts_mv",
        "contacts",
        "SELECT tenant_id, assumeNotNull(customer_id) AS customer_id, id, created_at, ended_at,"
        " next_contact_at, version, sign FROM {source} WHERE customer_id IS NOT NULL",
    ),
    _View(
        "tenant_as_of_mv",
        "tenant_as_of",
        "SELECT tenant_id, max(stored_at) AS stored_at FROM {source} WHERE sign = 1"
        " GROUP BY tenant_id",
    ),
]


def _create(table: _Table, name: str, engine: str, settings: tuple[str, ...]) -> str:
    sql = f"CREATE TABLE IF NOT EXISTS {name} ({table.columns}) ENGINE = {engine}"
    if table.partition:
        sql += f" PARTITION BY {table.partition}"
    sql += f" ORDER BY {table.order}"
    if table.ttl:
        sql += f" TTL {table.ttl}"
    return sql + (f" SETTINGS {', '.join(settings)}" if settings else "")


def statements(db: str, cluster: str | None = None) -> list[str]:
    """Every CREATE, in dependency order (idempotent). `db` is the database name.

    On a `cluster`: `ON CLUSTER` DDL; each sharded table is a `Replicated*` table `<name>_local`
    on every shard with a `Distributed` table `<name>` over them (the store reads and writes
    `<name>`); the views run on each shard, from its conversations into its tables; registry
    tables are replicated whole to every node. Replicated tables deduplicate inserts by default.
    """
    quoted = f"`{db}`"
    if cluster is None:
        out = [f"CREATE DATABASE IF NOT EXISTS {quoted}"]
        for table in _tables():
            engine = f"{table.engine}({table.args})"
            settings = (*table.settings, _WINDOW)
            out.append(_create(table, f"{quoted}.`{table.name}`", engine, settings))
        for view in _VIEWS:
            source = f"{quoted}.`conversations`"
            out.append(
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS {quoted}.`{view.name}`"
                f" TO {quoted}.`{view.target}` AS {view.select.format(source=source)}"
            )
        return out
    on = f" ON CLUSTER `{cluster}`"
    out = [f"CREATE DATABASE IF NOT EXISTS {quoted}{on}"]
    for table in _tables():
        local = table.name if table.everywhere else f"{table.name}_local"
        where = "all" if table.everywhere else "{shard}"
        path = f"'/clickhouse/tables/{where}/{db}/{table.name}', '{{replica}}'"
        args = f"{path}, {table.args}" if table.args else path
        engine = f"Replicated{table.engine}({args})"
        out.append(_create(table, f"{quoted}.`{local}`{on}", engine, table.settings))
        if not table.everywhere:
            spread = f", {table.shard}" if table.shard else ""
            out.append(
                f"CREATE TABLE IF NOT EXISTS {quoted}.`{table.name}`{on} AS {quoted}.`{local}`"
                f" ENGINE = Distributed(`{cluster}`, {quoted}, `{local}`{spread})"
            )
    for view in _VIEWS:
        source = f"{quoted}.`conversations_local`"
        out.append(
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {quoted}.`{view.name}`{on}"
            f" TO {quoted}.`{view.target}_local` AS {view.select.format(source=source)}"
        )
    return out


def upgrade(db: str, cluster: str | None = None) -> list[str]:
    """Statements that bring a database of an older schema to this one (idempotent): every
    conversation column the ledger lacks is added (NULL in the rows written before it), on a
    cluster to each shard's table and to the Distributed table over them; `meta` gets `cas`
    and `writer`; `credentials` gets `scope` (NULL: a vendor credential reads its kind's
    default, `Credential.with_scope`)."""
    quoted = f"`{db}`"
    columns = [_column(n, k, n in _REQUIRED) for n, k in CONVERSATION_COLUMNS.items()]
    adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {c}" for c in columns)
    meta = ", ".join(f"ADD COLUMN IF NOT EXISTS {c.strip()}" for c in _META_CAS.split(","))
    scope = "ADD COLUMN IF NOT EXISTS scope Nullable(String)"
    if cluster is None:
        return [
            f"ALTER TABLE {quoted}.`conversations` {adds}",
            f"ALTER TABLE {quoted}.`meta` {meta}",
            f"ALTER TABLE {quoted}.`credentials` {scope}",
        ]
    on = f" ON CLUSTER `{cluster}`"
    return [
        f"ALTER TABLE {quoted}.`conversations_local`{on} {adds}",
        f"ALTER TABLE {quoted}.`conversations`{on} {adds}",
        f"ALTER TABLE {quoted}.`meta`{on} {meta}",
        f"ALTER TABLE {quoted}.`credentials`{on} {scope}",
    ]
