"""The DDL of a cluster (`?cluster=NAME`): no cluster can run here (chDB has no Keeper and no
other nodes), so the statements are checked by ClickHouse's own parser (`formatQuery`, which
parses without running) and for the shape the design asks: Replicated tables per shard, a
Distributed table over each sharded one, a customer's conversations on one shard, views on each
shard, the registry whole on every node."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from tests.chdb_stores import chdb_store, drop_opened

from ccstats.storage.clickhouse import ClickHouseStore, ddl, parse_url

DDL = ddl.statements("stats", "main")


@pytest.fixture(scope="module")
def parser() -> Iterator[ClickHouseStore]:
    yield chdb_store()
    drop_opened()


def test_every_statement_parses(parser: ClickHouseStore) -> None:
    for statement in DDL:
        found = parser._db.query("SELECT formatQuery({s:String})", {"s": statement})
        assert "ON CLUSTER main" in found[0][0], statement


def test_every_statement_runs_on_the_whole_cluster() -> None:
    assert all(" ON CLUSTER `main`" in s for s in DDL)
    assert DDL[0] == "CREATE DATABASE IF NOT EXISTS `stats` ON CLUSTER `main`"


def _create(name: str) -> str:
    (found,) = [s for s in DDL if re.search(rf"EXISTS `stats`\.`{name}` ON", s)]
    return found


def test_sharded_tables_are_replicated_per_shard_under_a_distributed_table() -> None:
    local = _create("conversations_local")
    assert (
        "ENGINE = ReplicatedVersionedCollapsingMergeTree("
        "'/clickhouse/tables/{shard}/stats/conversations', '{replica}', sign, version)" in local
    )
    assert "PARTITION BY toYYYYMM(created_at) ORDER BY (tenant_id, created_at, id)" in local
    assert _create("conversations") == (
        "CREATE TABLE IF NOT EXISTS `stats`.`conversations` ON CLUSTER `main` AS"
        " `stats`.`conversations_local` ENGINE = Distributed(`main`, `stats`,"
        " `conversations_local`, cityHash64(tenant_id, ifNull(customer_id, id)))"
    )
    shards = {
        "messages": "cityHash64(tenant_id, conversation_id)",
        "agent_intervals": "cityHash64(tenant_id, agent_id)",
        "pending_contacts": "cityHash64(tenant_id, customer_id)",
    }
    for name, key in shards.items():
        assert _create(name).endswith(f"`{name}_local`, {key})")
        assert "/clickhouse/tables/{shard}/stats/" + name in _create(f"{name}_local")
    for name in ("conversation_keys", "contacts", "tenant_as_of"):  # filled on each shard
        assert _create(name).endswith(f"`{name}_local`)")


def test_views_run_on_each_shard_into_its_own_tables() -> None:
    views = [s for s in DDL if "MATERIALIZED VIEW" in s]
    assert len(views) == 3
    for view in views:
        assert "FROM `stats`.`conversations_local`" in view
        assert re.search(r"TO `stats`\.`\w+_local` AS SELECT", view), view


def test_the_registry_is_whole_on_every_node() -> None:
    for name in ("tenants", "credentials", "meta"):
        create = _create(name)
        assert f"'/clickhouse/tables/all/stats/{name}', '{{replica}}'" in create
        assert not any(f"`{name}_local`" in s for s in DDL)


def test_a_single_node_has_no_cluster_in_its_ddl() -> None:
    plain = ddl.statements("stats")
    assert not any("CLUSTER" in s or "Replicated" in s or "Distributed" in s for s in plain)
    assert all("non_replicated_deduplication_window = 1000" in s for s in plain if "ENGINE" in s)


def test_the_url_names_the_cluster() -> None:
    assert parse_url("clickhouse://u:p@ch1:8123/stats?cluster=main").cluster == "main"
