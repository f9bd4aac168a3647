"""The outcome targets of an import mapping: what happened to a legacy complaint.

Targets (each a rule like any other field: ``column``, ``template``, ``value``, ``map``...):

``stage``
    received | in_progress | resolved | closed | invalid; ``map`` the source's statuses onto
    these (``{"Closed with explanation": "closed", "In progress": "in_progress"}``).
    Without a ``stage`` target the stage follows from the times mapped: closed_at -> closed,
    resolved_at -> resolved, first_responded_at -> in_progress, else received.
``tier`` 1, 2 or 3 (a received case takes it as its suggested tier: it is triaged on the desk).
``received_at`` (required with any outcome target), ``first_responded_at``, ``resolved_at``,
``closed_at``: when it happened; ``due_at``: the source's own solution deadline (else the
tier's policy from receipt). Read with the mapping's or the field's ``timezone``
(``channels.import_times``). A closed case without resolved_at was resolved when closed; a
resolved or closed one without first_responded_at has no first-response clock (unknown is not
late: it is left out of that KPI).
``resolution`` the solution text (the closing reason of an invalid case).
``satisfaction`` a 1-5 score (closed cases only; counts as the revisit at closing).
``compensation_amount`` paid by the legacy system (an approved compensation, "other").
``channel`` a channel kind per row (``cases.choices.ChannelKind``: hotline, walk_in, web,
app, wechat, weibo, call_centre, email, letter, import); the intake channel stays the import.
``department`` a department code, or a department's name or English name.
``company`` the company or product complained about (shown on the case).

With any of them but ``channel`` mapped, every row is imported as history: created in its
stage with dated, imported transitions and clocks at their real times, no acknowledgement,
notice or per-case alert (``cases.services.imported_history``). Without them, rows open as
new received cases whose clocks start on arrival.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import ChannelKind
from cases.models import Department
from cases.services import IntakeData
from cases.services.desk_config import desk_config
from cases.services.imported_history import (
    IMPORTED_STAGES,
    ImportedHistory,
    derived_stage,
    past_due_on_arrival,
)
from cases.services.lifecycle import suggest_tier
from channels.import_times import ValueProblem

OUTCOME_DATETIMES = {"first_responded_at", "resolved_at", "closed_at", "due_at"}
OUTCOME_TARGETS = OUTCOME_DATETIMES | {
    "stage", "tier", "resolution", "satisfaction", "compensation_amount", "channel",
    "department", "company",
}
HISTORY_TARGETS = OUTCOME_TARGETS - {"channel"}
_CHANNELS = frozenset(ChannelKind.values)
_MONEY_NOISE = re.compile(r"[\s,$¥€£]|RMB|CNY|USD", re.IGNORECASE)


def has_history(targets: set[str] | dict[str, Any]) -> bool:
    """Whether a mapping with these targets imports history (see the module docstring)."""
    return bool(HISTORY_TARGETS & set(targets))


class DepartmentTable:
    """Departments by code, name and English name (one query, on first use)."""

    def __init__(self) -> None:
        self._by_key: dict[str, int] | None = None
        self._codes: list[str] = []

    def lookup(self, value: str) -> int:
        if self._by_key is None:
            self._by_key = {}
            for pk, code, name, name_en in Department.objects.values_list(
                    "pk", "code", "name", "name_en"):
                self._codes.append(code)
                for key in (name_en, name, code):
                    if key:
                        self._by_key[key.casefold()] = pk
        found = self._by_key.get(value.strip().casefold())
        if found is None:
            raise ValueProblem("department", _(
                "No department has the code or name %(value)r (codes: %(codes)s).") % {
                "value": value, "codes": ", ".join(self._codes) or "-"})
        return found


def check_mapped(name: str, rules: list[dict[str, Any]], raw_of: Any) -> None:
    """An outcome the rules' maps did not know is a row error, never a silent default (a
    status the stage map misses must not make a closed complaint "received").
    ``raw_of(rule)``: the rule's value before its map. Called when no rule gave a value."""
    for rule in rules:
        if "map" not in rule or "map_default" in rule:
            continue
        raw = raw_of({k: v for k, v in rule.items() if k != "map"})
        if raw not in ("", None):
            raise ValueProblem(name, _(
                "%(value)r is not in the map of %(field)s (it knows: %(known)s): add it to the "
                "map, or give \"map_default\"."
            ) % {"value": str(raw), "field": name,
                 "known": ", ".join(str(k) for k in rule["map"])})


def row_channel(value: Any, default: str) -> str:
    """The row's channel kind (the import channel's kind when the row gives none)."""
    if value in ("", None):
        return default
    text = str(value).strip().lower()
    if text not in _CHANNELS:
        raise ValueProblem("channel", _("%(value)r is not a channel kind: map it onto one of "
                                        "%(valid)s.") % {"value": str(value),
                                                         "valid": ", ".join(sorted(_CHANNELS))})
    return text


def row_history(values: dict[str, Any], departments: DepartmentTable) -> ImportedHistory:
    """The outcome of one row from its evaluated targets (times already parsed)."""
    times = {name: values.get(name) or None for name in OUTCOME_DATETIMES}
    stage = str(values.get("stage") or "").strip()
    if stage:
        stage = stage.lower().replace(" ", "_").replace("-", "_")
        if stage not in IMPORTED_STAGES:
            raise ValueProblem("stage", _(
                "%(value)r is not a stage: map the source's status onto one of %(valid)s "
                "(\"map\" in the stage rule).") % {
                "value": str(values.get("stage")), "valid": ", ".join(IMPORTED_STAGES)})
    else:
        stage = derived_stage(first_responded_at=times["first_responded_at"],
                              resolved_at=times["resolved_at"], closed_at=times["closed_at"])
    department = str(values.get("department") or "").strip()
    return ImportedHistory(
        stage=stage, tier=_integer(values.get("tier"), "tier"), **times,
        resolution=str(values.get("resolution") or ""),
        satisfaction=_integer(values.get("satisfaction"), "satisfaction"),
        compensation_amount=_amount(values.get("compensation_amount")),
        department_id=departments.lookup(department) if department else None,
        company=str(values.get("company") or "")[:200],
    )


def _integer(value: Any, name: str) -> int | None:
    if value in ("", None):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueProblem(name, _("%(value)r is not a whole number.") % {"value": str(value)})
    return int(number)


def _amount(value: Any) -> Decimal | None:
    if value in ("", None):
        return None
    try:
        amount = Decimal(_MONEY_NOISE.sub("", str(value)))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or abs(amount) >= Decimal("1e8"):
        raise ValueProblem("compensation_amount", _(
            "%(value)r is not an amount of money (digits with an optional decimal point).") % {
            "value": str(value)})
    return amount.quantize(Decimal("0.01"))


def would_be_past_due(data: IntakeData) -> bool:
    """Whether a dry run's history row would arrive past a deadline, as the real run counts
    it (its clocks built in memory)."""
    assert data.history is not None
    suggested = suggest_tier(urgency=data.urgency, scope=data.scope, difficulty=data.difficulty)
    now = timezone.now()
    return past_due_on_arrival(
        data.history, received_at=data.received_at or now, suggested_tier=suggested,
        policy=desk_config().policy(data.history.tier or suggested), now=now)
