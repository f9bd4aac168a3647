"""Canned replies (macros): the placeholders they may use, filling them for one case in the
customer's language, and sending a reply written from one together with its action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.choices import MAX_FREE_TEXT, NoteKind
from cases.models import Case, CaseNote, Macro, MacroAction, User
from cases.notice_texts import fill, placeholder_problems, placeholders_in
from cases.services import lifecycle, pauses
from cases.services.errors import DomainError, InvalidInput
from cases.services.intake import track_url
from cases.services.transitions import lock_case
from channels.selectors import tracking_due_dates

PLACEHOLDERS: dict[str, Any] = {
    "customer_name": gettext_lazy("customer's name"),
    "reference": gettext_lazy("case reference"),
    "due_date": gettext_lazy("the case's nearest due date the customer waits for"),
    "agent_name": gettext_lazy("your name"),
    "tracking_link": gettext_lazy("link to the customer's progress page"),
}


def macro_problems(*texts: str) -> list[str]:
    """Problems of a macro's texts (unknown placeholder named, unbalanced braces); empty:
    fine."""
    return placeholder_problems(tuple(PLACEHOLDERS), *texts)


@dataclass(frozen=True)
class FilledMacro:
    """A macro filled for one case: the text to insert and what sending it will also do."""

    macro_id: int
    title: str
    text: str
    language: str
    action: str
    action_label: str
    warnings: tuple[str, ...] = ()


def customer_language(case: Case) -> str:
    """The language the customer's notices use."""
    return case.customer.language or settings.LANGUAGE_CODE


def nearest_due(case: Case) -> datetime | None:
    """The nearest running due time the customer waits for (as ``/track/`` lists them), else
    the statutory due date."""
    dates = tracking_due_dates(case)
    if dates:
        return dates[0].due_at
    return case.statutory_due_at


def macro_context(case: Case, agent: User) -> dict[str, str]:
    """The placeholder values for ``case``, the due date in the customer's language."""
    due = nearest_due(case)
    with translation.override(customer_language(case)):
        due_text = date_format(timezone.localtime(due), "DATE_FORMAT") if due else ""
    return {
        "customer_name": case.customer.name, "reference": case.reference,
        "due_date": due_text, "agent_name": str(agent), "tracking_link": track_url(case),
    }


def action_label(macro: Macro) -> str:
    if macro.action == MacroAction.REQUEST_MATERIALS and macro.pause_reason is not None:
        return _("Sending also pauses the case: %(reason)s.") % {
            "reason": macro.pause_reason.label}
    if macro.action == MacroAction.MATERIALS_RECEIVED:
        return _("Sending also resumes the paused case.")
    if macro.action == MacroAction.PROGRESS:
        return _("Sending also counts as the progress update.")
    return ""


def macro_fill(*, macro: Macro, case: Case, agent: User,
               context: dict[str, str] | None = None) -> FilledMacro:
    """``macro``'s text for ``case`` in the customer's language, placeholders filled. A value
    the case does not have (no running due date) is left empty and named in ``warnings``."""
    language = customer_language(case)
    values = context if context is not None else macro_context(case, agent)
    text = macro.text_for(language)
    names = placeholders_in(text)
    warnings = tuple(
        _("This case has no value for {%(name)s}: it was left empty, edit the text.")
        % {"name": name} for name in dict.fromkeys(names) if not values.get(name))
    return FilledMacro(macro_id=macro.pk, title=macro.label, text=fill(text, values),
                       language=language, action=macro.action, action_label=action_label(macro),
                       warnings=warnings)


def macros_filled_for(*, macros: Sequence[Macro], case: Case, agent: User) -> list[FilledMacro]:
    """Every macro of ``macros`` that applies to ``case``, filled (the due date read once)."""
    context = macro_context(case, agent)
    return [macro_fill(macro=m, case=case, agent=agent, context=context)
            for m in macros if m.applies_to(case.category, case.stage)]


def macro_for_case(*, macro_id: int | str, case: Case) -> Macro:
    """The active macro ``macro_id`` if it applies to ``case``; InvalidInput otherwise."""
    try:
        macro = Macro.objects.select_related("pause_reason").get(pk=int(macro_id),
                                                                is_active=True)
    except (Macro.DoesNotExist, TypeError, ValueError) as exc:
        raise InvalidInput(_("This canned reply is no longer in use; choose another."),
                           field="macro") from exc
    if not macro.applies_to(case.category, case.stage):
        raise InvalidInput(_("The canned reply “%(macro)s” does not apply to this case.")
                           % {"macro": macro.label}, field="macro")
    return macro


def _run_action(macro: Macro, *, actor: User, case_id: int, body: str) -> None:
    if macro.action == MacroAction.REQUEST_MATERIALS:
        if macro.pause_reason is None:
            raise InvalidInput(_("The canned reply “%(macro)s” names no pause reason.")
                               % {"macro": macro.label}, field="macro")
        pauses.case_pause(actor=actor, case_id=case_id, reason=macro.pause_reason.code,
                          note=body[:MAX_FREE_TEXT])
    elif macro.action == MacroAction.MATERIALS_RECEIVED:
        pauses.case_resume(actor=actor, case_id=case_id)
    elif macro.action == MacroAction.PROGRESS:
        lifecycle.case_add_note(
            actor=actor, case_id=case_id, kind=NoteKind.PROGRESS,
            body=_("Progress told to the customer in a reply (“%(macro)s”).")
            % {"macro": macro.label})


@transaction.atomic
def macro_send_reply(
    *, actor: User, case_id: int, macro_id: int | str, body: str, channel: str,
    files: Sequence[Any] = (), version: int | None = None,
) -> CaseNote:
    """Send a reply written from a macro and record the macro's action with it, in one
    transaction: both or neither.

    Preconditions: the macro is active and applies to the case (category, stage); ``version``
    (when given) is the case's current version. The action runs first through its own service
    (``case_pause``, ``case_resume``, ``case_add_note``) with that service's permission
    checks; a refusal raises the service's error, prefixed with the macro's name, and nothing
    is sent or stored. Then ``case_send_reply`` sends ``body`` (as edited by the agent).
    Returns the reply note."""
    from cases.services.conversation import case_send_reply

    case = lock_case(case_id, version)
    macro = macro_for_case(macro_id=macro_id, case=case)
    try:
        _run_action(macro, actor=actor, case_id=case.pk, body=(body or "").strip())
    except DomainError as exc:
        exc.message = _("Nothing was sent: the action of “%(macro)s” was refused. %(why)s") % {
            "macro": macro.label, "why": exc.message}
        exc.args = (exc.message,)
        raise
    return case_send_reply(actor=actor, case_id=case.pk, body=body, channel=channel,
                           files=files)
