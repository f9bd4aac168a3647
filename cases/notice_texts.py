"""Notice texts: the admin's NoticeTemplate when one exists, else the built-in default."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from cases.models import NoticeTemplate
from cases.models.notices import NoticeKind


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _defaults(kind: str) -> tuple[str, str]:
    if kind == NoticeKind.ACKNOWLEDGEMENT:
        return (
            _("We received your complaint {reference}"),
            _("Dear {customer_name}, we received your complaint {reference}. Track its "
              "progress at {track_url} with tracking code {tracking_code}."),
        )
    if kind == NoticeKind.FEEDBACK:
        return (
            _("The result of your complaint {reference}"),
            _("Dear {customer_name}, about your complaint {reference}: {message}\n"
              "Compensation: {compensation}\nWhat we changed so it does not happen again: "
              "{measures}"),
        )
    if kind == NoticeKind.SURVEY:
        return (
            _("How did we handle your complaint {reference}?"),
            _("Dear {customer_name}, please tell us how satisfied you are with the handling "
              "of {reference}: {survey_url}"),
        )
    if kind == NoticeKind.FOLLOW_UP:
        return (
            _("Follow-up on your complaint {reference}"),
            _("Dear {customer_name}, following up on {reference}: {message}"),
        )
    return (_("Complaint desk alert"), "{message}")


def render_notice(
    *, kind: str, channel: str, language: str, context: dict[str, Any]
) -> tuple[str, str]:
    """Render (subject, body) in the customer's language."""
    template = NoticeTemplate.objects.filter(kind=kind, channel=channel, language=language).first()
    with translation.override(language):
        subject, body = (
            (template.subject, template.body) if template is not None else _defaults(kind)
        )
        values = _SafeDict({k: "" if v is None else v for k, v in context.items()})
        return subject.format_map(values), body.format_map(values)
