"""Admin requests the database cannot store: a NUL character in the path, the query string
(changelist filters and search) or a URL-encoded form."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils.translation import gettext as _

NUL = "\x00"


def _has_nul(request: HttpRequest) -> bool:
    if NUL in request.path_info:
        return True
    fields = [request.GET]
    # Only URL-encoded bodies: reading a multipart body here would stream the uploads before
    # the view chose its upload handlers (the admin's forms reject NUL in fields themselves).
    if request.content_type == "application/x-www-form-urlencoded":
        fields.append(request.POST)
    return any(
        NUL in key or any(NUL in value for value in values)
        for query in fields
        for key, values in query.lists()
    )


class RejectNulInAdminMiddleware:
    """Answer 400 to an admin request carrying a NUL character, before a changelist filter,
    search or action passes it to PostgreSQL (which refuses NUL in text: a 500).

    Only the admin: the desk, public pages and the API handle NUL themselves (strip it, show a
    form error, or answer their own JSON 404). Side effects: none; the view never runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(reverse("admin:index")) and _has_nul(request):
            return HttpResponseBadRequest(
                _("The request contains a NUL character, which is not allowed."),
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
