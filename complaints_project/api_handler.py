"""A WSGI handler with the API's own middleware chain, and the dispatcher in front of both
(see ``complaints_project/wsgi.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# The machine-facing endpoints only: the schema and the docs page stay on the site's chain
# (the docs render the site's layout, whose forms need the CSRF cookie and the session).
API_PREFIX = "/api/v1/complaints"


class ApiWSGIHandler(WSGIHandler):
    """``WSGIHandler`` whose middleware chain is ``settings.API_MIDDLEWARE``."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        try:
            settings.MIDDLEWARE = settings.API_MIDDLEWARE
            super().load_middleware(is_async=is_async)
        finally:
            settings.MIDDLEWARE = full


class ApiPathDispatcher:
    """Route ``/api/v1/complaints...`` to the API handler and everything else (the API's
    schema and docs pages included) to the site's handler."""

    def __init__(self, *, site: Callable[..., Iterable[bytes]],
                 api: Callable[..., Iterable[bytes]]) -> None:
        self.site = site
        self.api = api

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(API_PREFIX):
            return self.api(environ, start_response)
        return self.site(environ, start_response)
