"""Reading the audit trail: a case's history, one page at a time, ready for a template
(no query while rendering)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from cases.models.audit import AuditEntry

PAGE_SIZE = 20

# Where personal data was seen (``detail["where"]`` of a view entry).
WHERE_LABELS = {
    "workspace": _("case workspace"),
    "board request": _("department request on the board"),
    "admin customer": _("customer page in the admin"),
    "admin customer list": _("customer list in the admin"),
}


@dataclass(frozen=True)
class ChangeLine:
    field: str
    old: Any
    new: Any


def _model_label(target_type: str) -> str:
    try:
        return str(apps.get_model(target_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return target_type


def _field_label(target_type: str, name: str) -> str:
    try:
        return str(apps.get_model(target_type)._meta.get_field(name).verbose_name)
    except (LookupError, ValueError, FieldDoesNotExist, AttributeError):
        return name


def change_lines(entry: AuditEntry) -> list[ChangeLine]:
    lines = []
    for name, pair in sorted((entry.changes or {}).items()):
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        lines.append(ChangeLine(_field_label(entry.target_type, name), old, new))
    return lines


@dataclass
class HistoryPage:
    """One page of a case's history, newest first. No total: counting every entry of a busy
    case on each page view costs a query the page does not need."""

    entries: list[AuditEntry]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def case_history_page(*, case_id: int, page: Any) -> HistoryPage:
    """Entries about case ``case_id`` (the case, its compensations and requests, views of
    its customer's data), newest first, ready for the template. One query. A bad or missing
    ``page`` is the first page."""
    try:
        number = max(1, min(int(page), 100_000))
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * PAGE_SIZE
    rows = list(AuditEntry.objects.filter(case_id=case_id).order_by("-seq")
                [start:start + PAGE_SIZE + 1])
    entries = rows[:PAGE_SIZE]
    for entry in entries:
        entry.lines = change_lines(entry)
        entry.type_label = _model_label(entry.target_type)
        where = (entry.detail or {}).get("where")
        entry.where_label = WHERE_LABELS.get(where, where) if where else ""
        entry.fields_label = ", ".join(_field_label("cases.Customer", name)
                                       for name in (entry.detail or {}).get("fields", []))
    return HistoryPage(entries=entries, number=number, has_next=len(rows) > PAGE_SIZE)
