"""The intake API for app feedback, social-media bridges and call-centre systems.

POST /api/v1/complaints with ``Authorization: Bearer <channel key>``; idempotent on the
channel's ``external_id``. GET /api/v1/complaints/<reference> for the status of a case the
same channel submitted. Every error is JSON: ``{"error": code, "detail": text, "fields":
{"customer.phone": ["..."]}}`` with 400, 401, 404, 413, 415 or 429.
"""

from __future__ import annotations

import io
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models.signals import post_delete, post_save
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case
from cases.selectors import REFERENCE_RE
from cases.services import CustomerData, IntakeData, InvalidInput
from cases.services.intake import track_url
from channels import throttling
from channels.models import ApiKey, Channel, hash_key
from channels.serializers import (
    ComplaintCreatedSerializer,
    ComplaintCreateSerializer,
    ComplaintStatusSerializer,
    ErrorSerializer,
)
from channels.services import complaint_submit

MAX_BODY_BYTES = 256 * 1024  # a complaint without attachments


def max_body_with_attachments() -> int:
    """Base64 attachments may take a body up to Django's DATA_UPLOAD_MAX_MEMORY_SIZE (the
    limit past which Django refuses to read it); the rest of it is still held to
    MAX_BODY_BYTES (``check_body_size``). No limit set: MAX_BODY_BYTES."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_BODY_BYTES)
_KEY_CACHE_SECONDS = 30
_LAST_USED_EVERY = 300


# --- authentication ----------------------------------------------------------------------------
class ChannelKey:
    """The authenticated caller: one API key of one active channel. ``rate``: this request,
    counted against the key's API rate limit with the key lookup
    (``ChannelKeyAuthentication``); judge it with ``rate.verdict()``."""

    def __init__(self, key_id: int, channel_id: int, channel_kind: str, channel_code: str):
        self.key_id = key_id
        self.channel_id = channel_id
        self.channel_kind = channel_kind
        self.channel_code = channel_code
        self.rate: throttling.PendingHit | None = None


def _cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def token_digest(raw: str) -> str | None:
    """The stored hash of a raw token (None for no token or one too long to be ours)."""
    if not raw or len(raw) > 200:
        return None
    return hash_key(raw)


def key_lookup(digest: str, *, cached: Any = None) -> ChannelKey | None:
    """The channel key for a token's digest. Valid keys are cached briefly (the API's hot
    path); revoking a key or deactivating a channel drops the cache entry at once.
    ``cached``: the cache entry when the caller fetched it already."""
    if cached is None:
        cached = cache.get(_cache_key(digest))
    if cached is None:
        key = (
            ApiKey.objects.select_related("channel")
            .filter(key_hash=digest, revoked_at__isnull=True, channel__is_active=True)
            .first()
        )
        if key is None:
            return None
        cached = (key.pk, key.channel_id, key.channel.kind, key.channel.code)
        cache.set(_cache_key(digest), cached, _KEY_CACHE_SECONDS)
    return ChannelKey(*cached)


def _forget_key(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    cache.delete(_cache_key(instance.key_hash))


def _forget_channel_keys(sender: Any, instance: Channel, **kwargs: Any) -> None:
    hashes = ApiKey.objects.filter(channel_id=instance.pk).values_list("key_hash", flat=True)
    cache.delete_many([_cache_key(h) for h in hashes])


def connect_signals() -> None:
    post_save.connect(_forget_key, sender=ApiKey, dispatch_uid="channels-apikey-save")
    post_delete.connect(_forget_key, sender=ApiKey, dispatch_uid="channels-apikey-delete")
    post_save.connect(_forget_channel_keys, sender=Channel, dispatch_uid="channels-chan-save")


_touched: dict[int, float] = {}


def _touch(key_id: int) -> None:
    """Record that a key is in use, at most every few minutes per key (not per request)."""
    now = time.monotonic()
    if now - _touched.get(key_id, -_LAST_USED_EVERY) < _LAST_USED_EVERY / 5:
        return  # this process checked a moment ago
    _touched[key_id] = now
    if cache.add(f"apikey-used:{key_id}", 1, _LAST_USED_EVERY):
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


class ChannelKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[None, ChannelKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        ip = throttling.client_ip(request)
        # The failed-attempts counter, the cached key and the key's rate limit in one cache
        # round trip (the rate is counted per key hash: known before the key is looked up).
        fail_key, judge = throttling.peek_later("api_auth_fail", ip)
        digest = token_digest(token)
        rate = None
        if digest is None:
            found = cache.get_many([fail_key])
        else:
            key_entry = _cache_key(digest)
            found, rate = throttling.get_many_and_hit([fail_key, key_entry], "api",
                                                      f"key:{digest}")
        locked = judge(found.get(fail_key))
        if not locked.allowed:
            raise exceptions.Throttled(wait=locked.retry_after,
                                       detail=_("Too many failed attempts. Try again later."))
        key = key_lookup(digest, cached=found.get(key_entry)) if digest else None
        if key is None:
            throttling.hit("api_auth_fail", ip)
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        key.rate = rate
        _touch(key.key_id)
        return None, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="complaints-api"'


class ChannelKeyScheme(OpenApiAuthenticationExtension):
    target_class = "channels.api.ChannelKeyAuthentication"
    name = "channelKey"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "http", "scheme": "bearer",
                "description": "A channel's API key (`python manage.py channel_key CODE`)."}


class HasChannelKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ChannelKey)


# --- errors ------------------------------------------------------------------------------------
class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "too_large"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(_("The body is larger than %(kb)d KB.") % {"kb": limit // 1024})


def check_body_size(length: int, payload: Any) -> None:
    """After parsing: a body over MAX_BODY_BYTES is accepted only for its attachments."""
    if length <= MAX_BODY_BYTES:
        return
    files = payload.get("attachments") if isinstance(payload, dict) else None
    if not isinstance(files, list):
        files = []  # not a list: the serializer says so (a 400), if the rest fits
    encoded = sum(len(item["content_base64"]) for item in files
                  if isinstance(item, dict) and isinstance(item.get("content_base64"), str))
    if length - encoded > MAX_BODY_BYTES:
        raise _too_large(MAX_BODY_BYTES)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


_ERROR_CODES = {
    400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "too_large",
    415: "unsupported_media_type", 429: "throttled",
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
    body: dict[str, Any] = {"error": _ERROR_CODES.get(status_code, "error"), "detail": detail}
    if fields:
        body["fields"] = fields
    return Response(body, status=status_code, headers=headers)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Django's own, as DRF's default handler takes them (DRF's content negotiation raises
    # Http404 for an unknown ``?format=``).
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return error_response(400, _("The complaint is not valid."), _flatten(exc.detail))
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = error_response(401, str(exc.detail))
        response["WWW-Authenticate"] = 'Bearer realm="complaints-api"'
        return response
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
        return error_response(400, _("The complaint is not valid."), fields)
    return None


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, with a body nested deeper than the json module can read (it raises
    RecursionError, a 500) refused as malformed JSON, like any other."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None


class IntakeAPIView(APIView):
    authentication_classes = [ChannelKeyAuthentication]
    permission_classes = [HasChannelKey]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if _content_length(request) > max_body_with_attachments():
            raise _too_large(max_body_with_attachments())
        super().initial(request, *args, **kwargs)
        verdict = request.auth.rate.verdict()
        if not verdict.allowed:
            raise exceptions.Throttled(wait=verdict.retry_after)


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid: per-field messages."),
    401: OpenApiResponse(ErrorSerializer, description="Missing, invalid or revoked key."),
    413: OpenApiResponse(ErrorSerializer, description=(
        "Body larger than 256 KB (not counting base64 attachments), or larger than the "
        "upload limit (5 MB) in all.")),
    415: OpenApiResponse(ErrorSerializer, description="Body is not application/json."),
    429: OpenApiResponse(ErrorSerializer, description="Throttled; see Retry-After."),
}
EXAMPLE_REQUEST = {
    "external_id": "app-20261123-0001",
    "customer": {"name": "王芳", "phone": "13800138000", "email": "wang@example.com",
                 "preferred_channel": "sms"},
    "category": "delivery",
    "subject": "订单未按时送达",
    "description": "下单五天仍未收到货，客服电话无人接听。",
    "occurred_at": "2026-11-20T10:00:00+08:00",
    "order_ref": "SO-88812",
    "urgency": "routine", "scope": "individual", "difficulty": "cross_department",
}
EXAMPLE_RESPONSE = {
    "reference": "TS-2026-000123", "tracking_code": "K7MQ2XH9PA", "stage": "received",
    "suggested_tier": 2, "track_url": "https://complaints.example.cn/track/?reference=TS-2026-000123",
    "duplicate_of": None, "group_complaint": False,
}


class ComplaintCreateView(IntakeAPIView):
    @extend_schema(
        operation_id="complaints_create",
        summary="Submit a complaint",
        description=(
            "Creates a case (201). Sending the same `external_id` again from the same "
            "channel returns the first case (200) and creates nothing."
        ),
        request=ComplaintCreateSerializer,
        responses={201: ComplaintCreatedSerializer, 200: ComplaintCreatedSerializer, **_ERRORS},
        examples=[
            OpenApiExample("Delivery complaint from the app", value=EXAMPLE_REQUEST,
                           request_only=True),
            OpenApiExample("Created", value=EXAMPLE_RESPONSE, response_only=True,
                           status_codes=["201", "200"]),
            OpenApiExample("Invalid", response_only=True, status_codes=["400"], value={
                "error": "invalid", "detail": "The complaint is not valid.",
                "fields": {"category": ['"parcel" is not a valid choice.'],
                           "customer.phone": ["Give a phone number or an email address."]},
            }),
        ],
    )
    def post(self, request: Request) -> Response:
        payload = request.data
        check_body_size(_content_length(request), payload)
        status_code, body = submit(request.auth, payload)
        return Response(body, status=status_code)

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The usual POST (JSON in, JSON out, no format or media-type negotiation to do) is
        served by ``fast_create`` without DRF's request wrapping and rendering; everything
        else (other methods, ``?format=``, other Accept or Content-Type headers, bodies over
        the limit) goes through DRF as before, so those answers are DRF's own. The view
        keeps ``cls`` so drf-spectacular documents this class."""
        drf_view = super().as_view(**initkwargs)

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if _fast_path_applies(request):
                return fast_create(request)
            return drf_view(request, *args, **kwargs)

        view.cls = cls  # type: ignore[attr-defined]
        view.initkwargs = initkwargs  # type: ignore[attr-defined]
        return csrf_exempt(view)


def submit(key: ChannelKey, payload: Any) -> tuple[int, dict[str, Any]]:
    """Validate a create request's body and hand it to the intake: (status, response body).
    Raises ValidationError (the serializer's per-field errors) or InvalidInput."""
    v = validated_create(payload)
    c = v["customer"]
    data = IntakeData(
        customer=CustomerData(name=c["name"], phone=c["phone"], email=c["email"],
                              preferred_channel=c["preferred_channel"],
                              language=c["language"]),
        channel=key.channel_kind, source_id=key.channel_id, external_id=v["external_id"],
        category=v["category"], subject=v["subject"], description=v["description"],
        occurred_at=v["occurred_at"], order_ref=v["order_ref"], location=v["location"],
        desired_outcome=v["desired_outcome"], urgency=v["urgency"], scope=v["scope"],
        difficulty=v["difficulty"],
    )
    result = complaint_submit(actor=None, data=data,
                              attachments=[item["file"] for item in v["attachments"]])
    case = result.case
    duplicate_ref = result.duplicate_reference
    if duplicate_ref is None and case.duplicate_of_id:
        duplicate_ref = (Case.objects.filter(pk=case.duplicate_of_id)
                         .values_list("reference", flat=True).first())
    body = {
        "reference": case.reference, "tracking_code": case.tracking_code,
        "stage": case.stage, "suggested_tier": case.suggested_tier,
        "track_url": track_url(case), "duplicate_of": duplicate_ref,
        "group_complaint": case.group_id is not None,
    }
    return (status.HTTP_201_CREATED if result.created else status.HTTP_200_OK), body


_shared_serializer: ComplaintCreateSerializer | None = None


def validated_create(payload: Any) -> dict[str, Any]:
    """``ComplaintCreateSerializer``'s validated data for ``payload``.

    A serializer instance deep-copies its declared fields when it is created (a sixth of the
    API's CPU on the hot path). ``run_validation`` keeps no state on the instance, so one
    shared, already bound instance validates every valid body. A body it refuses gets its
    errors from a fresh serializer given the refusal, as ``is_valid`` would store it, so
    they are exactly DRF's (its ``errors`` adds the special cases such as "No data
    provided") without validating the body, and decoding its attachments, a second time."""
    global _shared_serializer
    shared = _shared_serializer
    if shared is None:
        shared = ComplaintCreateSerializer()
        shared.fields  # noqa: B018 - bind the fields once, before any thread shares them
        _shared_serializer = shared
    try:
        return shared.run_validation(payload)
    except exceptions.ValidationError as refused:
        serializer = ComplaintCreateSerializer(data=payload)
        serializer._errors = refused.detail  # what is_valid() stores for a refused body
        raise exceptions.ValidationError(serializer.errors) from None


# --- the fast lane for the common POST -----------------------------------------------------------
_JSON_RENDERER = JSONRenderer()
_JSON_PARSER = BoundedJSONParser()
_ACCEPT_JSON = {"*/*", "application/*", "application/json"}
_ALLOW = "POST, OPTIONS"


def _fast_path_applies(request: HttpRequest) -> bool:
    """A POST that DRF would parse with JSONParser and render with JSONRenderer without
    media-type parameters. Anything else keeps DRF's own handling."""
    if request.method != "POST" or "format" in request.GET:
        return False
    if request.content_type != "application/json" or (
        request.content_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8")
    ):
        return False
    if not 0 < _content_length(request) <= max_body_with_attachments():
        return False
    accept = request.META.get("HTTP_ACCEPT", "")
    if not accept:
        return True
    parts = [part.strip() for part in accept.split(",")]
    return all(";" not in part for part in parts) and any(p in _ACCEPT_JSON for p in parts)


def _json_response(data: Any, status_code: int, headers: Any = ()) -> HttpResponse:
    response = HttpResponse(_JSON_RENDERER.render(data), status=status_code,
                            content_type="application/json")
    for name, value in headers:
        response[name] = value
    response["Allow"] = _ALLOW
    return response


def fast_create(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/complaints in the same order as DRF's dispatch (authentication,
    permission, rate limit, body, validation, intake) and with the same answers, built by
    the same exception handler and JSON renderer."""
    try:
        verdict = ChannelKeyAuthentication().authenticate(request)  # type: ignore[arg-type]
        if verdict is None:
            raise exceptions.NotAuthenticated()
        key = verdict[1]
        throttle = key.rate.verdict()
        if not throttle.allowed:
            raise exceptions.Throttled(wait=throttle.retry_after)
        payload = _JSON_PARSER.parse(io.BytesIO(request.body),
                                     parser_context={"encoding": "utf-8"})
        check_body_size(_content_length(request), payload)
        status_code, body = submit(key, payload)
    except Exception as exc:
        response = api_exception_handler(exc, {})
        if response is None:
            raise
        headers = [(k, v) for k, v in response.items() if k.lower() != "content-type"]
        return _json_response(response.data, response.status_code, headers)
    return _json_response(body, status_code)


class ComplaintStatusView(IntakeAPIView):
    @extend_schema(
        operation_id="complaints_status",
        summary="Status of a complaint this channel submitted",
        responses={200: ComplaintStatusSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="No such case from "
                                        "this channel."),
                   401: _ERRORS[401], 429: _ERRORS[429]},
    )
    def get(self, request: Request, reference: str) -> Response:
        key: ChannelKey = request.auth
        # Not a reference (a NUL, say, which PostgreSQL refuses in a parameter): no query.
        case = Case.objects.filter(reference=reference.upper(), source_id=key.channel_id
                                   ).first() if REFERENCE_RE.match(reference) else None
        if case is None:
            return error_response(404, _("No complaint with this reference from your channel."))
        return Response({
            "reference": case.reference, "external_id": case.external_id,
            "stage": case.stage, "stage_label": str(case.get_stage_display()),
            "suggested_tier": case.suggested_tier, "tier": case.tier,
            "received_at": case.received_at, "resolved_at": case.resolved_at,
            "feedback_given_at": case.feedback_given_at, "closed_at": case.closed_at,
            "group_complaint": case.group_id is not None, "track_url": track_url(case),
        })
