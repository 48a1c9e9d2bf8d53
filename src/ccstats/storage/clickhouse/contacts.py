"""Each conversation's next contact, for the FCR measures (the same definition as the DuckDB
store's): the earliest `created_at` among the customer's *other* conversations of the tenant
created after this one ended; NULL without one, or without `ended_at`.

An upsert notes the customers it touches in `pending_contacts`; `flush` reads their live
conversations from `contacts`, computes their next contacts here and rewrites the rows whose
value changed as cancel and state rows. A window function's "next started contact" is not this
value when contacts overlap (24% of a month wrong in the design's measurement, section 4).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Contact", "next_contacts"]


@dataclass(frozen=True)
class Contact:
    """One live conversation of a customer, as `contacts` holds it (times naive UTC)."""

    customer_id: str
    id: str
    version: int
    created_at: datetime
    ended_at: datetime | None
    next_contact_at: datetime | None


def next_contacts(contacts: Iterable[Contact]) -> dict[str, datetime | None]:
    """Per conversation id whose stored next contact is wrong, the right one."""
    by_customer: dict[str, list[Contact]] = defaultdict(list)
    for contact in contacts:
        by_customer[contact.customer_id].append(contact)
    changed: dict[str, datetime | None] = {}
    for rows in by_customer.values():
        rows.sort(key=lambda c: (c.created_at, c.id))
        starts = [c.created_at for c in rows]
        for row in rows:
            found = None
            if row.ended_at is not None:
                at = bisect_right(starts, row.ended_at)
                while at < len(rows) and rows[at].id == row.id:
                    at += 1  # a row created after it ended (bad data, kept as sent) is not its own next
                found = rows[at].created_at if at < len(rows) else None
            if found != row.next_contact_at:
                changed[row.id] = found
    return changed
