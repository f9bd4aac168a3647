"""Reads of the intake channels: the customer's progress lookup and the desk's customer
search. The tracking timeline shows only what is meant for the customer: stages and dates,
their messages, our replies and the messages marked visible to them, and the result we sent;
never internal notes or staff names."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases.choices import Basis, Clock, NoteKind, Stage
from cases.models import Case, CaseDeadline, CasePause, CaseReview, Customer
from cases.services.intake import normalise_phone

# What each stage means to the customer (staff labels talk about the process, not to them).
PUBLIC_STAGE_LABELS = {
    Stage.RECEIVED: _("We received your complaint"),
    Stage.TRIAGED: _("Reviewed and prioritised"),
    Stage.ASSIGNED: _("Assigned to a specialist"),
    Stage.IN_PROGRESS: _("Being handled"),
    Stage.WAITING_DEPARTMENT: _("Being checked with the responsible department"),
    Stage.RESOLVED: _("A solution has been found"),
    Stage.FEEDBACK_GIVEN: _("We sent you the result"),
    Stage.REVISIT: _("Satisfaction survey"),
    Stage.FOLLOW_UP: _("Follow-up in progress"),
    Stage.REVIEW: _("Your review request is being examined"),
    Stage.CLOSED: _("Closed"),
    Stage.INVALID: _("Closed (withdrawn or not a complaint)"),
}

_DUMMY_CODE = "ZZZZZZZZZZ"


def case_for_tracking(*, reference: str, code: str) -> Case | None:
    """The case if ``code`` is its tracking code; else None. Only the tracking code opens
    it: never a part of the phone number, which staff screens show masked. A wrong
    reference and a wrong code take the same path and the same comparison, so neither the
    answer nor its timing tells which one was wrong."""
    case = (Case.objects.select_related("statutory__regime").filter(reference=reference).first()
            if reference else None)
    tracking_code = case.tracking_code if case is not None else _DUMMY_CODE
    code_ok = secrets.compare_digest(code.encode(), tracking_code.encode())
    if case is None or not code_ok:
        return None
    return case


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "stage", "message", "reply", "customer", "result", "pause"
    title: str
    body: str = ""
    files: int = 0  # files that went with our reply (by e-mail)


def tracking_timeline(case: Case) -> list[TimelineEntry]:
    """Customer-visible history, oldest first (three queries)."""
    entries = [
        TimelineEntry(at, "stage", str(PUBLIC_STAGE_LABELS.get(target, target)))
        for target, at in case.transitions.filter(field="stage").values_list("target", "at")
    ]
    result_shown = False
    measures = ""
    if case.preventive_measures:
        measures = "\n\n" + str(_("What we changed so it does not happen again:")) + " " + (
            case.preventive_measures
        )
    notes = (case.notes.filter(visible_to_customer=True).annotate(file_count=Count("files"))
             .values_list("kind", "body", "created_at", "file_count"))
    for kind, body, at, file_count in notes:
        if kind == NoteKind.CUSTOMER_MESSAGE:
            entries.append(TimelineEntry(at, "customer", str(_("Your message")), body))
        elif kind == NoteKind.REPLY:
            entries.append(TimelineEntry(at, "reply", str(_("Our reply")), body, file_count))
        elif case.feedback_message and body == case.feedback_message and not result_shown:
            # The feedback is recorded as a contact note: show it once, as the result.
            entries.append(TimelineEntry(at, "result", str(_("Our result")), body + measures))
            result_shown = True
        else:
            entries.append(TimelineEntry(at, "message", str(_("Message from us")), body))
    entries += pause_entries(case)
    if case.feedback_given_at and case.feedback_message and not result_shown:
        entries.append(TimelineEntry(case.feedback_given_at, "result", str(_("Our result")),
                                     case.feedback_message + measures))
    entries += review_timeline(case)
    entries.sort(key=lambda e: e.at)
    return entries


def review_timeline(case: Case) -> list[TimelineEntry]:
    """The customer's review request 申请核查 and its result (one query, only when asked)."""
    if case.review_requested_at is None:
        return []
    review = CaseReview.objects.filter(case=case).first()
    if review is None:
        return []
    entries = [TimelineEntry(review.requested_at, "customer", str(_("Your review request")),
                             review.reason)]
    if review.concluded_at is not None:
        body = f"{review.get_outcome_display()}\n{review.conclusion}"
        if review.new_solution:
            body += "\n\n" + str(_("New solution:")) + " " + review.new_solution
        entries.append(TimelineEntry(review.concluded_at, "result",
                                     str(_("Result of the review")), body))
    return entries


def pause_entries(case: Case) -> list[TimelineEntry]:
    """The case's pauses as the customer sees them: the reason (in the page's language) and
    when the handling time ran again; never the staff note (one query)."""
    entries = []
    for pause in CasePause.objects.filter(case=case).select_related("reason"):
        entries.append(TimelineEntry(pause.started_at, "pause", str(_("Handling time paused")),
                                     pause.reason.label))
        if pause.ended_at:
            entries.append(TimelineEntry(pause.ended_at, "pause",
                                         str(_("Handling time runs again"))))
    return entries


def customer_search(query: str, limit: int = 10) -> list[Customer]:
    """Find customers by phone (as typed or without spacing) or email, for the desk."""
    query = query.strip()
    if not query:
        return []
    phone = normalise_phone(query)
    lookup = Q(email__iexact=query)
    if phone:
        lookup |= Q(phone=phone) | Q(phone=query)
        if phone.isdigit() and len(phone) >= 4:
            lookup |= Q(phone__endswith=phone)
    return list(Customer.objects.filter(lookup).order_by("-created_at")[:limit])


# --- issue 14: the dates the customer is waiting for, with what they count in ---------------
CUSTOMER_CLOCKS = {
    Clock.RESPONSE: _("First reply expected by"),
    Clock.SOLUTION: _("Solution expected by"),
    Clock.FEEDBACK: _("Result expected by"),
}


@dataclass(frozen=True)
class DueDate:
    label: str
    due_at: datetime
    working: bool  # counted in working time (else calendar time)
    calendar: str  # the working calendar's name, in the page's language


def tracking_due_dates(case: Case) -> list[DueDate]:
    """The running deadlines the customer waits for, nearest first (one query). A clock a
    pause stopped has no date until it runs again (the page says why it is paused)."""
    english = not get_language().startswith("zh")
    rows = (CaseDeadline.objects.filter(case=case, stopped_at__isnull=True,
                                        paused_at__isnull=True,
                                        clock__in=list(CUSTOMER_CLOCKS))
            .select_related("calendar").order_by("due_at"))
    return [
        DueDate(label=str(CUSTOMER_CLOCKS[row.clock]), due_at=row.due_at,
                working=row.basis == Basis.WORKING,
                calendar=("" if row.calendar is None else
                          (row.calendar.name_en or row.calendar.name) if english
                          else row.calendar.name))
        for row in rows
    ]
