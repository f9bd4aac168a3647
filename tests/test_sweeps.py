"""The deadline sweep: every deadline goes at risk at 75 % and breached at 100 % of its allowed
time (frozen clock), owner and supervisor are told once per state change, and the sweep is
idempotent, cheap in queries and safe when two run at once."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.choices import Clock, NoteKind, Role, SlaState, Stage
from cases.models import Alert, Case, CaseDeadline, Notice, User
from cases.models.notices import NoticeKind
from cases.services import clocks
from cases.services.revisits import revisit_open
from cases.services.sweeps import ALERT_AT_RISK, ALERT_BREACHED, deadline_sweep
from tests.factories import CaseFactory, DepartmentFactory, UserFactory, advance

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)


def _open_row(case: Case, clock: str) -> CaseDeadline:
    return CaseDeadline.objects.get(case=case, clock=clock, stopped_at__isnull=True)


def _case_with_running(clock: str, owner: User) -> tuple[Case, CaseDeadline]:
    """A case (owned by ``owner``) whose ``clock`` is running, and that clock's row."""
    stage = {
        Clock.ASSIGN: Stage.TRIAGED, Clock.RESPONSE: Stage.TRIAGED,
        Clock.SOLUTION: Stage.TRIAGED, Clock.PROGRESS: Stage.ASSIGNED,
        Clock.FEEDBACK: Stage.RESOLVED, Clock.REVISIT: Stage.FEEDBACK_GIVEN,
        Clock.FOLLOW_UP: Stage.FOLLOW_UP, Clock.DEPARTMENT: Stage.IN_PROGRESS,
        Clock.STATUTORY: Stage.TRIAGED, Clock.ACCEPTANCE: Stage.RECEIVED,
        Clock.REVIEW: Stage.REVIEW,
    }[clock]
    if clock in (Clock.STATUTORY, Clock.ACCEPTANCE):  # a regime (in calendar days) applies
        from cases.models import Regime
        from cases.services import desk_config

        code = "cn-banking-insurance" if clock == Clock.STATUTORY else "cn-market-regulation"
        Regime.objects.filter(code=code).update(categories=["delivery"], basis="calendar_days")
        desk_config.forget()
    case = CaseFactory(actor=owner)
    case = advance(case, stage)
    if clock == Clock.REVISIT:  # opened at 48 h; the deadline runs on from the feedback
        with time_machine.travel(case.revisit_due_at, tick=False):
            assert revisit_open(case_id=case.pk)
    if clock == Clock.DEPARTMENT:
        clocks.start_clock(case, Clock.DEPARTMENT, timezone.now(), clocks.policy_for(case.tier))
    return case, _open_row(case, clock)


def _alerted(row: CaseDeadline, kind: str) -> set[str]:
    return set(Alert.objects.filter(deadline=row, kind=kind).values_list(
        "recipient__username", flat=True))


@pytest.mark.parametrize("clock", [c for c in Clock.values])
def test_every_deadline_goes_at_risk_at_75_percent_then_breached(clock, frontline, supervisor):
    case, row = _case_with_running(clock, frontline)
    allowed = row.due_at - row.started_at
    assert row.risk_at == row.started_at + allowed * 0.75

    with time_machine.travel(row.risk_at - SECOND, tick=False):
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.ON_TIME

    with time_machine.travel(row.risk_at + SECOND, tick=False):
        deadline_sweep()
    row.refresh_from_db()
    case.refresh_from_db()
    assert row.state == SlaState.AT_RISK and case.sla_state != SlaState.ON_TIME
    everyone = {"agent", "boss", "factory-supervisor"}
    assert _alerted(row, ALERT_AT_RISK) == everyone

    with time_machine.travel(row.due_at + SECOND, tick=False):
        deadline_sweep()
    row.refresh_from_db()
    case.refresh_from_db()
    assert row.state == SlaState.BREACHED and row.breached_at == row.due_at
    assert case.sla_state == SlaState.BREACHED and case.ever_breached
    if clock in (Clock.RESPONSE, Clock.ASSIGN):  # the response is due after assignment
        assert case.response_breached == (clock == Clock.RESPONSE)
    assert _alerted(row, ALERT_BREACHED) == everyone


def test_breach_marks_the_case_for_the_supervision_queue_and_emails_owner_and_supervisor(
    frontline, supervisor, django_capture_on_commit_callbacks,
):
    case, row = _case_with_running(Clock.FEEDBACK, frontline)  # resolved, no feedback yet
    with time_machine.travel(row.due_at + SECOND, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            result = deadline_sweep()
    assert result.breached >= 1
    assert Case.objects.filter(sla_state=SlaState.BREACHED, pk=case.pk).exists()
    staff_mail = [m for m in mail.outbox if case.reference in m.subject]
    assert {m.to[0] for m in staff_mail} >= {frontline.email, supervisor.email}
    message = Alert.objects.get(deadline=row, kind=ALERT_BREACHED, recipient=frontline).message
    assert case.reference in message and "Result feedback" in message
    notice = Notice.objects.get(kind=NoticeKind.STAFF_ALERT, recipient=frontline.email,
                                case=case, idempotency_key__contains=f"deadline:{row.pk}:")
    assert notice.status == "sent"


def test_running_the_sweep_again_changes_nothing(frontline, supervisor):
    case, row = _case_with_running(Clock.ASSIGN, frontline)
    with time_machine.travel(row.due_at + SECOND, tick=False):
        first = deadline_sweep()
        alerts, notices = Alert.objects.count(), Notice.objects.count()
        second = deadline_sweep()
    assert first.breached >= 1 and first.alerts >= 3
    assert (second.breached, second.at_risk, second.alerts, second.notices) == (0, 0, 0, 0)
    assert (Alert.objects.count(), Notice.objects.count()) == (alerts, notices)


def test_the_owners_department_manager_is_the_supervisor_told(frontline, supervisor):
    other_boss = UserFactory(username="boss2", role=Role.SUPERVISOR)
    frontline.department = DepartmentFactory(code="cs-east", manager=other_boss)
    frontline.save()
    case, row = _case_with_running(Clock.ASSIGN, frontline)
    with time_machine.travel(row.due_at + SECOND, tick=False):
        deadline_sweep()
    assert _alerted(row, ALERT_BREACHED) == {"agent", "boss2"}


def test_staff_alerts_use_the_recipients_language(frontline, supervisor):
    frontline.language = "zh-hans"
    frontline.save()
    supervisor.language = "en"
    supervisor.save()
    case, row = _case_with_running(Clock.ASSIGN, frontline)
    with time_machine.travel(row.risk_at + SECOND, tick=False):
        deadline_sweep()
    assert "at risk" in Alert.objects.get(deadline=row, recipient=supervisor).message
    staff = Notice.objects.get(kind=NoticeKind.STAFF_ALERT, recipient=supervisor.email,
                               case=case)
    assert staff.language == "en" and staff.subject.startswith("Complaint desk alert")


def test_a_recurring_progress_clock_alerts_again_in_its_next_cycle(frontline, supervisor):
    case, row = _case_with_running(Clock.PROGRESS, frontline)
    with time_machine.travel(row.risk_at + SECOND, tick=False):
        deadline_sweep()
        Alert.objects.filter(deadline=row).update(read_at=timezone.now())
    with time_machine.travel(row.risk_at + timedelta(minutes=30), tick=False):
        services.case_add_note(actor=frontline, case_id=case.pk, body="已联系物流。",
                               kind=NoteKind.PROGRESS)  # the clock restarts, same row
    row.refresh_from_db()
    assert row.state == SlaState.ON_TIME
    with time_machine.travel(row.risk_at + SECOND, tick=False):
        assert deadline_sweep().alerts == 3
    alert = Alert.objects.get(deadline=row, recipient=frontline, kind=ALERT_AT_RISK)
    assert alert.read_at is None  # unread again
    emails = Notice.objects.filter(kind=NoticeKind.STAFF_ALERT, recipient=frontline.email,
                                   idempotency_key__contains=f"deadline:{row.pk}:at_risk")
    assert emails.count() == 2


def test_an_agent_with_several_cases_due_gets_one_digest_email(
    frontline, supervisor, django_capture_on_commit_callbacks,
):
    frontline.language = "en"
    frontline.save()
    rows = [_case_with_running(Clock.ASSIGN, frontline)[1] for _ in range(3)]
    mail.outbox.clear()
    with time_machine.travel(max(r.due_at for r in rows) + SECOND, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            deadline_sweep()
    assert Alert.objects.filter(recipient=frontline, kind=ALERT_BREACHED).count() == 3
    to_agent = [m for m in mail.outbox if m.to == [frontline.email]]
    assert len(to_agent) == 1
    assert "3 deadlines missed" in to_agent[0].subject
    for row in rows:
        assert f"{row.case.reference}: " in to_agent[0].body
    assert "/desk/alerts/" in to_agent[0].body
    to_boss = [m for m in mail.outbox if m.to == [supervisor.email]]
    assert len(to_boss) == 1 and all(r.case.reference in to_boss[0].body for r in rows)


def test_a_digest_queued_again_for_the_same_alerts_is_queued_once(frontline):
    from cases.services.outbox import staff_notices_queue
    from cases.services.sweeps import AlertLine, deadline_digest

    lines = [AlertLine(case_id=None, reference=f"TS-2026-00000{n}", message=f"line {n}",
                       key=f"deadline:{n}:breached:1700000000") for n in range(3)]

    def queue(order: list[AlertLine]) -> list[int]:
        return staff_notices_queue([deadline_digest(
            user=frontline, state=SlaState.BREACHED, lines=order, cache={},
            now=timezone.now())])

    assert len(queue(lines)) == 1
    assert queue(list(reversed(lines))) == []  # a retried batch: same deadlines, same cycle
    assert Notice.objects.filter(recipient=frontline.email).count() == 1


def test_a_long_digest_lists_the_first_alerts_and_points_to_the_rest(frontline, monkeypatch):
    from cases.services import sweeps

    monkeypatch.setattr(sweeps, "DIGEST_LINES", 2)
    frontline.language = "en"
    lines = [sweeps.AlertLine(case_id=None, reference=f"TS-2026-00000{n}", message=f"line {n}",
                              key=f"deadline:{n}:at_risk:1700000000") for n in range(5)]
    notice = sweeps.deadline_digest(user=frontline, state=SlaState.AT_RISK, lines=lines,
                                    cache={}, now=timezone.now())
    assert "5 deadlines at risk" in notice.subject
    assert "line 1" in notice.body and "line 2" not in notice.body
    assert "... and 3 more on the alerts page." in notice.body


def test_an_unanswered_revisit_is_missed_a_day_after_it_opened(frontline, supervisor):
    case = advance(CaseFactory(actor=frontline), Stage.FEEDBACK_GIVEN)
    row = _open_row(case, Clock.REVISIT)
    assert row.due_at == case.revisit_due_at + timedelta(hours=24)
    with time_machine.travel(case.revisit_due_at, tick=False):
        revisit_open(case_id=case.pk)
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.ON_TIME
    with time_machine.travel(row.due_at + SECOND, tick=False):
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.BREACHED


def test_a_stopped_clock_is_never_swept(frontline, supervisor):
    case, row = _case_with_running(Clock.FEEDBACK, frontline)
    services.case_give_feedback(actor=frontline, case_id=case.pk, message="已补发。",
                                preventive_measures="更换物流。")
    with time_machine.travel(row.due_at + SECOND, tick=False):
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.ON_TIME and row.stopped_at is not None


def test_the_sweep_costs_a_fixed_number_of_queries_per_batch(frontline, supervisor):
    def sweep_queries(count: int) -> int:
        rows = [_case_with_running(Clock.ASSIGN, frontline)[1] for _ in range(count)]
        latest = max(r.due_at for r in rows)
        with time_machine.travel(latest + SECOND, tick=False):
            with CaptureQueriesContext(connection) as queries:
                result = deadline_sweep()
        assert result.breached >= count
        CaseDeadline.objects.update(stopped_at=timezone.now())  # start the next round clean
        return len(queries)

    sweep_queries(1)  # the first run reads the cached webhook endpoints once
    assert sweep_queries(2) == sweep_queries(6)


def test_a_case_being_changed_is_left_for_the_next_run(frontline, supervisor):
    case, row = _case_with_running(Clock.ASSIGN, frontline)
    with time_machine.travel(row.due_at + SECOND, tick=False):
        with mock_locked_cases({case.pk}):
            result = deadline_sweep()
        assert result.deferred >= 1
        row.refresh_from_db()
        assert row.state == SlaState.ON_TIME
        deadline_sweep()
    row.refresh_from_db()
    assert row.state == SlaState.BREACHED


class mock_locked_cases:  # noqa: N801 - reads like a context manager function
    """Make the sweep's SKIP LOCKED see ``ids`` as locked by another transaction."""

    def __init__(self, ids: set[int]) -> None:
        self.ids = ids
        self.original = None

    def __enter__(self) -> None:
        from django.db.models import QuerySet

        original = QuerySet.select_for_update
        ids = self.ids

        def select_for_update(qs, *args, **kwargs):
            result = original(qs, *args, **kwargs)
            if qs.model is Case and kwargs.get("skip_locked"):
                return result.exclude(pk__in=ids)
            return result

        self.original = original
        QuerySet.select_for_update = select_for_update

    def __exit__(self, *exc: object) -> None:
        from django.db.models import QuerySet

        QuerySet.select_for_update = self.original


# --- two sweeps at once (PostgreSQL: real row locks) ---------------------------------------------
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="two concurrent sweeps need PostgreSQL row locks (set DATABASE_URL=postgres://...)",
)
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_mark_and_alert_each_deadline_once():
    from cases.models import Customer

    owner = UserFactory(username="racer", role=Role.FRONTLINE)
    boss = UserFactory(username="race-boss", role=Role.SUPERVISOR)
    customer = Customer.objects.create(name="客户", email="c@example.com")
    now = timezone.now()
    rows = []
    for n in range(300):
        case = Case.objects.create(
            tracking_code=f"T{n}", customer=customer, channel="web", received_at=now,
            category="other", subject="s", description="d", owner=owner,
            reference=f"TS-RACE-{n:05d}",
        )
        rows.append(CaseDeadline(case=case, clock=Clock.ASSIGN, started_at=now - timedelta(hours=3),
                                 risk_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1)))
    CaseDeadline.objects.bulk_create(rows)
    results = []

    def run() -> None:
        try:
            results.append(deadline_sweep(batch=50))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.breached for r in results) == 300
    assert CaseDeadline.objects.filter(state=SlaState.BREACHED).count() == 300
    assert Alert.objects.filter(kind=ALERT_BREACHED).count() == 600
    # Each person's e-mails (one per batch, a digest of its cases) name every case once.
    for email in (owner.email, boss.email):
        bodies = "\n".join(Notice.objects.filter(kind=NoticeKind.STAFF_ALERT, recipient=email)
                           .values_list("body", flat=True))
        assert all(bodies.count(f"TS-RACE-{n:05d}:") == 1 for n in range(300))
