"""The 403, 404 and 500 pages: styled, in the user's language, with the navigation and a
way back to the home of the user's roles. For an htmx request (the workspace's side panel)
403 and 404 answer a fragment the panel shows."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from complaints_project.landing import home_for


def _error(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    template = "errors/_fragment.html" if getattr(request, "htmx", False) else f"{status}.html"
    context = {"status": status, "message": message, "home": home_for(request.user)}
    return render(request, template, context, status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403 with the refusal's reason (the views' messages are written for the user)."""
    return _error(request, 403, str(exception) if exception and exception.args else "")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 saying nothing of what was looked for: whether a case exists must not leak."""
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 from a self-contained template: no request context, no database, no static
    manifest (whatever failed may be one of them)."""
    return HttpResponseServerError(loader.get_template("500.html").render())
