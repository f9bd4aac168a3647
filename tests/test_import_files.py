"""Row hygiene of the legacy import (issue 20 item 4) and its speed machinery (item 5): each
kind of bad file in one line, short and long rows with their line and id, exit codes, a dry
run that counts exactly what the real run does, the command's language, the progress
display, resuming after an interruption, and the benchmark on a tiny database."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.utils import translation
from django.utils.translation import gettext

from cases.models import Case, Customer
from channels import importing
from channels.import_mapping import parse_mapping
from channels.importing import ImportReport, import_complaints
from channels.management.commands import import_complaints as command_module

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
HEADER = ["id", "type", "title", "name", "phone", "store"]
MAPPING = {"fields": {
    "external_id": {"template": "L-{id}"},
    "category": {"column": "type", "map": {"物流": "delivery", "Billing": "billing"},
                 "default": "other"},
    "subject": {"column": "title"},
    "description": {"template": "{title}[ @ {store}]"},
    "location": {"column": "store"},
    "customer.name": {"column": "name"},
    "customer.phone": {"column": "phone"},
}}
GOOD = [["1", "物流", "快递丢件", "赵一", "13800000001", "SH-01"],
        ["2", "Billing", "Double charge", "Qian Er", "13800000002", ""]]


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


@pytest.fixture
def mapping_file(tmp_path):
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    return path


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def run(data: Path, mapping: Path, *extra: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("import_complaints", str(data), "--mapping", str(mapping), *extra,
                     stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        out.write(f"\nCommandError: {exc}")
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


# --- files that are not what they should be ---------------------------------------------------
@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (codecs.BOM_UTF8 + b"\n\n  \n", "is empty"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "it is a ZIP archive (an .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "an old Excel (.xls)"),
    (b"%PDF-1.7\n" + bytes(50), "it is a PDF document"),
    (b"\x1f\x8b\x08\x00" + bytes(30), "a gzip archive"),
    (b"id,type\x00\x01\x02\x03garbage\x00\xff" * 20, "it has binary data (NUL bytes)"),
])
def test_empty_and_binary_files_are_refused_in_one_line(tmp_path, mapping_file, content,
                                                        message):
    data = tmp_path / "legacy.csv"
    data.write_bytes(content)
    out, code = run(data, mapping_file)
    assert code == 2 and message in out
    assert out.strip().count("\n") == 0  # one line
    assert "no column" not in out and not Case.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_boms_and_utf16_are_detected(tmp_path, mapping_file, encoding):
    data = tmp_path / "legacy.csv"
    data.write_bytes(csv_text(GOOD).encode(encoding))
    out, code = run(data, mapping_file)
    assert code == 0 and "2 rows: created 2" in out, out
    assert Case.objects.get(external_id="L-1").subject == "快递丢件"


def test_a_gb18030_file_gets_a_suggestion_and_imports_with_it_declared(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    data.write_bytes(csv_text(GOOD * 3).encode("gb18030"))
    out, code = run(data, mapping_file)
    assert code == 2
    assert 'it looks like GB18030: add "encoding": "gb18030" to the mapping' in out
    assert not Case.objects.exists()
    declared = tmp_path / "gb.json"
    declared.write_text(json.dumps({**MAPPING, "encoding": "gb18030"}), encoding="utf-8")
    out, code = run(data, declared)
    assert code == 0 and "created 2, already imported 4" in out
    assert Case.objects.get(external_id="L-1").customer.name == "赵一"


def test_a_windows_1252_file_gets_its_suggestion(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    rows = [["1", "Billing", "Café crème à la carte é", "Zoë", "13800000001", "Müller"]] * 3
    data.write_bytes(csv_text(rows).encode("cp1252"))
    out, code = run(data, mapping_file)
    assert code == 2 and 'Windows-1252: add "encoding": "cp1252"' in out


def test_a_missing_file_and_a_missing_header(tmp_path, mapping_file):
    out, code = run(tmp_path / "nope.csv", mapping_file)
    assert code == 2 and "cannot read" in out
    data = tmp_path / "legacy.csv"
    data.write_text("1,物流,x,y,z,w\n", encoding="utf-8")
    out, code = run(data, mapping_file)
    assert code == 2 and "the CSV has no column(s)" in out


# --- rows -------------------------------------------------------------------------------------
def test_short_and_long_rows_are_refused_with_line_and_external_id(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    text = csv_text([GOOD[0], ["7", "物流", "cut short"], ["8", "物流", "a", "b", "1380", "c",
                                                           "extra"], GOOD[1]])
    data.write_text(text, encoding="utf-8")
    out, code = run(data, mapping_file)
    assert ("line 3 [L-7]: row: the row has 3 cells, the header has 6 columns (the row is cut "
            "short after 'title')") in out
    assert "line 4 [L-8]: row: the row has 7 cells, the header has 6 columns" in out
    assert "4 rows: created 2, already imported 0, not taken 2." in out and code == 1
    assert set(Case.objects.values_list("external_id", flat=True)) == {"L-1", "L-2"}


def test_a_row_cut_before_its_id_is_reported_by_line(tmp_path):
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"fields": {**MAPPING["fields"],
                                              "external_id": {"column": "store"}}}))
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text([["9", "物流"]]), encoding="utf-8")
    out, code = run(data, mapping)
    assert "line 2: row: the row has 2 cells" in out and code == 1


def test_a_multi_line_cell_keeps_the_line_numbers_right(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    rows = [["1", "物流", "two\nlines", "赵一", "13800000001", ""], ["2", "?", "x", "", "", ""]]
    data.write_text(csv_text(rows), encoding="utf-8")
    out, _code = run(data, mapping_file)
    assert "line 4 [L-2]: customer.name" in out


# --- exit codes -------------------------------------------------------------------------------
def test_exit_codes(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text(GOOD), encoding="utf-8")
    assert run(data, mapping_file, "--dry-run")[1] == 0
    assert run(data, mapping_file)[1] == 0
    assert run(data, mapping_file)[1] == 0  # all there already
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([["5", "物流", "", "x", "13800000005", ""]]), encoding="utf-8")
    assert run(bad, mapping_file, "--dry-run")[1] == 1  # a failing row fails a dry run too
    assert run(bad, mapping_file)[1] == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert run(data, broken)[1] == 2


def test_an_interrupted_command_exits_130_and_says_how_to_resume(tmp_path, mapping_file,
                                                                  monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command_module, "import_complaints", interrupted)
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text(GOOD), encoding="utf-8")
    out, code = run(data, mapping_file)
    assert code == 130 and "run the same command again to resume" in out


# --- the dry run counts what the real run does ------------------------------------------------
def test_dry_run_counts_exactly_what_the_real_run_does(tmp_path, mapping_file):
    """Duplicate ids more than one batch apart, ids imported before, failing rows."""
    rows = [[str(i), "物流", f"title {i}", f"name {i}", f"1380000{i:04d}", f"S{i % 7}"]
            for i in range(1300)]
    rows[1200] = list(rows[3])  # the same id, 1197 rows (> 2 batches) later
    rows[1250] = [*rows[700][:2], "another title", *rows[700][3:]]  # same id, other content
    rows[900][2] = ""  # fails: no subject
    earlier = tmp_path / "earlier.csv"
    earlier.write_text(csv_text(rows[:40]), encoding="utf-8")
    run(earlier, mapping_file)
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text(rows), encoding="utf-8")
    before = Case.objects.count()
    dry = import_complaints(data, parse_mapping(MAPPING), dry_run=True)
    assert Case.objects.count() == before
    real = import_complaints(data, parse_mapping(MAPPING))
    assert (dry.rows, dry.created, dry.existing, dry.failed) == (
        real.rows, real.created, real.existing, real.failed) == (1300, 1257, 42, 1)
    assert Case.objects.count() == before + 1257


# --- language ---------------------------------------------------------------------------------
def test_every_message_is_in_the_language_of_the_command(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text([GOOD[0], ["3", "物流", "", "x", "13800000003", ""]]),
                    encoding="utf-8")
    for language in ("zh-hans", "en"):
        out, _code = run(data, mapping_file, "--dry-run", "--language", language)
        with translation.override(language):
            subject = gettext("Enter a subject.")
            summary = gettext("DRY RUN: %(rows)d rows: would create %(created)d, already "
                              "imported %(existing)d, not taken %(failed)d.") % {
                "rows": 2, "created": 1, "existing": 0, "failed": 1}
            failed = gettext("%(count)d row(s) were not imported; see the report above."
                             ) % {"count": 1}
            row = gettext("line %(line)d%(id)s: %(field)s: %(message)s") % {
                "line": 3, "id": " [L-3]", "field": "subject", "message": subject}
        assert row in out
        assert summary in out and failed in out
    assert "请" in run(data, mapping_file, "--dry-run", "--language", "zh-hans")[0]


def test_an_unknown_language_is_refused(tmp_path, mapping_file):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_complaints", "x.csv", "--mapping", str(mapping_file),
                     "--language", "fr", stdout=io.StringIO(), stderr=io.StringIO())


# --- progress and resuming --------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_rate_and_time_left_on_a_terminal_only():
    report = ImportReport(dry_run=False, rows=5000, position=250, size=1000)
    line = command_module.Progress.line(report, 10.0)
    assert line == "5000 rows (25%), 500 rows/s, about 0 min 30 s left"
    terminal = Terminal()
    shown = command_module.Progress(OutputWrapper(terminal), every=0)
    shown(report)
    assert terminal.getvalue().startswith("\r5000 rows (25%)")
    pipe = io.StringIO()
    command_module.Progress(OutputWrapper(pipe), every=0)(report)
    assert pipe.getvalue() == ""


def test_the_command_is_quiet_on_stderr_in_a_pipe(tmp_path, mapping_file):
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text(GOOD), encoding="utf-8")
    err = io.StringIO()
    call_command("import_complaints", str(data), "--mapping", str(mapping_file),
                 stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""


def test_an_interrupted_import_resumes_where_it_stopped(tmp_path, mapping_file, monkeypatch):
    monkeypatch.setattr(importing, "_BATCH", 10)
    rows = [[str(i), "物流", f"title {i}", f"name {i}", f"1390000{i:04d}", ""]
            for i in range(35)]
    data = tmp_path / "legacy.csv"
    data.write_text(csv_text(rows), encoding="utf-8")
    calls = []

    def stop_after_two_batches(report: ImportReport) -> None:
        calls.append(report.rows)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_complaints(data, parse_mapping(MAPPING), progress=stop_after_two_batches)
    assert Case.objects.count() == 20
    out, code = run(data, mapping_file)
    assert "35 rows: created 15, already imported 20, not taken 0." in out and code == 0
    assert Case.objects.count() == 35 and Customer.objects.count() == 35
