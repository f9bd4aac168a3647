"""Login lockout: django-axes' database handler with its own limit per client address."""

from __future__ import annotations

import ipaddress
import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from channels.throttling import client_ip


def login_client_ip(request: HttpRequest) -> str | None:
    """The client address as the intake channels read it (``TRUSTED_PROXY_COUNT``), or the
    connection's address, or None: axes stores it in an IP address column, which PostgreSQL
    refuses for anything that is not an address (a mangled X-Forwarded-For, a request
    without REMOTE_ADDR)."""
    for candidate in (client_ip(request), request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(candidate.strip()))
        except ValueError:
            continue
    return None


class LoginLockoutHandler(AxesDatabaseHandler):
    """Counts failures per username against ``AXES_FAILURE_LIMIT`` and per client address
    against ``LOGIN_FAILURE_LIMIT_PER_IP``. axes compares one number with one limit, so the
    address count is scaled to the username limit. Reads the attempts within the cool-off;
    no writes."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        user_limit = int(settings.AXES_FAILURE_LIMIT)
        ip_limit = max(int(settings.LOGIN_FAILURE_LIMIT_PER_IP), 1)
        worst = 0
        parameters = get_lockout_parameters(request, credentials)
        for parameter, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            if parameter == "ip_address":
                failures = math.ceil(failures * user_limit / ip_limit)
            worst = max(worst, failures)
        return worst


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The lockout page (HTTP 429, ``AXES_HTTP_RESPONSE_CODE``) with the cool-off in whole
    minutes. Called by django-axes for a locked-out login; no side effects."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(request, "registration/lockout.html",
                  {"cooloff_minutes": minutes}, status=settings.AXES_HTTP_RESPONSE_CODE)
