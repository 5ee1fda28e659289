"""Injected faults for chaos runs: ``THEEYE_FAULTS`` and ``THEEYE_FAULTS_UNTIL``.

Set in the environment of ``python -m theeye_local``, they reach every function worker, which
installs them before it imports its handler. Development only. A spec is a comma-separated
list of ``<target>=<share>`` entries::

    THEEYE_FAULTS="event_store.put_all=0.05,event_store.put_all=sticky:0.04,counters.commit_batch=0.05,intake.accept=0.05"
    THEEYE_FAULTS_UNTIL=1767225600      # unix time; no fault fires after it (optional)

**Port faults** (``<port>.<method>``, every backend). The worker installs, through
``theeye.wiring.install``, a proxy of the backend ``theeye.wiring`` would choose, so the
handlers get adapters of which the named methods fail the way the adapter fails once its own
retries are exhausted: ``RetryableStoreError`` for the stores and the counters,
``QueueUnavailable`` for the queue, the intake and the dead-letter queue. Two kinds:

* ``=0.05``: each call fails independently with that probability; half of those fail before
  the adapter is called (nothing written) and half after it returned (written, but the caller
  sees the failure - a lost answer), which is what the idempotent retries have to absorb.
* ``=sticky:0.04``: the decision is a stable hash of what the call carries (the event ids of a
  message's records, a message's ledger key...), the same in every process and on every
  delivery, and the call fails before the adapter is called. So that share of messages fails
  on every delivery while the window lasts, and really reaches the dead-letter queue; after
  ``THEEYE_FAULTS_UNTIL`` the same messages go through (a redrive then succeeds).

Every injected fault prints one line, ``[FAULT] injected: <target> <share|sticky> <when>``, on
the worker's stderr (the stack's log), so a chaos run can say how often each one fired.

**AWS call faults** (``dynamodb.<Operation>`` / ``sqs.<Operation>``, ``THEEYE_BACKEND=moto``
only: the embedded backend makes no AWS call). The chosen share of calls fails on every
attempt (decided once per call in botocore's ``before-call``, every attempt answered with the
AWS error in ``before-send``), so the SDK's retries run out and the adapter's translation of
the AWS error into a domain error is what is exercised - not the SDK's retries, which would
absorb nearly every fault injected per attempt.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from theeye.errors import QueueUnavailable, RetryableStoreError

SPEC_VARIABLE: Final = "THEEYE_FAULTS"
UNTIL_VARIABLE: Final = "THEEYE_FAULTS_UNTIL"
STICKY: Final = "sticky:"
INJECTED: Final = "injected by THEEYE_FAULTS"
FIRED: Final = "[FAULT] injected:"  # how the log names each injected fault (report)

# What the content of a call is, for a sticky decision: the identities of the messages (or
# records) it carries. A sticky fault fires when any of them is chosen.
Identities = Callable[[tuple[Any, ...], dict[str, Any]], list[str]]


def _first(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
    return args[0] if args else kwargs.get(name)


def _event_records(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """One message's records (``put_all`` is called once per message): one identity."""
    records = _first(args, kwargs, "records") or []
    return ["|".join(sorted(r.event.event_id for r in records))] if records else []


def _event_record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return [_first(args, kwargs, "record").event.event_id]


def _error_records(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    records = _first(args, kwargs, "records") or []
    return ["|".join(sorted(r.error_id for r in records))] if records else []


def _error_record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return [_first(args, kwargs, "record").error_id]


def _tallies(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return [t.key for t in _first(args, kwargs, "tallies") or []]


def _entries(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return [key for key, _ in _first(args, kwargs, "entries") or []]


def _key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return [str(_first(args, kwargs, "key"))]


def _days(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    days = _first(args, kwargs, "categories_by_day") or {}
    return [f"{day}:{category}" for day in sorted(days) for category in sorted(days[day])]


def _messages(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """Queued messages by the events they carry: a client's retry of the same events (a new
    request, so a new body) is the same content."""
    return [
        "|".join(sorted(q.event.event_id for q in m.events)) if m.events else m.to_body()
        for m in _first(args, kwargs, "messages") or []
    ]


def _body(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    return [hashlib.sha256(str(_first(args, kwargs, "body")).encode("utf-8")).hexdigest()]


STORE: Final = "RetryableStoreError"
QUEUE: Final = "QueueUnavailable"

# port (a ``theeye.ports.Backend`` method) -> (what its adapter raises, {write method: identities})
PORT_FAULTS: Final[dict[str, tuple[str, dict[str, Identities]]]] = {
    "event_store": (STORE, {"put": _event_record, "put_all": _event_records}),
    "error_store": (STORE, {"put": _error_record, "put_all": _error_records}),
    "counters": (
        STORE,
        {
            "count_intake": _tallies,
            "register": _days,
            "commit_batch": _entries,
            "count_dead_letter": _key,
            "undo_dead_letter": _key,
        },
    ),
    "intake": (QUEUE, {"accept": _messages}),
    "queue": (QUEUE, {"send": _messages}),
    "dead_letter_queue": (QUEUE, {"send_body": _body}),
}
AWS_ERRORS: Final = {
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "sqs": ("ServiceUnavailable", 503),
}


class FaultSpecError(ValueError):
    """``THEEYE_FAULTS`` or ``THEEYE_FAULTS_UNTIL`` cannot be used; the message says why."""


@dataclass(frozen=True)
class Fault:
    target: str  # "event_store.put_all" or "dynamodb.PutItem"
    share: float
    sticky: bool = False

    @property
    def port(self) -> str:
        return self.target.partition(".")[0]

    @property
    def method(self) -> str:
        return self.target.partition(".")[2]

    @property
    def aws(self) -> bool:
        return self.port in AWS_ERRORS


@dataclass(frozen=True)
class FaultPlan:
    faults: tuple[Fault, ...] = ()
    until: float | None = None  # unix time after which nothing fires

    def active(self, now: float | None = None) -> bool:
        return self.until is None or (time.time() if now is None else now) < self.until

    def for_port(self, port: str) -> dict[str, list[Fault]]:
        by_method: dict[str, list[Fault]] = {}
        for fault in self.faults:
            if fault.port == port and not fault.aws:
                by_method.setdefault(fault.method, []).append(fault)
        return by_method


def _choices() -> str:
    ports = "; ".join(f"{port}.{{{','.join(methods)}}}" for port, (_, methods) in PORT_FAULTS.items())
    return f"{ports}; or an AWS call, dynamodb.<Operation> / sqs.<Operation> (THEEYE_BACKEND=moto)"


def parse(spec: str, until: float | None = None) -> FaultPlan:
    """``"event_store.put_all=0.05,intake.accept=sticky:0.1"`` -> a FaultPlan; FaultSpecError
    naming the entry and what would be valid when malformed."""
    faults: list[Fault] = []
    seen: set[tuple[str, bool]] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        target, equals, value = (s.strip() for s in part.partition("="))
        port, dot, method = target.partition(".")
        if not equals or not dot or not port or not method:
            raise FaultSpecError(f"{SPEC_VARIABLE}: {part!r} is not <target>=<share>; targets: {_choices()}")
        if port not in PORT_FAULTS and port not in AWS_ERRORS:
            raise FaultSpecError(f"{SPEC_VARIABLE}: {part!r}: no port {port!r}; targets: {_choices()}")
        if port in PORT_FAULTS and method not in PORT_FAULTS[port][1]:
            methods = ", ".join(PORT_FAULTS[port][1])
            raise FaultSpecError(
                f"{SPEC_VARIABLE}: {part!r}: {port} has no write method {method!r} (it has: {methods})"
            )
        if port in AWS_ERRORS and method not in _operations(port):
            raise FaultSpecError(f"{SPEC_VARIABLE}: {part!r}: {port} has no operation {method!r}")
        sticky = value.startswith(STICKY)
        if sticky and port in AWS_ERRORS:
            raise FaultSpecError(f"{SPEC_VARIABLE}: {part!r}: AWS call faults have no sticky kind")
        number = value.removeprefix(STICKY)
        try:
            share = float(number)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            raise FaultSpecError(
                f"{SPEC_VARIABLE}: {part!r}: the share must be a number from 0 to 1"
                f" (optionally {STICKY}<share>), not {number!r}"
            )
        if (target, sticky) in seen:
            raise FaultSpecError(
                f"{SPEC_VARIABLE}: {target} is given twice as {'sticky' if sticky else 'a share'}"
            )
        seen.add((target, sticky))
        faults.append(Fault(target, share, sticky))
    return FaultPlan(tuple(faults), until)


@functools.cache
def _operations(service: str) -> frozenset[str]:
    """The operation names of an AWS service, from botocore's model (``PutItem``, ``SendMessage``)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def from_environ(environ: Mapping[str, str]) -> FaultPlan:
    """The plan ``THEEYE_FAULTS`` and ``THEEYE_FAULTS_UNTIL`` describe (empty when unset)."""
    raw_until = environ.get(UNTIL_VARIABLE, "").strip()
    until: float | None = None
    if raw_until:
        try:
            until = float(raw_until)
        except ValueError:
            raise FaultSpecError(f"{UNTIL_VARIABLE}={raw_until!r} is not a unix time in seconds") from None
    return parse(environ.get(SPEC_VARIABLE, ""), until)


# -- port faults ------------------------------------------------------------------------------


def sticky_chosen(target: str, identity: str, share: float) -> bool:
    """Stable across processes, deliveries and restarts: a hash, not a random draw."""
    digest = hashlib.sha256(f"{target}\x1f{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass
class Injector:
    """Decides, per call of a faulted method, whether it fails and when (before or after)."""

    plan: FaultPlan
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def decide(self, fault: Fault, identities: list[str]) -> str | None:
        """``"before"``, ``"after"`` or None (no fault this time)."""
        if not self.plan.active(self.clock()):
            return None
        if fault.sticky:
            return "before" if any(sticky_chosen(fault.target, i, fault.share) for i in identities) else None
        with self._lock:
            if self.rng.random() >= fault.share:
                return None
            return "before" if self.rng.random() < 0.5 else "after"


def report(fault: Fault, when: str) -> None:
    """One line on stderr (the stack's log) per injected fault, so a run can count them."""
    kind = "sticky" if fault.sticky else "share"
    print(f"{FIRED} {fault.target} {kind} {when}", file=sys.stderr, flush=True)


def _failure(port: str, target: str, args: tuple[Any, ...], kwargs: dict[str, Any], taken: bool) -> Exception:
    if PORT_FAULTS[port][0] == QUEUE:
        messages = _first(args, kwargs, "messages") if port != "dead_letter_queue" else None
        return QueueUnavailable(list(messages or []) if taken else [])
    return RetryableStoreError(f"{target} failed ({INJECTED})")


class FaultyAdapter:
    """An adapter whose faulted methods fail as the plan says; everything else passes through."""

    def __init__(self, port: str, inner: Any, faults: dict[str, list[Fault]], injector: Injector) -> None:
        self._port = port
        self._inner = inner
        self._faults = faults
        self._injector = injector

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        faults = self._faults.get(name)
        if not faults or not callable(attribute):
            return attribute
        identities = PORT_FAULTS[self._port][1][name]

        def faulty(*args: Any, **kwargs: Any) -> Any:
            decided = [
                (f, self._injector.decide(f, identities(args, kwargs) if f.sticky else [])) for f in faults
            ]
            target = f"{self._port}.{name}"
            fired = next(((f, when) for f, when in decided if when == "before"), None)
            fired = fired or next(((f, when) for f, when in decided if when == "after"), None)
            if fired is not None and fired[1] == "before":
                report(fired[0], "before")
                raise _failure(self._port, target, args, kwargs, taken=False)
            result = attribute(*args, **kwargs)
            if fired is not None:
                report(fired[0], "after")
                raise _failure(self._port, target, args, kwargs, taken=True)
            return result

        return faulty

    def __repr__(self) -> str:
        return f"FaultyAdapter({self._port}, {self._inner!r})"


class FaultyBackend:
    """A ``theeye.ports.Backend`` whose adapters are the inner backend's, wrapped by the plan.

    ``inner`` is called on every build, so the backend is chosen (and its settings read) only
    when a handler first asks for an adapter, exactly as without faults."""

    def __init__(self, inner: Callable[[], Any], plan: FaultPlan, injector: Injector | None = None) -> None:
        self._inner = inner
        self._plan = plan
        self._injector = injector or Injector(plan)

    def __getattr__(self, name: str) -> Any:
        build = getattr(self._inner(), name)
        faults = self._plan.for_port(name)
        if not faults:
            return build

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return FaultyAdapter(name, build(*args, **kwargs), faults, self._injector)

        return wrapped


def install(plan: FaultPlan, environ: Mapping[str, str]) -> None:
    """Install ``plan`` in this function process: port faults on ``theeye.wiring``'s backend,
    AWS call faults on the shared boto3 clients (``theeye.aws``). Call it before the handler
    is imported: handlers build their collaborators at init."""
    ports = [f for f in plan.faults if not f.aws]
    calls = [f for f in plan.faults if f.aws]
    if calls and environ.get("STORAGE_BACKEND") == "sqlite":
        names = ", ".join(f.target for f in calls)
        raise FaultSpecError(
            f"{SPEC_VARIABLE}: {names}: AWS call faults need THEEYE_BACKEND=moto; the embedded"
            " backend makes no AWS call (use port faults such as event_store.put_all=0.05)"
        )
    if ports:
        from theeye import wiring
        from theeye.ports import Backend

        # Around the default backend: what wiring.backend() returns while nothing is installed.
        wiring.install(cast(Backend, FaultyBackend(wiring._default, plan)))
    for fault in calls:
        _install_aws(fault, plan)


# -- AWS call faults (botocore) ---------------------------------------------------------------


@dataclass
class _AwsCallFault:
    """Decides once per API call (``before-call``) and fails every attempt of a chosen call
    (``before-send``), so the SDK's retries cannot absorb it."""

    fault: Fault
    plan: FaultPlan
    code: str
    status: int
    rng: random.Random = field(default_factory=random.Random)
    _failing: threading.local = field(default_factory=threading.local)

    def before_call(self, **_: Any) -> None:
        self._failing.now = self.plan.active() and self.rng.random() < self.fault.share
        if self._failing.now:
            report(self.fault, "every attempt")

    def before_send(self, request: Any, **_: Any) -> Any:
        if not getattr(self._failing, "now", False):
            return None
        from botocore.awsrequest import AWSResponse

        body = json.dumps({"__type": self.code, "message": INJECTED}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{self.code};Sender"}
        return AWSResponse(request.url, self.status, headers, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _install_aws(fault: Fault, plan: FaultPlan) -> None:
    from theeye import aws

    code, status = AWS_ERRORS[fault.port]
    hook = _AwsCallFault(fault, plan, code, status)
    events = aws.client(fault.port).meta.events
    events.register(f"before-call.{fault.port}.{fault.method}", hook.before_call)
    events.register(f"before-send.{fault.port}.{fault.method}", hook.before_send)
