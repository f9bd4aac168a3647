"""``POST /api/v1/complaints/<reference>/messages``: a customer's reply from an SMS gateway,
the WeChat bridge or an app joins the case's thread (``channels.inbound_messages``).
Channel-key authentication, rate limits and the error format are the intake API's."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from cases.choices import NoteKind
from channels.api import ERROR_RESPONSES, ChannelKey, IntakeAPIView, check_body_size, content_length
from channels.api_errors import error_response
from channels.inbound_messages import ChannelSender, case_for_reference, channel_message_submit
from channels.serializers import ErrorSerializer, MessageCreatedSerializer, MessageCreateSerializer

EXAMPLE_MESSAGE = {
    "message_id": "sms-20261201-000042",
    "text": "快递今天还是没到，请尽快处理。",
    "sender": {"phone": "+86 138 0013 8000"},
}
EXAMPLE_MESSAGE_RESPONSE = {
    "id": 812, "reference": "TS-2026-000123", "message_id": "sms-20261201-000042",
    "verified": True, "received_at": "2026-12-01T10:00:00+08:00", "attachments": 0,
}


class ComplaintMessageCreateView(IntakeAPIView):
    """POST: the customer's message on the case ``reference`` (any channel's case: the
    customer answers where they are). 201 new, 200 a repeat of the same ``message_id``."""

    invalid_detail = gettext_lazy("The message is not valid.")

    @extend_schema(
        operation_id="complaints_messages_create",
        summary="Add the customer's message to a complaint",
        description=(
            "A reply the customer sent by SMS, WeChat or in an app joins the case's thread "
            "and alerts its owner; a case paused to wait for the customer resumes. Sending "
            "the same `message_id` again from the same channel returns the first message "
            "(200) and adds nothing. When no `sender` identifier is the case's customer's "
            "the message is kept for staff only (`verified: false`)."),
        request=MessageCreateSerializer,
        responses={201: MessageCreatedSerializer, 200: MessageCreatedSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="No case with this "
                                        "reference."), **ERROR_RESPONSES},
        examples=[
            OpenApiExample("SMS reply", value=EXAMPLE_MESSAGE, request_only=True),
            OpenApiExample("WeChat reply", request_only=True, value={
                "message_id": "wx-6f1c2a", "text": "照片已上传。",
                "sender": {"wechat_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}),
            OpenApiExample("Added", value=EXAMPLE_MESSAGE_RESPONSE, response_only=True,
                           status_codes=["201", "200"]),
            OpenApiExample("Unknown reference", response_only=True, status_codes=["404"],
                           value={"error": "not_found",
                                  "detail": "No complaint with this reference."}),
            OpenApiExample("Invalid", response_only=True, status_codes=["400"], value={
                "error": "invalid", "detail": "The message is not valid.",
                "fields": {"text": ["This field may not be blank."]}}),
        ],
    )
    def post(self, request: Request, reference: str) -> Response:
        key: ChannelKey = request.auth
        check_body_size(content_length(request), request.data)
        case = case_for_reference(reference)
        if case is None:
            return error_response(404, _("No complaint with this reference."))
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        result = channel_message_submit(
            case=case, channel_code=key.channel_code, message_id=valid["message_id"],
            text=valid["text"], sender=ChannelSender(**valid["sender"]),
            attachments=[item["file"] for item in valid["attachments"]])
        return Response(message_body(case.reference, valid["message_id"], result.note),
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def message_body(reference: str, message_id: str, note: Any) -> dict[str, Any]:
    """The answer (``MessageCreatedSerializer``) for a new or repeated message."""
    return {
        "id": note.pk, "reference": reference, "message_id": message_id,
        "verified": note.kind == NoteKind.CUSTOMER_MESSAGE, "received_at": note.created_at,
        "attachments": note.files.count(),
    }
