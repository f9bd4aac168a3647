"""``Cache-Control: no-store`` on every response to a signed-in user."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreForStaffMiddleware:
    """Staff pages (desk, board, reports, admin, workspace, exports) show personal data: no
    browser or proxy may keep a copy. Applies to every response to an authenticated user,
    so a new staff page needs nothing of its own. Public pages that show personal data
    (``/track/``, survey) mark themselves with ``never_cache``. Needs AuthenticationMiddleware
    before it; only adds headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
