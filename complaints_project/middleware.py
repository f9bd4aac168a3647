"""Requests the database cannot store: a NUL character in the path, the query string or a
URL-encoded form."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

NUL = "\x00"


def _has_nul(request: HttpRequest) -> bool:
    if NUL in request.path_info:
        return True
    fields = [request.GET]
    # Only URL-encoded bodies: reading a multipart body here would stream the uploads before
    # the view chose its upload handlers. Forms reject NUL in multipart fields themselves.
    if request.content_type == "application/x-www-form-urlencoded":
        fields.append(request.POST)
    return any(
        NUL in key or any(NUL in value for value in values)
        for query in fields
        for key, values in query.lists()
    )


class RejectNulCharactersMiddleware:
    """Answer 400 to any request carrying a NUL character in its path, query string or
    URL-encoded form, before a view passes it to PostgreSQL (which refuses NUL in text and
    would turn it into a 500). Side effects: none; the request never reaches the view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = _("The request contains a NUL character, which is not allowed.")
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
