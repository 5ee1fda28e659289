"""One Lambda execution environment: a process that imports a handler and runs invocations.

Runs in a ``spawn``-ed child process and imports only the standard library before the
handler (and ``theeye_local.function_logs``, which does too; in a chaos run with
``THEEYE_FAULTS``, the fault injector and ``theeye.wiring``), so a worker costs what the
function's own imports cost - like a Lambda cold start. What the handler prints goes to the
function's log file (``function_logs``), as on Lambda it goes to CloudWatch Logs.
The parent talks to it over a ``multiprocessing`` pipe with three kinds of frames, each a
one-byte tag followed by JSON:

* child -> parent ``I`` once after init: ``{"ok": bool, "error": {...}|null, "init_ms": float}``
* parent -> child (no tag): ``{"event", "request_id", "deadline_ms", "trace_id"}``
* child -> parent ``R`` + the result as JSON text, or ``E`` + ``{"errorType", "errorMessage",
  "stackTrace"}`` - the shapes the Lambda runtime reports.

Results travel as JSON because Lambda serialises them too: a handler returning something JSON
cannot express fails here exactly as it would on AWS (``Runtime.MarshalError``).
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import io
import json
import os
import secrets
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from theeye_local.function_logs import FunctionLog

INIT: Final = b"I"
RESULT: Final = b"R"
ERROR: Final = b"E"
FAULT_VARIABLES: Final = ("THEEYE_FAULTS", "THEEYE_FAULTS_UNTIL")  # chaos runs (theeye_local.faults)


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs; picklable so ``spawn`` can hand it to the child."""

    function_id: str
    function_name: str
    function_arn: str
    handler: str
    code_dir: str
    memory_mb: int
    log_group: str
    environment: dict[str, str]
    log_file: str  # the function's JSON Lines log (theeye_local.function_logs)
    log_to_terminal: bool = False  # THEEYE_LOG=json: copy every line of it to the terminal too


class LambdaContext:
    """The context object of the Python Lambda runtime (same attribute names and types)."""

    def __init__(self, config: WorkerConfig, request_id: str, deadline_ms: int, log_stream: str) -> None:
        self.function_name = config.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = config.function_arn
        self.memory_limit_in_mb = str(config.memory_mb)  # a string in the real runtime too
        self.aws_request_id = request_id
        self.log_group_name = config.log_group
        self.log_stream_name = log_stream
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def run_worker(connection: Connection, config: WorkerConfig) -> None:
    """Entry point of the child process: init, then serve invocations until the pipe closes."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # name the process after its function (ps, chaos runs)
        Path("/proc/self/comm").write_text(config.function_id.removesuffix("Function")[:15])
    # Chaos runs: the fault knobs are read from the stack's environment before it is replaced
    # (the stack passes THEEYE_FAULTS on to the functions' environment, not THEEYE_FAULTS_UNTIL).
    fault_knobs = {name: os.environ[name] for name in FAULT_VARIABLES if os.environ.get(name)}
    os.environ.clear()
    os.environ.update(config.environment)
    os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = _LOG_STREAM
    sys.path.insert(0, config.code_dir)
    if isinstance(sys.stderr, io.TextIOWrapper):
        sys.stderr.reconfigure(line_buffering=True)
    log = FunctionLog(Path(config.log_file), terminal_json=config.log_to_terminal)
    log.install()  # what the handler prints (JSON logs, EMF metrics) goes to the function's file

    started = time.perf_counter()
    # Faults first: a handler builds its collaborators while it is imported.
    init_error = _install_faults(fault_knobs) if fault_knobs.get("THEEYE_FAULTS") else None
    handler = None
    if init_error is None:
        handler, init_error = _load_handler(config.handler)
    init_ms = (time.perf_counter() - started) * 1000
    if init_error is not None:  # the stack tells the terminal; the details go to the file
        log.record("ERROR", "the function could not start", tell=False, **_as_fields(init_error))
    try:
        connection.send_bytes(
            INIT + _dumps({"ok": init_error is None, "error": init_error, "init_ms": init_ms})
        )
        while True:
            request = json.loads(connection.recv_bytes())
            reply = ERROR + _dumps(init_error) if handler is None else _invoke(handler, config, request, log)
            connection.send_bytes(reply)
    except (EOFError, OSError):
        return  # the parent closed the pipe (the stack is stopping) or died


def _install_faults(knobs: dict[str, str]) -> dict[str, Any] | None:
    """Install ``THEEYE_FAULTS`` (theeye_local.faults); the init error when it cannot be used."""
    from theeye_local import faults

    try:
        faults.install(faults.from_environ(knobs), os.environ)
    except faults.FaultSpecError as exc:
        return _error("Runtime.InvalidFaultSpec", str(exc))
    return None


def _load_handler(name: str) -> tuple[Callable[[Any, Any], Any] | None, dict[str, Any] | None]:
    module_name, _, function_name = name.rpartition(".")
    if not module_name:
        return None, _error("Runtime.MalformedHandlerName", f"Bad handler '{name}': not enough values")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return None, _error(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", exc
        )
    except Exception as exc:  # noqa: BLE001 - any import failure is the function's init error
        return None, _error(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}", exc
        )
    handler = getattr(module, function_name, None)
    if not callable(handler):
        return None, _error(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler, None


def _invoke(
    handler: Callable[[Any, Any], Any], config: WorkerConfig, request: dict[str, Any], log: FunctionLog
) -> bytes:
    os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
    context = LambdaContext(config, request["request_id"], request["deadline_ms"], _LOG_STREAM)
    try:
        result = handler(request["event"], context)
    except Exception as exc:  # noqa: BLE001 - the runtime reports whatever the handler raised
        # Start the trace at the handler, as Lambda does, not in this module.
        if exc.__traceback__ is not None and exc.__traceback__.tb_next is not None:
            exc = exc.with_traceback(exc.__traceback__.tb_next)
        error = _error(type(exc).__name__, str(exc), exc)
        # As Lambda logs an unhandled error; the stack tells the terminal in a sentence.
        log.record(
            "ERROR",
            "the handler raised an exception",
            tell=False,
            function_request_id=request["request_id"],
            exception="".join(traceback.format_exception(exc)),
            **_as_fields(error),
        )
        return ERROR + _dumps(error)
    try:
        return RESULT + _dumps(result)
    except (TypeError, ValueError) as exc:
        return ERROR + _dumps(_error("Runtime.MarshalError", f"Unable to marshal response: {exc}"))


def _as_fields(error: dict[str, Any]) -> dict[str, Any]:
    return {"error_type": error["errorType"], "error_message": error["errorMessage"]}


def _error(error_type: str, message: str, exc: BaseException | None = None) -> dict[str, Any]:
    stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)) if exc is not None else []
    return {"errorType": error_type, "errorMessage": message, "stackTrace": stack}


def _decimal_as_number(value: Any) -> Any:
    """The Lambda runtime's JSON encoder turns ``Decimal`` (what DynamoDB returns) into floats."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=_decimal_as_number, ensure_ascii=False).encode("utf-8")


# Lambda names a sandbox's log stream ``YYYY/MM/DD/[$LATEST]<32 hex>``; one per worker process.
_LOG_STREAM: Final = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + secrets.token_hex(16)
