"""Notice texts: the admin's NoticeTemplate for (kind, channel, language) when one exists,
else the email template of that kind and language, else the built-in default.

Templates use ``{name}`` placeholders. Only plain names listed in PLACEHOLDERS are filled
(no attribute or index access: a template is admin input, not code); an unknown name renders
empty, and a template that cannot be parsed falls back to the default text rather than
failing the action that queues the notice. The admin form validates both up front.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.choices import ContactChannel
from cases.models import NoticeTemplate
from cases.models.notices import NoticeKind

logger = logging.getLogger(__name__)

_COMMON = ("reference", "tracking_code", "customer_name")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    NoticeKind.ACKNOWLEDGEMENT: (*_COMMON, "track_url"),
    NoticeKind.FEEDBACK: (*_COMMON, "message", "compensation", "measures"),
    NoticeKind.SURVEY: (*_COMMON, "survey_url", "expires_on"),
    NoticeKind.FOLLOW_UP: (*_COMMON, "message"),
    NoticeKind.REVIEW_RECEIVED: (*_COMMON, "due_on", "track_url"),
    NoticeKind.REVIEW_RESULT: (*_COMMON, "outcome", "message", "solution", "compensation",
                               "track_url"),
    NoticeKind.STAFF_ALERT: ("reference", "recipient_name", "message", "case_url"),
    NoticeKind.PAUSE: (*_COMMON, "reason", "resume_by"),
    NoticeKind.EXTENSION: (*_COMMON, "regime", "new_due", "reason"),
    NoticeKind.LETTER: (*_COMMON, "letter", "track_url"),
    NoticeKind.MERGED: (*_COMMON, "merged_reference"),
}

PLACEHOLDER_HELP = {
    "reference": gettext_lazy("case reference, e.g. TS-2026-000123"),
    "tracking_code": gettext_lazy("tracking code for the progress page"),
    "customer_name": gettext_lazy("customer's name"),
    "track_url": gettext_lazy("link to the progress page"),
    "message": gettext_lazy("the agent's message (or the alert text)"),
    "compensation": gettext_lazy("approved compensation"),
    "measures": gettext_lazy("measures against a repeat"),
    "survey_url": gettext_lazy("signed single-use survey link"),
    "expires_on": gettext_lazy("date the survey link expires"),
    "due_on": gettext_lazy("date by which the review will be concluded"),
    "outcome": gettext_lazy("the review's outcome (confirmed or changed)"),
    "solution": gettext_lazy("the new solution after a changed decision"),
    "recipient_name": gettext_lazy("staff member's name"),
    "case_url": gettext_lazy("link to the case on the desk"),
    "resume_by": gettext_lazy("date the pause ends at the latest"),
    "regime": gettext_lazy("the statutory regime and its source"),
    "new_due": gettext_lazy("the new statutory due date after the extension"),
    "reason": gettext_lazy("why handling is paused, or why the time limit was extended"),
    "letter": gettext_lazy("the final-response letter's full text"),
    "merged_reference": gettext_lazy("reference of the complaint merged into this one"),
}

SAMPLE_CONTEXT: dict[str, str] = {
    "reference": "TS-2026-000123",
    "tracking_code": "K7Q2M9XD",
    "customer_name": "王芳",
    "track_url": "https://example.com/track/?reference=TS-2026-000123",
    "message": "已为您补发商品，预计明日送达。",
    "compensation": "优惠券 50.00",
    "measures": "更换了该线路的物流服务商。",
    "survey_url": "https://example.com/survey/abc123/",
    "expires_on": "2026-12-07",
    "due_on": "2026-12-22",
    "outcome": "已变更处理决定",
    "solution": "为您全额退款。",
    "recipient_name": "李娜",
    "case_url": "https://example.com/desk/cases/123/",
    "resume_by": "2026-12-31",
    "regime": "银行业保险业消费投诉处理管理办法（2020）",
    "new_due": "2026-12-31",
    "reason": "需调取第三方机构的交易记录。",
    "letter": "王芳女士：\n\n关于您的投诉 TS-2026-000123，经核实……\n\n客户服务中心",
    "merged_reference": "TS-2026-000124",
}


class TemplateSyntaxProblem(ValueError):
    pass


class _PlainFormatter(string.Formatter):
    """``str.format`` restricted to plain names; missing names render empty."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if not field_name.isidentifier():
            raise TemplateSyntaxProblem(field_name)
        return kwargs.get(field_name, ""), field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        return "" if value is None else str(value)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value


_FORMATTER = _PlainFormatter()


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in ``text``; raises TemplateSyntaxProblem if unparsable."""
    try:
        return [name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                if name is not None]
    except ValueError as exc:
        raise TemplateSyntaxProblem(str(exc)) from exc


def template_problems(kind: str, *texts: str) -> list[str]:
    """Human-readable problems of admin-entered template texts (empty list: fine)."""
    return placeholder_problems(PLACEHOLDERS.get(kind, ()), *texts)


def placeholder_problems(allowed: Sequence[str], *texts: str) -> list[str]:
    """Problems of admin-entered texts that may use the placeholders ``allowed``: unbalanced
    braces, and each unknown name (empty list: fine)."""
    problems: list[str] = []
    for text in texts:
        try:
            names = placeholders_in(text or "")
        except TemplateSyntaxProblem:
            problems.append(_("Unbalanced braces: write {name} for a placeholder and {{ or }} "
                              "for a literal brace."))
            continue
        for name in names:
            if name not in allowed:
                problems.append(
                    _("Unknown placeholder {%(name)s}. Available: %(allowed)s.")
                    % {"name": name, "allowed": ", ".join(f"{{{a}}}" for a in allowed)}
                )
    return problems


def fill(text: str, context: Mapping[str, Any]) -> str:
    return _FORMATTER.vformat(text, (), dict(context))


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
              "of {reference}: {survey_url} (valid until {expires_on})"),
        )
    if kind == NoticeKind.FOLLOW_UP:
        return (
            _("Follow-up on your complaint {reference}"),
            _("Dear {customer_name}, following up on {reference}: {message}"),
        )
    if kind == NoticeKind.REVIEW_RECEIVED:
        return (
            _("We received your review request for {reference}"),
            _("Dear {customer_name}, we received your request to review the handling of "
              "{reference}. A reviewer who did not handle your complaint will examine it and "
              "answer by {due_on}. Track it at {track_url} with code {tracking_code}."),
        )
    if kind == NoticeKind.REVIEW_RESULT:
        return (
            _("The result of the review of {reference}"),
            _("Dear {customer_name}, we reviewed the handling of {reference}. Outcome: "
              "{outcome}.\n{message}\nNew solution: {solution}\nCompensation: {compensation}"),
        )
    if kind == NoticeKind.PAUSE:
        return (
            _("The handling time of your complaint {reference} is paused"),
            _("Dear {customer_name}, the time limit for handling your complaint {reference} "
              "is paused: {reason}. It runs again when this is settled, at the latest on "
              "{resume_by}. Track progress with tracking code {tracking_code}."),
        )
    if kind == NoticeKind.EXTENSION:
        return (
            _("The time limit for your complaint {reference} is extended"),
            _("Dear {customer_name}, under {regime} the time limit for deciding your "
              "complaint {reference} is extended to {new_due}. Reason: {reason}"),
        )
    if kind == NoticeKind.LETTER:
        return (_("Our final response to your complaint {reference}"), "{letter}")
    if kind == NoticeKind.MERGED:
        return (
            _("Your complaints {merged_reference} and {reference} are handled together"),
            _("Dear {customer_name}, your complaint {merged_reference} is about the same "
              "matter as {reference}, so we handle both under {reference}. Track its "
              "progress with reference {reference} and tracking code {tracking_code}."),
        )
    return (_("Complaint desk alert: {reference}"), "{message}\n{case_url}")


TemplateCache = dict[tuple[str, str, str], NoticeTemplate | None]


def template_keys(kind: str, channel: str, language: str) -> list[tuple[str, str, str]]:
    """The (kind, channel, language) templates a notice looks for, in order: its channel's,
    then the e-mail one."""
    wanted = [(kind, channel, language)]
    if channel != ContactChannel.EMAIL:
        wanted.append((kind, ContactChannel.EMAIL, language))
    return wanted


def _template(
    kind: str, channel: str, language: str, cache: TemplateCache | None
) -> NoticeTemplate | None:
    wanted = template_keys(kind, channel, language)
    missing = [key for key in wanted if cache is None or key not in cache]
    if missing:
        found = _templates_for(kind, language, [key[1] for key in missing])
        if cache is None:
            cache = {}
        for key in missing:
            cache[key] = found.get(key)
    for key in wanted:
        if cache[key] is not None:
            return cache[key]
    return None


def _templates_for(kind: str, language: str,
                   channels: list[str]) -> dict[tuple[str, str, str], NoticeTemplate]:
    """This channel's template and the e-mail fallback, in one query."""
    found = NoticeTemplate.objects.filter(kind=kind, language=language, channel__in=channels)
    return {(t.kind, t.channel, t.language): t for t in found}


def render_notice(
    *, kind: str, channel: str, language: str, context: Mapping[str, Any],
    cache: TemplateCache | None = None,
) -> tuple[str, str]:
    """Render (subject, body) in ``language``. ``cache`` (a dict) lets a sweep that renders
    thousands of notices read each template once."""
    template = _template(kind, channel, language, cache)
    values = {k: "" if v is None else v for k, v in context.items()}
    with translation.override(language):
        if template is not None:
            try:
                return fill(template.subject, values), fill(template.body, values)
            except (TemplateSyntaxProblem, ValueError, IndexError, KeyError):
                logger.warning("notice template %s is broken; using the default text",
                               template.pk)
        subject, body = _defaults(kind)
        return fill(subject, values), fill(body, values)


def render_preview(template: NoticeTemplate) -> tuple[str, str]:
    """The template filled with sample values (for the admin's preview)."""
    values = {name: SAMPLE_CONTEXT.get(name, "") for name in PLACEHOLDERS.get(template.kind, ())}
    with translation.override(template.language):
        return fill(template.subject or "", values), fill(template.body or "", values)
