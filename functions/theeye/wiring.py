"""Which backend runs: the one place that chooses the adapters behind the ports.

The functions' dependency factories ask ``backend()`` for their collaborators. Production
(``template.yaml``) is always the AWS backend, built from the function's settings; tests and
the local stack ``install`` another implementation of ``theeye.ports.Backend`` instead.
"""

from __future__ import annotations

from functools import lru_cache

from theeye.config import get_settings
from theeye.ports import Backend

_installed: list[Backend] = []


def backend() -> Backend:
    return _installed[-1] if _installed else _default()


def install(chosen: Backend | None) -> None:
    """Use ``chosen`` from now on in this process (``None``: back to the default)."""
    _installed.clear()
    if chosen is not None:
        _installed.append(chosen)


@lru_cache(maxsize=1)
def _default() -> Backend:
    from theeye.aws.backend import AwsBackend

    return AwsBackend(get_settings())


def reset() -> None:
    """Forget the default backend (its settings and clients), as a new container would."""
    _default.cache_clear()
