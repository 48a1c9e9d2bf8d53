"""One replay guard for the signing dialects (7moor, Alibaba): each nonce is taken once, in the
registry, so that a signed request answered once is refused after a restart of the server and by
every process serving the same store.

A name is taken with the registry's compare-and-set (`Registry.compare_and_set`): of two requests
with the same nonce, whichever process serves them, exactly one passes. A taken name holds its
expiry (ISO UTC, which sorts as time); expired names are deleted now and then. Before a restart
nonces lived in process memory and a signed request was answered again, byte for byte, once the
server restarted (issue 15, item 5).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from typing import Any

from ccstats.service import Service

__all__ = ["NonceCache", "PURGE_EVERY_S", "nonce_cache"]

PURGE_EVERY_S = 60.0
"""How often the expired nonces of a namespace are deleted from the registry."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


class NonceCache:
    """Nonces of one dialect (`namespace`), each usable once until its expiry."""

    def __init__(self, service: Service, namespace: str) -> None:
        """Keep the nonces of `namespace` in the service's registry."""
        self._registry = service.registry
        self._prefix = f"nonce:{namespace}:"
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def first_use(self, nonce: str, expires_at: float, now: float) -> bool:
        """Take `nonce` (any text; hashed to a bounded name) until `expires_at` (epoch seconds);
        False when it was taken before and has not expired (a replay)."""
        self._purge(now)
        name = self._prefix + hashlib.sha256(nonce.encode()).hexdigest()
        expiry = _iso(expires_at)
        if self._registry.compare_and_set(name, None, expiry):
            return True
        held = self._registry.get_meta(name)
        if held is not None and held > _iso(now):
            return False
        # Expired but not purged yet: take it over, unless another request just did.
        return self._registry.compare_and_set(name, held, expiry)

    def _purge(self, now: float) -> None:
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + PURGE_EVERY_S
        self._registry.delete_meta_before(self._prefix, _iso(now))


_STATE_LOCK = threading.Lock()


def nonce_cache(state: Any, namespace: str) -> NonceCache:
    """The app's nonce cache of a dialect (`state`: the app's state, with its `service`),
    created on first use."""
    attribute = f"nonces_{namespace}"
    with _STATE_LOCK:
        cache = getattr(state, attribute, None)
        if cache is None:
            cache = NonceCache(state.service, namespace)
            setattr(state, attribute, cache)
    found: NonceCache = cache
    return found
