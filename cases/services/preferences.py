"""A staff member's own settings: the name shown to colleagues, language and time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _

from cases.models import User
from cases.services.errors import InvalidInput

NAME_MAX = User._meta.get_field("display_name").max_length


def user_preferences_update(
    *, actor: User, display_name: str, language: str, time_zone: str
) -> User:
    """Save ``actor``'s own display name, language and time zone (empty language: the
    browser's; empty time zone: the site's). Raises InvalidInput for a name past its length,
    a language the site does not offer or an unknown time zone; nothing is saved then."""
    if language and language not in dict(settings.LANGUAGES):
        raise InvalidInput(_("Choose one of the offered languages."), field="language")
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(_("Unknown time zone."), field="time_zone") from exc
    name = (display_name or "").strip()
    if len(name) > NAME_MAX:
        raise InvalidInput(_("At most %(limit)d characters.") % {"limit": NAME_MAX},
                           field="display_name")
    actor.display_name = name
    actor.language, actor.time_zone = language, time_zone
    actor.save(update_fields=["display_name", "language", "time_zone"])
    return actor
