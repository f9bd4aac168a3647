"""Bulk import of complaints from a legacy system's CSV export, driven by a JSON mapping
(the mapping language: channels/README.md, ``channels.import_mapping`` and
``channels.import_rules``; reading the file: ``channels.import_files``).

Each row goes through the one intake path: a bad row is reported (line, external id,
field, reason) and the next row goes on. Rows are keyed by the legacy system's id
(``external_id`` on the import channel), so running the same import again skips what is
already there and creates no duplicates; an interrupted import resumes by running it again.
``dry_run`` checks every row without writing and counts exactly what the real run does
(an id seen earlier in the file or imported before is "already imported").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, User
from cases.services import CustomerData, IntakeData, InvalidInput
from cases.services.imported_history import imported_breaches_alert
from cases.services.intake import validate_intake
from cases.services.intake_batch import case_intake_batch
from channels.import_files import CsvFile, RawRow
from channels.import_mapping import (
    REQUIRED_TARGETS,
    TARGETS,
    Mapping,
    MappingError,
    check_code,
    load_mapping,
    parse_mapping,
)
from channels.import_outcomes import (
    OUTCOME_DATETIMES,
    OUTCOME_TARGETS,
    check_mapped,
    has_history,
    row_channel,
    row_history,
    would_be_past_due,
)
from channels.import_rules import Fallbacks, RowContext, RowProblem, apply_rule, evaluate
from channels.import_times import ValueProblem, parse_time
from channels.models import Channel

DATETIME_TARGETS = {"received_at", "occurred_at", "regulator_due_at", *OUTCOME_DATETIMES}
# Checked by channels.import_outcomes with its own messages (it also reads "In progress").
_OUTCOME_CODES = {"stage", "tier", "channel"}
_BATCH = 500
__all__ = ["REQUIRED_TARGETS", "TARGETS", "ImportReport", "Mapping", "MappingError", "RowError",
           "import_complaints", "load_mapping", "parse_mapping", "row_to_intake"]


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
    fallbacks: Fallbacks = field(default_factory=Fallbacks)
    # The stages the rows were (or in a dry run would be) created in.
    stages: Counter[str] = field(default_factory=Counter)
    # Open cases created already past a deadline (marked so; one summary alert per run).
    past_due: int = 0
    # for the progress display: bytes of the file read so far and in all
    position: int = 0
    size: int = 0


def _datetime(value: Any, rule: dict[str, Any], name: str, mapping: Mapping) -> datetime | None:
    return parse_time(value, formats=rule.get("formats"), field_name=name,
                      zone=rule.get("zone") or mapping.timezone, end_of_day=name == "due_at")


def _bare(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k not in ("map", "prefix", "regex")}


def _field(name: str, ctx: RowContext, mapping: Mapping, fallbacks: Fallbacks) -> Any:
    rules = mapping.fields[name]
    result = evaluate(rules, ctx, mapping.defaults.get(name))
    value = result.value
    if value in ("", None) and name in OUTCOME_TARGETS:
        # an outcome its map did not know is a row error, never a silent default
        check_mapped(name, rules, lambda bare: apply_rule(_bare(bare), ctx)[0])
    if value not in ("", None) and name not in _OUTCOME_CODES:
        problem = check_code(name, value)
        if problem:
            raise RowProblem(name, problem)
    if result.fell_back_from is not None:
        fallbacks.add(name, value, result.fell_back_from)
    if name in DATETIME_TARGETS:
        value = _datetime(value, result.rule, name, mapping)
    return value


def external_id_of(row: dict[str, str], mapping: Mapping) -> str:
    """The row's legacy id as the mapping makes it ("" when it cannot: a short row)."""
    try:
        value = evaluate(mapping.fields["external_id"], RowContext(row, mapping.empty_values))
    except (RowProblem, ValueError):
        return ""
    return str(value.value)


def row_to_intake(row: dict[str, str], mapping: Mapping, channel: Channel,
                  fallbacks: Fallbacks | None = None) -> IntakeData:
    """Turn one CSV row into intake data (RowProblem when a value cannot be read). The
    values that fell back to a constant are counted in ``fallbacks``."""
    ctx = RowContext(row, mapping.empty_values)
    tally = fallbacks if fallbacks is not None else Fallbacks()
    values: dict[str, Any] = {name: _field(name, ctx, mapping, tally) for name in mapping.fields}
    if not values.get("external_id"):
        raise RowProblem("external_id",
                         _("empty: every row needs the legacy id to be repeatable"))
    notes = []
    for rules in mapping.notes:
        text = evaluate(rules, ctx).value
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
        regime=str(values.get("regime") or ""),
        regulator_reference=str(values.get("regulator_reference") or ""),
        regulator_due_at=values.get("regulator_due_at"),
    )


def import_complaints(
    path: str | Path, mapping: Mapping, *, dry_run: bool = False, actor: User | None = None,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import every row of ``path``; see the module docstring. Raises MappingError (and
    writes nothing) only when the mapping or the file is unusable."""
    try:
        channel = Channel.objects.get(code=mapping.channel_code)
    except Channel.DoesNotExist as exc:
        raise MappingError(_("no channel with code %(code)r")
                           % {"code": mapping.channel_code}) from exc
    source = CsvFile(Path(path), mapping)
    report = ImportReport(dry_run=dry_run, size=source.size)
    run = _Run(mapping=mapping, channel=channel, report=report, dry_run=dry_run, actor=actor)
    batch: list[RawRow] = []
    for item in source.rows():
        batch.append(item)
        if len(batch) >= _BATCH:
            run.batch(batch)
            batch = []
            report.position = source.position()
            if progress:
                progress(report)
    if batch:
        run.batch(batch)
    report.position = report.size
    if progress:
        progress(report)
    if not dry_run:
        imported_breaches_alert(past_due=report.past_due)
    return report


@dataclass
class _Run:
    """One import's state across its batches: the ids taken so far in this file."""

    mapping: Mapping
    channel: Channel
    report: ImportReport
    dry_run: bool
    actor: User | None
    seen: set[str] = field(default_factory=set)

    def fail(self, line: int, external_id: str, errors: list[tuple[str, str]]) -> None:
        for name, message in errors:
            self.report.errors.append(RowError(line, external_id, name or "row", str(message)))
        self.report.failed += 1

    def prepare(self, item: RawRow) -> tuple[IntakeData, Fallbacks] | None:
        if item.problem:
            self.fail(item.line, external_id_of(item.row, self.mapping), [("row", item.problem)])
            return None
        tally = Fallbacks()
        try:
            data = row_to_intake(item.row, self.mapping, self.channel, tally)
            validate_intake(data)
        except (RowProblem, ValueProblem) as exc:
            self.fail(item.line, external_id_of(item.row, self.mapping),
                      [(exc.field, exc.message)])
            return None
        except InvalidInput as exc:
            self.fail(item.line, data.external_id,
                      getattr(exc, "errors", [(exc.field, exc.message)]))
            return None
        return data, tally

    def batch(self, batch: list[RawRow]) -> None:
        report = self.report
        prepared: list[tuple[int, IntakeData, Fallbacks]] = []
        for item in batch:
            report.rows += 1
            ready = self.prepare(item)
            if ready is not None:
                prepared.append((item.line, *ready))
        existing = set(
            Case.objects.filter(source=self.channel,
                                external_id__in=[d.external_id for _l, d, _t in prepared])
            .values_list("external_id", flat=True)
        )
        todo = []
        for line, data, tally in prepared:
            if data.external_id in existing or data.external_id in self.seen:
                report.existing += 1
                continue
            self.seen.add(data.external_id)
            if self.dry_run:
                report.created += 1
                report.fallbacks.merge(tally)
                report.stages[data.history.stage if data.history else "received"] += 1
                if data.history is not None and would_be_past_due(data):
                    report.past_due += 1
                continue
            todo.append((line, data, tally))
        if todo:
            self.write(todo)

    def write(self, todo: list[tuple[int, IntakeData, Fallbacks]]) -> None:
        # One transaction per batch: a commit per row would cost more than the row itself.
        # A failing row writes nothing of its own; an interruption rolls back the batch,
        # and a rerun resumes there.
        report = self.report
        with transaction.atomic():
            results = case_intake_batch(actor=self.actor, items=[d for _l, d, _t in todo])
        for (line, data, tally), result in zip(todo, results, strict=True):
            if isinstance(result, InvalidInput):
                self.fail(line, data.external_id,
                          getattr(result, "errors", [(result.field, result.message)]))
            elif isinstance(result, DatabaseError):
                self.fail(line, data.external_id, [("row", _(
                    "the database refused the row: %(error)s")
                    % {"error": str(result).splitlines()[0][:200]})])
            elif result.created:
                report.created += 1
                report.references.append(result.case.reference)
                report.fallbacks.merge(tally)
                report.stages[result.case.stage] += 1
                if data.history is not None and result.case.sla_state == "breached":
                    report.past_due += 1
            else:
                report.existing += 1
