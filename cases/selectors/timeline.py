"""The case timeline, a page at a time: the latest entries first shown, "show earlier" reading
the page before a cursor. Every source is read with the same keyset bound, so a page costs the
same number of queries however long the thread is.

An entry's position is (time, source rank, row id); the cursor names the oldest entry shown
and the next page holds the entries strictly before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import NoteKind, Stage, Tier
from cases.models import (
    Case,
    CaseAttachment,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    Notice,
    Revisit,
    User,
)
from cases.models.collaboration import RequestStatus
from cases.models.notices import NoticeKind, NoticeStatus
from cases.selectors.presence import present
from cases.services.collaboration import TIMELINE_FIELD as REQUEST_FIELD

PAGE_SIZE = 30

# Source ranks: the order of entries that share a timestamp.
TRANSITION, NOTE, NOTICE, COLLABORATION, COMPENSATION, DECISION, REVISIT = range(7)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

# How each kind of note looks in the thread: customer on the left, the desk on the right,
# internal notes yellow.
_NOTE_CSS = {
    NoteKind.CUSTOMER_MESSAGE: "msg msg-customer",
    NoteKind.CONTACT: "msg msg-agent",
    NoteKind.REPLY: "msg msg-agent",
    NoteKind.PROGRESS: "msg msg-agent",
    NoteKind.INTERNAL: "msg msg-internal",
    NoteKind.UNVERIFIED_MESSAGE: "msg msg-internal",
}


@dataclass(frozen=True)
class Cursor:
    at: datetime
    rank: int
    pk: int

    def encode(self) -> str:
        return f"{(self.at - _EPOCH) // _MICRO}.{self.rank}.{self.pk}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        """The cursor in ``value``, or None when it is missing or malformed."""
        parts = str(value or "").split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 20 for p in parts):
            return None
        try:
            return cls(_EPOCH + int(parts[0]) * _MICRO, int(parts[1]), int(parts[2]))
        except OverflowError:
            return None


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # transition / note / notice / collaboration / compensation / revisit
    obj: Any
    css: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    rank: int = 0

    @property
    def key(self) -> tuple[datetime, int, int]:
        return self.at, self.rank, getattr(self.obj, "pk", 0) or 0


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]  # oldest first
    earlier: str  # the cursor of the page before this one ("" at the start)
    intake_files: list[CaseAttachment] = field(default_factory=list)  # came with the complaint

    def __iter__(self):  # noqa: ANN204 - templates and tests iterate the page
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _before(cursor: Cursor | None, rank: int, time_field: str) -> Q:
    """Rows of the source ``rank`` strictly before ``cursor`` in (time, rank, id) order."""
    if cursor is None:
        return Q()
    earlier = Q(**{f"{time_field}__lt": cursor.at})
    if rank < cursor.rank:
        return earlier | Q(**{time_field: cursor.at})
    if rank == cursor.rank:
        return earlier | Q(**{time_field: cursor.at, "pk__lt": cursor.pk})
    return earlier


def _latest(qs: QuerySet, time_field: str, rank: int, cursor: Cursor | None,
            limit: int) -> list[Any]:
    return list(qs.filter(_before(cursor, rank, time_field))
                .order_by(f"-{time_field}", "-pk")[: limit + 1])


def _latest_in_memory(rows: Iterable[Any], at: Callable[[Any], datetime | None], rank: int,
                      cursor: Cursor | None, limit: int) -> list[tuple[datetime, Any]]:
    """The same bound for a small list the page read already (requests, compensations)."""
    keyed = [(at(r), r) for r in rows if at(r) is not None]
    if cursor is not None:
        bound = (cursor.at, cursor.rank, cursor.pk)
        keyed = [(t, r) for t, r in keyed if (t, rank, r.pk) < bound]
    keyed.sort(key=lambda item: (item[0], item[1].pk), reverse=True)
    return keyed[: limit + 1]


_EXTRA_TRANSITION_LABELS = {
    "receive": _("Received"),
    "pause": _("Paused"),
    "resume": _("Resumed"),
}


def transition_label(name: str) -> str:
    from cases.transition_labels import TRANSITION_LABELS

    label = TRANSITION_LABELS.get(name) or _EXTRA_TRANSITION_LABELS.get(name)
    return str(label) if label else name.replace("_", " ")


def state_label(field_name: str, value: str) -> str:
    """A logged state value as a person reads it (stage, tier and department-request status
    names are translated)."""
    if value in ("", None):
        return "—"
    try:
        if field_name == "stage":
            return str(Stage(value).label)
        if field_name == "tier":
            return str(Tier(int(value)).label)
        if field_name == REQUEST_FIELD:
            return str(RequestStatus(value).label)
    except ValueError:
        pass
    return str(value)


def _request_for_row(
    at: datetime, note: str, requests: list[CollaborationRequest]
) -> CollaborationRequest | None:
    """The department request a ``field="request"`` timeline row is about. The collaboration
    service writes the note as "<department>: <text>" (or just the department), and a case has
    at most one waiting request per department, so it is the latest request to that
    department created by the row's time."""
    found = None
    for req in requests:  # oldest first
        if req.created_at > at:
            break
        dept = str(req.department)
        if note == dept or note.startswith(f"{dept}: "):
            found = req
    return found


def _request_url(req: CollaborationRequest) -> str:
    return reverse("board:request", args=[req.pk])


def _may_resend(notice: Notice | None, case: Case, author_id: int | None, user: User) -> bool:
    return bool(notice is not None
                and notice.status in (NoticeStatus.FAILED, NoticeStatus.UNCERTAIN)
                and perms.can_resend_reply(case, author_id, user))


def _request_help_rows(case: Case, requests: list[CollaborationRequest],
                       transitions: list[CaseTransition], before: Cursor | None,
                       limit: int) -> set[tuple[datetime, str]]:
    """(time, note) of the case's ``request_help`` rows that can name one of ``requests``.
    A row is written when its request is created, so none is older than the oldest request:
    when the latest page of transitions reaches back beyond that, it holds them all and no
    query is needed."""
    if not requests:
        return set()
    complete = before is None and (
        len(transitions) <= limit
        or min(r.created_at for r in requests) > transitions[-1].at)
    if complete:
        return {(t.at, t.note) for t in transitions
                if t.field == REQUEST_FIELD and t.name == "request_help"}
    return set(CaseTransition.objects.filter(case=case, field=REQUEST_FIELD, name="request_help")
               .values_list("at", "note"))


def case_timeline_page(
    case: Case, *, user: User, requests: list[CollaborationRequest],
    compensations: list[Compensation], revisits: list[Revisit],
    before: Cursor | None = None, limit: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of the case's timeline (transitions, notes and replies with their files and
    delivery status, notices, collaboration, compensation, revisits), the latest ``limit``
    entries before ``before``. ``requests`` (with their department, oldest first),
    ``compensations`` and ``revisits``: the case's rows the workspace read already.

    Department requests appear through their ``field="request"`` transition rows, each linked
    to its request page; a request without a ``request_help`` row (written before the board
    logged its steps) still shows as a ``collaboration`` entry. A reply's outbox row shows on
    the reply, not as an entry of its own."""
    transitions = _latest(CaseTransition.objects.filter(case=case).select_related("actor"),
                          "at", TRANSITION, before, limit)
    notes = _latest(
        CaseNote.objects.filter(case=case).select_related("author", "notice", "moved_from"),
        "created_at", NOTE, before, limit)
    # One read for the page's note files and the files that came with the complaint.
    files = list(CaseAttachment.objects.filter(case=case).filter(
        Q(note__in=[n.pk for n in notes]) | Q(note__isnull=True, request__isnull=True))
        .order_by("uploaded_at", "pk")) if present(case, "attachments") else []
    for n in notes:
        n.page_files = [f for f in files if f.note_id == n.pk]
    notices = _latest(
        Notice.objects.filter(case=case).filter(~Q(kind=NoticeKind.REPLY) | Q(notes__isnull=True))
        .defer("context"), "created_at", NOTICE, before, limit)
    logged = _request_help_rows(case, requests, transitions, before, limit)
    logged_requests = {req.pk for at, note in logged
                       if (req := _request_for_row(at, note, requests)) is not None}

    entries: list[TimelineEntry] = []
    for t in transitions:
        extra = {"label": transition_label(t.name), "source": state_label(t.field, t.source),
                 "target": state_label(t.field, t.target)}
        if t.field == REQUEST_FIELD:
            req = _request_for_row(t.at, t.note, requests)
            if req is not None:
                extra["request"] = req
                extra["request_url"] = _request_url(req)
        entries.append(TimelineEntry(t.at, "transition", t, "kind-transition", extra,
                                     TRANSITION))
    for n in notes:
        css = _NOTE_CSS.get(n.kind, "msg msg-agent")
        if n.kind == NoteKind.PROGRESS and not n.visible_to_customer:
            css = "msg msg-internal"
        extra = {"may_resend": _may_resend(n.notice, case, n.author_id, user)}
        entries.append(TimelineEntry(n.created_at, "note", n, css, extra, NOTE))
    for notice in notices:
        extra = {"may_resend": notice.kind == NoticeKind.REPLY
                 and _may_resend(notice, case, None, user)}
        entries.append(TimelineEntry(notice.created_at, "notice", notice, "kind-customer",
                                     extra, NOTICE))
    unlogged = [r for r in requests if r.pk not in logged_requests]
    for at, r in _latest_in_memory(unlogged, lambda r: r.created_at, COLLABORATION, before,
                                   limit):
        entries.append(TimelineEntry(at, "collaboration", r, "",
                                     {"request_url": _request_url(r)}, COLLABORATION))
    for at, c in _latest_in_memory(compensations, lambda c: c.created_at, COMPENSATION, before,
                                   limit):
        entries.append(TimelineEntry(at, "compensation", c, rank=COMPENSATION))
    decided = [c for c in compensations
               if c.decided_at and c.decided_by_id and c.decided_by_id != c.proposed_by_id]
    for at, c in _latest_in_memory(decided, lambda c: c.decided_at, DECISION, before, limit):
        entries.append(TimelineEntry(at, "compensation_decision", c, rank=DECISION))
    for at, rv in _latest_in_memory(revisits, lambda rv: rv.answered_at, REVISIT, before, limit):
        entries.append(TimelineEntry(at, "revisit", rv, "kind-customer", rank=REVISIT))

    entries.sort(key=lambda e: e.key, reverse=True)
    shown = entries[:limit]
    earlier = ""
    if len(entries) > limit:
        oldest = shown[-1]
        earlier = Cursor(oldest.at, oldest.rank, oldest.key[2]).encode()
    shown.reverse()
    intake = [f for f in files if f.note_id is None]
    return TimelinePage(shown, earlier, intake)


__all__ = ["PAGE_SIZE", "Cursor", "TimelineEntry", "TimelinePage", "case_timeline_page",
           "state_label", "transition_label"]
