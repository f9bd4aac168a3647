"""python manage.py channel_key CHANNEL_CODE: create or rotate a channel's API key.

The clear key is printed once and never stored (only its SHA-256). Rotating revokes the
channel's previous keys unless --keep-old is given (to roll a key over without downtime)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from channels.models import ApiKey, Channel


class Command(BaseCommand):
    help = "Create or rotate a channel's API key and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("channel_code")
        parser.add_argument("--label", default="", help="What the key is for (shown in admin).")
        parser.add_argument("--keep-old", action="store_true",
                            help="Do not revoke the channel's existing keys.")

    def handle(self, *args, channel_code: str, label: str, keep_old: bool, **options) -> None:
        channel = Channel.objects.filter(code=channel_code).first()
        if channel is None:
            codes = ", ".join(Channel.objects.values_list("code", flat=True))
            raise CommandError(f"No channel with code {channel_code!r}. Channels: {codes}")
        with transaction.atomic():
            revoked = 0
            if not keep_old:
                for old in channel.api_keys.filter(revoked_at__isnull=True):
                    old.revoked_at = timezone.now()
                    old.save(update_fields=["revoked_at"])  # signals drop the cached key
                    revoked += 1
            key, raw = ApiKey.issue(channel, label=label or f"issued {timezone.now():%Y-%m-%d}")
        if not channel.is_active:
            self.stderr.write(f"Warning: channel {channel.code} is inactive; the key works "
                              "only once it is activated.")
        if revoked:
            self.stderr.write(f"Revoked {revoked} previous key(s) of {channel.code}.")
        self.stderr.write(f"New API key for {channel.code} (prefix {key.prefix}); it is shown "
                          "only now:")
        self.stdout.write(raw)
