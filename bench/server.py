"""The server under test, in a process of its own (`python -m bench.server --db DB --port N`).

A separate process so that the load generator's Python threads do not share the server's GIL; it
runs the real app (`create_app`) on uvicorn like `ccstats serve`, without the access log. `DB` is
what `ccstats serve --db` takes: a DuckDB file, or `chdb:///absolute/dir` for ClickHouse in the
server's process (`open_store`).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ADMIN_TOKEN", "ServerProcess", "free_port", "main"]

ADMIN_TOKEN = "adm_bench-admin-token"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`bench.server` on a store (a DuckDB file or a `chdb://` URL); a context manager that
    starts and stops it."""

    def __init__(
        self,
        db: Path | str,
        wrap: list[str] | None = None,
        no_cache: bool = False,
        journal: Path | None = None,
    ) -> None:
        self.db, self.port, self.no_cache, self.journal = db, free_port(), no_cache, journal
        self.url = f"http://127.0.0.1:{self.port}"
        self._wrap = wrap or []
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None
        return self._proc.pid

    def __enter__(self) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "bench.server",
            "--db",
            str(self.db),
            "--port",
            str(self.port),
        ]
        if self.no_cache:
            command.append("--no-cache")
        if self.journal is not None:
            command += ["--journal", str(self.journal)]
        self._proc = subprocess.Popen([*self._wrap, *command], cwd=Path(__file__).parent.parent)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the bench server exited with {self._proc.returncode}")
            try:
                if httpx.get(self.url + "/v1/metrics", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the bench server did not start within 120 s")

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        self._proc.terminate()
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def reset_peak_rss(self) -> None:
        """Reset the kernel's peak-RSS mark of the server (Linux `clear_refs` 5)."""
        reset_peak_rss(self.pid)

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS since the last reset) of the server, MiB."""
        return rss_mb(self.pid)


def reset_peak_rss(pid: int | str = "self") -> None:
    """Reset a process's peak RSS (VmHWM) so the next reading is the peak since now."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB (0 where /proc is unavailable)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def _disable_answer_cache(service: Any) -> None:
    # Measures what a report or page costs when computed: a cache of size 0 drops each answer
    # as soon as it is stored (`ccstats.answers`).
    kept = (service.metric_answers, service.pages, service.intervals, service.reports)
    for cache in kept:  # metric answers, pages, interval totals, whole reports
        cache.size = 0


def main() -> None:
    """Serve the app over a store until terminated."""
    import uvicorn

    from ccstats.app import create_app
    from ccstats.config import Settings
    from ccstats.storage import open_store

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="turn off every kept answer (reports, pages, interval totals)",
    )
    parser.add_argument("--journal", help="the ingest journal's directory (`serve --journal`)")
    args = parser.parse_args()
    store = open_store(args.db)
    settings = Settings(db=args.db, admin_token=ADMIN_TOKEN, journal=args.journal)
    app = create_app(settings, store)
    if args.no_cache:
        _disable_answer_cache(app.state.service)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
