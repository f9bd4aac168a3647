"""The batch intake of an import (``cases.services.intake_batch``) gives the same cases as
``case_intake`` one after the other: customers matched, duplicates linked, groups formed,
clocks, transitions and notes, on a file where complaints depend on each other within a
batch and on cases from before."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError
from django.utils import timezone

from cases.models import Case, CaseDeadline, CaseNote, CaseTransition, ComplaintGroup, Customer
from cases.services import intake_batch
from channels.importing import import_complaints, parse_mapping
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
MAPPING = {
    "timezone": "Asia/Shanghai",
    "fields": {
        "external_id": {"column": "id"},
        "received_at": {"column": "at", "formats": ["%Y-%m-%d %H:%M"]},
        "category": {"column": "type"},
        "subject": {"column": "title"},
        "description": {"template": "{title} [({store})]"},
        "order_ref": {"column": "order"},
        "location": {"column": "store"},
        "customer.name": {"column": "name"},
        "customer.phone": {"column": "phone"},
        "customer.email": {"column": "email"},
    },
    "notes": [{"template": "Legacy note {id}"}],
}
OUTCOMES = {
    "stage": {"column": "status", "map": {"open": "in_progress", "closed": "closed"}},
    "closed_at": {"column": "closed", "formats": ["%Y-%m-%d %H:%M"]},
}
HEADER = ["id", "at", "type", "title", "order", "store", "name", "phone", "email", "status",
          "closed"]
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _env(intake_env):
    return intake_env


def legacy_rows() -> list[list[str]]:
    start = timezone.localtime(timezone=ZONE) - timedelta(days=2)
    rows = []
    for i in range(90):
        at = (start + timedelta(minutes=17 * i)).strftime("%Y-%m-%d %H:%M")
        phone = f"1380000{i % 23:04d}" if i % 5 else ""
        email = f"c{i % 11}@example.com" if not phone else ""
        store = f"Store {i % 6}" if i % 3 else ""
        order = f"so-{i % 4}" if i % 7 == 0 else ""
        closed = (start + timedelta(minutes=17 * i + 60)).strftime("%Y-%m-%d %H:%M")
        rows.append([f"B-{i}", at, "delivery" if i % 2 else "billing", f"Parcel {i % 9}",
                     order, store, f"Customer {i % 23}", phone, email,
                     "closed" if i % 4 == 0 else "open", closed if i % 4 == 0 else ""])
    for k in (1, 2, 8, 30, 61):  # the same complaint again a little later: duplicates
        again = start + timedelta(minutes=17 * k + 5)
        rows.insert(k + 3, [f"B-again-{k}", again.strftime("%Y-%m-%d %H:%M"), *rows[k][2:]])
    return rows


def snapshot() -> dict:
    ext = dict(Case.objects.values_list("pk", "external_id"))
    groups = {frozenset(ext[pk] for pk in Case.objects.filter(group=g).values_list("pk",
                                                                                  flat=True))
              for g in ComplaintGroup.objects.all()}
    cases = {}
    for c in Case.objects.select_related("customer"):
        cases[c.external_id] = (
            c.customer.phone, c.customer.email, ext.get(c.duplicate_of_id), c.scope,
            c.suggested_tier, c.stage, c.received_at, c.sla_state, c.closed_at, c.resolved_at,
            c.reference.split("-")[1] if c.reference else None,
            # clocks start when the row is read: compare their lengths
            sorted((clock, due - started, state) for clock, due, started, state in
                   c.deadlines.values_list("clock", "due_at", "started_at", "state")),
            list(c.transitions.values_list("name", "target", "imported")),
            list(c.notes.values_list("body", flat=True)),
        )
    counts = (Customer.objects.count(), CaseDeadline.objects.count(),
              CaseTransition.objects.count(), CaseNote.objects.count())
    return {"cases": cases, "groups": groups, "counts": counts}


def import_file(tmp_path: Path, rows: list[list[str]], *, outcomes: bool = False) -> None:
    data = tmp_path / "legacy.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    raw = json.loads(json.dumps(MAPPING))
    if outcomes:
        raw["fields"].update(OUTCOMES)
    report = import_complaints(data, parse_mapping(raw))
    assert report.failed == 0 and report.created == len(rows), report.errors[:3]


def wipe() -> None:
    Case.objects.update(duplicate_of=None, group=None)
    Case.objects.all().delete()
    ComplaintGroup.objects.all().delete()
    Customer.objects.all().delete()


@pytest.mark.parametrize("outcomes", [False, True], ids=["new cases", "imported history"])
def test_the_batch_gives_the_same_cases_as_one_by_one(tmp_path, monkeypatch, outcomes):
    rows = legacy_rows()
    split = intake_batch._split
    seen = {}

    def counting_split(items, config, indexes):
        bulk, single, later = split(items, config, indexes)
        seen["rounds"] = seen.get("rounds", 0) + 1
        seen["bulk"] = seen.get("bulk", 0) + len(bulk)
        seen["single"] = seen.get("single", 0) + len(single)
        return bulk, single, later

    monkeypatch.setattr(intake_batch, "_split", counting_split)
    import_file(tmp_path, rows, outcomes=outcomes)
    # both paths did real work, and complaints sharing a customer or matter with a bulk one
    # made a second round
    assert seen["bulk"] > 10 and seen["single"] > 10 and seen["rounds"] > 2
    batched = snapshot()
    assert batched["groups"] and any(v[2] for v in batched["cases"].values())
    wipe()
    monkeypatch.setattr(intake_batch, "_split",
                        lambda items, config, indexes: ([], indexes, []))
    import_file(tmp_path, rows, outcomes=outcomes)
    single = snapshot()
    differ = {k: (v, single["cases"].get(k)) for k, v in batched["cases"].items()
              if single["cases"].get(k) != v}
    assert not differ
    assert single == batched


def test_cases_from_before_are_linked_from_the_batch(tmp_path):
    rows = legacy_rows()[:12]
    earlier = CaseFactory(phone=rows[1][7], category=rows[1][2], subject=rows[1][3])
    import_file(tmp_path, rows)
    assert Case.objects.get(external_id=rows[1][0]).customer_id == earlier.customer_id
    assert Customer.objects.filter(phone=rows[1][7]).count() == 1


def test_a_failing_bulk_write_falls_back_to_one_by_one(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("simulated")

    monkeypatch.setattr(intake_batch, "_write", broken)
    import_file(tmp_path, legacy_rows()[:20])
    assert Case.objects.count() == 20


def test_each_bulk_round_is_one_audit_entry_naming_what_it_created(tmp_path):
    from cases.models import AuditEntry
    from cases.services.audit import AuditAction

    import_file(tmp_path, legacy_rows())
    rounds = AuditEntry.objects.filter(action=AuditAction.BULK_CHANGE,
                                       detail__intake="batch")
    in_bulk = {pk for entry in rounds for pk in entry.detail["created_cases"]}
    assert rounds.exists() and in_bulk <= set(Case.objects.values_list("pk", flat=True))
    # the rest went one by one through case_intake, each recorded as a create
    singles = set(AuditEntry.objects.filter(action=AuditAction.CREATE, target_type="cases.Case")
                  .values_list("target_id", flat=True))
    assert {str(pk) for pk in Case.objects.values_list("pk", flat=True)} == (
        {str(pk) for pk in in_bulk} | singles)
