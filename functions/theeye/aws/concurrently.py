"""Many independent AWS calls at once, on one executor, failing like one call."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_all(executor: Executor, work: Callable[[T], R], items: list[T]) -> list[R]:
    """``work`` on every item concurrently, results in order; wait for all, then re-raise the first failure."""
    if len(items) <= 1:
        return [work(item) for item in items]
    futures: list[Future[R]] = [executor.submit(work, item) for item in items]
    failure: BaseException | None = None
    results: list[R] = []
    for future in futures:
        try:
            results.append(future.result())
        except Exception as exc:  # noqa: BLE001 - kept until every write has finished, then re-raised
            failure = failure or exc
    if failure is not None:
        raise failure
    return results


class _Serial(Executor):
    """Runs each call at once in the caller's thread (the default where no pool is given)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future, as a pool would
            future.set_exception(exc)
        return future


SERIAL: Executor = _Serial()
