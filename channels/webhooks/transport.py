"""The HTTP POST of one webhook attempt: signed with the ``standardwebhooks`` package, sent
with the standard library's urllib (no extra HTTP client), bounded by timeouts, and never
following redirects (a redirect is an answer to record, not a place to send the payload).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from standardwebhooks import Webhook


@dataclass(frozen=True)
class HttpResult:
    ok: bool
    status: int | None  # the HTTP status, None when no answer came (timeout, refused)
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ARG002
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirects)


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes signed and sent: the same for every attempt of a delivery."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


def signed_headers(*, secret: str, message_id: str, timestamp: datetime,
                   body: bytes) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "complaint-desk-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def post(*, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
    """POST once. Any 2xx is success; everything else (3xx, 4xx, 5xx, a timeout, a refused
    connection, a TLS error) is a failed attempt. WEBHOOK_TIMEOUT_SECONDS bounds connecting
    and each read; the send task's time limit bounds the whole."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(1024)  # the body is not used; read a little so keep-alive is clean
            return HttpResult(True, response.status)
    except urllib.error.HTTPError as exc:
        ok = 200 <= exc.code < 300
        return HttpResult(ok, exc.code, "" if ok else f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpResult(False, None, f"{type(exc).__name__}: {reason}"[:2000])
