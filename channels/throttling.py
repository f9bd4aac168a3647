"""Rate limits of the public pages and the intake API: DRF's ``SimpleRateThrottle`` on
Django's default cache (Redis in production, so every web process shares the counters; the
local-memory cache of the embedded default counts per process, which is fine for one).

Every scope's rate lives in ``DEFAULT_RATES``, overridden per scope by
``settings.CHANNELS_RATE_LIMITS`` (read on every request). The API's views list their
throttle in ``throttle_classes``; the authentication class and the plain Django views of the
web form and the tracking page call ``allow_request`` themselves.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle

from complaints_project.cache_outage import CACHE_DOWN_ERRORS, warn_cache_down

logger = logging.getLogger(__name__)

# While the shared cache is down each process counts on its own, at the same rates: a limit
# per process is looser than a shared one, but intake goes on.
_local_counts = LocMemCache("channels-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10000}})


def _warn_cache_down(exc: BaseException) -> None:
    warn_cache_down(logger, "rate-limit cache unavailable (%s); counting per process", exc)


# scope -> "requests/seconds" (or DRF's "requests/min"). Override with CHANNELS_RATE_LIMITS.
DEFAULT_RATES: dict[str, str] = {
    "complain": "10/3600",  # public form submissions per address per hour
    "track": "20/600",  # progress lookups per address per 10 minutes
    "track_reference": "30/3600",  # failed lookups per reference per hour, from any address
    "track_reference_ip": "5/3600",  # failed lookups per reference and address per hour
    "api": "3000/60",  # API calls per channel key per minute
    "api_auth_fail": "100/600",  # bad API keys per address per 10 minutes (any key)
    "api_auth_fail_key": "10/600",  # bad API keys per address and key prefix per 10 minutes
    "review": "5/3600",  # review requests (survey page and progress page) per address per hour
    "password_reset": "10/3600",  # password-reset requests per address per hour
    "password_reset_email": "3/3600",  # password-reset requests per e-mail address per hour
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind a reverse proxy set CHANNELS_TRUSTED_PROXY_COUNT to the
    number of proxies that append to X-Forwarded-For; otherwise the header is ignored (a
    client could write anything in it and dodge every limit)."""
    proxies = int(getattr(settings, "CHANNELS_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class ChannelThrottle(SimpleRateThrottle):
    """DRF's sliding-window throttle for one scope of ``DEFAULT_RATES``, counted per client
    address. Subclasses change ``scope`` and, to count something else, ``get_ident``.
    Works on DRF requests and plain ``HttpRequest``s alike (``view`` may be None)."""

    def get_rate(self) -> str:
        overrides = getattr(settings, "CHANNELS_RATE_LIMITS", None) or {}
        return overrides.get(self.scope) or DEFAULT_RATES[self.scope]

    def parse_rate(self, rate: str | None) -> tuple[Any, Any]:
        """(requests, seconds) for a rate in seconds, as the environment gives it
        (``3000/60``), or in DRF's units (``3000/min``). Raises ImproperlyConfigured for
        anything else."""
        if rate is None:
            return None, None
        count, _sep, period = rate.partition("/")
        period = period.strip().lower()
        if count.strip().isdigit() and period.isdigit() and int(period) > 0:
            return int(count), int(period)
        if count.strip().isdigit() and period[:1] in _UNITS and period.isalpha():
            return int(count), _UNITS[period[0]]
        raise ImproperlyConfigured(f"Rate {rate!r} of {self.scope!r}: use requests/seconds "
                                   "(3000/60) or requests/unit (3000/min).")

    def get_ident(self, request: Any) -> str:
        return client_ip(request)

    def allow_request(self, request: Any, view: Any) -> bool:
        """DRF's check-and-count; on this process's own counter while the shared cache is
        down (fail open to a per-process limit, never an error)."""
        try:
            return super().allow_request(request, view)
        except CACHE_DOWN_ERRORS as exc:
            _warn_cache_down(exc)
            self.cache = _local_counts
            return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # Hashed: the ident may be client-supplied text, unfit for a cache key as it is.
        ident = hashlib.sha256(self.get_ident(request).encode("utf-8", "replace")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident[:32]}

    def used_up(self, request: Any, view: Any = None) -> bool:
        """Has this ident no request left in the window? Counts nothing (``allow_request``
        counts); afterwards ``wait()`` tells how long until one is free."""
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        try:
            history = self.cache.get(self.key, [])
        except CACHE_DOWN_ERRORS as exc:
            _warn_cache_down(exc)
            self.cache = _local_counts
            history = self.cache.get(self.key, [])
        self.history = [t for t in history if t > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def retry_after(self) -> int:
        """Whole seconds until the refused ident may try again (after ``allow_request``
        or ``used_up`` said no): the Retry-After header's value."""
        return max(1, math.ceil(self.wait() or self.duration))


class ComplaintFormThrottle(ChannelThrottle):
    """Submissions of the public complaint form, per address."""

    scope = "complain"


class TrackThrottle(ChannelThrottle):
    """Progress lookups on the tracking page, per address."""

    scope = "track"


class ReviewRequestThrottle(ChannelThrottle):
    """Review requests 申请核查 from the survey page and the progress page, per address."""

    scope = "review"


class TrackReferenceThrottle(ChannelThrottle):
    """Failed progress lookups of one case reference, from any address: the view counts a
    failure with ``allow_request`` and refuses every lookup of a reference ``used_up``, so
    a tracking code cannot be guessed from many addresses either."""

    scope = "track_reference"

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference

    def get_ident(self, request: Any) -> str:
        return self.reference


class TrackReferenceAddressThrottle(TrackReferenceThrottle):
    """Failed lookups of one reference from one address: a lower limit than
    ``TrackReferenceThrottle``'s, so the guessing address is refused long before the
    reference is locked for its customer."""

    scope = "track_reference_ip"

    def get_ident(self, request: Any) -> str:
        return f"{client_ip(request)}|{self.reference}"


class FailedKeyThrottle(ChannelThrottle):
    """Requests with a bad API key, per address and first ``PREFIX_CHARS`` characters of
    the key presented: an integration behind a shared address (a NAT, a proxy) that keeps
    sending a stale key is locked out alone. ``ChannelKeyAuthentication`` counts each
    failure with ``allow_request`` (past the limit a bad key is answered 429 instead of
    401); a valid key is never refused by it."""

    scope = "api_auth_fail_key"
    PREFIX_CHARS = 8

    def __init__(self, token: str) -> None:
        super().__init__()
        self.prefix = token[:self.PREFIX_CHARS]

    def get_ident(self, request: Any) -> str:
        return f"{client_ip(request)}|{self.prefix}"


class FailedKeyAddressThrottle(ChannelThrottle):
    """Requests with a bad API key, per address whatever the key (a higher limit than
    ``FailedKeyThrottle``'s): stops one address guessing many different keys."""

    scope = "api_auth_fail"


class ChannelKeyThrottle(ChannelThrottle):
    """API calls per channel key (``IntakeAPIView.throttle_classes``). Runs after
    authentication, so ``request.auth`` is the caller's ``channels.api.ChannelKey``."""

    scope = "api"

    def get_ident(self, request: Any) -> str:
        return f"key:{request.auth.key_id}"


class PasswordResetThrottle(ChannelThrottle):
    """Password-reset requests (each may send a mail), per client address."""

    scope = "password_reset"


class PasswordResetEmailThrottle(ChannelThrottle):
    """Password-reset requests for one e-mail address, from any client address: an inbox is
    not flooded with reset mails from many addresses either."""

    scope = "password_reset_email"

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email.strip().lower()

    def get_ident(self, request: Any) -> str:
        return self.email
