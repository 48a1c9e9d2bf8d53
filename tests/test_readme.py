"""The README's operator sections, run: every doc is linked, and the backup procedure (stop the
server, copy the file and its WAL) gives back every record the server acknowledged."""

from __future__ import annotations

import re
import subprocess
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


def test_the_backup_procedure_keeps_every_acknowledged_record(tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    db = live / "ccstats.duckdb"
    with DuckDBStore(str(db)) as store:
        store.registry.put_tenant(TenantSettings(id="t1"))
    token = {"authorization": "Bearer adm_backup"}
    records = [
        {"id": f"c{i}", "tenant_id": "t1", "channel": "voice", "created_at": "2026-11-20T09:00:00Z"}
        for i in range(5)
    ]
    env = {"CCSTATS_ADMIN_TOKEN": "adm_backup"}
    with serving(["--db", str(db), "--port", str(free_port())], env) as server:
        answer = httpx.post(server.base + "/v1/admin/conversations", json=records, headers=token)
        assert answer.json() == {"accepted": 5, "rejected": []}
    # The README's commands, as written, in the directory of the database.
    [block] = re.findall(r"```sh\n(.*?)```", _section("Backups"), re.S)
    subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=live, check=True)
    [copy] = (live / "backup").glob("ccstats-*.duckdb")
    restored = tmp_path / "restored"
    restored.mkdir()
    for file in (live / "backup").iterdir():
        (restored / file.name.replace(copy.stem, "ccstats")).write_bytes(file.read_bytes())
    with DuckDBStore(str(restored / "ccstats.duckdb")) as store:
        page = store.search(SearchRequest("t1", limit=None, sort=(("id", False),)))
        assert [row["id"] for row in page.rows] == ["c0", "c1", "c2", "c3", "c4"]
