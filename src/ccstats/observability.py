"""What an operator sees of a running server: Prometheus metrics, a request log with request ids,
and plain-text or JSON logs that never carry a secret.

Each app has its own `Telemetry` (its own Prometheus registry), so two apps in one process (the
tests) count apart. The request log replaces uvicorn's access log: one line per request, the query
string with the values of sensitive parameters replaced (Twin24's `refreshToken` travels in the
query string), and never a header or a body.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccstats import __version__
from ccstats.dialects import DIALECTS
from ccstats.service import Service

__all__ = [
    "ACCESS_LOGGER",
    "LOG_FORMATS",
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "RequestIdFilter",
    "RequestObserver",
    "Telemetry",
    "current_request_id",
    "dialect_of",
    "log_config",
    "redact_query",
    "relative_path",
    "telemetry_of",
]

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "ccstats.access"
LOG_FORMATS = ("text", "json")

_REQUEST_ID: ContextVar[str | None] = ContextVar("ccstats_request_id", default=None)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""A caller's own X-Request-ID is kept when it is this plain (it goes into logs and a header)."""

_SENSITIVE = ("token", "secret", "password", "passwd", "signature", "sign", "credential", "apikey")
"""A query parameter whose name contains one of these (any case) has its value logged as `***`:
Twin24's `refreshToken` (seed 003), Alibaba's legacy `Signature` and `SecurityToken` (seed 004)."""
_REDACTED = "***"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
"""Seconds: kept answers take about a millisecond, exports of a whole result up to a minute."""
UPKEEP_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900)


def current_request_id() -> str | None:
    """The id of the request being served in this context (None outside a request)."""
    return _REQUEST_ID.get()


def _is_sensitive(name: str) -> bool:
    lowered = name.lower().replace("-", "").replace("_", "")
    return any(word in lowered for word in _SENSITIVE)


def redact_query(query_string: str) -> str:
    """The query string with the value of every sensitive parameter replaced by `***`.

    Example:
        >>> redact_query("refreshToken=abc&ttl=60")
        'refreshToken=***&ttl=60'
    """
    pieces = []
    for piece in query_string.split("&"):
        name, equals, _ = piece.partition("=")
        pieces.append(
            f"{name}={_REDACTED}" if equals and _is_sensitive(unquote_plus(name)) else piece
        )
    return "&".join(pieces)


def relative_path(scope: Scope) -> str:
    """The request path below the app's root path (what the routes match)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def dialect_of(scope: Scope) -> str:
    """Which API a request is for: a vendor dialect's name, `native` (/v1), or `other`."""
    path = relative_path(scope)
    request = Request({**scope, "path": path, "root_path": ""})
    for name, dialect in DIALECTS.items():
        if dialect.matches(request):
            return name
    return "native" if path == "/v1" or path.startswith("/v1/") else "other"


def _route_template(scope: Scope) -> str:
    # Labels stay few: a route's template, never the path a client made up.
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "<unmatched>"


class _StoreCollector(Collector):
    """Read at each scrape: the store's size on disk, its upkeep backlog, kept-answer hits."""

    def __init__(self, service: Service, db_path: str) -> None:
        self.service = service
        self.db_path = db_path

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families depend on the store (a file or memory)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The current values."""
        size = GaugeMetricFamily(
            "ccstats_store_size_bytes", "Size of the store's files on disk.", labels=["file"]
        )
        if self.db_path != ":memory:":
            for label, path in (("database", self.db_path), ("wal", self.db_path + ".wal")):
                try:
                    size.add_metric([label], os.stat(path).st_size)
                except OSError:
                    size.add_metric([label], 0)  # no WAL right after a checkpoint
        yield size
        backlog = GaugeMetricFamily(
            "ccstats_upkeep_backlog_rows",
            "Conversations written in arrival order, waiting for compaction to sort them.",
        )
        unsorted = getattr(self.service.store, "unsorted_rows", None)
        if isinstance(unsorted, int):
            backlog.add_metric([], unsorted)
        yield backlog
        if self.service.journal is not None:
            batches, rows = self.service.journal.lag()
            waiting = GaugeMetricFamily(
                "ccstats_journal_waiting",
                "Ingest batches acknowledged (durable in the journal) and not yet stored.",
                labels=["unit"],
            )
            waiting.add_metric(["batches"], batches)
            waiting.add_metric(["rows"], rows)
            yield waiting
        kept = CounterMetricFamily(
            "ccstats_kept_answers",
            "Answers served from the kept answers (hit) or computed (miss), by kind of answer.",
            labels=["cache", "result"],
        )
        service = self.service
        caches = {
            "metrics": service.metric_answers,
            "pages": service.pages,
            "intervals": service.intervals,
            "reports": service.reports,
        }
        for name, cache in caches.items():
            kept.add_metric([name, "hit"], cache.hits)
            kept.add_metric([name, "miss"], cache.misses)
        yield kept


class Telemetry:
    """The Prometheus metrics of one app."""

    def __init__(self, service: Service, db_path: str) -> None:
        """Metrics over the service's store, whose file (if any) is `db_path`."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ccstats_http_requests",
            "HTTP requests by route template, method, API dialect and status.",
            ["route", "method", "dialect", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ccstats_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            ["route", "method", "dialect"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingested = Counter(
            "ccstats_ingest_records",
            "Records received by the HTTP ingest, accepted or rejected.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.upkeep_seconds = Histogram(
            "ccstats_upkeep_duration_seconds",
            "Duration of the background upkeep rounds (settle: next contacts; maintain: "
            "stale pre-aggregates and compaction).",
            ["task"],
            buckets=UPKEEP_BUCKETS,
            registry=self.registry,
        )
        self.upkeep_failures = Counter(
            "ccstats_upkeep_failures",
            "Background upkeep rounds that failed (the next round retries).",
            ["task"],
            registry=self.registry,
        )
        Info("ccstats_build", "The running version.", registry=self.registry).info(
            {"version": __version__}
        )
        self.registry.register(_StoreCollector(service, db_path))

    def observe_request(
        self, route: str, method: str, dialect: str, status: int, seconds: float
    ) -> None:
        """Count a finished request and its duration."""
        self.requests.labels(route, method, dialect, str(status)).inc()
        self.latency.labels(route, method, dialect).observe(seconds)

    def count_ingest(self, kind: str, accepted: int, rejected: int) -> None:
        """Count the records of one ingest request (`kind`: conversations or intervals)."""
        self.ingested.labels(kind, "accepted").inc(accepted)
        self.ingested.labels(kind, "rejected").inc(rejected)

    @contextmanager
    def upkeep(self, task: str) -> Iterator[None]:
        """Time one upkeep round; a failure is counted and raised on."""
        started = time.perf_counter()
        try:
            yield
        except Exception:
            self.upkeep_failures.labels(task).inc()
            raise
        finally:
            self.upkeep_seconds.labels(task).observe(time.perf_counter() - started)


def telemetry_of(app: Any) -> Telemetry | None:
    """The app's `Telemetry` (None for an app made without one)."""
    telemetry = getattr(app.state, "telemetry", None)
    return telemetry if isinstance(telemetry, Telemetry) else None


class RequestObserver:
    """ASGI middleware: a request id (the caller's plain `X-Request-ID`, else a new one) returned
    in the `X-Request-ID` header, the request counted and timed, and one access-log line."""

    def __init__(
        self, app: ASGIApp, telemetry: Telemetry, classify: Callable[[Scope], str] = dialect_of
    ) -> None:
        """Wrap `app`."""
        self.app = app
        self.telemetry = telemetry
        self.classify = classify
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request through the wrapped app, observing it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        reset = _REQUEST_ID.set(request_id)
        status = 500  # unless the app starts a response (a crash is answered outside)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The id stays set for the crash handler's log line, which runs after this (outside,
            # in Starlette's ServerErrorMiddleware); the request's task ends with it.
            self._finish(scope, request_id, status, time.perf_counter() - started)
            raise
        self._finish(scope, request_id, status, time.perf_counter() - started)
        _REQUEST_ID.reset(reset)

    def _finish(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route, dialect, method = _route_template(scope), self.classify(scope), scope["method"]
        self.telemetry.observe_request(route, method, dialect, status, seconds)
        query_string = redact_query(scope.get("query_string", b"").decode("latin-1"))
        target = scope.get("root_path", "") + relative_path(scope)
        target += "?" + query_string if query_string else ""
        client = scope.get("client")
        self.log.info(
            '%s "%s %s" %d %.1f ms',
            client[0] if client else "-",
            method,
            target,
            status,
            seconds * 1000,
            extra={
                "request_id": request_id,
                "method": method,
                "path": target,
                "route": route,
                "dialect": dialect,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "client": client[0] if client else None,
            },
        )


# -- logging ---------------------------------------------------------------------------------

_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Gives every log record the `request_id` of the request it was written in (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attribute; never drops a record."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the record's extra
    fields, and `exception` when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line of JSON."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """Plain lines; the request id closes each line written during a request."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


def log_config(log_format: str = "text", level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server (and uvicorn's own loggers): `text` lines or
    `json` objects on stderr; uvicorn's access log stays off (`RequestObserver` writes ours)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if log_format == "json"
        else {"()": _TextFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "main",
        "filters": ["request_id"],
    }
    loggers = {
        name: {"handlers": ["main"], "level": level.upper(), "propagate": False}
        for name in ("ccstats", "uvicorn", "uvicorn.error")
    }
    loggers["uvicorn.access"] = {"handlers": [], "level": "CRITICAL", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": loggers,
    }
