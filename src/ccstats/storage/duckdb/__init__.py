"""The embedded engine: DuckDB in a file (`store.DuckDBStore`), and everything DuckDB-specific.

Its words, used across these modules:
- **rollups** (`preagg`): pre-aggregates of conversations by 15-minute slot or tenant-local day,
  which a report reads instead of the raw table whenever they answer it exactly (`covers`);
- **held** measures: the catalogue measures a rollup keeps;
- **touched** slots: the rollup slots an upsert's old and new rows fall in, recomputed in its
  transaction; an upsert that replaces nothing (an **append**) adds its own aggregates to its
  slots instead (`preagg.merge_sql`);
- **stale**: a tenant's rollup left for `maintain` to rebuild after a bulk batch that replaces
  rows (a span of `created_at`); reads take the raw table meanwhile;
- **pending** / **settle** (`contacts`): an upsert notes its customers; `flush` recomputes their
  conversations' stored next contact (FCR) and moves the rollups' FCR counts by the difference;
- **moves**: next-contact changes of stale tenants, waiting in `contact_moves` for `maintain`;
- **unsorted months** (`compaction`): rows written in arrival order, rewritten sorted by tenant
  and time one UTC month per transaction.
"""

from __future__ import annotations

from ccstats.storage.duckdb.registry import DuckDBRegistry
from ccstats.storage.duckdb.store import DuckDBStore, StoreLockedError, restore_file

__all__ = ["DuckDBRegistry", "DuckDBStore", "StoreLockedError", "restore_file"]
