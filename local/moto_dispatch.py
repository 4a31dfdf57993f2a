"""Two lookups moto's server repeats on every request, each answered once in the local moto server.

- DomainDispatcherApplication.get_backend_for_host lists moto's package folder (a stat per service,
  a few hundred) to tell which backend a host name means, under a lock that every request takes; the
  answer depends on the host name alone (CachedDispatcher).
- BaseResponse.call_action lists the response class's methods with inspect.getmembers (hundreds of
  members) to see whether the action is one of them; a class's methods do not change (install()).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.core import responses
from moto.core.utils import method_names_from_class
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

# Host names remembered (a bucket's virtual-host name is a host too: bounded, not a leak).
CACHED_HOSTS = 1024


class CachedDispatcher(DomainDispatcherApplication):
    """moto's dispatcher, with each host's backend looked up once."""

    def __init__(self, create_app: Callable[..., Any]):
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            pass
        backend = super().get_backend_for_host(host)
        if len(self._backends) < CACHED_HOSTS:
            self._backends[host] = backend
        return backend


@functools.cache
def _method_names(clazz: object) -> frozenset[str]:
    return frozenset(method_names_from_class(clazz))


def install() -> None:
    """moto's responses in this process look a class's method names up once (only the local moto
    server's process calls this)."""
    responses.method_names_from_class = _method_names  # type: ignore[attr-defined,assignment]
