"""``Client``: ``track`` validates and queues an event; a background thread delivers the queue.

Delivery is at least once: a batch is sent again after a network error, a timeout, a 429 or a
5xx, with the same client-made ``event_id`` in every copy, and the API stores one event per
``event_id``. What cannot be delivered is never dropped silently: it is counted and handed to
``on_error(exc, events)``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._envelope import (
    MAX_BODY_BYTES,
    MAX_EVENTS_PER_REQUEST,
    SENT_AT_BYTES,
    UTC,
    build_event,
    format_time,
    with_sent_at,
)
from ._http import Backoff, HttpResponse, Transport, parse_retry_after, retryable
from ._version import __version__
from .errors import (
    ApiError,
    DeliveryError,
    DeliveryFailed,
    EventsDropped,
    EventsRejected,
    Rejection,
    TheEyeError,
    TransportError,
    api_error,
)
from .validation import ValidationReport

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"
DEFAULT_USER_AGENT = f"theeye-client/{__version__} python/{sys.version_info[0]}.{sys.version_info[1]}"
LOG = logging.getLogger("theeye_client")

#: ``on_error(exc, events)``: what went wrong, and the events (as sent) it concerns.
OnError = Callable[[DeliveryError, list[dict[str, Any]]], None]
_JSON = {"Content-Type": "application/json"}
VALIDATE_PATH = "/events/validate"


@dataclass(frozen=True)
class DeliveryStats:
    """Event counts since the client was made (or since ``fork``, in a child).

    ``queued`` = ``sent`` + ``rejected`` + ``failed`` + ``pending`` at every moment.
    """

    queued: int  #: accepted by ``track`` (queued, or sent inline in sync mode)
    sent: int  #: accepted by the API (listed in a 2xx answer)
    rejected: int  #: refused by the API for good (per-event rejections, 400/401/403/413)
    failed: int  #: given up on: ``max_retries`` ran out, or closed before they could be sent
    dropped: int  #: never queued: the queue was full, or ``track`` came after ``close``
    retried: int  #: event copies sent again after a failed attempt (a batch of 100 retried twice: 200)
    pending: int  #: queued and not settled yet (waiting or in flight)


class _Item:
    """A queued event: its encoded bytes (the event is frozen at ``track``), its place in the queue."""

    __slots__ = ("body", "queued_at", "seq")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.seq = 0
        self.queued_at = 0.0

    @property
    def event(self) -> dict[str, Any]:
        """The event as sent (decoded again: only needed when it goes to ``on_error``)."""
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


class _Counters:
    __slots__ = ("dropped", "failed", "queued", "rejected", "retried", "sent")

    def __init__(self) -> None:
        self.queued = self.sent = self.rejected = self.failed = self.dropped = self.retried = 0


class _LogReport:
    """The default ``on_error``: a warning on the ``theeye_client`` logger for each failure, but
    at most one every 10 s for dropped events (a long outage would otherwise flood the log)."""

    QUIET_SECONDS = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quiet_until = 0.0
        self._suppressed = 0

    def __call__(self, exc: DeliveryError, events: list[dict[str, Any]]) -> None:
        if not isinstance(exc, EventsDropped):
            LOG.warning("The Eye: %d event(s) not delivered: %s", len(events), exc)
            return
        with self._lock:
            now = time.monotonic()
            if now < self._quiet_until:
                self._suppressed += len(events)
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._quiet_until = now + self.QUIET_SECONDS
        LOG.warning(
            "The Eye: %d event(s) dropped: %s%s",
            len(events) + suppressed,
            exc,
            f" ({suppressed} more since the last warning)" if suppressed else "",
        )


class Client:
    """Sends events to ``POST /events``; thread-safe, never blocks ``track`` on the network.

    ``sync_mode=True`` sends each event in ``track`` itself (retries included) instead of in a
    background thread: for short-lived processes that may be frozen or killed right after their
    work (AWS Lambda, cron scripts). ``sleep`` replaces the wait between retries (tests);
    ``clock`` the source of default timestamps.
    """

    def __init__(
        self,
        api_key: str,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        timeout: float = 10.0,
        max_retries: int = 10,
        batch_size: int = 100,
        flush_interval: float = 0.5,
        max_queue_size: int = 10_000,
        on_error: OnError | None = None,
        sync_mode: bool = False,
        user_agent: str | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        shutdown_timeout: float = 10.0,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip() or any(c in api_key for c in "\r\n"):
            raise ValueError("api_key must be a non-empty string on one line")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if not 1 <= batch_size <= MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"batch_size must be 1-{MAX_EVENTS_PER_REQUEST}")
        if not flush_interval > 0:
            raise ValueError("flush_interval must be positive")
        if max_queue_size < 1:
            raise ValueError("max_queue_size must be at least 1")
        if shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must be 0 or more")
        self._transport = Transport(
            endpoint,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": user_agent or DEFAULT_USER_AGENT},
        )
        self._max_retries = max_retries
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue_size = max_queue_size
        self._on_error: OnError = on_error or _LogReport()
        self._sync_mode = sync_mode
        self._backoff = Backoff(backoff_base, backoff_max)
        self._shutdown_timeout = shutdown_timeout
        self._sleep = sleep
        self._clock = clock or (lambda: datetime.now(UTC))
        self._closed = False
        self._init_state()
        _register(self)

    def _init_state(self) -> None:
        """Everything a forked child must not share with its parent."""
        self._lock = threading.Lock()
        self._wake_sender = threading.Condition(self._lock)
        self._settled = threading.Condition(self._lock)
        self._abort = threading.Event()
        self._queue: deque[_Item] = deque()
        self._in_flight: list[_Item] | None = None
        self._seq = 0  # sequence number of the last queued event
        self._flush_upto = 0  # events up to this number go out without waiting for a full batch
        self._stopping = False  # close(): the sender ends once the queue is empty
        self._abandon = False  # close() timed out: give up on retries of the batch in flight
        self._thread: threading.Thread | None = None
        self._counters = _Counters()

    # ------------------------------------------------------------------ public API

    def track(
        self,
        session_id: str,
        category: str,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        timestamp: datetime | str | None = None,
        event_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> str:
        """Queue one event and return its ``event_id``; ``ValueError`` if the API would refuse it.

        ``timestamp`` defaults to now (UTC, microseconds); a datetime without a zone is UTC.
        ``event_id`` defaults to a random 32-hex-digit id, the same in every retry. ``context``
        says what the application knows about its end user's visit, so that a server forwards
        it: ``{"user_agent": ..., "ip": ..., "page": {"url", "referrer", "title"}, "locale",
        "timezone", "screen": {"width", "height"}}`` (any of them; the API stores the address
        only anonymised). When the
        queue is full (or the client closed) the event is dropped, counted in ``dropped`` and
        handed to ``on_error`` with :class:`EventsDropped`; its id is still returned.
        """
        event, body = build_event(
            session_id, category, name, data, timestamp, event_id, self._clock(), context
        )
        item = _Item(body)
        dropped: EventsDropped | None = None
        with self._lock:
            if self._closed:
                self._counters.dropped += 1
                dropped = EventsDropped("closed", "track() was called after close(); the event was dropped")
            elif self._sync_mode:
                self._counters.queued += 1
            elif len(self._queue) >= self._max_queue_size:
                self._counters.dropped += 1
                dropped = EventsDropped(
                    "queue_full",
                    f"{self._max_queue_size} events are already waiting (max_queue_size); the event was dropped",
                )
            else:
                self._seq += 1
                item.seq = self._seq
                item.queued_at = time.monotonic()
                self._queue.append(item)
                self._counters.queued += 1
                waiting = len(self._queue)
                if self._ensure_sender() and (waiting == 1 or waiting == self._batch_size):
                    self._wake_sender.notify()
        if dropped is not None:
            self._report(dropped, [event])
        elif self._sync_mode:
            self._deliver_settling([item])
        return str(event["event_id"])

    def flush(self, timeout: float | None = None) -> DeliveryStats:
        """Send what is queued now and wait until each of those events is accepted, rejected or
        given up on (or ``timeout`` seconds pass); return the counts. ``pending`` > 0 after a
        timeout says how many are still on their way."""
        if self._sync_mode:
            return self.stats()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._lock:
            if self._thread is not None and threading.current_thread() is self._thread:
                return self._snapshot()  # called from on_error: waiting on ourselves would hang
            target = self._seq
            self._flush_upto = max(self._flush_upto, target)
            inline = bool(self._queue) and not self._ensure_sender()
            self._wake_sender.notify()
        if inline:
            self._drain_inline(deadline)
        with self._lock:
            while self._oldest_unsettled() <= target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._settled.wait(remaining)
            return self._snapshot()

    def close(self, timeout: float | None = None) -> DeliveryStats:
        """Flush (up to ``timeout`` seconds), then stop the sender. Events still queued then are
        given up on: counted in ``failed`` and handed to ``on_error``. Later ``track`` calls drop.
        Idempotent; also done at interpreter exit (bounded by ``shutdown_timeout``)."""
        with self._lock:
            if self._closed and self._stopping:
                return self._snapshot()
            self._closed = True
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        self.flush(timeout)
        with self._lock:
            self._stopping = True
            leftovers = [item.event for item in self._queue]
            self._queue.clear()
            if leftovers or self._in_flight:
                self._abandon = True
                self._abort.set()
            self._counters.failed += len(leftovers)
            self._wake_sender.notify_all()
            self._settled.notify_all()
            thread = self._thread
        if leftovers:
            self._report(
                DeliveryFailed("the client was closed before these events could be sent", None, 0), leftovers
            )
        if thread is not None and thread is not threading.current_thread():
            thread.join(None if deadline is None else max(0.05, deadline - time.monotonic()))
        self._transport.close()
        _LIVE.discard(self)
        return self.stats()

    def stats(self) -> DeliveryStats:
        with self._lock:
            return self._snapshot()

    def validate(self, events: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> ValidationReport:
        """``POST /events/validate``: what the pipeline would make of ``events`` (one event, or a
        list of 1-500), judged now, with every problem of each; nothing is stored or counted, and
        nothing here is queued or counted in :meth:`stats` either.

        The events are sent as given (no ``event_id``, ``timestamp`` or ``sent_at`` is added), so
        a dry run can check events built by other code. Waits for the answer: network errors,
        429 and 5xx are retried (up to ``max_retries``), as the request changes nothing;
        400/401/403/413 raise :class:`~theeye_client.errors.ApiError` subclasses, and
        ``ValueError`` if ``events`` is not JSON.
        """
        try:
            body = json.dumps(events, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"events are not JSON-serialisable: {exc}") from None
        attempts = 0
        while True:
            attempts += 1
            error: TheEyeError
            retry_after: float | None = None
            try:
                response = self._transport.request("POST", VALIDATE_PATH, body=body, headers=_JSON)
            except TransportError as exc:
                error = exc
            else:
                if 200 <= response.status < 300:
                    try:
                        return ValidationReport.from_json(response.json())
                    except ValueError:  # not JSON at all
                        raise ApiError(
                            response.status, "invalid_response", f"POST {VALIDATE_PATH} answered invalid JSON"
                        ) from None
                error = api_error(
                    response.status, response.body, parse_retry_after(response.headers.get("retry-after"))
                )
                if not retryable(response.status):
                    raise error
                retry_after = error.retry_after
            if attempts > self._max_retries:
                raise error
            self._pause(self._backoff.delay(attempts, retry_after))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(self._shutdown_timeout)

    # ------------------------------------------------------------------ queue and sender

    def _snapshot(self) -> DeliveryStats:
        c = self._counters
        return DeliveryStats(
            queued=c.queued,
            sent=c.sent,
            rejected=c.rejected,
            failed=c.failed,
            dropped=c.dropped,
            retried=c.retried,
            pending=c.queued - c.sent - c.rejected - c.failed,
        )

    def _oldest_unsettled(self) -> float:
        if self._in_flight:
            return self._in_flight[0].seq
        if self._queue:
            return self._queue[0].seq
        return float("inf")

    def _ensure_sender(self) -> bool:
        """Start the sender thread if it is not running (lock held); False if none can run."""
        if self._thread is not None and self._thread.is_alive():
            return True
        if self._stopping:
            return False
        thread = threading.Thread(target=self._run, name="theeye-client-sender", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter shutdown: flush() and close() send inline instead
            return False
        self._thread = thread
        return True

    def _take_batch(self) -> list[_Item]:
        """Up to ``batch_size`` events from the head of the queue, within 1 MiB as a JSON array."""
        batch: list[_Item] = []
        size = 2  # the brackets
        while self._queue and len(batch) < self._batch_size:
            extra = len(self._queue[0].body) + SENT_AT_BYTES + (1 if batch else 0)
            if batch and size + extra > MAX_BODY_BYTES:
                break
            batch.append(self._queue.popleft())
            size += extra
        return batch

    def _next_batch(self) -> list[_Item] | None:
        """Wait (lock held) until a batch is due: full, asked for by flush, or its oldest event
        has waited ``flush_interval``. None when the client is stopping and nothing is left."""
        while True:
            if self._abandon or (self._stopping and not self._queue):
                return None
            if not self._queue:
                self._wake_sender.wait()
                continue
            head = self._queue[0]
            if len(self._queue) >= self._batch_size or self._stopping or head.seq <= self._flush_upto:
                return self._take_batch()
            wait = head.queued_at + self._flush_interval - time.monotonic()
            if wait <= 0:
                return self._take_batch()
            self._wake_sender.wait(wait)

    def _run(self) -> None:
        while True:
            with self._lock:
                if threading.current_thread() is not self._thread:
                    return  # a sender from before a fork, or replaced
                batch = self._next_batch()
                if batch is None:
                    return
                self._in_flight = batch
            self._deliver_settling(batch)

    def _drain_inline(self, deadline: float | None) -> None:
        """Deliver the queue in the calling thread (no sender thread can be started)."""
        while deadline is None or time.monotonic() < deadline:
            with self._lock:
                if self._in_flight or not self._queue:
                    return
                batch = self._take_batch()
                self._in_flight = batch
            self._deliver_settling(batch)

    def _deliver_settling(self, batch: list[_Item]) -> None:
        try:
            self._deliver(batch)
        except Exception as exc:  # a bug must not lose the batch silently nor kill the sender
            LOG.exception("The Eye: delivering a batch failed unexpectedly")
            with self._lock:
                self._counters.failed += len(batch)
            self._report(
                DeliveryFailed(f"unexpected error: {exc!r}", None, 0), [item.event for item in batch]
            )
        finally:
            with self._lock:
                if self._in_flight is batch:
                    self._in_flight = None
                self._settled.notify_all()

    # ------------------------------------------------------------------ one batch

    def _deliver(self, batch: list[_Item]) -> None:
        """Send one batch until it is settled: accepted, refused for good, or given up on."""
        attempts = 0
        while True:
            attempts += 1
            error: TheEyeError
            retry_after: float | None = None
            # The same bytes on every attempt but for sent_at, this attempt's clock.
            sent_at = format_time(self._clock())
            body = b"[" + b",".join(with_sent_at(item.body, sent_at) for item in batch) + b"]"
            try:
                response = self._transport.request("POST", "/events", body=body, headers=_JSON)
            except TransportError as exc:
                error = exc
            else:
                if 200 <= response.status < 300:
                    self._accepted(batch, response)
                    return
                refusal = api_error(
                    response.status, response.body, parse_retry_after(response.headers.get("retry-after"))
                )
                if not retryable(response.status):
                    self._refused(batch, refusal)
                    return
                error, retry_after = refusal, refusal.retry_after
            if attempts > self._max_retries:
                self._give_up(
                    batch, DeliveryFailed(f"gave up after {attempts} attempts: {error}", error, attempts)
                )
                return
            if not self._abandon:
                with self._lock:
                    self._counters.retried += len(batch)
                self._pause(self._backoff.delay(attempts, retry_after))
            if self._abandon:
                self._give_up(
                    batch,
                    DeliveryFailed(f"the client was closed while retrying: {error}", error, attempts),
                )
                return

    def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._abort.wait(seconds)

    def _accepted(self, batch: list[_Item], response: HttpResponse) -> None:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        listed = answer.get("rejected") if isinstance(answer, dict) else None
        rejections: dict[int, Rejection] = {}
        details: list[Any] = []
        for entry in listed if isinstance(listed, list) else []:
            index = entry.get("index") if isinstance(entry, dict) else None
            if isinstance(index, int) and 0 <= index < len(batch) and index not in rejections:
                rejections[index] = Rejection(batch[index].event, _field_errors(entry))
                details.append(entry)
        with self._lock:
            self._counters.sent += len(batch) - len(rejections)
            self._counters.rejected += len(rejections)
        if rejections:
            ordered = [rejections[i] for i in sorted(rejections)]
            self._report(
                EventsRejected(
                    response.status,
                    "events_rejected",
                    f"the API accepted {len(batch) - len(ordered)} of {len(batch)} events and rejected these",
                    ordered,
                    details,
                ),
                [r.event for r in ordered],
            )

    def _refused(self, batch: list[_Item], error: ApiError) -> None:
        per_event: dict[int, list[dict[str, Any]]] = {}
        for entry in error.details:
            index = entry.get("index") if isinstance(entry, dict) else None
            if isinstance(index, int) and 0 <= index < len(batch):
                per_event[index] = _field_errors(entry)
        rejections = [Rejection(item.event, per_event.get(i, [])) for i, item in enumerate(batch)]
        with self._lock:
            self._counters.rejected += len(batch)
        self._report(
            EventsRejected(error.status, error.code, error.message, rejections, error.details, error),
            [item.event for item in batch],
        )

    def _give_up(self, batch: list[_Item], failure: DeliveryFailed) -> None:
        with self._lock:
            self._counters.failed += len(batch)
        self._report(failure, [item.event for item in batch])

    def _report(self, exc: DeliveryError, events: list[dict[str, Any]]) -> None:
        try:
            self._on_error(exc, events)
        except Exception:
            LOG.exception("The Eye: on_error raised")

    # ------------------------------------------------------------------ process life

    def _after_fork_in_child(self) -> None:
        """The child keeps the configuration, not the parent's queue, counters, thread or sockets.

        Events queued before the fork are the parent's to send (once); the child sends only
        what it tracks itself, with a sender thread started on its first ``track``.
        """
        self._init_state()
        self._transport.forget_after_fork()
        self._backoff.reseed()
        if isinstance(self._on_error, _LogReport):
            self._on_error = _LogReport()  # its lock may have been held at the fork

    def _close_at_exit(self) -> None:
        try:
            self.close(self._shutdown_timeout)
        except Exception:
            LOG.exception("The Eye: closing the client at exit failed")


def _field_errors(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    errors = entry.get("errors")
    return [dict(e) for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


# Every open client, so that exit can flush them and a forked child can reset them. Weak, so
# that registering does not keep a client alive (a running sender thread does, until close).
_LIVE: weakref.WeakSet[Client] = weakref.WeakSet()


def _register(client: Client) -> None:
    _LIVE.add(client)


def _close_all_at_exit() -> None:
    for client in list(_LIVE):
        client._close_at_exit()


def _reset_all_in_child() -> None:
    for client in list(_LIVE):
        client._after_fork_in_child()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_in_child)
