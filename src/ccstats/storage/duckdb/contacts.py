"""Each conversation's next contact, kept exact on every upsert (SQL for `DuckDBStore`).

`next_contact_at` is the earliest `created_at` among the customer's other conversations of the
tenant created after this one ended (NULL: none, or no `ended_at`/`customer_id`). With it the FCR
measures of reports.md (7moor quality: "the customer opened no other conversation of the tenant
within N h after it ended") read only their own row: no repeat within N h exactly when
`next_contact_at` is NULL or later than `ended_at + N h`. Before, each was a correlated NOT EXISTS
over the tenant's conversations, 60-85% of the 7moor quality report's time at 10M (bench/NOTES.md).

An upsert changes the next contact of the conversations of the customers it touches (those of the
batch and of the rows it replaces). It only notes them in `pending_contacts`; `settle` (the
store's `flush`) recomputes exactly their conversations, once for every upsert since
the last time: before a read of an FCR measure or a check of kept answers, and every few seconds
in the background. Until then the stored values, and the rollups' FCR counts made from them,
are those of the rows as stored. Each upsert scanned the tenant's customers before: at 10M
conversations 120-160 ms of every batch, whatever its size (bench/NOTES.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from ccstats.schema import TIME_COLUMNS
from ccstats.storage.duckdb.sql import literal

__all__ = [
    "all_customers_sql",
    "batch_spans_sql",
    "changed_sql",
    "cleanup_sql",
    "customers_sql",
    "pend_batch_sql",
    "pend_sql",
    "pending_sql",
    "spans_sql",
    "tenant_spans_sql",
    "update_sql",
]


def customers_sql(keys: str) -> str:
    """Temp table `_customers`: the customers of the rows an upsert replaces (by `keys`, run
    before its DELETE) and of its batch `_batch_c`."""
    return (
        "CREATE OR REPLACE TEMP TABLE _customers AS SELECT DISTINCT tenant_id, customer_id FROM ("
        "SELECT t.tenant_id, t.customer_id FROM conversations t"
        f" SEMI JOIN {keys} k ON t.tenant_id = k.tenant_id AND t.id = k.id"
        " UNION ALL SELECT tenant_id, customer_id FROM _batch_c) WHERE customer_id IS NOT NULL"
    )


def pend_sql() -> str:
    """Note the upsert's `_customers` in `pending_contacts` (each once)."""
    return (
        "INSERT INTO pending_contacts SELECT k.tenant_id, k.customer_id FROM _customers k"
        " WHERE NOT EXISTS (SELECT 1 FROM pending_contacts p"
        " WHERE p.tenant_id = k.tenant_id AND p.customer_id = k.customer_id)"
    )


def pend_batch_sql(batch: str = "_batch_c") -> str:
    """Note the customers of a batch that replaces nothing (`batch`) in `pending_contacts`:
    `customers_sql` and `pend_sql` in one statement, without the replaced rows' scan."""
    return (
        f"INSERT INTO pending_contacts SELECT DISTINCT b.tenant_id, b.customer_id FROM {batch} b"
        " WHERE b.customer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pending_contacts p"
        " WHERE p.tenant_id = b.tenant_id AND p.customer_id = b.customer_id)"
    )


def pending_sql(tenant_ids: Sequence[str]) -> list[str]:
    """`_customers` as the tenants' pending customers, who leave `pending_contacts`."""
    only = ", ".join(literal(t) for t in tenant_ids)
    return [
        "CREATE OR REPLACE TEMP TABLE _customers AS SELECT DISTINCT tenant_id, customer_id"
        f" FROM pending_contacts WHERE tenant_id IN ({only})",
        f"DELETE FROM pending_contacts WHERE tenant_id IN ({only})",
    ]


def all_customers_sql() -> str:
    """`_customers` as every customer of the store (to fill the column after a migration)."""
    return (
        "CREATE OR REPLACE TEMP TABLE _customers AS SELECT DISTINCT tenant_id, customer_id"
        " FROM conversations WHERE customer_id IS NOT NULL"
    )


def _only(tenant_ids: Sequence[str] | None) -> str:
    # The batch's tenants as literals: the scan skips other tenants' row groups (zone maps),
    # 190 -> 60 ms for a 5 000-row batch at 10M (measured). Ids are quoted, never interpolated raw.
    if tenant_ids is None:
        return ""
    quoted = ", ".join(literal(t) for t in tenant_ids)
    return f" WHERE c.tenant_id IN ({quoted})"


_OWN = ("tenant_id", "customer_id", "id", "created_at", "ended_at", "next_contact_at")


def changed_sql(tenant_ids: Sequence[str] | None = None, columns: Sequence[str] = ()) -> str:
    """Temp table `_next` of the `_customers`' conversations whose next contact differs from the
    stored one: `rid` (their rowid), the stored `columns` (and the ones it needs itself) as they
    are before `update_sql`, `old` (the stored next contact), `lo, hi` (`span_sql`) and `next`
    (the new next contact).

    `columns` are what the rollups need to move these rows' FCR counts by their difference
    (`preagg.contact_delta_sql`) without finding the rows again: a join on rowid scans the whole
    table (4 x 220 ms for a 5 000-call batch at 10M conversations); reading only the needed
    columns keeps the scan here narrow (`c.*`: 610 ms).

    An ASOF join finds the first contact created after the end. It cannot leave out the row
    itself, which only matters when a row was created after it ended (bad data, accepted as
    sent); those rows take the plain minimum over the customer's other rows.
    """
    own = ", ".join(f'c."{c}"' for c in dict.fromkeys([*_OWN, *columns]))
    return (
        "CREATE OR REPLACE TEMP TABLE _next AS WITH a AS ("
        f" SELECT c.rowid AS rid, {own}, c.next_contact_at AS old,"
        f" {span_sql('c')} FROM conversations c SEMI JOIN _customers k"
        f" ON c.tenant_id = k.tenant_id AND c.customer_id = k.customer_id{_only(tenant_ids)}),"
        " o AS (SELECT tenant_id, customer_id, created_at FROM a WHERE created_at IS NOT NULL),"
        " fresh AS ("
        " SELECT a.*, o.created_at AS next"
        " FROM a ASOF LEFT JOIN o ON a.tenant_id = o.tenant_id AND a.customer_id = o.customer_id"
        " AND o.created_at > a.ended_at"
        " WHERE a.ended_at IS NOT NULL AND NOT coalesce(a.created_at > a.ended_at, false)"
        " UNION ALL SELECT a.*, (SELECT min(o2.created_at)"
        " FROM a o2 WHERE o2.tenant_id = a.tenant_id AND o2.customer_id = a.customer_id"
        " AND o2.id <> a.id AND o2.created_at > a.ended_at) FROM a WHERE a.created_at > a.ended_at"
        " UNION ALL SELECT a.*, NULL FROM a WHERE a.ended_at IS NULL)"
        " SELECT * FROM fresh WHERE next IS DISTINCT FROM old"
    )


def span_sql(alias: str) -> str:
    """`lo, hi`: the earliest and latest of a row's times, whatever a report filters on."""
    times = ", ".join(f"{alias}.{name}" for name in TIME_COLUMNS)
    return f"least({times}) AS lo, greatest({times}) AS hi"


def spans_sql(keys: str) -> list[str]:
    """Temp table `_span` (tenant_id, lo, hi, created_at) of the rows an upsert replaces (run
    before its DELETE) and of its batch. `created_at` is what rollup slots are cut by
    (`preagg.stale_span_sql`)."""
    return [
        f"CREATE OR REPLACE TEMP TABLE _span AS SELECT t.tenant_id, {span_sql('t')}, t.created_at"
        f" FROM conversations t SEMI JOIN {keys} k ON t.tenant_id = k.tenant_id AND t.id = k.id",
        f"INSERT INTO _span SELECT b.tenant_id, {span_sql('b')}, b.created_at FROM _batch_c b",
    ]


def batch_spans_sql(batch: str = "_batch_c") -> str:
    """Per tenant, the time span of a batch that replaces nothing (`tenant_spans_sql` of its
    rows alone)."""
    return (
        f"SELECT tenant_id, min(lo), max(hi) FROM (SELECT b.tenant_id, {span_sql('b')}"
        f" FROM {batch} b) GROUP BY tenant_id"
    )


def tenant_spans_sql(table: str = "_span") -> str:
    """Per tenant, the time span an upsert (`_span`) or a settling (`_next`) changed: what
    cached answers outside it survive."""
    return f"SELECT tenant_id, min(lo), max(hi) FROM {table} GROUP BY tenant_id"


def update_sql() -> str:
    """Store the changed next contacts (run after `changed_sql`)."""
    return (
        "UPDATE conversations SET next_contact_at = n.next FROM _next n"
        " WHERE conversations.rowid = n.rid"
    )


def cleanup_sql() -> list[str]:
    """Drop `_customers` (`_span` and `_next` stay until replaced: they are read last)."""
    return ["DROP TABLE IF EXISTS _customers"]
