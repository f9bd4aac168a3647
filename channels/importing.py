"""Bulk import of complaints from a legacy system's CSV export, driven by a JSON mapping.

Each row goes through the one intake path in its own transaction: a bad row is reported
(line, external id, field, reason) and the next row goes on. Rows are keyed by the legacy
system's id (``external_id`` on the import channel), so running the same import again skips
what is already there and creates no duplicates. ``dry_run`` checks every row without writing.

Mapping file (JSON)::

    {
      "channel": "import",                  # channel code (default "import")
      "encoding": "utf-8-sig", "delimiter": ",",
      "empty_values": ["", "N/A"],          # cell values that count as empty
      "fields": {
        "external_id": {"column": "Complaint ID"},
        "received_at": {"column": "Date received", "formats": ["%Y-%m-%d"]},
        "category": [{"column": "Issue", "map": {"Fees or interest": "billing"}},
                     {"column": "Product", "map": {...}},
                     {"value": "other"}],   # a list: the first rule giving a value wins
        "subject": {"template": "{Product}: {Issue}"},
        "description": {"lines": ["{Consumer complaint narrative}", "Company: {Company}"]},
        "customer.name": {"template": "CFPB consumer {Complaint ID}"}
      },
      "notes": [{"lines": ["Legacy status: {Company response to consumer}"]}]
    }

A rule is one of ``column`` (a cell), ``template`` ("{Column}" placeholders), ``lines`` (a
template per line; a line whose placeholders are all empty is left out) or ``value`` (a
constant); ``map`` translates the result (exact, then case-insensitive; unmapped values fall
through to the next rule unless ``map_default`` is given); ``max_length`` truncates text.
Targets: external_id, received_at, occurred_at, category, subject, description, order_ref,
location, desired_outcome, urgency, scope, difficulty, customer.name, customer.phone,
customer.email, customer.preferred_channel, customer.is_key_customer, and the outcome targets
(``channels.import_outcomes``): stage, tier, first_responded_at, resolved_at, closed_at,
due_at, resolution, satisfaction, compensation_amount, channel, department, company. With
outcome targets the rows arrive as history (their stage, dated transitions, real clocks, no
notices; one summary alert to the supervisors for open cases already past a deadline).

Times: ``"timezone": "America/New_York"`` at the top level or in a time field's rule (IANA
name) says where naive times were written; see ``channels.import_times`` for the rule (a naive
time of day with no zone named is a row error; a plain date is a day of the reports' zone).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DatabaseError, transaction
from django.utils import timezone

from cases.models import Case, User
from cases.services import CustomerData, IntakeData, InvalidInput
from cases.services.imported_history import imported_breaches_alert
from cases.services.intake import clean_text, validate_intake
from channels.import_outcomes import (
    OUTCOME_DATETIMES,
    OUTCOME_TARGETS,
    DepartmentTable,
    check_mapped,
    has_history,
    row_channel,
    row_history,
    would_be_past_due,
)
from channels.import_times import ValueProblem, parse_time, zone_named
from channels.models import Channel
from channels.services import complaint_submit

TARGETS = {
    "external_id", "received_at", "occurred_at", "category", "subject", "description",
    "order_ref", "location", "desired_outcome", "urgency", "scope", "difficulty",
    "customer.name", "customer.phone", "customer.email", "customer.preferred_channel",
    "customer.is_key_customer", *OUTCOME_TARGETS,
}
DATETIME_TARGETS = {"received_at", "occurred_at", *OUTCOME_DATETIMES}
REQUIRED_TARGETS = {"external_id", "category", "subject", "description", "customer.name"}
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_BATCH = 500
csv.field_size_limit(4 * 1024 * 1024)


class MappingError(ValueError):
    """The mapping file (or the CSV header against it) is unusable: nothing is imported."""


@dataclass(frozen=True)
class RowError:
    line: int
    external_id: str
    field: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    created: int = 0
    existing: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    # The stages the rows were (or in a dry run would be) created in.
    stages: Counter[str] = field(default_factory=Counter)
    # Open cases created already past a deadline (marked so; one summary alert per run).
    past_due: int = 0


@dataclass
class Mapping:
    fields: dict[str, list[dict[str, Any]]]
    notes: list[list[dict[str, Any]]]
    channel_code: str = "import"
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    empty_values: frozenset[str] = frozenset({""})
    timezone: ZoneInfo | None = None
    departments: DepartmentTable = field(default_factory=DepartmentTable, repr=False,
                                         compare=False)

    def columns(self) -> set[str]:
        used: set[str] = set()
        for rules in [*self.fields.values(), *self.notes]:
            for rule in rules:
                if "column" in rule:
                    used.add(rule["column"])
                for text in [rule.get("template", ""), *rule.get("lines", [])]:
                    used.update(_PLACEHOLDER.findall(text))
        return used


def _rules(spec: Any, where: str) -> list[dict[str, Any]]:
    rules = spec if isinstance(spec, list) else [spec]
    for rule in rules:
        if not isinstance(rule, dict):
            raise MappingError(f"{where}: a rule must be an object")
        kinds = [k for k in ("column", "template", "lines", "value") if k in rule]
        if len(kinds) != 1:
            raise MappingError(f"{where}: give exactly one of column, template, lines, value")
        if "lines" in rule and not (
            isinstance(rule["lines"], list) and all(isinstance(x, str) for x in rule["lines"])
        ):
            raise MappingError(f"{where}: lines must be a list of strings")
        if "map" in rule and not isinstance(rule["map"], dict):
            raise MappingError(f"{where}: map must be an object")
        if "formats" in rule and not isinstance(rule["formats"], list):
            raise MappingError(f"{where}: formats must be a list")
    try:  # a copy with the zone read once (the caller's mapping is left as it was)
        return [{**rule, "zone": zone_named(rule["timezone"], f"{where}.timezone")}
                if "timezone" in rule else rule for rule in rules]
    except ValueError as exc:
        raise MappingError(str(exc)) from exc


def load_mapping(path: str | Path) -> Mapping:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read mapping {path}: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping {path} is not valid JSON: {exc}") from exc
    return parse_mapping(raw)


def parse_mapping(raw: Any) -> Mapping:
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
        raise MappingError('the mapping needs a "fields" object')
    unknown = set(raw["fields"]) - TARGETS
    if unknown:
        raise MappingError(f"unknown target field(s): {', '.join(sorted(unknown))}")
    missing = REQUIRED_TARGETS - set(raw["fields"])
    if missing:
        raise MappingError(f"the mapping must fill: {', '.join(sorted(missing))}")
    fields = {name: _rules(spec, f"fields.{name}") for name, spec in raw["fields"].items()}
    notes = [_rules(spec, f"notes[{i}]") for i, spec in enumerate(raw.get("notes", []))]
    try:
        "".encode(raw.get("encoding", "utf-8-sig"))
    except LookupError as exc:
        raise MappingError(f"unknown encoding {raw.get('encoding')!r}") from exc
    try:
        zone = zone_named(raw["timezone"], "timezone") if "timezone" in raw else None
    except ValueError as exc:
        raise MappingError(str(exc)) from exc
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError("delimiter must be one character")
    return Mapping(
        fields=fields, notes=notes, channel_code=str(raw.get("channel", "import")),
        encoding=raw.get("encoding", "utf-8-sig"), delimiter=delimiter,
        empty_values=frozenset(str(v) for v in raw.get("empty_values", [""])), timezone=zone,
    )


# --- evaluating rules -------------------------------------------------------------------------
class RowProblem(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _cell(row: dict[str, str], column: str, mapping: Mapping) -> str:
    value = clean_text(row.get(column) or "").strip()
    return "" if value in mapping.empty_values else value


def _fill(template: str, row: dict[str, str], mapping: Mapping) -> tuple[str, bool]:
    any_value = False

    def sub(match: re.Match[str]) -> str:
        nonlocal any_value
        value = _cell(row, match.group(1), mapping)
        any_value = any_value or bool(value)
        return value

    return _PLACEHOLDER.sub(sub, template), any_value


def _apply_rule(rule: dict[str, Any], row: dict[str, str], mapping: Mapping) -> Any:
    if "value" in rule:
        value: Any = rule["value"]
    elif "column" in rule:
        value = _cell(row, rule["column"], mapping)
    elif "template" in rule:
        text, any_value = _fill(rule["template"], row, mapping)
        value = text.strip() if any_value else ""
    else:
        lines = []
        for template in rule["lines"]:
            text, any_value = _fill(template, row, mapping)
            if any_value or not _PLACEHOLDER.search(template):
                lines.append(text.rstrip())
        value = "\n".join(lines).strip()
    if "map" in rule and value not in ("", None):
        table: dict[str, Any] = rule["map"]
        if value in table:
            value = table[value]
        else:
            folded = {str(k).casefold(): v for k, v in table.items()}
            value = folded.get(str(value).casefold(), rule.get("map_default", ""))
    if isinstance(value, str) and rule.get("max_length"):
        limit = int(rule["max_length"])
        if len(value) > limit:
            value = value[: max(1, limit - 1)].rstrip() + "…"
    return value


def _evaluate(rules: list[dict[str, Any]], row: dict[str, str], mapping: Mapping) -> Any:
    for rule in rules:
        value = _apply_rule(rule, row, mapping)
        if value not in ("", None):
            return value, rule
    return "", rules[-1]


def _datetime(value: Any, rule: dict[str, Any], name: str, mapping: Mapping) -> datetime | None:
    return parse_time(value, formats=rule.get("formats"), field_name=name,
                      zone=rule.get("zone") or mapping.timezone, end_of_day=name == "due_at")


def row_to_intake(row: dict[str, str], mapping: Mapping, channel: Channel) -> IntakeData:
    """Turn one CSV row into intake data (RowProblem when a value cannot be read)."""
    values: dict[str, Any] = {}
    for name, rules in mapping.fields.items():
        value, rule = _evaluate(rules, row, mapping)
        if value in ("", None) and name in OUTCOME_TARGETS:
            check_mapped(name, rules, lambda bare: _apply_rule(bare, row, mapping))
        if name in DATETIME_TARGETS:
            value = _datetime(value, rule, name, mapping)
        values[name] = value
    if not values.get("external_id"):
        raise RowProblem("external_id", "empty: every row needs the legacy id to be repeatable")
    notes = []
    for rules in mapping.notes:
        text, _rule = _evaluate(rules, row, mapping)
        if text:
            notes.append(str(text))
    key = values.get("customer.is_key_customer", False)
    history = row_history(values, mapping.departments) if has_history(mapping.fields) else None
    return IntakeData(
        customer=CustomerData(
            name=str(values.get("customer.name", "")), phone=str(values.get("customer.phone", "")),
            email=str(values.get("customer.email", "")),
            preferred_channel=str(values.get("customer.preferred_channel")
                                  or ("email" if values.get("customer.email") else "sms")),
            is_key_customer=key is True or str(key).lower() in {"1", "true", "yes"},
        ),
        channel=row_channel(values.get("channel"), channel.kind), source_id=channel.pk,
        external_id=str(values["external_id"]),
        category=str(values.get("category", "")), subject=str(values.get("subject", "")),
        description=str(values.get("description", "")),
        received_at=values.get("received_at"), occurred_at=values.get("occurred_at"),
        order_ref=str(values.get("order_ref", "")), location=str(values.get("location", "")),
        desired_outcome=str(values.get("desired_outcome", "")),
        urgency=str(values.get("urgency") or "routine"),
        scope=str(values.get("scope") or "individual"),
        difficulty=str(values.get("difficulty") or "frontline"),
        extra_notes=notes, acknowledge=False, clocks_start_at=timezone.now(), history=history,
    )


# --- reading the file -------------------------------------------------------------------------
def _rows(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """(line number, row or None, problem). Undecodable bytes and malformed CSV are problems
    of their row only."""
    with path.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding=mapping.encoding, errors="surrogateescape",
                                newline="")
        reader = csv.DictReader(text, delimiter=mapping.delimiter)
        try:
            header = reader.fieldnames or []
        except csv.Error as exc:
            raise MappingError(f"cannot read the CSV header: {exc}") from exc
        missing = mapping.columns() - set(header)
        if missing:
            raise MappingError(
                f"the CSV has no column(s) {', '.join(sorted(missing))} (it has: "
                f"{', '.join(header)})"
            )
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, None, f"malformed CSV: {exc}"
                continue
            bad = [k for k, v in row.items() if isinstance(v, str) and re.search(
                "[\udc80-\udcff]", v)]
            if bad:
                yield line, None, f"bytes that are not {mapping.encoding} in: {', '.join(bad)}"
                continue
            if None in row:
                yield line, None, "more cells than the header has columns"
                continue
            yield line, row, ""


def import_complaints(
    path: str | Path, mapping: Mapping, *, dry_run: bool = False, actor: User | None = None,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import every row of ``path``; see the module docstring. Raises MappingError (and
    writes nothing) only when the mapping or the header is unusable."""
    path = Path(path)
    try:
        channel = Channel.objects.get(code=mapping.channel_code)
    except Channel.DoesNotExist as exc:
        raise MappingError(f"no channel with code {mapping.channel_code!r}") from exc
    report = ImportReport(dry_run=dry_run)
    batch: list[tuple[int, dict[str, str] | None, str]] = []
    for item in _rows(path, mapping):
        batch.append(item)
        if len(batch) >= _BATCH:
            _import_batch(batch, mapping, channel, report, dry_run, actor)
            batch = []
            if progress:
                progress(report)
    if batch:
        _import_batch(batch, mapping, channel, report, dry_run, actor)
        if progress:
            progress(report)
    if not dry_run:
        imported_breaches_alert(past_due=report.past_due)
    return report


def _import_batch(
    batch: list[tuple[int, dict[str, str] | None, str]], mapping: Mapping, channel: Channel,
    report: ImportReport, dry_run: bool, actor: User | None,
) -> None:
    prepared: list[tuple[int, IntakeData]] = []
    for line, row, problem in batch:
        report.rows += 1
        if row is None:
            _fail(report, line, "", "row", problem)
            continue
        try:
            data = row_to_intake(row, mapping, channel)
            validate_intake(data)
        except (RowProblem, ValueProblem) as exc:
            ext = _cell(row, (mapping.fields["external_id"][0].get("column") or ""), mapping)
            _fail(report, line, ext, exc.field, exc.message)
            continue
        except InvalidInput as exc:
            for name, message in getattr(exc, "errors", [(exc.field, exc.message)]):
                _fail(report, line, data.external_id, name or "row", str(message), count=False)
            report.failed += 1
            continue
        prepared.append((line, data))
    seen_in_batch: set[str] = set()
    existing = set(
        Case.objects.filter(source=channel, external_id__in=[d.external_id for _l, d in prepared])
        .values_list("external_id", flat=True)
    )
    todo = []
    for line, data in prepared:
        if data.external_id in existing or data.external_id in seen_in_batch:
            report.existing += 1
            continue
        seen_in_batch.add(data.external_id)
        if dry_run:
            report.created += 1
            report.stages[data.history.stage if data.history else "received"] += 1
            if data.history is not None and would_be_past_due(data):
                report.past_due += 1
            continue
        todo.append((line, data))
    if not todo:
        return
    # One transaction per batch (each row in its own savepoint inside case_intake): a commit
    # per row would cost more than the row itself. A failing row rolls back only its savepoint.
    with transaction.atomic():
        for line, data in todo:
            try:
                result = complaint_submit(actor=actor, data=data, bulk=True)
            except InvalidInput as exc:
                for name, message in getattr(exc, "errors", [(exc.field, exc.message)]):
                    _fail(report, line, data.external_id, name or "row", str(message),
                          count=False)
                report.failed += 1
                continue
            except DatabaseError as exc:
                _fail(report, line, data.external_id, "row",
                      f"the database refused the row: {str(exc).splitlines()[0][:200]}")
                continue
            if result.created:
                report.created += 1
                report.references.append(result.case.reference)
                report.stages[result.case.stage] += 1
                if data.history is not None and result.case.sla_state == "breached":
                    report.past_due += 1
            else:
                report.existing += 1


def _fail(report: ImportReport, line: int, external_id: str, field_name: str, message: str,
          *, count: bool = True) -> None:
    report.errors.append(RowError(line, external_id, field_name, message))
    if count:
        report.failed += 1
