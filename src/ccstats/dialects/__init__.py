"""Vendor API dialects, one module each (seeds 000-001 Huawei, 002 7moor, 003 Twin24, 004 Alibaba)."""

from __future__ import annotations

from typing import cast

from ccstats.dialects import aliyun, huawei, sevenmoor, twin24
from ccstats.dialects.base import Dialect

__all__ = ["DIALECTS", "Dialect"]

DIALECTS: dict[str, Dialect] = {
    module.NAME: cast(Dialect, module) for module in (huawei, sevenmoor, twin24, aliyun)
}
