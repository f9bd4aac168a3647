"""Intake channels, their API keys, and the record of processed inbound messages."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.choices import ChannelKind


class Channel(models.Model):
    """One intake source (e.g. the iOS app, the WeChat bridge, the call-centre system)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ChannelKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("intake channel")
        verbose_name_plural = _("intake channels")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def hash_key(raw_key: str) -> str:
    """Keys are long random tokens, so a fast digest is enough (no password stretching)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A channel's API key, stored hashed; the clear key is shown once when created."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.channel.code}:{self.prefix}…"

    @classmethod
    def issue(cls, channel: Channel, label: str = "") -> tuple[ApiKey, str]:
        raw = f"cd_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            channel=channel, prefix=raw[:10], key_hash=hash_key(raw), label=label
        )
        return key, raw


class InboundMessage(models.Model):
    """Every inbound email processed, by Message-ID: each message is handled once."""

    message_id = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20)  # created / joined / ignored / rejected
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")

    def __str__(self) -> str:
        return self.message_id
