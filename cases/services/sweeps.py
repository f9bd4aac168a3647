"""The deadline sweep 督办: mark running clocks at risk (75 % of the allowed time, per SLA
policy) and breached, and tell the people concerned once per state change.

Cost: rows are selected through CaseDeadline's partial indexes (``deadline_risk_open_idx`` on
risk_at for open on-time rows, ``deadline_due_open_idx`` on due_at for open not-yet-breached
rows; both leave out clocks stopped by a pause), so a run reads what is due, not every case.
Work is done in batches of DEADLINE_SWEEP_BATCH rows, each in its own short transaction, with
id lists passed as one array parameter on PostgreSQL. The writes are kept cheap: the case
columns the sweep sets (``sla_state``, ``ever_breached``, ``response_breached``) are in no
index and the case table has a fillfactor, so those updates are HOT; CaseDeadline carries only
the indexes its queries need (migrations 0011, 0012). Alerts are inserted in one statement
per batch and each recipient gets one staff e-mail per batch (a digest when several of their
cases moved), which the notice workers send after commit.

Concurrency: a batch locks its deadline rows with ``FOR UPDATE SKIP LOCKED`` (two sweeps at
once take disjoint rows) and then the cases with ``SKIP LOCKED``: a case being changed by an
agent right now is left for the next run rather than waited for. Nothing waits on a lock, so a
sweep cannot deadlock with a service (services lock the case, then touch its deadline rows).
Every write is conditional on the state it moves from, alerts have a unique constraint per
(recipient, deadline, kind), and staff emails have an idempotency key: running twice changes
nothing the second time.

Recurring clocks (the daily progress note) are re-timed in place when they restart; their alert
is refreshed (unread again, new text) when the row goes at risk in a new cycle.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, F, Q, Value, When
from django.db.models import Case as DbCase
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.choices import Clock, Role, SlaState
from cases.models import Alert, Case, CaseDeadline, Notice, User
from cases.notice_texts import TemplateCache
from cases.services import live
from cases.services.audit import AuditAction, audit_record
from cases.services.live import live_changed
from cases.services.outbox import (
    alerts_url,
    staff_language,
    staff_notice_build,
    staff_notices_queue,
)
from channels.webhooks.services.events import deadline_event, webhook_events_record

logger = logging.getLogger(__name__)

ALERT_AT_RISK = "deadline_at_risk"
ALERT_BREACHED = "deadline_breached"
# A digest e-mail lists this many alerts; the rest are on the alerts page it links to.
DIGEST_LINES = 50


@dataclass
class SweepResult:
    at_risk: int = 0
    breached: int = 0
    alerts: int = 0
    notices: int = 0
    deferred: int = 0  # rows of cases locked by someone else: the next run takes them
    notice_ids: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {"at_risk": self.at_risk, "breached": self.breached, "alerts": self.alerts,
                "notices": self.notices, "deferred": self.deferred}


def _due_for_breach(now: datetime):
    # Matches deadline_due_open_idx: stopped_at IS NULL AND paused_at IS NULL AND NOT
    # state = 'breached'. A paused clock is not running: its due time moves on resume.
    return (
        CaseDeadline.objects.filter(stopped_at__isnull=True, paused_at__isnull=True,
                                    due_at__lte=now)
        .exclude(state=SlaState.BREACHED)
        .order_by("due_at")
    )


def _due_for_risk(now: datetime):
    # Matches deadline_risk_open_idx: stopped_at IS NULL AND paused_at IS NULL AND
    # state = 'on_time'.
    return (
        CaseDeadline.objects.filter(
            stopped_at__isnull=True, paused_at__isnull=True, state=SlaState.ON_TIME,
            risk_at__lte=now, due_at__gt=now,
        )
        .order_by("risk_at")
    )


def deadline_sweep(
    *, now: datetime | None = None, batch: int | None = None, notify: bool = True
) -> SweepResult:
    """Mark due deadlines breached, then reached-risk deadlines at risk, batch by batch.

    Side effects: CaseDeadline.state/breached_at; Case.sla_state, ever_breached,
    response_breached; one Alert per recipient per state change (owner or handler, the
    supervisor(s), and for a department deadline at risk the department's liaison); one staff
    e-mail per recipient per batch through the outbox (``deadline_digest``), sent by the notice
    workers after commit; one webhook delivery per deadline
    and subscribed endpoint (one insert per batch). ``notify=False`` marks only (used
    by the benchmark to time marking separately)."""
    now = now or timezone.now()
    size = batch or settings.DEADLINE_SWEEP_BATCH
    result = SweepResult()
    cache: TemplateCache = {}
    for state, selection in ((SlaState.BREACHED, _due_for_breach),
                             (SlaState.AT_RISK, _due_for_risk)):
        while True:
            selected, marked = _sweep_batch(state, selection(now), now, size, result, cache,
                                            notify)
            if selected < size or marked == 0:
                break
    if result.at_risk or result.breached:
        logger.info("deadline sweep: %s", result.as_dict())
    return result


def _id_in(model, ids, field: str = "id"):
    """``field IN ids`` as a filter. On PostgreSQL one array parameter (``= ANY(%s)``): a
    5,000-element IN list costs more to build, send and plan than the update it selects."""
    ids = list(ids)
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": ids})
    column = model._meta.get_field(field).column
    qn = connection.ops.quote_name
    return RawSQL(f"{qn(model._meta.db_table)}.{qn(column)} = ANY(%s::bigint[])", (ids,),
                  output_field=BooleanField())


@transaction.atomic
def _sweep_batch(
    state: str, queryset, now: datetime, size: int, result: SweepResult, cache: TemplateCache,
    notify: bool,
) -> tuple[int, int]:
    rows = list(
        queryset.select_for_update(skip_locked=True, of=("self",))
        .values_list("id", "case_id", "clock", "started_at", "due_at", "request_id")[:size]
    )
    if not rows:
        return 0, 0
    case_ids = {r[1] for r in rows}
    locked = set(
        Case.objects.filter(_id_in(Case, case_ids)).select_for_update(skip_locked=True)
        .values_list("id", flat=True)
    )
    rows_now = [r for r in rows if r[1] in locked]
    result.deferred += len(rows) - len(rows_now)
    if not rows_now:
        return len(rows), 0
    row_ids = [r[0] for r in rows_now]
    cases_now = {r[1] for r in rows_now}
    if state == SlaState.BREACHED:
        marked = CaseDeadline.objects.filter(_id_in(CaseDeadline, row_ids)).exclude(
            state=SlaState.BREACHED
        ).update(state=SlaState.BREACHED, breached_at=F("due_at"))
        # One statement per batch: each case row is rewritten once. None of the columns
        # written here is indexed (migration 0011), so PostgreSQL updates the rows in place
        # (HOT) instead of adding entries to each of the case table's ~30 indexes.
        response_cases = {r[1] for r in rows_now if r[2] == Clock.RESPONSE}
        unchanged = Q(sla_state=SlaState.BREACHED, ever_breached=True)
        if response_cases:
            unchanged &= ~Q(_id_in(Case, response_cases)) | Q(response_breached=True)
        Case.objects.filter(_id_in(Case, cases_now)).exclude(unchanged).update(
            sla_state=SlaState.BREACHED, ever_breached=True,
            response_breached=DbCase(When(_id_in(Case, response_cases), then=Value(True)),
                                     default=F("response_breached"))
            if response_cases else F("response_breached"),
        )
        result.breached += marked
    else:
        marked = CaseDeadline.objects.filter(
            _id_in(CaseDeadline, row_ids), state=SlaState.ON_TIME
        ).update(state=SlaState.AT_RISK)
        Case.objects.filter(_id_in(Case, cases_now), sla_state=SlaState.ON_TIME).update(
            sla_state=SlaState.AT_RISK
        )
        result.at_risk += marked
    live_changed(live.CASES)  # the desk's deadline badges moved
    # One summarised entry per batch, not one per case: the sla_state moves are the system's.
    audit_record(actor=None, action=AuditAction.BULK_CHANGE, detail={
        "sweep": "deadline", "field": "sla_state", "to": state, "deadlines": marked,
        "cases": sorted(cases_now)})
    if notify:
        _alert(state, rows_now, now, result, cache)
    return len(rows), marked


# --- who is told, and what ---------------------------------------------------------------------
def supervisors_by_department() -> tuple[list[int], dict[int, int]]:
    """(all active supervisors, department id -> its manager when that manager is an active
    supervisor). A case's supervisor is its owner's department manager if there is one,
    otherwise every supervisor (a small team, or an owner without a department)."""
    supervisors = list(
        User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR)
        .values_list("id", flat=True).distinct()
    )
    managers = {
        dept_id: manager_id
        for dept_id, manager_id in User.objects.filter(
            id__in=supervisors, managed_departments__isnull=False
        ).values_list("managed_departments__id", "id")
    }
    return supervisors, managers


def alert_message(
    *, kind: str, reference: str, clock: str, due_at: datetime, user: User
) -> str:
    """The alert text in the recipient's language and time zone."""
    return _AlertTexts().message(kind=kind, reference=reference, clock=clock, due_at=due_at,
                                 user=user)


class _AlertTexts:
    """Alert texts for many recipients: each (language, kind, clock) sentence is translated
    once and each recipient's time zone looked up once, then filled per alert."""

    def __init__(self) -> None:
        self.sentences: dict[tuple[str, str, str], str] = {}
        self.zones: dict[int | None, ZoneInfo] = {}

    def _zone(self, user: User) -> ZoneInfo:
        if user.pk not in self.zones:
            try:
                self.zones[user.pk] = ZoneInfo(user.time_zone or settings.TIME_ZONE)
            except (ValueError, KeyError):
                self.zones[user.pk] = ZoneInfo(settings.TIME_ZONE)
        return self.zones[user.pk]

    def _sentence(self, language: str, kind: str, clock: str) -> str:
        key = (language, kind, clock)
        if key not in self.sentences:
            with translation.override(language):
                if kind == ALERT_BREACHED:
                    text = _("%(reference)s: %(deadline)s deadline missed (was due %(due)s).")
                else:
                    text = _("%(reference)s: %(deadline)s deadline at risk (due %(due)s).")
                # The clock's name is filled now; the reference and due time per alert.
                self.sentences[key] = text.replace("%(deadline)s",
                                                   str(Clock(clock).label).replace("%", "%%"))
        return self.sentences[key]

    def message(self, *, kind: str, reference: str, clock: str, due_at: datetime,
                user: User) -> str:
        language = user.language or settings.LANGUAGE_CODE
        due = timezone.localtime(due_at, self._zone(user)).strftime("%Y-%m-%d %H:%M")
        return (self._sentence(language, kind, clock)
                % {"reference": reference, "due": due})[:300]


@dataclass(frozen=True)
class AlertLine:
    """One new alert as a staff e-mail tells it: its case, its text, and the intent's key
    (the deadline row, the state and the clock's cycle)."""

    case_id: int | None
    reference: str
    message: str
    key: str


def deadline_digest(
    *, user: User, state: str, lines: list[AlertLine], cache: TemplateCache, now: datetime,
) -> Notice | None:
    """The staff e-mail telling ``user`` of a sweep batch's new alerts (unsaved; None without
    an address). One alert: the ordinary staff alert about that case. Several: one digest
    (the staff alert template, the first DIGEST_LINES alerts' lines as the message, the
    alerts page as the link), keyed by the deadlines and cycles it covers, so a retried
    batch queues it once."""
    if len(lines) == 1:
        line = lines[0]
        return staff_notice_build(case_id=line.case_id, reference=line.reference, user=user,
                                  message=line.message, now=now, cache=cache, key=line.key)
    with translation.override(staff_language(user)):
        if state == SlaState.BREACHED:
            summary = ngettext("%(n)d deadline missed", "%(n)d deadlines missed", len(lines))
        else:
            summary = ngettext("%(n)d deadline at risk", "%(n)d deadlines at risk", len(lines))
        text = "\n".join(line.message for line in lines[:DIGEST_LINES])
        if len(lines) > DIGEST_LINES:
            more = len(lines) - DIGEST_LINES
            text += "\n" + ngettext("... and %(n)d more on the alerts page.",
                                    "... and %(n)d more on the alerts page.", more) % {"n": more}
    digest = hashlib.sha256("\n".join(sorted(line.key for line in lines)).encode())
    return staff_notice_build(
        case_id=None, reference=summary % {"n": len(lines)}, user=user, now=now, cache=cache,
        message=text, url=alerts_url(),
        key=f"deadline-digest:{state}:{digest.hexdigest()[:32]}")


def _alert(
    state: str, rows: list[tuple], now: datetime, result: SweepResult, cache: TemplateCache
) -> None:
    kind = ALERT_BREACHED if state == SlaState.BREACHED else ALERT_AT_RISK
    case_info = {
        c["id"]: c for c in Case.objects.filter(_id_in(Case, {r[1] for r in rows})).values(
            "id", "reference", "owner_id", "handler_id", "owner__department_id"
        )
    }
    request_ids = {r[5] for r in rows if r[5]}
    liaisons: dict[int, int] = {}
    if request_ids:
        from cases.models import CollaborationRequest

        liaisons = {
            rid: lid for rid, lid in CollaborationRequest.objects.filter(
                id__in=request_ids, department__liaison__isnull=False
            ).values_list("id", "department__liaison_id")
        }
    supervisors, managers = supervisors_by_department()
    recipients: dict[int, set[int]] = {}
    for row_id, case_id, _clock, _started, _due, request_id in rows:
        info = case_info[case_id]
        people = set()
        worker = info["owner_id"] or info["handler_id"]
        if worker:
            people.add(worker)
        manager = managers.get(info["owner__department_id"])
        people.update([manager] if manager else supervisors)
        if request_id and request_id in liaisons and state == SlaState.AT_RISK:
            # The liaison must act before the due time; once overdue, the collaboration
            # sweep (request_overdue_sweep) tells them and logs it on the request.
            people.add(liaisons[request_id])
        recipients[row_id] = people
    users = {u.pk: u for u in User.objects.filter(
        id__in={p for ps in recipients.values() for p in ps}, is_active=True
    )}
    existing = defaultdict(dict)
    for alert in Alert.objects.filter(
            _id_in(Alert, recipients.keys(), "deadline"), kind=kind
    ).only("id", "deadline_id", "recipient_id", "created_at"):
        existing[alert.deadline_id][alert.recipient_id] = alert
    texts = _AlertTexts()
    references = {case_id: info["reference"] or f"#{case_id}"
                  for case_id, info in case_info.items()}
    fresh: list[Alert] = []
    refreshed: list[Alert] = []
    told: dict[int, list[AlertLine]] = defaultdict(list)  # recipient -> this batch's news
    for row_id, case_id, clock, started_at, due_at, _request in rows:
        for user_id in recipients[row_id]:
            user = users.get(user_id)
            if user is None:
                continue
            message = texts.message(kind=kind, reference=references[case_id], clock=clock,
                                    due_at=due_at, user=user)
            earlier = existing[row_id].get(user_id)
            if earlier is not None:
                if earlier.created_at >= started_at:
                    continue  # already told in this cycle of the clock
                earlier.message, earlier.created_at, earlier.read_at = message, now, None
                refreshed.append(earlier)
            else:
                fresh.append(Alert(recipient_id=user_id, case_id=case_id, deadline_id=row_id,
                                   kind=kind, message=message, created_at=now))
            told[user_id].append(AlertLine(
                case_id=case_id, reference=references[case_id], message=message,
                key=f"deadline:{row_id}:{state}:{int(started_at.timestamp())}"))
    webhook_events_record(deadline_event(
        breached=state == SlaState.BREACHED, deadline_id=row_id, case_id=case_id, now=now,
        reference=case_info[case_id]["reference"] or "", clock=clock, started_at=started_at,
        due_at=due_at) for row_id, case_id, clock, started_at, due_at, _request in rows)
    Alert.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=5000)
    if refreshed:
        Alert.objects.bulk_update(refreshed, ["message", "created_at", "read_at"])
    ids = staff_notices_queue([
        deadline_digest(user=users[user_id], state=state, lines=lines, cache=cache, now=now)
        for user_id, lines in told.items()
    ])
    result.alerts += len(fresh) + len(refreshed)
    result.notices += len(ids)
    result.notice_ids.extend(ids)
