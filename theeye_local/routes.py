"""Route selection as API Gateway HTTP APIs do it.

The most specific route wins: literal path segments beat ``{param}``, which beats a greedy
``{param+}``; an exact method beats ``ANY``; ``$default`` catches whatever else is left.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from theeye_local.lambdas import DEFAULT_ROUTE, HttpRoute

_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Compiled:
    route: HttpRoute
    segments: tuple[tuple[int, str], ...]  # (kind, literal text or parameter name)

    @property
    def rank(self) -> tuple[tuple[int, ...], int]:
        """Smaller is more specific."""
        return tuple(kind for kind, _ in self.segments), int(self.route.method == "ANY")

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if self.route.method not in ("ANY", method):
            return None
        parameters: dict[str, str] = {}
        for position, (kind, text) in enumerate(self.segments):
            if kind == _GREEDY:
                rest = segments[position:]
                if not rest or not any(rest):
                    return None
                parameters[text] = unquote("/".join(rest))
                return parameters
            if position >= len(segments):
                return None
            if kind == _LITERAL and unquote(segments[position]) != text:
                return None
            if kind == _PARAMETER:
                if not segments[position]:
                    return None
                parameters[text] = unquote(segments[position])
        return parameters if len(segments) == len(self.segments) else None


class RouteTable:
    """The routes of one HTTP API."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        self._default: HttpRoute | None = None
        compiled: list[_Compiled] = []
        for route in routes:
            if route.path == DEFAULT_ROUTE:
                self._default = route
            else:
                compiled.append(_Compiled(route, _compile(route.path)))
        self._routes = compiled

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route for ``method`` ``path`` (the raw, still-encoded path), or None."""
        segments = path.removeprefix("/").split("/") if path not in ("", "/") else []
        candidates = [
            (compiled.rank, compiled, parameters)
            for compiled in self._routes
            if (parameters := compiled.match(method.upper(), segments)) is not None
        ]
        if candidates:
            _, best, parameters = min(candidates, key=lambda candidate: candidate[0])
            return RouteMatch(best.route, parameters)
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None

    @property
    def routes(self) -> tuple[HttpRoute, ...]:
        own = tuple(compiled.route for compiled in self._routes)
        return (*own, self._default) if self._default is not None else own


def _compile(path: str) -> tuple[tuple[int, str], ...]:
    segments: list[tuple[int, str]] = []
    trimmed = path.strip("/")
    for segment in trimmed.split("/") if trimmed else []:
        if segment.startswith("{") and segment.endswith("+}"):
            segments.append((_GREEDY, segment[1:-2]))
        elif segment.startswith("{") and segment.endswith("}"):
            segments.append((_PARAMETER, segment[1:-1]))
        else:
            segments.append((_LITERAL, segment))
    return tuple(segments)
