"""The operator docs' examples, run: each `curl -s http://127.0.0.1:8000/PATH` line of a shell
block that is followed by `# <answer>` is sent to the real app, and the answer compared."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://127.0.0.1:8000"
_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
_CURL = re.compile(r"curl -s (?P<url>http://127\.0\.0\.1:8000/\S*)$")


def curl_examples(doc: str) -> list[tuple[str, str]]:
    """(path, expected answer) of each `curl -s URL` line followed by a `# answer` line."""
    found = []
    for block in _BLOCK.findall((ROOT / doc).read_text(encoding="utf-8")):
        lines = block.splitlines()
        for line, following in zip(lines, lines[1:], strict=False):
            match = _CURL.match(line.strip())
            if match and following.startswith("# "):
                found.append((match["url"][len(BASE) :], following[2:]))
    return found


@pytest.mark.parametrize("doc", ["docs/operations.md"])
def test_curl_examples_answer_as_shown(doc: str, app_client: TestClient) -> None:
    examples = curl_examples(doc)
    assert examples, f"{doc} has no curl example with its answer"
    for path, expected in examples:
        answer = app_client.get(path)
        assert answer.json() == json.loads(expected), path
