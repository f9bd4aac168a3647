"""The intake API's request and response shapes (SPEC "The public contract")."""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.choices import Category, ContactChannel, Difficulty, Scope, Stage, Urgency
from channels import attachments as files


class CustomerSerializer(serializers.Serializer):
    # min_length=1 states "not blank" in the schema (a blank is refused either way).
    name = serializers.CharField(max_length=100, min_length=1)
    phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="",
        help_text=_("Digits, with spaces, dashes, parentheses and a leading + allowed. A "
                    "phone number or an e-mail address is required."),
    )
    email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, default="",
        help_text=_("A phone number or an e-mail address is required."),
    )
    preferred_channel = serializers.ChoiceField(
        choices=ContactChannel.choices, required=False, default=ContactChannel.SMS
    )
    language = serializers.ChoiceField(
        choices=[("zh-hans", "zh-hans"), ("en", "en")], required=False, default="zh-hans",
        help_text=_("Language of the customer's notices."),
    )

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("phone") or attrs.get("email")):
            raise serializers.ValidationError(
                {"phone": [_("Give a phone number or an email address.")]}
            )
        return attrs


class AttachmentSerializer(serializers.Serializer):
    """One file, base64 in the JSON body, checked like the web form's uploads: by what its
    bytes are (photo, PDF, text or Office document), at most 10 MB (MAX_ATTACHMENT_BYTES)."""

    name = serializers.CharField(max_length=255, min_length=1,
                                 help_text=_("The file's name, e.g. photo.jpg."))
    content_base64 = serializers.CharField(
        trim_whitespace=True, min_length=1,
        help_text=_("The file's bytes, base64-encoded (RFC 4648, standard alphabet)."),
    )

    def validate(self, attrs: dict) -> dict:
        try:
            data = base64.b64decode(attrs["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(
                {"content_base64": [_("This is not valid base64.")]}
            ) from None
        try:
            checked = files.check(files.IncomingFile(attrs["name"], data))
        except files.AttachmentRejected as exc:
            raise serializers.ValidationError({"content_base64": [str(exc)]}) from None
        return {"file": checked}


class InRangeDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, with a naive time at the very edge of the calendar (year 1 in
    a zone ahead of UTC) refused as out of range: DRF's own check of the local time
    overflows there (a 500)."""

    def enforce_timezone(self, value):  # noqa: ANN001, ANN201 - DRF's signature
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


class ComplaintCreateSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="",
        help_text=_("Your id for this submission. Sending it again returns the same case."),
    )
    customer = CustomerSerializer()
    category = serializers.ChoiceField(choices=Category.choices)
    subject = serializers.CharField(max_length=200, min_length=1)
    description = serializers.CharField(max_length=20000, min_length=1)
    occurred_at = InRangeDateTimeField(required=False, allow_null=True, default=None)
    order_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     default="")
    desired_outcome = serializers.CharField(max_length=5000, required=False, allow_blank=True,
                                            default="")
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False,
                                      default=Urgency.ROUTINE)
    scope = serializers.ChoiceField(choices=Scope.choices, required=False,
                                    default=Scope.INDIVIDUAL)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices, required=False,
                                         default=Difficulty.FRONTLINE)
    regime = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="",
        help_text=_("Code of the statutory regime the complaint falls under (e.g. "
                    "cn-banking-insurance). Empty: the channel's or the category's regime, if "
                    "any."))
    regulator_reference = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="",
        help_text=_("For a complaint a regulator forwarded: the regulator's reference. Sending "
                    "it again under the same regime returns the same case."))
    regulator_due_at = InRangeDateTimeField(
        required=False, allow_null=True, default=None,
        help_text=_("The regulator's own deadline for the answer (ISO 8601)."))
    attachments = AttachmentSerializer(
        many=True, required=False, default=list, max_length=files.MAX_FILES,
        help_text=_("Photos or documents: up to 5 files, each checked by its content "
                    "(photo, PDF, text or Office document) and size (10 MB)."),
    )


class ComplaintCreatedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    tracking_code = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    suggested_tier = serializers.IntegerField()
    track_url = serializers.URLField()
    duplicate_of = serializers.CharField(allow_null=True)
    group_complaint = serializers.BooleanField()


class ComplaintStatusSerializer(serializers.Serializer):
    reference = serializers.CharField()
    external_id = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    stage_label = serializers.CharField()
    suggested_tier = serializers.IntegerField()
    tier = serializers.IntegerField(help_text=_("0 until an agent confirms the tier."))
    received_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    feedback_given_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    group_complaint = serializers.BooleanField()
    track_url = serializers.URLField()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text=_("invalid, unauthorized, too_large, "
                                              "unsupported_media_type, throttled, not_found"))
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text=_("Per-field messages; nested fields are dotted (customer.phone)."),
    )


# --- a customer's message on an existing case (issue 15) -------------------------------------
MAX_MESSAGE_CHARS = 5000


class MessageSenderSerializer(serializers.Serializer):
    """Who sent the message, as the channel knows them: at least one identifier."""

    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="",
                                  help_text=_("The sender's phone number (SMS)."))
    wechat_openid = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="",
        help_text=_("The sender's WeChat OpenID (WeChat)."))
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if not any(attrs.values()):
            raise serializers.ValidationError(
                {"phone": [_("Give the sender's phone number, WeChat id or e-mail address.")]})
        return attrs


class MessageCreateSerializer(serializers.Serializer):
    message_id = serializers.CharField(
        max_length=120, min_length=1,
        help_text=_("The channel's id of this message. Sending it again returns the same "
                    "message."))
    text = serializers.CharField(
        max_length=MAX_MESSAGE_CHARS, min_length=1,
        help_text=_("What the customer wrote (at most 5,000 characters)."))
    sender = MessageSenderSerializer(
        help_text=_("The message counts as the customer's when one of these is the case's "
                    "customer's; otherwise it is kept for staff as an unverified message."))
    attachments = AttachmentSerializer(
        many=True, required=False, default=list, max_length=files.MAX_FILES,
        help_text=_("Photos or documents the customer sent: as for a complaint."))


class MessageCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    message_id = serializers.CharField()
    verified = serializers.BooleanField(
        help_text=_("False: the sender is not the case's customer; staff see the message, "
                    "the customer's tracking page does not."))
    received_at = serializers.DateTimeField()
    attachments = serializers.IntegerField(help_text=_("Files kept with the message."))
