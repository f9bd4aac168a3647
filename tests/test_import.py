"""Bulk import through `manage.py import_complaints`: mapping, dry run, the row-by-row error
report, repeatability, arbitrary rows, and the real CFPB sample with the shipped mapping."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.choices import Category, ChannelKind, NoteKind
from cases.models import Case, CaseDeadline, CaseNote, Customer, Notice
from channels.importing import MappingError, import_complaints, load_mapping, parse_mapping

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent
CFPB_MAPPING = REPO / "channels" / "mappings" / "cfpb.json"
CFPB_FILE = REPO.parent / "shared" / "data" / "real" / "cfpb_complaints_sample_2015-2020.csv"

MAPPING = {
    "timezone": "Asia/Shanghai",  # the legacy system's clock (naive times need a zone)
    "fields": {
        "external_id": {"column": "id"},
        "received_at": {"column": "date", "formats": ["%Y-%m-%d %H:%M", "%Y/%m/%d"]},
        "category": [{"column": "type", "map": {"物流": "delivery", "Billing": "billing"}},
                     {"value": "other"}],
        "subject": {"column": "title"},
        "description": {"lines": ["{body}", "门店: {store}"]},
        "location": {"column": "store"},
        "customer.name": {"column": "name"},
        "customer.phone": {"column": "phone"},
        "customer.email": {"column": "email"},
    },
    "notes": [{"template": "旧系统状态: {status}"}],
}
HEADER = ["id", "date", "type", "title", "body", "store", "name", "phone", "email", "status"]
ROWS = [
    ["L-1", "2025-12-01 10:00", "物流", "快递丢件", "包裹丢失", "", "赵一", "13800000001", "",
     "已结案"],
    ["L-2", "2025/12/02", "billing", "Double charge", "Charged twice", "SH-01", "Qian Er", "",
     "qian@example.com", "open"],
    ["L-3", "not a date", "物流", "坏日期", "x", "", "孙三", "13800000003", "", ""],
    ["L-4", "2025-12-03 09:00", "物流", "", "没有标题", "", "李四", "13800000004", "", ""],
    ["", "2025-12-03 09:00", "物流", "无编号", "x", "", "周五", "13800000005", "", ""],
    ["L-6", "2025-12-04 08:00", "其他", "未知类型", "x", "", "吴六", "bad phone!", "", ""],
]


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "legacy.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    return data, mapping


def run(data, mapping, *extra) -> str:
    import io

    out = io.StringIO()
    try:
        call_command("import_complaints", str(data), "--mapping", str(mapping), *extra,
                     stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        out.write(f"\nCommandError: {exc}")
    return out.getvalue()


def test_good_rows_import_and_bad_rows_are_reported_with_line_and_reason(files):
    out = run(*files)
    assert "6 rows: created 2, already imported 0, not taken 4." in out
    assert "line 4 [L-3]: received_at: 'not a date' is not a date" in out
    assert "line 5 [L-4]: subject: Enter a subject." in out
    assert "line 6: external_id: empty" in out
    assert "line 7 [L-6]: customer.phone: Enter a valid phone number." in out
    assert "CommandError: 4 row(s) were not imported" in out
    first = Case.objects.get(external_id="L-1")
    assert first.channel == ChannelKind.IMPORT and first.category == Category.DELIVERY
    assert first.received_at.strftime("%Y-%m-%d %H:%M") in ("2025-12-01 10:00", "2025-12-01 02:00")
    assert first.notes.get(kind=NoteKind.INTERNAL).body == "旧系统状态: 已结案"
    second = Case.objects.get(external_id="L-2")
    assert second.category == Category.BILLING and second.location == "SH-01"
    assert "门店: SH-01" in second.description and second.customer.email == "qian@example.com"
    assert not Notice.objects.exists()  # legacy cases were acknowledged by the old system


def test_import_is_repeatable_without_duplicates(files):
    run(*files)
    out = run(*files)
    assert "created 0, already imported 2, not taken 4." in out
    assert Case.objects.count() == 2 and Customer.objects.count() == 2


def test_dry_run_checks_everything_and_writes_nothing(files):
    out = run(*files, "--dry-run")
    assert out.startswith("line 4") and "DRY RUN: 6 rows: would create 2" in out
    assert not Case.objects.exists() and not Customer.objects.exists()


def test_error_report_file(files, tmp_path):
    report = tmp_path / "errors.csv"
    run(*files, "--report", str(report))
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [r["line"] for r in rows] == ["4", "5", "6", "7"]
    assert rows[0]["external_id"] == "L-3" and rows[0]["field"] == "received_at"


def test_clocks_start_on_arrival_not_on_the_legacy_date(files):
    run(*files)
    case = Case.objects.get(external_id="L-1")
    assert case.sla_state == "on_time" and case.response_due_at > case.created_at


@pytest.mark.parametrize(("mapping", "message"), [
    ({"fields": {"subject": {"column": "title"}}}, "must fill"),
    ({"fields": {**MAPPING["fields"], "colour": {"value": "x"}}}, "unknown target"),
    ({"fields": {**MAPPING["fields"], "subject": {"column": "a", "value": "b"}}}, "exactly one"),
    ([], "fields"),
])
def test_unusable_mappings_are_refused(mapping, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(mapping)


def test_missing_columns_abort_before_anything_is_written(files, tmp_path):
    data, _mapping = files
    mapping = tmp_path / "m2.json"
    mapping.write_text(json.dumps({"fields": {**MAPPING["fields"],
                                              "order_ref": {"column": "order"}}}))
    out = run(data, mapping)
    assert "no column(s) order" in out and not Case.objects.exists()


def test_bad_bytes_and_ragged_rows_are_reported_per_row(tmp_path):
    data = tmp_path / "mixed.csv"
    good = "L-9,2025-12-01 10:00,物流,标题,内容,,钱九,13800000009,,\n"
    data.write_bytes(
        (",".join(HEADER) + "\n").encode() + good.encode()
        + "L-10,2025-12-01 10:00,物流,标题,".encode() + b"\xff\xfe bad" + b",,x,138,,\n"
        + b"L-11,2025-12-01,a,b,c,d,e,f,g,h,i,j,k\n"
    )
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    report = import_complaints(data, load_mapping(mapping))
    assert report.created == 1 and report.failed == 2
    assert "not utf-8 in" in report.errors[0].message
    assert "13 cells, the header has 10 columns" in report.errors[1].message


cell = st.text(max_size=30)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=12), min_size=1, max_size=4))
def test_arbitrary_rows_never_crash_or_half_write(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("csv")
    data = folder / "rows.csv"
    with data.open("w", newline="", encoding="utf-8", errors="surrogatepass") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    before = (Case.objects.count(), CaseDeadline.objects.count())
    try:
        report = import_complaints(data, parse_mapping(MAPPING))
    except MappingError as exc:  # refused whole (mostly NUL bytes): nothing written
        assert "binary data" in str(exc)
        assert (Case.objects.count(), CaseDeadline.objects.count()) == before
        return
    after = (Case.objects.count(), CaseDeadline.objects.count())
    assert report.created + report.existing + report.failed == report.rows
    assert after == (before[0] + report.created, before[1] + 3 * report.created)


# --- the real CFPB sample -----------------------------------------------------------------------
@pytest.mark.skipif(not CFPB_FILE.exists(),
                    reason=f"the CFPB sample is not at {CFPB_FILE} (../shared/data/real/)")
def test_real_cfpb_sample_imports_completely_with_the_shipped_mapping():
    mapping = load_mapping(CFPB_MAPPING)
    dry = import_complaints(CFPB_FILE, mapping, dry_run=True)
    assert dry.rows == 6623 and dry.created == 6623 and dry.failed == 0, dry.errors[:5]
    assert not Case.objects.exists()
    report = import_complaints(CFPB_FILE, mapping)
    assert (report.rows, report.created, report.failed) == (6623, 6623, 0), report.errors[:5]
    assert Case.objects.filter(source__code="import").count() == 6623
    # "Submitted via" onto our channel kinds (the README's profile of the sample)
    assert dict(Case.objects.values_list("channel").annotate(n=Count("id"))) == {
        ChannelKind.WEB: 5143, ChannelKind.IMPORT: 627, ChannelKind.HOTLINE: 482,
        ChannelKind.LETTER: 267 + 102, ChannelKind.EMAIL: 2}
    # "Company response to consumer" onto stages: 35 "In progress", the rest closed
    assert report.stages == dry.stages == {"closed": 6623 - 35, "in_progress": 35}
    assert report.past_due == 35  # open since 2019/2020: shown breached, one summary alert
    # every category is one of ours and the mapping spreads them sensibly
    counts = dict(Case.objects.values_list("category").annotate(n=Count("id")))
    assert set(counts) <= set(Category.values)
    # no silent "other": every value a map did not know is counted and shown
    fell = {name: dict(counter) for name, counter in report.fallbacks.counts.items()}
    assert fell == dict(dry.fallbacks.counts) == {"category": {("billing", "Other"): 1}}
    assert counts.get(Category.OTHER, 0) == sum(
        n for (value, _src), n in report.fallbacks.counts["category"].items()
        if value == Category.OTHER)
    assert report.fallbacks.summary() == [
        "category: 1 row fell back to 'billing': 'Other' x1"]
    sample = Case.objects.get(external_id="CFPB-3571115")
    assert sample.category == Category.PRODUCT_QUALITY
    assert sample.subject.startswith("Credit reporting") and "TRANSUNION" in sample.description
    assert timezone.localtime(sample.received_at).date().isoformat() == "2020-03-18"
    assert CaseNote.objects.filter(case=sample, body__contains="Closed with explanation").exists()
    assert sample.stage == "closed" and sample.company.startswith("TRANSUNION")
    assert sample.closed_at.astimezone(ZoneInfo("America/New_York")).isoformat() == (
        "2020-03-18T00:00:00-04:00")
    assert not Notice.objects.exists()
    again = import_complaints(CFPB_FILE, mapping)
    assert (again.created, again.existing) == (0, 6623)
