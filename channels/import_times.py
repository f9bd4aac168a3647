"""Reading a legacy export's dates and times in the zone its system wrote them in.

The rule (documented in the importing module and channels/README.md):

* a value with an offset (``2024-03-10T00:20:00-05:00``, format ``%z``) is used as is;
* a naive value is read in the field's ``timezone`` if its rule names one, else in the
  mapping's top-level ``timezone`` (IANA names, daylight saving applied by ``zoneinfo``);
  a local time that does not exist (skipped when the clocks went forward) or happened twice
  (when they went back) is a row error that says so, never a guess;
* a naive value with a time of day and no zone named is a row error naming the field, the
  value and the ``timezone`` key to add: reading it in the server's zone silently moved a
  New York 00:20 twelve hours, to the day before;
* a date without a time (``%Y-%m-%d``) and no zone named is that day in the desk's
  reporting time zone (``settings.TIME_ZONE``): the day the reports file it under;
* a due date without a time (``end_of_day``) is due by the end of that day (the next
  midnight), not at its first minute.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                   "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
# strptime directives that read a time of day: a format without any is a date.
_TIME_DIRECTIVES = re.compile(r"%[HIMSpfXcTRz]")


class ValueProblem(ValueError):
    """One value of a row cannot be read: the field and a message naming the value."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def zone_named(name: Any, where: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError with a message naming ``where`` if there is none."""
    try:
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            _("%(where)s: %(value)r is not a time zone; give an IANA name such as "
              "America/New_York or Asia/Shanghai.") % {"where": where, "value": name}
        ) from exc


def parse_time(value: Any, *, formats: list[str] | None, zone: ZoneInfo | None,
               field_name: str, end_of_day: bool = False) -> datetime | None:
    """The aware datetime in ``value`` (None when empty); ValueProblem when it cannot be
    read or placed in time (see the module docstring for the zone rule)."""
    if value in ("", None):
        return None
    if isinstance(value, datetime):
        parsed, fmt = value, "%H" if value.time() else "%Y"
    else:
        parsed, fmt = _strptime(str(value), formats or DEFAULT_FORMATS, field_name)
    if parsed.tzinfo is not None:
        return parsed
    if zone is None:
        if _TIME_DIRECTIVES.search(fmt):
            raise ValueProblem(field_name, _(
                "%(value)r has a time of day but no time zone, and the mapping names none: add "
                "\"timezone\": \"<IANA name>\" (e.g. \"America/New_York\") to the mapping, or to "
                "the rule of %(field)s, saying where the legacy system's clocks were."
            ) % {"value": str(value), "field": field_name})
        zone = ZoneInfo(settings.TIME_ZONE)
    if end_of_day and not _TIME_DIRECTIVES.search(fmt):
        parsed += timedelta(days=1)
    return localise(parsed, zone, field_name, str(value))


def _strptime(text: str, formats: list[str], field_name: str) -> tuple[datetime, str]:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt), fmt
        except ValueError:
            continue
    raise ValueProblem(field_name, _("%(value)r is not a date in the format %(formats)s") % {
        "value": text, "formats": " or ".join(formats)})


def localise(naive: datetime, zone: ZoneInfo, field_name: str, text: str) -> datetime:
    """``naive`` as a wall-clock time in ``zone``; ValueProblem if that time did not exist
    there or existed twice (a daylight-saving change)."""
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueProblem(field_name, _(
            "%(value)r does not exist in %(zone)s: the clocks went forward over it. Check the "
            "source, or give the time with its offset."
        ) % {"value": text, "zone": zone.key})
    raise ValueProblem(field_name, _(
        "%(value)r happened twice in %(zone)s (the clocks went back): give the time with its "
        "offset (e.g. -04:00 or -05:00) so it is not a guess."
    ) % {"value": text, "zone": zone.key})
