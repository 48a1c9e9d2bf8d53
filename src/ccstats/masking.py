"""Masking of customers' phone numbers and names in what leaves ccstats (searches, exports, the
vendors' call details), per tenant (`TenantSettings.mask_phones`, `mask_names`).

The shape is the vendors' own: Alibaba AICCS shows `CalledNumber` as `135615****` in its samples
(seed 004, ListHotlineRecordDetail / call detail records): the first digits, then stars. Filters
still match the stored values: a tenant searching by a full number finds its calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

__all__ = [
    "Masker",
    "NAME_COLUMNS",
    "PHONE_COLUMNS",
    "mask_batch",
    "mask_name",
    "mask_phone",
    "mask_rows",
    "maskers",
]

PHONE_COLUMNS = (
    "customer_phone",
    "calling_number",
    "called_number",
    "trunk_number",
    "transfer_to_number",
)
"""Conversation fields that hold phone numbers (the vendors mask the trunk line too)."""

NAME_COLUMNS = ("customer_name",)
"""Conversation fields that hold a customer's name."""


def mask_phone(value: str) -> str:
    """The first six characters, but never more than all except the last four, then `****`
    whatever the length (the length itself is hidden).

    Example:
        >>> mask_phone("13561512345"), mask_phone("95588"), mask_phone("110")
        ('135615****', '9****', '****')
    """
    return value[: max(0, min(6, len(value) - 4))] + "****"


def mask_name(value: str) -> str:
    """The first character, then `**` whatever the length.

    Example:
        >>> mask_name("刘测试"), mask_name("Ann Lee")
        ('刘**', 'A**')
    """
    return value[:1] + "**"


Masker = Callable[[str], str]


def maskers(mask_phones: bool, mask_names: bool) -> dict[str, Masker]:
    """The masker of each column a tenant's settings mask (empty: nothing masked)."""
    found: dict[str, Masker] = {}
    if mask_phones:
        found.update(dict.fromkeys(PHONE_COLUMNS, mask_phone))
    if mask_names:
        found.update(dict.fromkeys(NAME_COLUMNS, mask_name))
    return found


def mask_rows(
    columns: Sequence[str], rows: list[tuple[Any, ...]], masks: dict[str, Masker]
) -> list[tuple[Any, ...]]:
    """Rows (tuples in the order of `columns`) with the masked columns' text masked."""
    where = [(i, masks[name]) for i, name in enumerate(columns) if name in masks]
    if not where:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, mask in where:
            if isinstance(values[i], str):
                values[i] = mask(values[i])
        out.append(tuple(values))
    return out


def mask_batch(batch: pa.RecordBatch, masks: dict[str, Masker]) -> pa.RecordBatch:
    """An Arrow batch with the masked columns' text masked (other columns untouched)."""
    arrays = list(batch.columns)
    changed = False
    for i, name in enumerate(batch.schema.names):
        kind = batch.schema.field(i).type
        if name in masks and _is_text(kind):
            mask = masks[name]
            values = arrays[i].to_pylist()
            arrays[i] = pa.array([mask(v) if v is not None else None for v in values], kind)
            changed = True
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema) if changed else batch


def _is_text(kind: pa.DataType) -> bool:
    view = getattr(pa.types, "is_string_view", None)
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (view is not None and view(kind))
    )
