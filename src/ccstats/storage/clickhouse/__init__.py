"""The ClickHouse engine (`store.ClickHouseStore`): a server over HTTP(S), or chDB in process.

Its words, used across these modules:
- **ledger**: the conversations table, `VersionedCollapsingMergeTree(sign, version)`; a replaced
  row stays, cancelled by a copy of it at `sign = -1` (`ddl`);
- **live** rows: those not cancelled; a count is `sum(sign)`, a sum `sum(sign * x)`;
- **slots** (`aggregate`): whole steps from the first bucket start on which every start lies;
  the engine sums per slot, Python folds slots into the request's buckets;
- **rollup** (`rollup`): signed partial sums per 15-minute UTC slot and dimension, a
  materialized view of the ledger; read when it **covers** a report;
- **pending** / **settle** (`contacts`): an upsert notes its customers; `flush` recomputes their
  conversations' next contacts and rewrites the rows that changed;
- **target** (`client`): where the store lives, from a `chdb://` or `clickhouse(s)://` URL.
"""

from __future__ import annotations

from ccstats.storage.clickhouse.client import SCHEMES, parse_url, redact
from ccstats.storage.clickhouse.registry import ClickHouseRegistry
from ccstats.storage.clickhouse.store import ClickHouseStore

__all__ = ["SCHEMES", "ClickHouseRegistry", "ClickHouseStore", "parse_url", "redact"]
