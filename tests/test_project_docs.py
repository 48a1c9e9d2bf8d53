"""The docs stay inside the repository: every link of README.md and docs/*.md resolves to a file
(and heading) of the repository or to the local server; nothing points at the design notes that
live outside it; docs/data-model.md covers every field of every record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ccstats.derive import FACT_COLUMNS
from ccstats.records import AgentInterval, Conversation, Message, TenantSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")
_LOCAL_SERVER = ("http://127.0.0.1:", "http://localhost:")


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return _LINK.findall(text)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repository(doc: Path) -> None:
    for target in _links(doc):
        if target.startswith(_LOCAL_SERVER):
            continue  # the running server (`make run`), not another site
        assert "://" not in target and not target.startswith("mailto:"), f"{doc.name}: {target}"
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        assert resolved.is_relative_to(ROOT), f"{doc.name}: {target} leaves the repository"
        assert resolved.exists(), f"{doc.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{doc.name}: no heading #{anchor} in {file_part}"


_OUTSIDE = re.compile(r"spec/|\.\./shared|shared/seeds|vendor-protocols-research|DESIGN\.md")


def test_nothing_points_at_the_design_notes_outside_the_repository() -> None:
    files = [
        *DOCS,
        *sorted((ROOT / "src").rglob("*.py")),
        ROOT / "Makefile",
        ROOT / "pyproject.toml",
    ]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _OUTSIDE.search(line)
    ]
    assert found == []


def _documented_fields(section: str) -> set[str]:
    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([a-z_]+)`", first_cell))
    return names


@pytest.mark.parametrize(
    ("section", "fields"),
    [
        ("Tenants", set(TenantSettings.model_fields)),
        ("Conversations", set(Conversation.model_fields)),
        ("Messages (the transcript)", set(Message.model_fields)),
        ("Transcript facts (derived at ingest)", {*FACT_COLUMNS, "stored_at"}),
        ("Agent intervals", set(AgentInterval.model_fields)),
    ],
)
def test_data_model_doc_has_every_field(section: str, fields: set[str]) -> None:
    assert _documented_fields(section) == fields
