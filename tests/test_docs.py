"""Docs are part of the work: every public function documented, every CLI command in the README,
the OpenAPI schema served with every route, and every example in `docs/` run as printed against a
live server with the demo data."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

import ccstats
from ccstats.app import create_app
from ccstats.config import Settings
from ccstats.demo import create_demo
from ccstats.storage import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]


def _public_members() -> list[str]:
    undocumented = []
    for info in pkgutil.walk_packages(ccstats.__path__, "ccstats."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, member in vars(module).items():
            if name.startswith("_") or getattr(member, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(member) or inspect.isclass(member):
                if not inspect.getdoc(member):
                    undocumented.append(f"{info.name}.{name}")
                if inspect.isclass(member):
                    for attr, value in vars(member).items():
                        if (
                            not attr.startswith("_")
                            and inspect.isfunction(value)
                            and not value.__doc__
                        ):
                            if not any(value.__name__ in vars(base) for base in member.__mro__[1:]):
                                undocumented.append(f"{info.name}.{name}.{attr}")
    return undocumented


def test_every_public_function_and_class_has_a_docstring() -> None:
    assert _public_members() == []


def test_readme_opens_with_the_two_commands_and_lists_the_cli() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:400]
    assert "make run" in head and "make test" in head
    for command in (
        "ccstats serve",
        "ccstats demo",
        "ccstats import",
        "ccstats tenant add",
        "ccstats tenant set",
        "ccstats credentials add",
    ):
        assert command in readme, command
    for dialect in (
        "/oifde/rest/api/gettoken",
        "/openapi/im-report/session/time",
        "/api/v1/search/cis/calls",
        "HotlineSessionQuery",
    ):
        assert dialect in readme, dialect


def test_openapi_lists_every_route(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/conversations",
        "/v1/query",
        "/v1/metrics",
        "/v1/tenants/{tenant_id}",
        "/oifde/rest/api/queryChatbotReport",
        "/openapi/im-report/agent/quality",
        "/api/v1/search/cis/calls",
        "/",
    ):
        assert path in paths, path


# -- every example in docs/ runs as printed ---------------------------------------------------------

DOCS = sorted((ROOT / "docs").glob("*.md"))
DEMO_TODAY = date(2026, 11, 21)
"""The day the docs' example dates assume the demo data was made (docs/demo.md)."""
DOCS_PORT = "127.0.0.1:8000"
"""Where the examples expect `make run`'s server; the test's server listens elsewhere."""
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)
_EXPECT = re.compile(r"<!-- expect status: ([0-9 ]+) -->\s*$")
_NOT_RUN = re.compile(r"<!-- not run: [^\n]+ -->\s*$")
_MARK = "@@ccstats-example@@"
_STATUS = re.compile(r"^HTTP_STATUS ([0-9]{3})$", re.M)
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_-]*)"\s*:')
# curl as printed, plus each answer's status on stderr (`%{stderr}`, curl >= 7.63).
_CURL = "curl() { command curl -w '%{stderr}HTTP_STATUS %{http_code}\\n' \"$@\"; }"


@dataclass(frozen=True)
class Example:
    """A runnable block of a doc (`sh` or `python`), and the output printed right after it."""

    doc: str
    line: int
    language: str
    code: str
    printed: str | None
    statuses: tuple[int, ...] | None
    """Set by an `<!-- expect status: 401 -->` line before the block: the statuses its requests
    answer, in order. Without one, every request must answer 2xx. (`<!-- not run: why -->`
    before a block leaves it out.)"""

    @property
    def where(self) -> str:
        """`doc.md:line`, for failure messages."""
        return f"{self.doc}:{self.line}"


def doc_examples(path: Path) -> list[Example]:
    """The runnable blocks of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8") + "\n"
    blocks = list(_FENCE.finditer(text))
    examples = []
    for i, block in enumerate(blocks):
        language, code = block.group(1), block.group(2)
        before = text[: block.start()].rstrip() + "\n"
        if language not in ("sh", "python") or _NOT_RUN.search(before):
            continue
        printed = None
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if (
            after
            and after.group(1) in ("json", "text", "")
            and not text[block.end() : after.start()].strip()
        ):
            printed = after.group(2)
        marker = _EXPECT.search(before)
        statuses = tuple(int(n) for n in marker.group(1).split()) if marker else None
        line = text.count("\n", 0, block.start()) + 1
        examples.append(Example(path.name, line, language, code, printed, statuses))
    return examples


def _script(examples: list[Example], address: str) -> str:
    """One bash script running the examples in order (state carries over, as in a terminal),
    each introduced by a marker on stdout and stderr."""
    lines = ["set -e -o pipefail", _CURL]
    for number, example in enumerate(examples):
        code = example.code.replace(DOCS_PORT, address)
        lines.append(f"printf '\\n{_MARK}{number}\\n'; printf '\\n{_MARK}{number}\\n' >&2")
        if example.language == "python":
            lines.append(f"python3 - <<'CCSTATS_PYTHON_EXAMPLE'\n{code}CCSTATS_PYTHON_EXAMPLE")
        else:
            lines.append(code)
    lines.append(f"printf '\\n{_MARK}end\\n' >&2")
    return "\n".join(lines) + "\n"


def _parts(stream: str, count: int) -> list[str]:
    """A stream cut at the example markers: one part per example (missing ones empty)."""
    pieces = stream.split(f"\n{_MARK}")
    parts = [""] * count
    for piece in pieces[1:]:
        number, _, body = piece.partition("\n")
        if number.isdigit() and int(number) < count:
            parts[int(number)] = body
    return parts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def demo_server() -> Iterator[str]:
    """`make run` in small: the demo data of 2026-11-21 served by uvicorn on a loopback port."""
    with DuckDBStore(":memory:") as store:
        create_demo(store, today=DEMO_TODAY)
        store.maintain()
        app = create_app(Settings(db=":memory:"), store)
        config = uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"127.0.0.1:{config.port}"
        server.should_exit = True
        thread.join(timeout=30)


def _environment(home: Path) -> dict[str, str]:
    """The examples' shell: this interpreter's `python3`, `pip` and `ccstats` first on the PATH,
    this checkout's code, and no CCSTATS_* settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCSTATS_")}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "/usr/bin:/bin")])
    env["PYTHONPATH"] = str(ROOT / "src")
    env["HOME"] = str(home)
    env.pop("VIRTUAL_ENV", None)
    return env


NEEDS_DEMO_DB = {"import.md"}
"""Docs whose examples run where `make run` made `ccstats.duckdb`, its server stopped."""


def _demo_db(directory: Path) -> None:
    """`ccstats.duckdb` with the demo tenants and credentials (no conversations: all that an
    import into it needs)."""
    with DuckDBStore(str(directory / "ccstats.duckdb")) as store:
        create_demo(store, 0, today=DEMO_TODAY)


def test_examples_are_found() -> None:
    found = {path.name: len(doc_examples(path)) for path in DOCS}
    walkthroughs = ("7moor", "aliyun", "demo", "huawei", "import", "native", "operations", "twin24")
    assert all(found[f"{name}.md"] for name in walkthroughs), found
    assert sum(found.values()) >= 30, found


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_example_runs_as_printed(doc: Path, demo_server: str, tmp_path: Path) -> None:
    """Each block exits 0, its requests answer 2xx (or the statuses its marker names), and the
    fields of the output printed after it are in what it really printed."""
    examples = doc_examples(doc)
    if doc.name in NEEDS_DEMO_DB:
        _demo_db(tmp_path)
    run = subprocess.run(
        ["bash", "-c", _script(examples, demo_server)],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    outs, errs = _parts(run.stdout, len(examples)), _parts(run.stderr, len(examples))
    if run.returncode != 0:
        reached = [int(n) for n in re.findall(rf"^{_MARK}([0-9]+)$", run.stderr, re.M)]
        failed = examples[reached[-1]] if reached else examples[0]
        pytest.fail(
            f"{failed.where} exited {run.returncode}:\n{errs[examples.index(failed)][-3000:]}"
        )
    for example, out, err in zip(examples, outs, errs, strict=True):
        statuses = tuple(int(s) for s in _STATUS.findall(err))
        if example.statuses is not None:
            assert statuses == example.statuses, (example.where, statuses, out[-2000:])
        else:
            assert all(200 <= s < 300 for s in statuses), (example.where, statuses, out[-2000:])
        if example.printed:
            missing = set(_KEY.findall(example.printed)) - set(_KEY.findall(out))
            assert not missing, (example.where, missing, out[-2000:])
