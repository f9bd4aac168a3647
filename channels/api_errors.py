"""The intake API's error format: every error is ``{"error": code, "detail": text,
"fields": {"customer.phone": ["..."]}}`` with its HTTP status, built by
``api_exception_handler`` from DRF's exceptions and the intake's InvalidInput."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from cases.services import CaseBusy, InvalidInput
from complaints_project.cache_outage import REDIS_DOWN_ERRORS

UNAVAILABLE_RETRY_AFTER = 30  # seconds a client waits after a 503

AUTH_REALM = 'Bearer realm="complaints-api"'


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(_("The body is larger than %(kb)d KB.") % {"kb": limit // 1024})


ERROR_CODES = {
    400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "too_large",
    409: "busy", 415: "unsupported_media_type", 429: "throttled", 503: "unavailable",
}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error dict -> {"customer.phone": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else (
                f"{prefix}.{key}" if prefix else str(key))
            for k, v in _flatten(value, name).items():
                out.setdefault(k or "non_field_errors", []).extend(v)
    elif isinstance(detail, list):
        for item in detail:
            for k, v in _flatten(item, prefix).items():
                out.setdefault(k or "non_field_errors", []).extend(v)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(_encodable(str(detail)))
    return out


def _encodable(text: str) -> str:
    """``text`` with each lone surrogate as its escape (\\ud800): DRF's messages echo the
    value sent ("\\ud800" is not a valid choice), and the UTF-8 body cannot hold one."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(status_code: int, detail: str, fields: dict | None = None,
                   headers: dict | None = None) -> Response:
    body: dict[str, Any] = {"error": ERROR_CODES.get(status_code, "error"), "detail": detail}
    if fields:
        body["fields"] = fields
    return Response(body, status=status_code, headers=headers)


def _invalid_detail(context: dict) -> str:
    """The view's word for an invalid body (``invalid_detail``), else the complaint's."""
    detail = getattr(context.get("view"), "invalid_detail", None)
    return str(detail) if detail else _("The complaint is not valid.")


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The API's exception handler (``IntakeAPIView.get_exception_handler``): every error
    as ``{"error", "detail", "fields"}``; a 503 with Retry-After when Redis cannot be
    reached by a call that has no fallback; None (a 500) for anything unexpected."""
    # Django's own, as DRF's default handler takes them (DRF's content negotiation raises
    # Http404 for an unknown ``?format=``).
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return error_response(400, _invalid_detail(context), _flatten(exc.detail))
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return error_response(401, str(exc.detail), headers={"WWW-Authenticate": AUTH_REALM})
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        return error_response(429, str(exc.detail), headers={"Retry-After": str(wait)})
    if isinstance(exc, exceptions.ParseError):
        return error_response(400, _("The body is not valid JSON."))
    if isinstance(exc, exceptions.APIException):
        return error_response(exc.status_code, str(exc.detail))
    if isinstance(exc, InvalidInput):
        fields: dict[str, list[str]] = {}
        for field, message in getattr(exc, "errors", [(exc.field, exc.message)]):
            fields.setdefault(field or "non_field_errors", []).append(_encodable(str(message)))
        return error_response(400, _invalid_detail(context), fields)
    if isinstance(exc, CaseBusy):
        return error_response(409, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, REDIS_DOWN_ERRORS):
        return error_response(
            503, _("The service is briefly unavailable. Please try again later."),
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})
    return None
