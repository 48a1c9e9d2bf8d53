"""The README's operator sections, run: every doc is linked, and the backup procedure (a backup
while the server ingests, a restore with the server stopped) gives back every record the server
acknowledged before the backup."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from tests.serving import free_port, serving

from ccstats.records import TenantSettings
from ccstats.storage import DuckDBStore, SearchRequest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return re.split(r"\n##+ ", README.split(f"### {title}\n", 1)[1], maxsplit=1)[0]


def test_every_doc_and_operator_topic_is_in_the_readme() -> None:
    links = {target.partition("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", README)}
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{doc.name}" in links, f"README.md does not link docs/{doc.name}"
    assert "LICENSE" in links
    for topic in ("Host and port", "Behind a reverse proxy", "Where the data lives", "Backups"):
        assert f"### {topic}\n" in README
    assert "--port 8080" in _section("Host and port") and "--root-path" in README


def _shell(block: str, cwd: Path) -> None:
    """Run a README block as an operator would: `ccstats` on the PATH, this checkout's code."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT / "src"),
    }
    for name in ("CCSTATS_DB", "CCSTATS_URL", "CCSTATS_ADMIN_TOKEN", "CCSTATS_PORT"):
        env.pop(name, None)
    subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env, check=True)


def test_a_backup_taken_during_ingest_restores_every_acknowledged_record(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    db = live / "ccstats.duckdb"
    with DuckDBStore(str(db)) as store:
        store.registry.put_tenant(TenantSettings(id="t1"))
    backup, restore = re.findall(r"```sh\n(.*?)```", _section("Backups"), re.S)
    acknowledged: list[str] = []
    stop = threading.Event()
    with serving(["--db", str(db), "--port", str(free_port())]) as server:
        token = {
            "authorization": "Bearer " + (live / "ccstats.duckdb.admin-token").read_text().strip()
        }

        def ingest() -> None:
            with httpx.Client(base_url=server.base, headers=token, timeout=60) as client:
                batch = 0
                while not stop.is_set():
                    records = [
                        {"id": f"b{batch}-{i}", "tenant_id": "t1", "channel": "voice",
                         "created_at": f"2026-11-{1 + batch % 28:02}T09:{i:02}:00Z"}
                        for i in range(20)
                    ]  # fmt: skip
                    answer = client.post("/v1/admin/conversations", json=records)
                    assert answer.json() == {"accepted": 20, "rejected": []}
                    acknowledged.extend(r["id"] for r in records)
                    batch += 1

        writer = threading.Thread(target=ingest)
        writer.start()
        try:
            while len(acknowledged) < 200:
                stop.wait(0.05)
            before = set(acknowledged)
            _shell(backup, live)  # the README's commands, as written, while ingest goes on
            after_backup = len(acknowledged)
            while len(acknowledged) < after_backup + 100:  # more ingest the backup must not hold
                stop.wait(0.05)
        finally:
            stop.set()
            writer.join()
    [copy] = (live / "backup").glob("ccstats-*.duckdb")
    _shell(restore.replace("backup/ccstats-2026-11-20.duckdb", f"backup/{copy.name}"), live)
    with DuckDBStore(str(db)) as store:
        page = store.search(SearchRequest("t1", limit=None))
        restored = {row["id"] for row in page.rows}
    assert before <= restored <= set(acknowledged)
    assert len(restored) < len(acknowledged)  # the later records are not in the backup
    assert not (live / "ccstats.duckdb.wal").exists()
