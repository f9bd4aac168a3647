"""CSV and Excel exports, streamed so that a million rows never sit in memory.

* CSV: a ``StreamingHttpResponse`` over a generator; case rows come from
  ``values_list(...).iterator(chunk_size=...)`` (a server-side cursor on PostgreSQL).
  UTF-8 with a byte-order mark so Excel opens Chinese text correctly.
* Excel: openpyxl's write-only workbook (rows are written to temporary XML parts on disk,
  not kept) saved into an anonymous temporary file, then sent with ``FileResponse`` in
  chunks; the file disappears when the response is closed.
* Cells that a spreadsheet would run as a formula (starting with = + - @ or a control
  character) are prefixed with an apostrophe (CSV/formula injection).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from cases.choices import Category, ChannelKind, SlaState, Stage, Tier
from reporting import kpis as K
from reporting.periods import report_tz

CHUNK_SIZE = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _local(value: datetime) -> datetime:
    return timezone.localtime(value, report_tz()).replace(tzinfo=None)


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M") if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return safe_text(value)
    return value


def xlsx_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return _local(value) if value.tzinfo else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return safe_text(value)
    return value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(sheets: Sequence[Sheet]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for index, (title, header, rows) in enumerate(sheets):
        if len(sheets) > 1:
            if index:
                yield "\r\n"
            yield writer.writerow([safe_text(title)])
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(v) for v in row])


def csv_response(filename: str, sheets: Sequence[Sheet]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(sheets), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> FileResponse:
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=_sheet_title(title))
        bold = []
        for text in header:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            bold.append(cell)
        sheet.append(bold)
        for row in rows:
            sheet.append([xlsx_cell(v) for v in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    response = FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx",
                            content_type=XLSX_TYPE)
    response["Cache-Control"] = "no-store"
    return response


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title)
    return cleaned[:31] or "Sheet"


def respond(fmt: str, filename: str, sheets: Sequence[Sheet]) -> Any:
    return xlsx_response(filename, sheets) if fmt == "xlsx" else csv_response(filename, sheets)


# --- cases -------------------------------------------------------------------------------------
CASE_COLUMNS: list[tuple[str, Any]] = [
    ("reference", lambda: _("Reference")),
    ("received_at", lambda: _("Received")),
    ("channel", lambda: _("Channel")),
    ("category", lambda: _("Category")),
    ("subject", lambda: _("Subject")),
    ("customer__name", lambda: _("Customer")),
    ("customer__phone", lambda: _("Phone")),
    ("customer__email", lambda: _("Email")),
    ("customer__is_key_customer", lambda: _("Key customer")),
    ("tier", lambda: _("Tier")),
    ("stage", lambda: _("Stage")),
    ("owner__username", lambda: _("Owner")),
    ("handler__username", lambda: _("Handler")),
    ("department__name", lambda: _("Department")),
    ("response_due_at", lambda: _("First response due")),
    ("first_responded_at", lambda: _("First response")),
    ("solution_due_at", lambda: _("Solution due")),
    ("resolved_at", lambda: _("Resolved")),
    ("feedback_given_at", lambda: _("Feedback given")),
    ("revisit_done_at", lambda: _("Revisit done")),
    ("satisfaction_score", lambda: _("Satisfaction")),
    ("root_cause__name", lambda: _("Root cause")),
    ("sla_state", lambda: _("Deadline state")),
    ("ever_breached", lambda: _("Ever breached")),
    ("retiered", lambda: _("Re-tiered")),
    ("reopen_count", lambda: _("Times reopened")),
    ("closed_at", lambda: _("Closed")),
]


def case_sheet(queryset: QuerySet) -> Sheet:
    """Case rows for export: one query, read in chunks; choice codes become labels (the
    label maps are built now, in the request's language, not while streaming)."""
    fields = [f for f, _label in CASE_COLUMNS]
    header = [label() for _f, label in CASE_COLUMNS]
    labels = {
        "channel": {k: str(v) for k, v in ChannelKind.choices},
        "category": {k: str(v) for k, v in Category.choices},
        "tier": {k: str(v) for k, v in Tier.choices},
        "stage": {k: str(v) for k, v in Stage.choices},
        "sla_state": {k: str(v) for k, v in SlaState.choices},
    }
    positions = [(fields.index(name), mapping) for name, mapping in labels.items()]
    rows_qs = queryset.order_by("-received_at", "-pk").values_list(*fields)

    def rows() -> Iterator[list[Any]]:
        for values in rows_qs.iterator(chunk_size=CHUNK_SIZE):
            row = list(values)
            for index, mapping in positions:
                row[index] = mapping.get(row[index], row[index])
            yield row

    return (_("Cases"), header, rows())


def stream_cases_csv(queryset: QuerySet, filename: str = "cases") -> StreamingHttpResponse:
    """The cases of ``queryset`` (already scoped to the user and filtered) as streamed CSV."""
    return csv_response(filename, [case_sheet(queryset)])


def stream_cases_xlsx(queryset: QuerySet, filename: str = "cases") -> FileResponse:
    """The cases of ``queryset`` as an .xlsx built in write-only mode."""
    return xlsx_response(filename, [case_sheet(queryset)])


# --- KPI tables --------------------------------------------------------------------------------
def _kpi_header(first: str) -> list[str]:
    return [first, _("Cases received")] + [str(k.label) for k in K.KPIS]


def kpi_sheets(board: Any) -> list[Sheet]:
    """The dashboard's tables: totals (period, previous, target), each breakdown, the weekly
    trend and the root causes."""
    period_label = f"{board.period.first.isoformat()} – {board.period.last.isoformat()}"
    prev_label = (f"{board.period.previous_first.isoformat()} – "
                  f"{board.period.previous_last.isoformat()}")
    totals = [
        [period_label, board.volume] + [line.value for line in board.lines],
        [_("Previous period") + f" ({prev_label})", board.previous_volume]
        + [line.previous for line in board.lines],
        [pgettext("period over period", "Change"), board.volume - board.previous_volume]
        + [line.change for line in board.lines],
        [_("Target"), None] + [
            f"{'≥' if line.kpi.direction == 'at_least' else '≤'} {line.target}"
            if line.target is not None else _("falling") for line in board.lines
        ],
    ]
    sheets: list[Sheet] = [(_("KPIs"), _kpi_header(_("Period")), totals)]
    names = {"tier": _("By tier"), "channel": _("By channel"), "category": _("By category"),
             "department": _("By department")}
    for dim, rows in board.breakdowns.items():
        sheets.append((names[dim], _kpi_header(names[dim]),
                       [[r.label, r.volume] + list(r.values) for r in rows]))
    sheets.append((_("Weekly trend"), _kpi_header(_("Week starting")),
                   [[w["week"], w["volume"]] + [w["values"][k.code] for k in K.KPIS]
                    for w in board.weeks]))
    sheets.append((_("Root causes"), [_("Root cause"), _("Cases resolved"), _("Share (%)"),
                                      _("Previous period")],
                   [[r["label"], r["count"], r["share"], r["previous"]]
                    for r in board.root_causes]))
    return sheets


# --- weekly review -----------------------------------------------------------------------------
def review_sheets(review: Any, kpi_label: Any, clock_label: Any, actions: Iterable[Any]
                  ) -> list[Sheet]:
    data = review.data
    kpis = [[kpi_label(k["code"]), k["value"], k["target"], k["previous"], k["numerator"],
             k["denominator"], k["status"]] for k in data.get("kpis", [])]
    case_header = [_("Reference"), _("Subject"), _("Tier"), _("Stage"), _("Owner"),
                   _("Department"), _("Deadlines")]
    tiers = {k: str(v) for k, v in Tier.choices}
    stages = {k: str(v) for k, v in Stage.choices}

    def case_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[r["reference"], r["subject"], tiers.get(r["tier"], r["tier"]),
                 stages.get(r["stage"], r["stage"]), r["owner"], r["department"],
                 ", ".join(clock_label(c) for c in r["clocks"])] for r in rows]

    categories = {k: str(v) for k, v in Category.choices}
    statuses = dict(actions.model.status.field.choices) if hasattr(actions, "model") else {}
    return [
        (_("KPIs"), [_("KPI"), _("Actual"), _("Target"), _("Previous week"), _("Numerator"),
                     _("Denominator"), _("Status")], kpis),
        (_("Overdue cases"), case_header, case_rows(data.get("overdue", {}).get("cases", []))),
        (_("Breached cases"), case_header,
         case_rows(data.get("breached", {}).get("cases", []))),
        (_("Top categories"), [_("Category"), _("Cases received"), _("Share (%)")],
         [[categories.get(r["key"], r["key"]), r["count"], r["share"]]
          for r in data.get("top_categories", [])]),
        (_("Root causes"), [_("Root cause"), _("Cases resolved"), _("Share (%)"),
                            _("Previous week")],
         [[r["label"], r["count"], r["share"], r["previous"]]
          for r in data.get("root_causes", [])]),
        (_("Improvement actions"), [_("Action"), pgettext("improvement action", "Owner"),
                                    _("Due date"), _("Status"),
                                    _("Follow-up note"), _("Linked cases")],
         [[a.action, str(a.owner), a.due_date, str(statuses.get(a.status, a.status)),
           a.progress_note, ", ".join(c.reference or str(c.pk) for c in a.cases.all())]
          for a in actions]),
    ]
