"""docs/clickhouse.md's in-process example runs as written: demo, tenant, serve, a query, and an
import that goes through the running server (chDB holds its directory for one process).

Each command is its own process, as a user types it: this test process keeps its own chDB
directory, and chDB holds one directory per process.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _example() -> list[str]:
    """The commands of the "Trying it in process" block, continuation lines joined."""
    text = (ROOT / "docs" / "clickhouse.md").read_text(encoding="utf-8")
    block = text.split("### Trying it in process", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_in_process_example_runs_as_written(tmp_path: Path) -> None:
    port = str(_free_port())
    ccstats = f"{shlex.quote(sys.executable)} -m ccstats"
    env = {**os.environ, "CCSTATS_URL": f"http://127.0.0.1:{port}"}
    env.pop("CCSTATS_ADMIN_TOKEN", None)
    (tmp_path / "calls.ndjson").write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"e{i}",
                    "tenant_id": "acme-eu",
                    "channel": "voice",
                    "created_at": "2026-11-20T09:00:00+01:00",
                }
            )
            for i in range(2)
        )
    )

    def line(command: str) -> str:
        command = command.replace("/tmp/ccstats-ch", str(tmp_path / "ch"))
        command = re.sub(r"^ccstats\b", ccstats, command).replace(":8000", f":{port}")
        return command.replace("--port 8000", f"--port {port}").split("   #")[0]

    commands = _example()
    assert [c.split()[:2] for c in commands] == [
        ["ccstats", "demo"],
        ["ccstats", "tenant"],
        ["ccstats", "serve"],
        ["curl", "-s"],
        ["ccstats", "import"],
    ]
    for command in commands[:2]:
        done = subprocess.run(
            line(command),
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    server = subprocess.Popen(
        line(commands[2]).rstrip("& "),
        shell=True,
        cwd=tmp_path,
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/metrics").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        done = subprocess.run(
            line(commands[3]),
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        row = json.loads(done.stdout)["rows"][0]
        assert row["conversations"] > 0 and row["fcr_24h"] is not None
        done = subprocess.run(
            line(commands[4]),
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"accepted": 2, "rejected": 0}
        assert "held by a running server" in done.stderr
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
