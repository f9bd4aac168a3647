"""Statutory regimes through the public surface: the workspace panel and its two POST URLs
(authorization per role, bad input), the desk intake form, the API and the import mapping,
the supervision queues, the desk list, /track/ in both languages, and the KPIs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.choices import Category, ChannelKind, Clock, Stage
from cases.models import Case, CaseDeadline, ExtensionRequest, Notice
from cases.models.notices import NoticeKind
from cases.models.statutory import ExtensionStatus
from cases.services.statutory import due_label, extension_decide, extension_request
from reporting import kpis as K
from tests.factories import advance

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
BANKING = "cn-banking-insurance"


def intake(**kw) -> Case:
    customer = services.CustomerData(name="王芳", phone=kw.pop("phone", "13800138000"),
                                     email="wang@example.com")
    fields = {"channel": ChannelKind.WEB, "category": Category.BILLING,
              "subject": "信用卡年费争议", "description": "未经同意收取年费。", **kw}
    return services.case_intake(actor=None,
                                data=services.IntakeData(customer=customer, **fields)).case


@pytest.fixture
def case(frontline):
    return advance(intake(regime=BANKING), Stage.IN_PROGRESS, handler=frontline)


def request_url(case: Case) -> str:
    return reverse("desk:extension_request", args=[case.pk])


def decide_url(case: Case, extension: ExtensionRequest) -> str:
    return reverse("desk:extension_decide", args=[case.pk, extension.pk])


# --- the workspace panel -------------------------------------------------------------------------
@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Statutory limit", "15 days (calendar)", "Banking and insurance",
            "Request an extension of 15 days (calendar) (approved by: Supervisor)"]),
    ("zh-hans", ["银行保险机构消费投诉处理"]),
])
def test_the_workspace_shows_regime_basis_and_due_date(client, case, frontline, language, words):
    frontline.language = language
    frontline.save()
    client.force_login(frontline)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'data-testid="statutory"' in page
    for word in words:
        assert word in page
    assert due_label(case.statutory_due_at) in page


def test_the_workspace_query_count_does_not_grow_with_extensions(
        client, case, frontline, supervisor):
    client.force_login(supervisor)
    url = reverse("desk:case", args=[case.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    before = len(ctx.captured_queries)
    first = extension_request(actor=frontline, case_id=case.pk, reason="情况复杂")
    extension_decide(actor=supervisor, extension_id=first.pk, approve=True)
    extension_request(actor=frontline, case_id=case.pk, reason="情况特别复杂")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert len(ctx.captured_queries) == before


def test_a_case_without_regime_shows_no_panel_and_costs_no_query(client, frontline):
    plain = advance(intake(phone="13800138009"), Stage.IN_PROGRESS, handler=frontline)
    client.force_login(frontline)
    page = client.get(reverse("desk:case", args=[plain.pk])).content.decode()
    assert 'data-testid="statutory"' not in page


def test_request_and_approve_through_the_workspace(client, case, frontline, supervisor):
    client.force_login(frontline)
    response = client.post(request_url(case), {"reason": "需调取第三方交易记录"})
    assert response.status_code == 302 and response.url.endswith("#statutory")
    extension = ExtensionRequest.objects.get(case=case)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'data-testid="decide-extension"' not in page  # the requester cannot decide
    client.force_login(supervisor)
    page = client.get(reverse("desk:case", args=[case.pk])).content.decode()
    assert 'data-testid="decide-extension"' in page
    response = client.post(decide_url(case, extension), {"decision": "approve", "note": "同意"})
    assert response.status_code == 302
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED
    assert Notice.objects.filter(case=case, kind=NoticeKind.EXTENSION).count() == 1


def test_a_request_without_reason_changes_nothing_and_says_why(client, case, frontline):
    client.force_login(frontline)
    response = client.post(request_url(case), {"reason": ""}, follow=True)
    assert "Give the reason for the extension." in response.content.decode()
    assert not ExtensionRequest.objects.exists()


def test_a_request_past_the_maximum_says_so(client, case, frontline):
    from cases.models import Regime

    Regime.objects.filter(code=BANKING).update(max_total_days=15)
    client.force_login(frontline)
    response = client.post(request_url(case), {"reason": "情况复杂"}, follow=True)
    assert "past the regime&#x27;s maximum of 15 days (calendar)" in response.content.decode()
    assert not ExtensionRequest.objects.exists()


def test_a_bad_decision_value_changes_nothing(client, case, frontline, supervisor):
    extension = extension_request(actor=frontline, case_id=case.pk, reason="情况复杂")
    client.force_login(supervisor)
    response = client.post(decide_url(case, extension), {"decision": "maybe"}, follow=True)
    assert "Choose approve or refuse." in response.content.decode()
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING


# --- authorization of every new URL per role -----------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 302), ("liaison", 403), ("admin_user", 403), ("frontline2", 403),
    ("senior", 403), ("frontline", 302), ("supervisor", 302),
])
def test_who_may_request_an_extension(client, case, request, who, status):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.post(request_url(case), {"reason": "情况复杂"})
    assert response.status_code == status
    if status == 302 and who == "anonymous":
        assert "/accounts/login/" in response.url
    assert ExtensionRequest.objects.count() == (1 if who in ("frontline", "supervisor") else 0)


@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 302), ("liaison", 403), ("admin_user", 403), ("frontline", 403),
    ("frontline2", 403), ("senior", 403), ("supervisor", 302),
])
def test_who_may_decide_an_extension(client, case, frontline, request, who, status):
    extension = extension_request(actor=frontline, case_id=case.pk, reason="情况复杂")
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.post(decide_url(case, extension), {"decision": "approve"})
    assert response.status_code == status
    extension.refresh_from_db()
    assert (extension.status == ExtensionStatus.APPROVED) == (who == "supervisor")


def test_the_urls_take_no_get_and_hide_other_cases_requests(client, case, frontline, supervisor):
    extension = extension_request(actor=frontline, case_id=case.pk, reason="情况复杂")
    other = advance(intake(regime=BANKING, phone="13800138002"), Stage.IN_PROGRESS,
                    handler=frontline)
    client.force_login(supervisor)
    assert client.get(request_url(case)).status_code == 405
    assert client.get(decide_url(case, extension)).status_code == 405
    response = client.post(reverse("desk:extension_decide", args=[other.pk, extension.pk]),
                           {"decision": "approve"})
    assert response.status_code == 404


# --- intake through every channel ----------------------------------------------------------------
def test_the_desk_intake_form_takes_the_regime_and_regulator_reference(client, frontline):
    client.force_login(frontline)
    form = client.get(reverse("channels:log_complaint")).content.decode()
    assert 'name="regime"' in form and "cn-banking-insurance" in form
    body = {"channel": "hotline", "name": "王芳", "phone": "13800138000",
            "preferred_channel": "sms", "category": "billing", "subject": "年费争议",
            "description": "未经同意收取年费。", "urgency": "routine", "scope": "individual",
            "difficulty": "frontline", "regime": BANKING, "regulator_reference": "NFRA-77",
            "regulator_due_at": (timezone.localtime() + timedelta(days=9)).strftime(
                "%Y-%m-%dT%H:%M")}
    response = client.post(reverse("channels:log_complaint"), body)
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.statutory.regulator_reference == "NFRA-77"
    again = client.post(reverse("channels:log_complaint"), body)
    assert again.status_code == 302 and Case.objects.count() == 1


def test_the_desk_intake_form_refuses_a_reference_without_regime(client, frontline):
    client.force_login(frontline)
    body = {"channel": "hotline", "name": "王芳", "phone": "13800138000",
            "preferred_channel": "sms", "category": "billing", "subject": "年费争议",
            "description": "未经同意收取年费。", "urgency": "routine", "scope": "individual",
            "difficulty": "frontline", "regulator_reference": "NFRA-77"}
    response = client.post(reverse("channels:log_complaint"), body)
    assert response.status_code == 400
    assert "needs a statutory regime" in response.content.decode()
    assert not Case.objects.exists()


def test_the_api_takes_the_regime_and_is_idempotent_per_regulator_reference(
        client, app_key, intake_env):
    _channel, key = app_key
    body = {"customer": {"name": "王芳", "phone": "13800138000"}, "category": "billing",
            "subject": "年费争议", "description": "未经同意收取年费。", "regime": "us-cfpb",
            "regulator_reference": "CFPB-260101-1",
            "regulator_due_at": (timezone.now() + timedelta(days=10)).isoformat()}
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    first = client.post("/api/v1/complaints", json.dumps(body), content_type="application/json",
                        **headers)
    again = client.post("/api/v1/complaints", json.dumps(body), content_type="application/json",
                        **headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["reference"] == again.json()["reference"]
    bad = client.post("/api/v1/complaints", json.dumps({**body, "regime": "nope"}),
                      content_type="application/json", **headers)
    assert bad.status_code == 400 and "regime" in bad.json()["fields"]
    schema = json.loads(client.get("/api/v1/schema?format=json").content)
    properties = schema["components"]["schemas"]["ComplaintCreate"]["properties"]
    assert {"regime", "regulator_reference", "regulator_due_at"} <= set(properties)


def test_the_import_mapping_targets_the_statutory_fields(tmp_path):
    from channels.importing import TARGETS, load_mapping, row_to_intake
    from channels.models import Channel

    assert {"regime", "regulator_reference", "regulator_due_at"} <= TARGETS
    mapping_file = tmp_path / "m.json"
    mapping_file.write_text(json.dumps({
        "channel": "import",
        "fields": {"external_id": {"column": "id"}, "category": {"value": "billing"},
                   "subject": {"column": "subject"}, "description": {"column": "subject"},
                   "customer.name": {"column": "name"}, "regime": {"value": BANKING},
                   "regulator_reference": {"column": "ref"},
                   "regulator_due_at": {"column": "due", "formats": ["%Y-%m-%d"]}}}))
    mapping = load_mapping(mapping_file)
    data = row_to_intake({"id": "1", "subject": "年费", "name": "王芳", "ref": "NFRA-1",
                          "due": "2026-12-31"}, mapping, Channel.objects.get(code="import"))
    assert (data.regime, data.regulator_reference) == (BANKING, "NFRA-1")
    assert timezone.localtime(data.regulator_due_at).date().isoformat() == "2026-12-31"


# --- supervision queues, the desk list and /track/ ---------------------------------------------
def _statutory_row(case: Case) -> CaseDeadline:
    return case.deadlines.get(clock=Clock.STATUTORY)


def test_supervision_queues_list_statutory_at_risk_and_breached(client, supervisor, frontline):
    on_time = advance(intake(regime=BANKING, phone="13800138001"), Stage.IN_PROGRESS,
                      handler=frontline)
    at_risk = advance(intake(regime=BANKING, phone="13800138002"), Stage.IN_PROGRESS,
                      handler=frontline)
    breached = advance(intake(regime=BANKING, phone="13800138003"), Stage.IN_PROGRESS,
                       handler=frontline)
    now = timezone.now()
    _statutory_row(at_risk).__class__.objects.filter(pk=_statutory_row(at_risk).pk).update(
        risk_at=now - timedelta(hours=1), due_at=now + timedelta(days=1))
    CaseDeadline.objects.filter(pk=_statutory_row(breached).pk).update(
        risk_at=now - timedelta(days=2), due_at=now - timedelta(hours=1))
    client.force_login(supervisor)
    risk_page = client.get(reverse("desk:cases"), {"queue": "statutory_at_risk"})
    breach_page = client.get(reverse("desk:cases"), {"queue": "statutory_breached"})
    assert [c.pk for c in risk_page.context["cases"]] == [at_risk.pk]
    assert [c.pk for c in breach_page.context["cases"]] == [breached.pk]
    assert on_time.pk not in [c.pk for c in risk_page.context["cases"]]
    home = client.get(reverse("desk:home")).content.decode()
    assert "Statutory at risk" in home and "Statutory breached" in home


def test_the_statutory_queues_are_for_supervisors(client, frontline):
    client.force_login(frontline)
    assert client.get(reverse("desk:cases"), {"queue": "statutory_breached"}).status_code == 403


def test_the_desk_list_shows_the_statutory_date_without_more_queries(client, supervisor):
    plain = [intake(phone=f"1380013810{i}") for i in range(3)]
    client.force_login(supervisor)
    client.get(reverse("desk:cases"), {"queue": "all"})
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("desk:cases"), {"queue": "all"})
    before = len(ctx.captured_queries)
    statutory = [intake(regime="us-cfpb", phone=f"1380013820{i}") for i in range(3)]
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("desk:cases"), {"queue": "all"}).content.decode()
    assert len(ctx.captured_queries) == before
    assert page.count("data-statutory-due=") == len(statutory)
    assert "15 days (calendar)" in page
    assert len(plain) == 3


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Statutory time limit", "7 working days", "decide whether to accept"]),
    ("zh-hans", ["市场监管投诉"]),
])
def test_track_shows_the_regime_basis_and_date(client, language, words):
    received = datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI)
    case = intake(regime="cn-market-regulation", received_at=received)
    client.cookies["django_language"] = language
    page = client.post("/track/", {"reference": case.reference, "code": case.tracking_code})
    text = page.content.decode()
    assert page.status_code == 200
    for word in words:
        assert word in text
    assert "2026-10-15" in text


# --- the KPIs -----------------------------------------------------------------------------
def test_statutory_kpis_with_a_breakdown_by_category(supervisor, frontline):
    from reporting.kpis import queries, rollups

    assert "Period taken on" in K.KPI_BY_CODE["statutory_on_time"].doc
    late = advance(intake(regime=BANKING, phone="13800138001"), Stage.IN_PROGRESS,
                   handler=frontline)
    first = extension_request(actor=frontline, case_id=late.pk, reason="情况复杂")
    extension_decide(actor=supervisor, extension_id=first.pk, approve=True)
    second = extension_request(actor=frontline, case_id=late.pk, reason="情况特别复杂")
    extension_decide(actor=supervisor, extension_id=second.pk, approve=False)
    Case.objects.filter(pk=late.pk).update(statutory_due_at=timezone.now() - timedelta(hours=1))
    advance(intake(regime=BANKING, phone="13800138002", category=Category.DELIVERY),
            Stage.RESOLVED, handler=frontline)
    now = timezone.now()
    window = K.Window(now - timedelta(days=1), now + timedelta(days=1), now)
    values = rollups.compute(window)
    assert values["statutory_on_time"] == 50  # the delivery case decided in time, 1 of 2
    assert values["extensions_approved"] == 50  # 1 approved of 2 requested
    by_category = rollups.sums_by_dimension(queries.case_rows(
        window, [f for f, _r in K.DIMENSIONS.values()]))["category"]
    assert rollups.kpi_value(K.KPI_BY_CODE["statutory_on_time"], by_category["delivery"]) == 100
    assert rollups.kpi_value(K.KPI_BY_CODE["statutory_on_time"], by_category["billing"]) == 0
    assert rollups.kpi_value(K.KPI_BY_CODE["extensions_approved"],
                             by_category["billing"]) == 50


def test_the_extension_notice_is_in_the_customers_language(case, frontline, supervisor):
    case.customer.language = "en"
    case.customer.save()
    first = extension_request(actor=frontline, case_id=case.pk, reason="Records from a third "
                                                                      "party are needed")
    extension_decide(actor=supervisor, extension_id=first.pk, approve=True)
    notice = Notice.objects.get(kind=NoticeKind.EXTENSION)
    assert notice.language == "en"
    assert "Banking and insurance consumer complaints" in notice.body
    assert "Records from a third party are needed" in notice.body


# --- the admin -----------------------------------------------------------------------------------
def test_the_admin_lists_every_seeded_regime_with_its_source(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/cases/regime/").content.decode()
    for code in ("cn-banking-insurance", "cn-market-regulation", "us-cfpb", "uk-fca-final",
                 "uk-fca-summary"):
        assert code in page
    assert "银行保险机构消费投诉处理管理办法" in page and "DISP 1.6.2R" in page
    assert "45 working days" in page and "56 days (calendar)" in page


def test_the_admin_edits_a_regime_and_refuses_a_maximum_below_the_first_limit(
        client, admin_user):
    from cases.models import Regime

    regime = Regime.objects.get(code="us-cfpb")
    client.force_login(admin_user)
    url = f"/admin/cases/regime/{regime.pk}/change/"
    assert client.get(url).status_code == 200
    form = {"code": "us-cfpb", "name": regime.name, "name_en": regime.name_en,
            "is_active": "on", "source": regime.source, "basis": "calendar_days",
            "starts_at": "receipt", "first_limit_days": 15, "max_total_days": 10,
            "categories": ["billing"], "steps-TOTAL_FORMS": 0, "steps-INITIAL_FORMS": 0,
            "steps-MIN_NUM_FORMS": 0, "steps-MAX_NUM_FORMS": 1000}
    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "cannot be shorter than the first limit" in refused.content.decode()
    saved = client.post(url, {**form, "max_total_days": 60})
    assert saved.status_code == 302
    regime.refresh_from_db()
    assert regime.categories == ["billing"]
    assert intake(phone="13800138055").statutory.regime == regime
