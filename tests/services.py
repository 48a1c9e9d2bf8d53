"""The service of each test's app, by store (see `conftest.service_of`)."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from ccstats.service import Service
from ccstats.storage import Store

SERVICES: WeakKeyDictionary[Store, Service] = WeakKeyDictionary()
