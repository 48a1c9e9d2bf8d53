"""Fail imports of optional modules that are not installed at once, instead of per attempt.

Some libraries try an optional import on every call of a hot path (DuckDB `pandas` per bound
parameter, pyarrow `dateutil` per converted column); when the module is absent each try walks
`sys.path`. A finder at the front of `sys.meta_path` makes those tries fail immediately.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

__all__ = ["refuse_if_absent"]


class _Refuse:
    """An import finder that fails one absent top-level module (and its submodules)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        """Refuse the module; leave every other one to the next finder."""
        if name == self.module or name.startswith(self.module + "."):
            raise ModuleNotFoundError(f"No module named {self.module!r}", name=name)


def refuse_if_absent(module: str) -> None:
    """Make `import module` fail at once when it is not installed (idempotent).

    Not `sys.modules[module] = None`: pyarrow's pandas shim would take None for the module and
    fail on its `__version__`.
    """
    if any(isinstance(f, _Refuse) and f.module == module for f in sys.meta_path):
        return  # before find_spec, which the installed finder would fail
    if importlib.util.find_spec(module) is not None:
        return
    sys.meta_path.insert(0, _Refuse(module))
