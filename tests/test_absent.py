"""`refuse_if_absent`: absent optional modules fail at once; installed ones are untouched."""

from __future__ import annotations

import importlib
import sys

import pytest

from ccstats.absent import _Refuse, refuse_if_absent


def test_an_absent_module_is_refused_once_and_others_import() -> None:
    name = "ccstats_no_such_module"
    before = len(sys.meta_path)
    try:
        refuse_if_absent(name)
        refuse_if_absent(name)  # idempotent: one finder
        assert len(sys.meta_path) == before + 1
        assert isinstance(sys.meta_path[0], _Refuse)
        with pytest.raises(ModuleNotFoundError, match=name):
            importlib.import_module(f"{name}.sub")
        refuse_if_absent("json")  # installed: nothing added
        assert len(sys.meta_path) == before + 1
        assert importlib.import_module("json").dumps([]) == "[]"
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "module", None) != name]
