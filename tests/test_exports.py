"""CSV and Excel exports: KPI tables, the weekly review and the desk's filtered case list;
streamed, safe against formula injection, customer data for supervisors and admins only."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models.query import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.choices import Category, Role, Stage
from reporting import kpis as K
from reporting.models import ImprovementAction
from reporting.services import previous_week, weekly_review_build
from tests.factories import CaseFactory, UserFactory

CASES_CSV = reverse("reports:export_cases", args=["csv"])
CASES_XLSX = reverse("reports:export_cases", args=["xlsx"])


def body(response) -> bytes:
    if isinstance(response, (StreamingHttpResponse, FileResponse)):
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[list[str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with a BOM
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def workbook(response):
    return load_workbook(io.BytesIO(body(response)), read_only=True)


@pytest.fixture
def cases(db):
    return [
        CaseFactory(stage=Stage.CLOSED, category=Category.BILLING, customer_name="王芳"),
        CaseFactory(stage=Stage.IN_PROGRESS, category=Category.DELIVERY,
                    subject="=HYPERLINK(\"http://evil\",\"x\")"),
    ]


# --- permissions -------------------------------------------------------------------------------
@pytest.mark.parametrize("who,status", [
    ("frontline", 403), ("senior", 403), ("liaison", 403), ("supervisor", 200),
    ("admin_user", 200),
])
def test_only_supervisors_and_admins_export_cases(client, request, db, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(CASES_CSV).status_code == status
    assert client.get(CASES_XLSX).status_code == status


def test_an_admin_who_is_not_a_superuser_exports_every_case(client, cases):
    ops = UserFactory(username="ops2", role=Role.ADMIN, is_staff=True)
    client.force_login(ops)
    rows = csv_rows(client.get(CASES_CSV, {"queue": "all"}))
    assert len(rows) == 1 + len(cases)


def test_agents_may_export_the_kpi_tables_which_hold_no_customer_data(client, frontline, cases):
    client.force_login(frontline)
    response = client.get(reverse("reports:export_kpis", args=["csv"]))
    assert response.status_code == 200
    text = body(response).decode()
    assert "First response on time" in text and "王芳" not in text


def test_weekly_review_export_is_for_supervisors(client, frontline, supervisor, db):
    review, _ = weekly_review_build(week=previous_week(timezone.now()))
    url = reverse("reports:review_export", args=[review.pk, "csv"])
    client.force_login(frontline)
    assert client.get(url).status_code == 403
    client.force_login(supervisor)
    assert client.get(url).status_code == 200


def test_unknown_format_is_404(client, supervisor, db):
    client.force_login(supervisor)
    assert client.get(reverse("reports:export_cases", args=["pdf"])).status_code == 404
    assert client.get(reverse("reports:export_kpis", args=["json"])).status_code == 404


# --- case list ---------------------------------------------------------------------------------
def test_case_csv_is_streamed_with_the_desk_filters(client, supervisor, cases):
    client.force_login(supervisor)
    response = client.get(CASES_CSV, {"queue": "all", "category": Category.BILLING})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:3] == ["Reference", "Received", "Channel"]
    assert [r[0] for r in rows[1:]] == [cases[0].reference]
    assert rows[1][5] == "王芳" and rows[1][3] == "Billing / charges"


def test_case_export_defaults_to_the_desks_open_queue(client, supervisor, cases):
    client.force_login(supervisor)
    refs = [r[0] for r in csv_rows(client.get(CASES_CSV))[1:]]
    assert refs == [cases[1].reference]  # the closed case is not in "All open cases"


def test_formula_cells_are_neutralised_in_csv_and_excel(client, supervisor, cases):
    client.force_login(supervisor)
    rows = csv_rows(client.get(CASES_CSV, {"queue": "all"}))
    subjects = [r[4] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in subjects
    sheet = workbook(client.get(CASES_XLSX, {"queue": "all"})).active
    values = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in values


def test_case_xlsx_has_every_row_and_typed_cells(client, supervisor, cases):
    client.force_login(supervisor)
    response = client.get(CASES_XLSX, {"queue": "all"})
    assert isinstance(response, FileResponse)
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    rows = list(workbook(response).active.iter_rows(values_only=True))
    assert rows[0][0] == "Reference" and len(rows) == 3
    received = rows[1][1]
    assert received.tzinfo is None  # local (Asia/Shanghai) wall time, as Excel expects


def test_invalid_filters_get_a_clear_400(client, supervisor, db):
    client.force_login(supervisor)
    response = client.get(CASES_CSV, {"tier": "seven", "received_after": "x"})
    assert response.status_code == 400
    assert "tier" in response.content.decode()


def test_export_reads_the_cases_in_chunks(client, supervisor, cases, monkeypatch):
    """The rows come through ``QuerySet.iterator(chunk_size=...)``, never a full list."""
    calls = []
    real = QuerySet.iterator

    def spy(self, chunk_size=None):
        calls.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    client.force_login(supervisor)
    assert len(csv_rows(client.get(CASES_CSV, {"queue": "all"}))) == 3
    body(client.get(CASES_XLSX, {"queue": "all"}))
    assert calls == [2000, 2000]


def test_stream_functions_take_any_queryset(db, cases):
    from cases.models import Case
    from reporting.exports import stream_cases_csv, stream_cases_xlsx

    qs = Case.objects.filter(pk=cases[0].pk)
    assert len(csv_rows(stream_cases_csv(qs))) == 2
    assert len(list(workbook(stream_cases_xlsx(qs)).active.iter_rows())) == 2


# --- KPI tables and the weekly review ----------------------------------------------------------
def test_kpi_xlsx_has_a_sheet_per_table(client, supervisor, cases):
    client.force_login(supervisor)
    response = client.get(reverse("reports:export_kpis", args=["xlsx"]),
                          {"period": "this_month"})
    book = workbook(response)
    assert book.sheetnames == ["KPIs", "By tier", "By channel", "By category", "By department",
                               "Weekly trend", "Root causes"]
    kpis = list(book["KPIs"].iter_rows(values_only=True))
    assert kpis[0][2] == "First response on time" and len(kpis[0]) == 2 + len(K.KPIS)
    assert kpis[1][1] == 2  # two cases received this month
    assert kpis[4][0] == "Target" and kpis[4][2] == "≥ 95.00"


def test_kpi_export_rejects_a_bad_period(client, supervisor, db):
    client.force_login(supervisor)
    response = client.get(reverse("reports:export_kpis", args=["csv"]),
                          {"period": "custom", "start": "2026-02-10", "end": "2026-02-01"})
    assert response.status_code == 400


def test_weekly_review_export_in_both_formats(client, supervisor, db):
    review, _ = weekly_review_build(week=previous_week(timezone.now()))
    action = ImprovementAction.objects.create(
        review=review, action="=cmd|' /C calc'!A0", owner=supervisor, created_by=supervisor,
        due_date=timezone.localdate())
    client.force_login(supervisor)
    rows = csv_rows(client.get(reverse("reports:review_export", args=[review.pk, "csv"])))
    flat = [cell for row in rows for cell in row]
    assert "Improvement actions" in flat and "'" + action.action in flat
    book = workbook(client.get(reverse("reports:review_export", args=[review.pk, "xlsx"])))
    assert book.sheetnames[0] == "KPIs" and "Improvement actions" in book.sheetnames
    assert len(list(book["KPIs"].iter_rows())) == 1 + len(K.KPIS)  # header and the KPIs
