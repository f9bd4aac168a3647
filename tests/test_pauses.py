"""Pauses with lawful reasons (issue 14 item 4): pausing freezes the reason's clocks, the sweeps
leave them alone, resuming moves their due times by the paused time in each clock's basis, the
customer's answer and the reason's maximum resume by themselves, and every bad request is
refused with a clear message and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from cases import services
from cases.choices import Basis, Clock, Role, SlaState, Stage, Tier
from cases.models import (
    Case,
    CaseAttachment,
    CaseDeadline,
    CasePause,
    CaseTransition,
    Notice,
    PauseEnd,
    PauseReason,
    SlaPolicy,
    WorkCalendar,
)
from cases.models.notices import NoticeKind
from cases.services.errors import ActionForbidden, ActionNotAllowed, InvalidInput
from cases.services.pauses import Evidence, case_pause, case_resume, pause_maximum_sweep
from cases.services.sweeps import deadline_sweep
from cases.worktime import time_between
from tests.factories import CaseFactory, UserFactory, root_cause
from tests.test_desk_queries import CASE_PAGE_MAX_QUERIES

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DAY = timedelta(days=1)
# The workspace's budget (tests/test_desk_queries.py, the audit trail's view record and the
# related-cases panel included) + the pauses' 1.
QUERY_BUDGET = CASE_PAGE_MAX_QUERIES


@pytest.fixture
def handler(db):
    return UserFactory(username="pause-handler", role=Role.FRONTLINE)


@pytest.fixture
def case(handler):
    return CaseFactory(stage=Stage.IN_PROGRESS, handler=handler)


def _row(case: Case, clock: str) -> CaseDeadline:
    return CaseDeadline.objects.get(case=case, clock=clock, stopped_at__isnull=True)


def _snapshot(case: Case) -> tuple:
    case.refresh_from_db()
    rows = tuple(CaseDeadline.objects.filter(case=case).order_by("pk").values_list(
        "due_at", "risk_at", "paused_at", "state"))
    return (case.version, case.paused_since, case.paused_total, case.next_due_at, rows,
            CasePause.objects.count(), CaseAttachment.objects.count(), Notice.objects.count(),
            CaseTransition.objects.filter(case=case).count())


def test_a_pause_freezes_the_reasons_clocks_and_takes_them_out_of_the_nearest_due(case, handler):
    solution = _row(case, Clock.SOLUTION)
    pause = case_pause(actor=handler, case_id=case.pk, reason="customer_materials",
                       note="请客户提供购物凭证")
    solution.refresh_from_db()
    case.refresh_from_db()
    assert solution.paused_at == pause.started_at
    assert case.paused_since == pause.started_at
    running = CaseDeadline.objects.filter(case=case, stopped_at__isnull=True,
                                          paused_at__isnull=True)
    assert case.next_due_at == min((r.due_at for r in running), default=None)
    assert pause.clocks == ["response", "solution", "progress"]
    assert pause.resume_by == pause.started_at + timedelta(days=30)


def test_an_elapsed_clock_moves_by_the_elapsed_paused_time(case, handler):
    solution = _row(case, Clock.SOLUTION)
    due, risk = solution.due_at, solution.risk_at
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    with time_machine.travel(start + timedelta(days=3, hours=2), tick=False):
        case_resume(actor=handler, case_id=case.pk)
    solution.refresh_from_db()
    case.refresh_from_db()
    assert solution.due_at == due + timedelta(days=3, hours=2)
    assert solution.risk_at == risk + timedelta(days=3, hours=2)
    assert solution.paused_at is None
    assert case.solution_due_at == solution.due_at  # the KPI's fact moves with it
    assert case.paused_total == timedelta(days=3, hours=2)
    assert case.paused_since is None
    assert list(CaseTransition.objects.filter(case=case, field="pause").values_list(
        "name", flat=True)) == ["pause", "resume"]


def test_the_sweep_leaves_a_paused_clock_alone_past_its_old_due_time(case, handler):
    solution = _row(case, Clock.SOLUTION)
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    with time_machine.travel(solution.due_at + timedelta(hours=1), tick=False):
        result = deadline_sweep()
        solution.refresh_from_db()
        case.refresh_from_db()
        assert solution.state == SlaState.ON_TIME
        assert case.sla_state != SlaState.BREACHED and not case.ever_breached
        assert result.breached == 0
        case_resume(actor=handler, case_id=case.pk)
        deadline_sweep()
    solution.refresh_from_db()
    assert solution.state == SlaState.ON_TIME  # its due time moved past the resume


def test_the_customers_message_resumes_a_pause_waiting_on_them(case, handler):
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    services.case_add_customer_message(case_id=case.pk, body="凭证已上传。")
    case.refresh_from_db()
    pause = CasePause.objects.get(case=case)
    assert case.paused_since is None
    assert pause.ended_how == PauseEnd.CUSTOMER and pause.ended_by is None
    assert _row(case, Clock.SOLUTION).paused_at is None


def test_the_customers_message_does_not_end_a_third_party_appraisal(case, handler):
    case_pause(actor=handler, case_id=case.pk, reason="third_party_testing", note="送检",
               evidence=Evidence("送检单.pdf", PDF))
    services.case_add_customer_message(case_id=case.pk, body="请问进展？")
    case.refresh_from_db()
    assert case.paused_since is not None


def test_the_reasons_maximum_resumes_the_case_at_that_moment(case, handler):
    PauseReason.objects.filter(code="customer_unreachable").update(max_days=2)
    solution = _row(case, Clock.SOLUTION)
    due = solution.due_at
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_unreachable", note="未接通")
    with time_machine.travel(start + DAY, tick=False):
        assert pause_maximum_sweep() == 0
    with time_machine.travel(start + 3 * DAY, tick=False):
        assert pause_maximum_sweep() == 1
        assert pause_maximum_sweep() == 0
    pause = CasePause.objects.get(case=case)
    solution.refresh_from_db()
    assert pause.ended_how == PauseEnd.MAXIMUM and pause.ended_at == start + 2 * DAY
    assert solution.due_at == due + 2 * DAY


def test_the_maximum_is_a_total_over_all_pauses_of_the_reason(case, handler):
    PauseReason.objects.filter(code="customer_unreachable").update(max_days=2)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_unreachable", note="未接通")
    with time_machine.travel(start + 2 * DAY, tick=False):
        case_resume(actor=handler, case_id=case.pk)
        before = _snapshot(case)
        with pytest.raises(ActionNotAllowed, match="2 days"):
            case_pause(actor=handler, case_id=case.pk, reason="customer_unreachable",
                       note="再次未接通")
        assert _snapshot(case) == before


def test_the_customer_is_told_once_with_the_reason_in_their_language(case, handler):
    case.customer.language = "en"
    case.customer.save(update_fields=["language"])
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    notices = Notice.objects.filter(case=case, kind=NoticeKind.PAUSE)
    assert notices.count() == 1
    notice = notices.get()
    assert notice.language == "en"
    assert "Waiting for the complainant's materials" in notice.body
    assert "paused" in notice.subject


def test_a_chinese_customer_gets_the_chinese_reason(case, handler):
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    notice = Notice.objects.get(case=case, kind=NoticeKind.PAUSE)
    assert notice.language == "zh-hans"
    assert "等待投诉人补充材料" in notice.body


def test_evidence_is_kept_as_a_case_attachment(case, handler, intake_env):
    pause = case_pause(actor=handler, case_id=case.pk, reason="third_party_testing",
                       note="送检", evidence=Evidence("检测委托书.pdf", PDF))
    assert pause.evidence.content_type == "application/pdf"
    assert pause.evidence.case_id == case.pk
    assert (intake_env / pause.evidence.file.name).exists()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"reason": ""}, InvalidInput, "Choose the reason"),
    ({"reason": "no_such_reason"}, InvalidInput, "not a pause reason"),
    ({"note": "  "}, InvalidInput, "what the case is waiting for"),
    ({"note": "x" * 4001}, InvalidInput, "too long"),
    ({"reason": "third_party_testing"}, InvalidInput, "needs evidence"),
    ({"reason": "third_party_testing", "evidence": Evidence("a.exe", b"MZ\x90\x00\x03\x00")},
     InvalidInput, "not a photo, PDF"),
])
def test_bad_pause_input_is_refused_and_changes_nothing(case, handler, intake_env, kwargs,
                                                        error, message):
    before = _snapshot(case)
    args = {"reason": "customer_materials", "note": "缺凭证", **kwargs}
    with pytest.raises(error, match=message):
        case_pause(actor=handler, case_id=case.pk, **args)
    assert _snapshot(case) == before
    assert not [p for p in intake_env.rglob("*") if p.is_file()]


def test_an_inactive_reason_is_refused(case, handler):
    PauseReason.objects.filter(code="customer_materials").update(active=False)
    with pytest.raises(InvalidInput, match="not a pause reason"):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="x")


def test_pausing_twice_is_refused_and_changes_nothing(case, handler):
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    before = _snapshot(case)
    with pytest.raises(ActionNotAllowed, match="already paused"):
        case_pause(actor=handler, case_id=case.pk, reason="authority", note="x",
                   evidence=Evidence("函.pdf", PDF))
    assert _snapshot(case) == before


def test_resuming_a_case_not_paused_is_refused(case, handler):
    before = _snapshot(case)
    with pytest.raises(ActionNotAllowed, match="is not paused"):
        case_resume(actor=handler, case_id=case.pk)
    assert _snapshot(case) == before


def test_a_closed_case_cannot_be_paused(handler):
    closed = CaseFactory(stage=Stage.CLOSED, handler=handler)
    before = _snapshot(closed)
    with pytest.raises(ActionNotAllowed, match="closed"):
        case_pause(actor=handler, case_id=closed.pk, reason="customer_materials", note="x")
    assert _snapshot(closed) == before


def test_only_owner_handler_or_supervisor_may_pause_or_resume(case, handler, frontline2,
                                                               supervisor, liaison):
    before = _snapshot(case)
    for outsider in (frontline2, liaison):
        with pytest.raises(ActionForbidden):
            case_pause(actor=outsider, case_id=case.pk, reason="customer_materials", note="x")
    assert _snapshot(case) == before
    case_pause(actor=supervisor, case_id=case.pk, reason="customer_materials", note="x")
    with pytest.raises(ActionForbidden):
        case_resume(actor=frontline2, case_id=case.pk)
    with pytest.raises(ActionForbidden):
        case_resume(actor=None, case_id=case.pk)
    case_resume(actor=handler, case_id=case.pk)


def test_a_case_resolved_during_a_pause_is_judged_on_its_moved_due_time(case, handler):
    solution = _row(case, Clock.SOLUTION)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    # Resolved while paused, after the old due time but within the moved one.
    with time_machine.travel(solution.due_at + timedelta(hours=1), tick=False):
        services.case_resolve(actor=handler, case_id=case.pk, solution="已补发。",
                              root_cause=root_cause())
    solution.refresh_from_db()
    case.refresh_from_db()
    assert solution.state != SlaState.BREACHED and not case.ever_breached
    assert solution.paused_at is None
    assert solution.due_at > solution.stopped_at
    assert case.solution_due_at == solution.due_at


# --- working-time clocks on the official calendar (cases.worktime) ---------------------------
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _working_solution(case: Case, due: datetime) -> CaseDeadline:
    """Make the case's solution clock a working-time clock on the official China calendar
    (working hours 09:00-12:00 and 13:30-18:00) due at ``due``."""
    row = _row(case, Clock.SOLUTION)
    row.basis, row.calendar = Basis.WORKING, WorkCalendar.objects.get(code="cn")
    row.due_at, row.risk_at = due, due - timedelta(hours=1)
    row.save()
    return row


def test_a_three_day_pause_moves_a_working_clock_by_exactly_the_paused_working_time(
        case, handler):
    # Paused Monday 2026-10-12 09:00 to Thursday 10-15 09:00: 3 working days = 3 x 7.5 h.
    row = _working_solution(case, datetime(2026, 10, 16, 10, 0, tzinfo=SHANGHAI))
    start = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    with time_machine.travel(start + 3 * DAY, tick=False):
        case_resume(actor=handler, case_id=case.pk)
    row.refresh_from_db()
    paused = time_between(start, start + 3 * DAY, basis=Basis.WORKING, calendar=row.calendar)
    assert paused == 3 * 450
    # Fri 16th 10:00 + 1,350 working minutes: Fri 390, (weekend), Mon 450, Tue 450, Wed 60.
    assert row.due_at == datetime(2026, 10, 21, 10, 0, tzinfo=SHANGHAI)
    assert time_between(datetime(2026, 10, 16, 10, 0, tzinfo=SHANGHAI), row.due_at,
                        basis=Basis.WORKING, calendar=row.calendar) == paused
    assert row.risk_at == datetime(2026, 10, 20, 18, 0, tzinfo=SHANGHAI)  # Fri 450, Mon, Tue


def test_a_pause_over_the_national_day_holiday_moves_a_working_clock_by_its_working_hour(
        case, handler):
    # Paused from the last working afternoon before National Day (2026-09-30 17:00) for three
    # days: only 17:00-18:00 on the 30th was working time (October 1-3 are holidays).
    row = _working_solution(case, datetime(2026, 10, 9, 17, 30, tzinfo=SHANGHAI))
    start = datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    with time_machine.travel(start + 3 * DAY, tick=False):
        case_resume(actor=handler, case_id=case.pk)
    row.refresh_from_db()
    # Fri 10-09 17:30 + 60 working minutes: 30 that day, then Saturday 10-10 is a make-up
    # workday (调休) that counts: 09:30.
    assert row.due_at == datetime(2026, 10, 10, 9, 30, tzinfo=SHANGHAI)
    case.refresh_from_db()
    assert case.solution_due_at == row.due_at
    assert case.paused_total == 3 * DAY  # the case shows elapsed paused time


# --- the workspace, the desk and the tracking page -------------------------------------------
def test_the_workspace_pauses_and_resumes_through_its_forms(client, case, handler):
    client.force_login(handler)
    url = reverse("desk:case", args=[case.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="pause-form"' in page and "Third-party testing or appraisal" in page
    response = client.post(reverse("desk:case_pause", args=[case.pk]),
                           {"reason": "customer_materials", "note": "请补充购物凭证"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert 'data-testid="header-paused"' in page and 'data-testid="resume-form"' in page
    assert "请补充购物凭证" in page and 'data-paused="1"' in page
    response = client.post(reverse("desk:case_resume", args=[case.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.paused_since is None
    page = client.get(url).content.decode()
    assert 'data-testid="pause-history"' in page


def test_the_pause_form_shows_the_services_error_and_changes_nothing(client, case, handler):
    client.force_login(handler)
    before = _snapshot(case)
    response = client.post(reverse("desk:case_pause", args=[case.pk]),
                           {"reason": "third_party_testing", "note": "送检"}, follow=True)
    assert response.status_code == 200
    assert "needs evidence" in response.content.decode()
    assert _snapshot(case) == before
    response = client.post(reverse("desk:case_resume", args=[case.pk]), follow=True)
    assert "is not paused" in response.content.decode()


def test_evidence_uploads_through_the_form(client, case, handler, intake_env):
    client.force_login(handler)
    upload = SimpleUploadedFile("检测委托书.pdf", PDF, content_type="application/pdf")
    client.post(reverse("desk:case_pause", args=[case.pk]),
                {"reason": "third_party_testing", "note": "送检", "evidence": upload})
    pause = CasePause.objects.get(case=case)
    assert pause.evidence is not None and pause.evidence.original_name == "检测委托书.pdf"


def test_pause_urls_are_closed_to_others(client, case, frontline2, liaison):
    urls = [reverse("desk:case_pause", args=[case.pk]),
            reverse("desk:case_resume", args=[case.pk])]
    client.force_login(frontline2)  # an agent who is neither owner, handler nor supervisor
    for url in urls:
        assert client.get(url).status_code == 403  # GET shows the form (issue 16's panel)
        assert client.post(url, {"reason": "customer_materials", "note": "x"}).status_code == 403
    client.force_login(liaison)  # the desk is not theirs at all
    for url in urls:
        assert client.post(url, {"reason": "customer_materials", "note": "x"}).status_code == 403
    assert not CasePause.objects.exists()


def test_a_case_the_agent_cannot_see_is_404(client, frontline2):
    client.force_login(frontline2)
    url = reverse("desk:case_pause", args=[999999])
    assert client.post(url, {"reason": "customer_materials", "note": "x"}).status_code == 404


def _page_queries(client, url: str) -> int:
    client.get(url)  # warm the per-process caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_workspace_with_pauses_reads_a_fixed_number_of_queries(client, case, handler):
    client.force_login(handler)
    url = reverse("desk:case", args=[case.pk])
    none = _page_queries(client, url)
    start = timezone.now()
    for n in range(3):
        with time_machine.travel(start + n * DAY, tick=False):
            case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note=f"{n}")
            case_resume(actor=handler, case_id=case.pk)
    case_pause(actor=handler, case_id=case.pk, reason="third_party_testing", note="送检",
               evidence=Evidence("a.pdf", PDF))
    many = _page_queries(client, url)
    # The case's pauses, however many, and its files (the evidence is the case's first file:
    # a case without files does not read them, issue 18).
    assert many <= none + 2
    assert many <= QUERY_BUDGET


def test_the_tracking_page_shows_the_pause_and_its_reason_in_both_languages(client, case,
                                                                             handler):
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="内部备注")
    form = {"reference": case.reference, "code": case.tracking_code}
    page = client.post("/track/", form, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="track-paused"' in page and "等待投诉人补充材料" in page
    assert "内部备注" not in page  # the staff note stays internal
    with translation.override("en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = client.post("/track/", form).content.decode()
    assert "Waiting for the complainant&#x27;s materials" in page or \
        "Waiting for the complainant's materials" in page


def test_resolving_a_paused_case_ends_its_pause(case, handler):
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    services.case_resolve(actor=handler, case_id=case.pk, solution="已补发。",
                          root_cause=root_cause())
    case.refresh_from_db()
    pause = CasePause.objects.get(case=case)
    assert case.paused_since is None and pause.ended_how == PauseEnd.CASE_DONE
    assert not CaseDeadline.objects.filter(case=case, paused_at__isnull=False,
                                           stopped_at__isnull=True).exists()


# --- the admin --------------------------------------------------------------------------------
def test_an_admin_defines_a_reason_with_the_clocks_it_stops(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:cases_pausereason_add"), {
        "code": "court", "name": "等待法院判决", "name_en": "Waiting for a court ruling",
        "max_days": "90", "clocks": ["solution", "progress"], "requires_evidence": "on",
        "active": "on", "order": "50",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    reason = PauseReason.objects.get(code="court")
    assert reason.clocks == ["solution", "progress"] and reason.requires_evidence
    page = client.get(reverse("admin:cases_pausereason_changelist")).content.decode()
    assert "Waiting for a court ruling" in page


def test_the_admin_refuses_a_reason_without_clocks_or_with_the_department_clock(client,
                                                                                 admin_user):
    client.force_login(admin_user)
    for clocks in ([], ["department"]):
        response = client.post(reverse("admin:cases_pausereason_add"), {
            "code": "bad", "name": "坏", "name_en": "Bad", "max_days": "5", "clocks": clocks,
            "order": "0",
        })
        assert response.status_code == 200
    assert not PauseReason.objects.filter(code="bad").exists()


# --- the KPIs ---------------------------------------------------------------------------------
def test_the_paused_time_kpi_and_the_deadline_kpis_use_the_paused_adjusted_times(case, handler):
    from reporting import kpis as K

    solution = _row(case, Clock.SOLUTION)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    resolved = solution.due_at + timedelta(hours=12)  # late by the old due time
    with time_machine.travel(start + 2 * DAY, tick=False):
        case_resume(actor=handler, case_id=case.pk)
    with time_machine.travel(resolved, tick=False):
        services.case_resolve(actor=handler, case_id=case.pk, solution="已补发。",
                              root_cause=root_cause())
    window = K.Window(resolved - DAY, resolved + DAY, resolved + DAY)
    assert K.compute(window)["paused_time"] == Decimal("48.0")
    received = K.Window(case.received_at - DAY, case.received_at + DAY, resolved + DAY)
    assert K.compute(received)["late_handling"] == Decimal("0.0")  # on time once moved
    assert "moved by any pause" in str(K.KPI_BY_CODE["late_handling"].definition)


def test_a_re_tiered_case_keeps_the_time_its_ended_pauses_added(case, handler, supervisor):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    with time_machine.travel(start + 2 * DAY, tick=False):
        case_resume(actor=handler, case_id=case.pk)
        services.case_retier(actor=supervisor, case_id=case.pk, tier=Tier.IMPORTANT,
                             reason="影响扩大")
    row = _row(case, Clock.SOLUTION)
    policy = SlaPolicy.objects.get(tier=Tier.IMPORTANT)
    assert row.due_at == row.started_at + timedelta(minutes=policy.solution_minutes) + 2 * DAY


def test_the_evidence_file_is_removed_when_the_pause_rolls_back(case, handler, intake_env,
                                                               monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr("cases.services.pauses.notice_queue", broken)
    before = _snapshot(case)
    with pytest.raises(RuntimeError):
        case_pause(actor=handler, case_id=case.pk, reason="third_party_testing", note="送检",
                   evidence=Evidence("检测委托书.pdf", PDF))
    assert _snapshot(case) == before
    assert not [p for p in intake_env.rglob("*") if p.is_file()]


def test_the_tracking_page_lists_no_date_for_a_paused_clock(client, case, handler):
    form = {"reference": case.reference, "code": case.tracking_code}
    before = client.post("/track/", form).context["due_dates"]
    case_pause(actor=handler, case_id=case.pk, reason="customer_materials", note="缺凭证")
    during = client.post("/track/", form).context["due_dates"]
    assert len(during) < len(before)
