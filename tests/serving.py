"""Real servers on loopback ports: a `ccstats serve` process, for tests where the server's own
setup (its settings, logging, uvicorn options) is what is tested, and the app in a uvicorn thread,
for tests where the protocol matters (keep-alive connections, streamed bodies, body limits)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Server:
    """A running server: where it listens, and its standard error once it stopped."""

    base: str
    stderr: str = field(default="")


@contextmanager
def serving(
    args: list[str], env: dict[str, str] | None = None, probe: str = "/healthz"
) -> Iterator[Server]:
    """Run `ccstats serve ARGS` (its port chosen by `--port` in ARGS or `CCSTATS_PORT` in `env`)
    until the block ends; waits until `probe` answers (at most a minute)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    port = args[args.index("--port") + 1] if "--port" in args else environment["CCSTATS_PORT"]
    command = [sys.executable, "-m", "ccstats", "serve", *args]
    process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    server = Server(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(server.base + probe, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    server.stderr = process.communicate()[1] or ""
                    raise AssertionError(f"the server did not start: {server.stderr}") from None
                time.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            server.stderr = process.communicate(timeout=30)[1] or ""


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped while starting"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
