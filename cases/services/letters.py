"""The final-response letter 答复函: its parts, the draft an agent previews, the check before
sending, and sending it as the case's feedback."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Case, CaseRegime, FinalLetter, LetterMode, LetterTemplate, User
from cases.models.notices import NoticeKind
from cases.notice_texts import fill, placeholder_problems, placeholders_in
from cases.services import lifecycle
from cases.services.desk_config import desk_config
from cases.services.errors import ActionNotAllowed, InvalidInput
from cases.services.intake import track_url
from cases.services.macros import customer_language
from cases.services.notices import notice_queue
from cases.services.transitions import lock_case

# The parts every letter must contain (placeholders of the template), with their names.
REQUIRED_PARTS = {
    "facts": gettext_lazy("the facts as established"),
    "decision": gettext_lazy("the decision"),
    "reasons": gettext_lazy("the reasons for the decision"),
    "compensation": gettext_lazy("the compensation"),
    "escalation": gettext_lazy("how to escalate"),
    "contact": gettext_lazy("the desk's contact"),
}
OPTIONAL_PARTS = {
    "customer_name": gettext_lazy("customer's name"),
    "reference": gettext_lazy("case reference"),
    "date": gettext_lazy("the date of the letter"),
    "measures": gettext_lazy("measures against a repeat"),
}
SUBJECT_PLACEHOLDERS = ("customer_name", "reference", "date")


def letter_template_problems(*, subject: str, body: str) -> list[str]:
    """Problems of one language's subject and letter text: unknown placeholders, and each
    required part the letter lacks, named."""
    problems = placeholder_problems(SUBJECT_PLACEHOLDERS, subject)
    problems += placeholder_problems((*REQUIRED_PARTS, *OPTIONAL_PARTS), body)
    if not problems:
        used = set(placeholders_in(body))
        problems += [_("The letter must contain the part {%(name)s} (%(label)s).")
                     % {"name": name, "label": label}
                     for name, label in REQUIRED_PARTS.items() if name not in used]
    return problems


@dataclass(frozen=True)
class LetterParts:
    """What the agent writes: the rest comes from the case and the template."""

    facts: str = ""
    decision: str = ""
    reasons: str = ""
    measures: str = ""


@dataclass(frozen=True)
class LetterDraft:
    subject: str
    text: str
    language: str
    template: LetterTemplate | None
    values: dict[str, str]
    # (part, message): every required part that is missing, named; empty: it may be sent.
    problems: list[tuple[str, str]] = field(default_factory=list)


def active_template() -> LetterTemplate | None:
    return LetterTemplate.objects.filter(is_active=True).first()


def letter_prefill(case: Case) -> LetterParts:
    """The agent's starting point: the complaint, the recorded solution and root cause."""
    english = customer_language(case).startswith("en")
    cause = case.root_cause
    reasons = "" if cause is None else (cause.name_en or cause.name) if english else cause.name
    return LetterParts(facts=case.description, decision=case.solution, reasons=reasons,
                       measures=case.preventive_measures)


def _escalation(case: Case, template: LetterTemplate, english: bool) -> str:
    regime = CaseRegime.objects.filter(case=case).select_related("regime").first()
    if regime is not None:
        text = regime.regime.escalation_en if english else regime.regime.escalation
        if text.strip():
            return text
    return template.escalation_en if english else template.escalation


def letter_draft(*, case: Case, parts: LetterParts,
                 template: LetterTemplate | None = None) -> LetterDraft:
    """The letter ``parts`` make for ``case`` in the customer's language, with the problems
    that stop it from being sent. Reads the template, the regime and the compensation."""
    language = customer_language(case)
    english = language.startswith("en")
    template = template or active_template()
    if template is None:
        return LetterDraft("", "", language, None, {}, [
            ("", _("No letter template is active: an admin must add one first."))])
    with translation.override(language):
        values = {
            "facts": parts.facts.strip(), "decision": parts.decision.strip(),
            "reasons": parts.reasons.strip(), "measures": parts.measures.strip(),
            "compensation": lifecycle.compensation_summary(case),
            "escalation": _escalation(case, template, english).strip(),
            "contact": (template.contact_en if english else template.contact).strip(),
            "customer_name": case.customer.name, "reference": case.reference,
            "date": date_format(timezone.localdate(), "DATE_FORMAT"),
        }
        body = template.body_en if english else template.body
        subject = fill(template.subject_en if english else template.subject, values)
    # The problems are for the agent: in the agent's language, not the customer's.
    used = set(placeholders_in(body))
    problems = [
        (name, _("The letter cannot be sent: %(part)s is missing.") % {"part": label})
        for name, label in REQUIRED_PARTS.items() if not values[name] or name not in used]
    return LetterDraft(subject=" ".join(subject.split())[:200], text=fill(body, values),
                       language=language, template=template, values=values,
                       problems=problems)


@transaction.atomic
def letter_send(*, actor: User, case_id: int, parts: LetterParts,
                expected_version: int | None = None) -> FinalLetter:
    """Send the final-response letter as the case's feedback (resolved -> feedback given).

    Preconditions: the desk uses letters; the letter has every required part (else
    InvalidInput naming the first missing part, ``field`` the part); the measures against a
    repeat are given; the actor may give feedback (``record_feedback`` checks, as for the
    feedback form). Nothing changes when refused.
    Side effects: the feedback is recorded with the letter's text as its message; the letter
    is stored as sent (text, parts, template and version, sender, time); the customer is
    sent a ``letter`` notice on their channel through the outbox after commit."""
    case = lock_case(case_id, expected_version)
    if desk_config().settings.letter_mode == LetterMode.OFF:
        raise ActionNotAllowed(_("This desk does not use final-response letters."))
    draft = letter_draft(case=case, parts=parts)
    if draft.problems:
        name, message = draft.problems[0]
        raise InvalidInput(message, field=name or None)
    if not parts.measures.strip():
        raise InvalidInput(_("Say what was changed so that it does not happen again."),
                           field="measures")
    revisit_round = lifecycle.record_feedback(case, actor, message=draft.text,
                                              preventive_measures=parts.measures)
    notice = notice_queue(case=case, kind=NoticeKind.LETTER, key=f"round{revisit_round}",
                          context={"letter": draft.text, "track_url": track_url(case)})
    letter = FinalLetter.objects.create(
        case=case, round=revisit_round, language=draft.language, template=draft.template,
        template_version=draft.template.version if draft.template else 0,
        subject=draft.subject, text=draft.text, parts=asdict(parts), sent_by=actor,
        sent_at=timezone.now(), notice=notice)
    lifecycle.finish_case(case)
    return letter
