"""The project's licence: the Apache-2.0 text in LICENSE, declared in pyproject, and every licence
file it names present (those of vendored assets too)."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def test_license_file_is_the_whole_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    # All nine sections, then the appendix.
    for number, title in enumerate(
        (
            "Definitions",
            "Grant of Copyright License",
            "Grant of Patent License",
            "Redistribution",
            "Submission of Contributions",
            "Trademarks",
            "Disclaimer of Warranty",
            "Limitation of Liability",
            "Accepting Warranty or Additional Liability",
        ),
        start=1,
    ):
        assert f"{number}. {title}." in text, title
    assert "END OF TERMS AND CONDITIONS" in text


def test_pyproject_declares_the_spdx_licence_and_its_files() -> None:
    project = _project()
    assert project["license"] == "Apache-2.0"
    patterns = project["license-files"]
    assert isinstance(patterns, list) and "LICENSE" in patterns
    for pattern in patterns:
        assert glob.glob(str(ROOT / pattern)), (
            f"license-files names {pattern}, which matches nothing"
        )
