"""The ``theeye`` command: parse, pick the target, run one command, report.

Exit codes: 0 success; 1 failure (one line on stderr: missing state file, unknown id, AWS
error...); 2 bad usage; 3 ``status`` found the ledger NOT BALANCED; 130 interrupted.
``validate`` needs no target (it checks offline unless told where the service is): 0 every event
valid, 1 some invalid, 2 the file cannot be read as events. ``schemas check`` reads through the
API (``--url`` alone will do): 0 safe to deploy, 1 breaking or rejecting stored events, 2 it
cannot run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from admin.replay import ReplayRequest
from theeye.analytics.engine import DEFAULT_MAX_ROWS
from theeye.checks import Rules
from theeye.config import Settings
from theeye.errors import NotFound, TheEyeError
from theeye.events import MAX_TEXT_LENGTH
from theeye.keys import SCOPES
from theeye.ports import ErrorFilter
from theeye.records import (
    ERROR_SOURCES,
    ERROR_TYPES,
    PROCESSOR_ERROR_TYPES,
    REPLAY_DEFAULT_MAX,
    REPLAY_MAX_ERRORS,
)
from theeye.schemas import SchemaFileError
from theeye_cli import dlq, erase, error_records, keys, logs, replay, schema_check, sql, status, validate
from theeye_cli.output import parse_since, write_json
from theeye_cli.reshard import ReshardInterrupted
from theeye_cli.target import Target, TargetError, default_state_file, local_target, stack_target
from theeye_local.function_logs import LEVELS, logs_dir

INTERRUPTED_EXIT = 130


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


Handler = Callable[[argparse.Namespace, Target, TextIO], int]


def _since(text: str) -> datetime:
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _target_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Target and output options; accepted before and after the command name."""

    def default(value: Any) -> Any:
        # On subcommands SUPPRESS keeps a value given before the command from being reset.
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("target (one is required)")
    group.add_argument(
        "--local",
        action="store_true",
        default=default(False),
        help="the local stack started by 'make run' (reads its state file)",
    )
    group.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        default=default(None),
        help="state file of the local stack (default: $THEEYE_STATE_FILE or .theeye/local.json)",
    )
    group.add_argument(
        "--stack",
        metavar="NAME",
        default=default(None),
        help="a deployed stack, found through its CloudFormation outputs",
    )
    group.add_argument("--region", default=default(None), help="AWS region of --stack")
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print JSON for scripts instead of a table",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="theeye",
        description="Operate The Eye: API keys, recorded errors, the dead-letter queue and the ledger; "
        "check files of events before sending them (validate) and schema changes before deploying them "
        "(schemas check).",
        epilog="Exit codes: 0 ok, 1 failure, 2 bad usage, 3 ledger not balanced (status), 130 interrupted. "
        "Guide: docs/OPERATING.md",
    )
    _target_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def leaf(group: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
        _target_options(sub, suppress=True)
        sub.set_defaults(handler=handler)
        return sub

    # keys
    keys_parser = commands.add_parser("keys", help="issue, list and revoke API keys")
    keys_commands = keys_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = leaf(keys_commands, "create", _keys_create, "issue a key (shown once; only its hash is stored)")
    create.add_argument("--app", required=True, help="application id the key's events are attributed to")
    create.add_argument(
        "--scope",
        required=True,
        action="append",
        choices=SCOPES,
        help="ingest, query or admin (erasure); repeat for several",
    )
    create.add_argument("--description", default="", help="free text, e.g. who holds the key")
    listing = leaf(keys_commands, "list", _keys_list, "list keys (never the keys themselves)")
    listing.add_argument("--app", help="only this application's keys")
    listing.add_argument("--active", action="store_true", help="hide revoked keys")
    revoke = leaf(keys_commands, "revoke", _keys_revoke, "revoke a key (effective within 60 s)")
    revoke.add_argument("key_id", metavar="ID", help="the key's id (key-...), as 'keys list' shows it")

    # errors
    errors_parser = commands.add_parser("errors", help="recorded errors: invalid events, conflicts...")
    errors_commands = errors_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    errors_list = leaf(errors_commands, "list", _errors_list, "recorded errors, newest first")
    errors_list.add_argument("--type", choices=ERROR_TYPES, help="only this error type")
    errors_list.add_argument(
        "--source", choices=ERROR_SOURCES, help="only errors found by ingest or processor"
    )
    errors_list.add_argument("--app", help="only this application's errors")
    errors_list.add_argument(
        "--since", type=_since, default="24h", help="ISO-8601 time or age such as 30m, 12h, 7d (default 24h)"
    )
    errors_list.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    show = leaf(errors_commands, "show", _errors_show, "one error with its details and payload")
    show.add_argument("error_id", metavar="ID")
    errors_stats = leaf(errors_commands, "stats", _errors_stats, "errors counted by type and application")
    errors_stats.add_argument("--since", type=_since, default="24h", help="window start (default 24h)")
    reshard = leaf(
        errors_commands,
        "reshard",
        _errors_reshard,
        "move errors recorded in the old 16-shard layout to where 'errors list' and GET /errors read "
        "(upgrades; safe to rerun)",
    )
    reshard.add_argument(
        "--days",
        type=_positive,
        metavar="N",
        help="look at today and the N days before (default: the target's ErrorRetentionDays + 7)",
    )
    reshard.add_argument("--dry-run", action="store_true", help="count the errors to move, move nothing")
    replaying = leaf(
        errors_commands,
        "replay",
        _errors_replay,
        "check recorded errors' events again with the current schemas and rules and queue those now valid "
        "(as POST /errors/replay); shows the dry run first and asks for confirmation unless --yes",
    )
    replaying.add_argument("--type", required=True, choices=PROCESSOR_ERROR_TYPES, help="the error type")
    replaying.add_argument(
        "--from", dest="start", metavar="TIME", help="errors received since (default 7 days ago)"
    )
    replaying.add_argument("--to", dest="end", metavar="TIME", help="errors received before (default now)")
    replaying.add_argument("--category", help="only events of this category")
    replaying.add_argument("--name", help="only events of this name")
    replaying.add_argument(
        "--max",
        type=_positive,
        default=REPLAY_DEFAULT_MAX,
        help=f"at most this many errors (default {REPLAY_DEFAULT_MAX})",
    )
    replaying.add_argument("--dry-run", action="store_true", help="count and list only; queue nothing")
    replaying.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    replaying.add_argument(
        "--schemas",
        type=Path,
        metavar="DIR",
        default=validate.REPOSITORY_SCHEMAS,
        help="the target's schemas (default: the repository's schemas/)",
    )
    replay_defaults = Settings()
    replaying.add_argument(
        "--max-clock-skew",
        type=int,
        metavar="SECONDS",
        default=replay_defaults.max_clock_skew_seconds,
        help=f"the target's MAX_CLOCK_SKEW_SECONDS (default {replay_defaults.max_clock_skew_seconds})",
    )
    replaying.add_argument(
        "--unknown-event-types",
        choices=("accept", "reject"),
        default=replay_defaults.unknown_event_types,
        help=f"the target's UNKNOWN_EVENT_TYPES (default {replay_defaults.unknown_event_types})",
    )

    # dlq
    dlq_parser = commands.add_parser("dlq", help="the dead-letter queue: stats, peek, redrive")
    dlq_commands = dlq_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    leaf(dlq_commands, "stats", _dlq_stats, "depth and age of the oldest message")
    peek = leaf(dlq_commands, "peek", _dlq_peek, "show messages without consuming them")
    peek.add_argument("-n", type=_positive, default=10, dest="count", help="how many (default 10)")
    redrive = leaf(dlq_commands, "redrive", _dlq_redrive, "move messages back to the events queue")
    redrive.add_argument(
        "--max", type=_positive, dest="limit", metavar="N", help="move at most this many (copy loop)"
    )
    redrive.add_argument(
        "--method",
        choices=("auto", "copy", "move-task"),
        default="auto",
        help="copy loop (keeps the ledger exact, interruptible) or SQS's message-move task (AWS only); "
        "auto: see docs/OPERATING.md",
    )

    leaf(commands, "status", _status, "the ledger: where every accepted event is; exit 3 when not balanced")

    # erase
    erasing = leaf(
        commands,
        "erase",
        _erase,
        "erase a session for a data-subject request (as DELETE /sessions/{id}): its events and summary "
        "deleted, its errors' payloads replaced by null; asks for confirmation unless --yes",
    )
    erasing.add_argument(
        "--session", required=True, metavar="ID", help="the session id, as the application sent it"
    )
    erasing.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    # logs
    reading = leaf(
        commands,
        "logs",
        _logs,
        "the local stack's function logs (.theeye/logs/<function>.jsonl beside the state file), "
        "merged in time order; --json prints the lines as stored",
    )
    reading.set_defaults(reads_state_folder=True)
    reading.add_argument(
        "--function",
        action="append",
        metavar="NAME",
        help="only this function (ingest, processor, query, admin...); repeat for several",
    )
    reading.add_argument(
        "--level", type=str.upper, choices=LEVELS, help="only records at this level or above"
    )
    reading.add_argument(
        "--request-id",
        metavar="ID",
        help="only one request: the Apigw-Requestid answer header, or the function's request id",
    )
    reading.add_argument(
        "--metrics", action="store_true", help="also show the EMF metric lines, one short line each"
    )
    reading.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")

    # sql
    querying = leaf(
        commands,
        "sql",
        _sql,
        "run one SELECT over the events table (Athena's SQL) through POST /sql of the target, or of "
        "--url; prints a table, or --json / --csv",
    )
    querying.add_argument("statement", nargs="?", metavar="SQL", help="the statement (or -f FILE)")
    querying.add_argument("-f", "--file", metavar="FILE", help="read the statement from FILE ('-': stdin)")
    querying.add_argument("--csv", action="store_true", help="print CSV (a header line, then the rows)")
    querying.add_argument(
        "--max-rows",
        type=_positive,
        default=DEFAULT_MAX_ROWS,
        help=f"at most this many rows (default {DEFAULT_MAX_ROWS})",
    )
    querying.add_argument("--url", help="the service's base URL instead of the target's")
    querying.add_argument(
        "--key", help="query key (default: $THEEYE_QUERY_KEY; with --local, the stack's own)"
    )
    querying.set_defaults(target_optional=True)

    # schemas
    defaults = Settings()  # the functions' defaults, as the template's parameters give them
    schemas_parser = commands.add_parser("schemas", help="event schemas: check a change before deploying it")
    schemas_commands = schemas_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    comparing = leaf(
        schemas_commands,
        "check",
        _schemas_check,
        "compare a schemas directory with the target's (GET /schemas): additive or breaking, the stored "
        "events each new schema would reject and the recorded schema violations it would accept; "
        "exit 0 safe, 1 breaking or rejecting, 2 cannot run",
    )
    comparing.set_defaults(target_optional=True)
    comparing.add_argument(
        "--schemas",
        type=Path,
        metavar="DIR",
        default=Path("schemas"),
        help="the new schemas (default ./schemas)",
    )
    comparing.add_argument(
        "--days",
        type=_positive,
        metavar="N",
        default=schema_check.DEFAULT_DAYS,
        help=f"judge the stored events and errors of the last N days (default {schema_check.DEFAULT_DAYS})",
    )
    comparing.add_argument("--url", help="the API's base URL (default: the target's)")
    comparing.add_argument(
        "--key", help="query key (default: $THEEYE_QUERY_KEY; with --local, the stack's own)"
    )
    comparing.add_argument(
        "--unknown-event-types",
        choices=("accept", "reject"),
        default=defaults.unknown_event_types,
        help="the target's UNKNOWN_EVENT_TYPES, which decides what adding or removing a schema changes "
        f"(default {defaults.unknown_event_types})",
    )

    # validate
    checking = leaf(
        commands,
        "validate",
        _validate,
        "check a file of events as POST /events/validate does: offline against a schemas directory, or "
        "by a running service (--url, --local, --stack); exit 0 all valid, 1 some invalid, 2 unreadable",
    )
    checking.set_defaults(target_optional=True)
    checking.add_argument(
        "file", metavar="FILE", help="one event, a JSON array of events, or JSON Lines; '-' reads stdin"
    )
    checking.add_argument(
        "--schemas",
        type=Path,
        metavar="DIR",
        default=validate.REPOSITORY_SCHEMAS,
        help="offline: the schemas to judge by (default: the repository's schemas/)",
    )
    checking.add_argument(
        "--app",
        default=validate.LOCAL_APPLICATION,
        help="offline: the application the events come from, which derived ids depend on "
        f"(default {validate.LOCAL_APPLICATION}, the local stack's)",
    )
    checking.add_argument(
        "--max-clock-skew",
        type=int,
        metavar="SECONDS",
        default=defaults.max_clock_skew_seconds,
        help=f"offline: MAX_CLOCK_SKEW_SECONDS (default {defaults.max_clock_skew_seconds})",
    )
    checking.add_argument(
        "--unknown-event-types",
        choices=("accept", "reject"),
        default=defaults.unknown_event_types,
        help=f"offline: UNKNOWN_EVENT_TYPES (default {defaults.unknown_event_types})",
    )
    checking.add_argument("--url", help="check by the service at this base URL (POST /events/validate)")
    checking.add_argument(
        "--key",
        help="ingest key for --url, --local or --stack (default: $THEEYE_INGEST_KEY; with --local, "
        "the stack's own)",
    )
    return parser


# -- commands -----------------------------------------------------------------------------------


def _keys_create(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    try:
        view = keys.create(target, application_id=args.app, scopes=args.scope, description=args.description)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    _emit(args, out, view, keys.render_created)
    return 0


def _keys_list(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    views = keys.list_keys(target, application_id=args.app, active_only=args.active)
    _emit(args, out, views, keys.render_list)
    return 0


def _keys_revoke(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    _emit(args, out, keys.revoke(target, args.key_id), keys.render_revoked)
    return 0


def _window(args: argparse.Namespace) -> error_records.Window:
    window = error_records.Window(args.since, datetime.now(UTC))
    if window.since >= window.until:
        raise CliError("--since must be in the past", 2)
    try:
        window.check()
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    return window


def _errors_list(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    window = _window(args)
    where = ErrorFilter(args.type, args.source, args.app)
    items = error_records.list_errors(target, window, where, limit=args.limit)
    _emit(args, out, items, lambda v: error_records.render_list(v, window))
    return 0


def _errors_show(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    view = error_records.get_error(target, args.error_id)
    _emit(args, out, view, error_records.render_one)
    return 0


def _errors_stats(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    _emit(args, out, error_records.error_stats(target, window=_window(args)), error_records.render_stats)
    return 0


def _errors_reshard(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    try:
        view = error_records.reshard(target, days=args.days, dry_run=args.dry_run)
    except ReshardInterrupted as stop:
        done = stop.result
        interrupted = isinstance(stop.cause, KeyboardInterrupt)
        why = "interrupted" if interrupted else f"stopped: {_reason(stop.cause)}"
        raise CliError(
            f"reshard {why} after moving {done.moved} of the {done.found} error(s) found so far; every "
            "error is either moved or still where it was - run it again to finish",
            INTERRUPTED_EXIT if interrupted else 1,
        ) from None
    _emit(args, out, view, error_records.render_reshard)
    return 0


def _errors_replay(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    if args.max > REPLAY_MAX_ERRORS:
        raise CliError(f"--max must be 1-{REPLAY_MAX_ERRORS}", 2)
    if args.max_clock_skew < 0:
        raise CliError("--max-clock-skew must be 0 or more", 2)
    rules = Rules(
        max_clock_skew=timedelta(seconds=args.max_clock_skew), unknown_event_types=args.unknown_event_types
    )
    asked = ReplayRequest(args.type, args.start, args.end, args.category, args.name, True, args.max)

    def run(request: ReplayRequest) -> dict[str, Any]:
        try:
            return replay.replay(target, request, schemas=args.schemas, rules=rules)
        except SchemaFileError as exc:
            raise CliError(f"cannot read the schemas: {exc}", 2) from None

    dry = run(asked)
    if args.dry_run or not dry["replayable"]:
        _emit(args, out, dry, lambda v: replay.render(v, dry_run=True))
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("a replay queues events again: confirm with --yes when not at a terminal", 2)
        out.write(replay.render(dry, dry_run=True) + "\n")
        answer = input(f"Queue {dry['replayable']} event(s) again on {target.description}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("nothing replayed", 1)
    done = run(dataclasses.replace(asked, dry_run=False))
    _emit(args, out, done, lambda v: replay.render(v, dry_run=False))
    return 0


def _dlq_stats(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    _emit(args, out, dlq.stats(target), dlq.render_stats)
    return 0


def _dlq_peek(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    _emit(args, out, dlq.peek(target, args.count), dlq.render_peek)
    return 0


def _dlq_redrive(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    try:
        result = dlq.redrive(target, method=args.method, limit=args.limit)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    except dlq.RedriveInterrupted as stop:
        done = stop.result
        interrupted = isinstance(stop.cause, KeyboardInterrupt)
        why = "interrupted" if interrupted else f"stopped: {_reason(stop.cause)}"
        notes = "".join(f"; {note}" for note in done.notes)
        raise CliError(
            f"redrive {why} after moving {done.moved} message(s); nothing was lost: the rest are still "
            f"in the dead-letter queue (a message may also have been copied once) - run it again to finish{notes}",
            INTERRUPTED_EXIT if interrupted else 1,
        ) from None
    _emit(args, out, result.view(), lambda _: dlq.render_redrive(result))
    return 0


def _status(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    view = status.status(target)
    _emit(args, out, view, status.render)
    return 0 if view["balanced"] else status.NOT_BALANCED_EXIT


def _erase(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    session_id = args.session
    if not session_id or len(session_id) > MAX_TEXT_LENGTH:
        raise CliError(f"--session must be 1-{MAX_TEXT_LENGTH} characters", 2)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("erasure cannot be undone: confirm with --yes when not at a terminal", 2)
        answer = input(f"Erase every event of session {session_id!r} from {target.description}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("nothing erased", 1)
    _emit(args, out, erase.erase(target, session_id), erase.render)
    return 0


def _logs(args: argparse.Namespace, target: Target | None, out: TextIO) -> int:
    if args.stack:
        raise CliError(
            "logs reads the local stack's files; a deployed stack's logs are in CloudWatch "
            "(sam logs --stack-name NAME)",
            2,
        )
    if not (args.local or args.state is not None):
        raise CliError("choose a target: --local (the stack of 'make run') or --state PATH", 2)
    folder = logs_dir(args.state or default_state_file())
    if not folder.is_dir():
        raise CliError(f"no logs at {folder}: start the stack with 'make run' (or pass --state PATH)")
    selection = logs.Selection(args.function, args.level, args.request_id, args.metrics)
    reader = logs.Reader(folder, selection)
    missing = reader.missing_functions()
    if missing:
        known = ", ".join(reader.known_functions()) or "none yet"
        raise CliError(f"no log of {', '.join(missing)} in {folder} (there are: {known})")
    try:
        if args.follow:
            logs.follow(reader, out, as_json=args.json, stop=threading.Event())
        else:
            logs.show(reader, out, as_json=args.json)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how following ends
    except BrokenPipeError:  # | head: the reader has seen enough
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _sql(args: argparse.Namespace, target: Target | None, out: TextIO) -> int:
    if (args.statement is None) == (args.file is None):
        raise CliError("give the statement, or -f FILE (one of them)", 2)
    if args.file is not None:
        try:
            statement = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.file}: {exc}", 2) from None
    else:
        statement = args.statement
    url = args.url or (target.api_url if target is not None else None)
    if not url:
        raise CliError("choose where to send it: --local, --stack NAME or --url URL", 2)
    key = args.key or os.environ.get("THEEYE_QUERY_KEY") or (target.query_key if target else None)
    if not key:
        raise CliError("SQL needs a query key: pass --key or set THEEYE_QUERY_KEY", 2)
    try:
        answer = sql.run(url, key, statement, max_rows=args.max_rows)
    except sql.SqlFailed as exc:
        raise CliError(str(exc)) from None
    if args.csv:
        out.write(sql.render_csv(answer))
    else:
        _emit(args, out, answer, sql.render)
    return 0


def _validate(args: argparse.Namespace, target: Target | None, out: TextIO) -> int:
    name = "stdin" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {name}: {exc}", validate.UNREADABLE_EXIT) from None
    try:
        events = validate.read_events(text, name)
        url = args.url or (target.api_url if target is not None else None)
        if target is not None and not url:
            raise CliError(f"{target.description} has no API URL; pass --url")
        if url:
            key = args.key or os.environ.get("THEEYE_INGEST_KEY") or (target.ingest_key if target else None)
            if not key:
                raise CliError(
                    "checking by a service needs an ingest key: pass --key or set THEEYE_INGEST_KEY", 2
                )
            report = validate.online(events, url, key)
        else:
            if args.max_clock_skew < 0:
                raise CliError("--max-clock-skew must be 0 or more", 2)
            rules = Rules(
                max_clock_skew=timedelta(seconds=args.max_clock_skew),
                unknown_event_types=args.unknown_event_types,
            )
            report = validate.offline(events, args.schemas, rules, args.app)
    except validate.UnreadableInput as exc:
        raise CliError(str(exc), validate.UNREADABLE_EXIT) from None
    except validate.ServiceError as exc:
        raise CliError(str(exc)) from None
    _emit(args, out, report.answer, lambda _: validate.render(report))
    return 0 if report.ok else 1


def _schemas_check(args: argparse.Namespace, target: Target | None, out: TextIO) -> int:
    url = args.url or (target.api_url if target is not None else None)
    if not url:
        where = f"{target.description} has no API URL" if target else "no target"
        raise CliError(f"{where}: pass --url (or --local / --stack NAME)", 2)
    key = args.key or os.environ.get("THEEYE_QUERY_KEY") or (target.query_key if target else None)
    if not key:
        raise CliError("reading the target needs a query key: pass --key or set THEEYE_QUERY_KEY", 2)
    try:
        report = schema_check.check(
            schema_check.Api(url, key),
            args.schemas,
            days=args.days,
            now=datetime.now(UTC),
            unknown_event_types=args.unknown_event_types,
            target=target.description if target else url,
        )
    except schema_check.CannotRun as exc:
        raise CliError(f"cannot check: {exc}", schema_check.CANNOT_RUN_EXIT) from None
    _emit(args, out, report.view(), lambda _: schema_check.render(report))
    return 0 if report.ok else 1


def _emit(args: argparse.Namespace, out: TextIO, value: Any, render: Callable[[Any], str]) -> None:
    if args.json:
        write_json(out, value)
    else:
        out.write(render(value) + "\n")


# -- entry point --------------------------------------------------------------------------------


def resolve_target(args: argparse.Namespace) -> Target:
    if args.local and args.stack:
        raise CliError("choose one target: --local or --stack NAME", 2)
    if args.stack:
        return stack_target(args.stack, args.region)
    if args.local or args.state is not None:
        return local_target(args.state)
    raise CliError("choose a target: --local (the stack of 'make run') or --stack NAME (a deployed stack)", 2)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "")
        return f"AWS {operation}: {error.get('Code', '?')}: {error.get('Message', '')}".strip()
    if isinstance(exc, TheEyeError):
        return exc.message
    return str(exc) or type(exc).__name__


def main(
    argv: Sequence[str] | None = None,
    *,
    target: Target | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one command; ``target`` replaces ``--local``/``--stack`` (tests pass a mocked one)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        optional = getattr(args, "target_optional", False)
        named = args.local or args.stack or args.state is not None
        # 'logs' reads files beside the state file: it needs no running stack
        files_only = getattr(args, "reads_state_folder", False)
        chosen = target or (resolve_target(args) if (named or not optional) and not files_only else None)
        code: int = args.handler(args, chosen, out)
        return code
    except CliError as exc:
        print(f"theeye: {exc}", file=err)
        return exc.exit_code
    except TargetError as exc:
        print(f"theeye: {exc}", file=err)
        return 1
    except NotFound as exc:
        print(f"theeye: {exc.message}", file=err)
        return 1
    except (TheEyeError, ClientError, BotoCoreError) as exc:
        print(f"theeye: {_reason(exc)}", file=err)
        return 1
    except KeyboardInterrupt:
        print("theeye: interrupted", file=err)
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    sys.exit(main())
