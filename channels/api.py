"""The intake API for app feedback, social-media bridges and call-centre systems.

POST /api/v1/complaints with ``Authorization: Bearer <channel key>``; idempotent on the
channel's ``external_id``. GET /api/v1/complaints/<reference> for the status of a case the
same channel submitted. Every error is JSON (``channels.api_errors``) with 400,
401, 404, 413, 415 or 429; the rate limits are ``channels.throttling``'s.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
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
from cases.services import CustomerData, IntakeData, IntakeResult
from cases.services.intake import track_url
from channels.api_errors import AUTH_REALM, api_exception_handler, error_response, too_large
from channels.models import ApiKey, Channel, hash_key
from channels.serializers import (
    ComplaintCreatedSerializer,
    ComplaintCreateSerializer,
    ComplaintStatusSerializer,
    ErrorSerializer,
)
from channels.services import complaint_submit
from channels.throttling import ChannelKeyThrottle, FailedKeyAddressThrottle, FailedKeyThrottle
from complaints_project.cache_outage import CACHE_DOWN_ERRORS

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a complaint without attachments
KEY_CACHE_SECONDS = 30
LAST_USED_EVERY = 300  # seconds between two updates of a key's last_used_at


def max_body_with_attachments() -> int:
    """Base64 attachments may take a body up to Django's DATA_UPLOAD_MAX_MEMORY_SIZE (the
    limit past which Django refuses to read it); the rest of it is still held to
    MAX_BODY_BYTES (``check_body_size``). No limit set: MAX_BODY_BYTES."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_BODY_BYTES)


# --- authentication ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelKey:
    """The authenticated caller (``request.auth``): one API key of one active channel."""

    key_id: int
    channel_id: int
    channel_kind: str
    channel_code: str


def _cache_key(key_hash: str) -> str:
    return f"apikey:{key_hash}"


def token_digest(raw: str) -> str | None:
    """The stored hash of a raw token (None for no token or one too long to be ours)."""
    if not raw or len(raw) > 200:
        return None
    return hash_key(raw)


def key_lookup(digest: str) -> ChannelKey | None:
    """The unrevoked key of an active channel with this digest, or None. Valid keys are
    cached for KEY_CACHE_SECONDS; saving a key or its channel drops the entry at once
    (``connect_signals``). While the cache is down every lookup reads the database."""
    cache_up = True
    try:
        cached = cache.get(_cache_key(digest))
    except CACHE_DOWN_ERRORS:
        cached, cache_up = None, False
    if cached is None:
        key = (
            ApiKey.objects.select_related("channel")
            .filter(key_hash=digest, revoked_at__isnull=True, channel__is_active=True)
            .first()
        )
        if key is None:
            return None
        cached = (key.pk, key.channel_id, key.channel.kind, key.channel.code)
        if cache_up:
            try:
                cache.set(_cache_key(digest), cached, KEY_CACHE_SECONDS)
            except CACHE_DOWN_ERRORS:
                pass
    return ChannelKey(*cached)


def _forget_key(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    try:
        cache.delete(_cache_key(instance.key_hash))
    except CACHE_DOWN_ERRORS:  # the entry expires within KEY_CACHE_SECONDS
        logger.warning("cache unavailable: API key %s may stay valid for up to %s s",
                       instance.pk, KEY_CACHE_SECONDS)


def _forget_channel_keys(sender: Any, instance: Channel, **kwargs: Any) -> None:
    hashes = ApiKey.objects.filter(channel_id=instance.pk).values_list("key_hash", flat=True)
    try:
        cache.delete_many([_cache_key(h) for h in hashes])
    except CACHE_DOWN_ERRORS:
        logger.warning("cache unavailable: keys of channel %s may stay valid for up to %s s",
                       instance.pk, KEY_CACHE_SECONDS)


def connect_signals() -> None:
    """Drop cached keys when a key or a channel is saved or deleted (``AppConfig.ready``)."""
    post_save.connect(_forget_key, sender=ApiKey, dispatch_uid="channels-apikey-save")
    post_delete.connect(_forget_key, sender=ApiKey, dispatch_uid="channels-apikey-delete")
    post_save.connect(_forget_channel_keys, sender=Channel, dispatch_uid="channels-chan-save")


_touched: dict[int, float] = {}  # key id -> when this process last recorded its use


def touch(key_id: int) -> None:
    """Record that a key is in use: one UPDATE of ``last_used_at`` per key every
    LAST_USED_EVERY seconds across processes (a cache entry decides which request writes),
    and in each process at most one cache call per key a minute. While the cache is down
    each process writes on its own, at most once a minute per key."""
    now = time.monotonic()
    if now - _touched.get(key_id, -LAST_USED_EVERY) < LAST_USED_EVERY / 5:
        return
    _touched[key_id] = now
    try:
        first = cache.add(f"apikey-used:{key_id}", 1, LAST_USED_EVERY)
    except CACHE_DOWN_ERRORS:
        first = True
    if first:
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


class ChannelKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>`` -> ``(None, ChannelKey)``; no header -> None (the
    permission then answers 401). A bad key is a 401, or a 429 once its address has sent
    too many bad keys starting as this one does (``FailedKeyThrottle``) or too many bad
    keys at all (``FailedKeyAddressThrottle``); a valid key is always let through."""

    def authenticate(self, request: Request) -> tuple[None, ChannelKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _sep, token = header.partition(" ")
        digest = token_digest(token.strip() if scheme.lower() == "bearer" else "")
        key = key_lookup(digest) if digest else None
        if key is None:
            # Both count this failure; the longer wait of those refusing is the answer.
            lockouts = (FailedKeyThrottle(token.strip()), FailedKeyAddressThrottle())
            refused = [t for t in lockouts if not t.allow_request(request, None)]
            if refused:
                raise exceptions.Throttled(wait=max(t.retry_after() for t in refused),
                                           detail=_("Too many failed attempts. Try again later."))
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        touch(key.key_id)
        return None, key

    def authenticate_header(self, request: Request) -> str:
        return AUTH_REALM


class ChannelKeyScheme(OpenApiAuthenticationExtension):
    target_class = "channels.api.ChannelKeyAuthentication"
    name = "channelKey"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "http", "scheme": "bearer",
                "description": "A channel's API key (`python manage.py channel_key CODE`)."}


class HasChannelKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ChannelKey)


# --- request bodies ----------------------------------------------------------------------------
def content_length(request: HttpRequest) -> int:
    """The request's declared body length (0 when absent or not a number)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def check_body_size(length: int, payload: Any) -> None:
    """After parsing: a body over MAX_BODY_BYTES is accepted only for its attachments.
    Raises PayloadTooLarge when the rest of the body is over the limit."""
    if length <= MAX_BODY_BYTES:
        return
    files = payload.get("attachments") if isinstance(payload, dict) else None
    if not isinstance(files, list):
        files = []  # not a list: the serializer says so (a 400), if the rest fits
    encoded = sum(len(item["content_base64"]) for item in files
                  if isinstance(item, dict) and isinstance(item.get("content_base64"), str))
    if length - encoded > MAX_BODY_BYTES:
        raise too_large(MAX_BODY_BYTES)


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, with a body nested deeper than the json module can read (it raises
    RecursionError, a 500) refused as malformed JSON, like any other."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply") from None


# --- views -------------------------------------------------------------------------------------
class IntakeAPIView(APIView):
    """Channel-key authentication, the per-key rate, JSON in and out, our error format."""

    authentication_classes = [ChannelKeyAuthentication]
    permission_classes = [HasChannelKey]
    throttle_classes = [ChannelKeyThrottle]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A body Django would refuse to read is refused first, in our format.
        if content_length(request) > max_body_with_attachments():
            raise too_large(max_body_with_attachments())
        super().initial(request, *args, **kwargs)


ERROR_RESPONSES = {
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
    """POST: validate the body, hand it to the intake (one case per channel and
    ``external_id``), answer 201 for a new case and 200 for a retry."""

    @extend_schema(
        operation_id="complaints_create",
        summary="Submit a complaint",
        description=(
            "Creates a case (201). Sending the same `external_id` again from the same "
            "channel returns the first case (200) and creates nothing; so does sending the "
            "same `regulator_reference` again under the same statutory `regime`."
        ),
        request=ComplaintCreateSerializer,
        responses={201: ComplaintCreatedSerializer, 200: ComplaintCreatedSerializer,
                   **ERROR_RESPONSES},
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
        check_body_size(content_length(request), request.data)
        serializer = ComplaintCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        result = complaint_submit(actor=None, data=intake_data(request.auth, valid),
                                  attachments=[item["file"] for item in valid["attachments"]])
        return Response(created_body(result),
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def intake_data(key: ChannelKey, valid: dict[str, Any]) -> IntakeData:
    """The intake's input for a create request's validated data from ``key``'s channel."""
    c = valid["customer"]
    return IntakeData(
        customer=CustomerData(name=c["name"], phone=c["phone"], email=c["email"],
                              preferred_channel=c["preferred_channel"],
                              language=c["language"]),
        channel=key.channel_kind, source_id=key.channel_id, external_id=valid["external_id"],
        category=valid["category"], subject=valid["subject"],
        description=valid["description"], occurred_at=valid["occurred_at"],
        order_ref=valid["order_ref"], location=valid["location"],
        desired_outcome=valid["desired_outcome"], urgency=valid["urgency"],
        scope=valid["scope"], difficulty=valid["difficulty"], regime=valid["regime"],
        regulator_reference=valid["regulator_reference"],
        regulator_due_at=valid["regulator_due_at"],
    )


def created_body(result: IntakeResult) -> dict[str, Any]:
    """The create answer (``ComplaintCreatedSerializer``) for a new or retried case."""
    case = result.case
    duplicate_ref = result.duplicate_reference
    if duplicate_ref is None and case.duplicate_of_id:
        duplicate_ref = (Case.objects.filter(pk=case.duplicate_of_id)
                         .values_list("reference", flat=True).first())
    return {
        "reference": case.reference, "tracking_code": case.tracking_code,
        "stage": case.stage, "suggested_tier": case.suggested_tier,
        "track_url": track_url(case), "duplicate_of": duplicate_ref,
        "group_complaint": case.group_id is not None,
    }


class ComplaintStatusView(IntakeAPIView):
    """GET: the status of a case the calling channel submitted (404 for any other)."""

    @extend_schema(
        operation_id="complaints_status",
        summary="Status of a complaint this channel submitted",
        responses={200: ComplaintStatusSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="No such case from "
                                        "this channel."),
                   401: ERROR_RESPONSES[401], 429: ERROR_RESPONSES[429]},
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
