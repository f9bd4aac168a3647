"""Change capture for the audit trail: services, the Django admin and the bulk writers
record who changed what, with old and new values; personal data stays masked in the trail."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from cases import services
from cases.choices import Role, Stage, Tier
from cases.models import AuditEntry, Case, DeskSettings, RootCause, SlaPolicy
from cases.services import clocks
from cases.services.audit import AuditAction, audit_actor
from cases.services.sweeps import deadline_sweep
from tests.factories import CaseFactory, UserFactory, advance

pytestmark = pytest.mark.django_db


def _entries(target: object, action: str | None = None) -> list[AuditEntry]:
    found = AuditEntry.objects.filter(target_type=target._meta.label, target_id=str(target.pk))
    if action:
        found = found.filter(action=action)
    return list(found.order_by("seq"))


def test_a_service_change_records_who_and_old_and_new_values(supervisor):
    case = advance(CaseFactory(tier=Tier.ROUTINE), Stage.TRIAGED)
    with audit_actor(supervisor):
        services.case_retier(actor=supervisor, case_id=case.pk, tier=Tier.IMPORTANT,
                             reason="regulator asked")
    entry = _entries(case, AuditAction.CHANGE)[-1]
    assert entry.actor_id == supervisor.pk and entry.actor_name == "boss"
    assert entry.case_id == case.pk
    assert entry.changes["tier"] == [Tier.ROUTINE, Tier.IMPORTANT]
    assert "updated_at" not in entry.changes and "version" not in entry.changes


def test_intake_records_the_created_case_and_customer_as_the_system():
    case = CaseFactory()
    created = _entries(case, AuditAction.CREATE)
    assert len(created) == 1 and created[0].actor_id is None
    assert created[0].changes["stage"] == [None, Stage.RECEIVED]
    assert _entries(case.customer, AuditAction.CREATE)


def test_an_admin_edit_of_a_policy_is_recorded_with_the_admin(client, admin_user):
    policy = SlaPolicy.objects.get(tier=Tier.ROUTINE)
    client.force_login(admin_user)
    url = reverse("admin:cases_slapolicy_change", args=[policy.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["response_minutes"] = policy.response_minutes + 60
    data.update({"clock_bases-TOTAL_FORMS": "0", "clock_bases-INITIAL_FORMS": "0"})  # inline
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = _entries(policy, AuditAction.CHANGE)[-1]
    assert entry.actor_name == "ops"
    assert entry.changes == {"response_minutes": [policy.response_minutes,
                                                  policy.response_minutes + 60]}


def test_desk_settings_change_and_a_root_cause_deletion_are_recorded():
    row = DeskSettings.get()
    row.compensation_approval_threshold = Decimal("800.00")
    row.save()
    assert _entries(row, AuditAction.CHANGE)[-1].changes[
        "compensation_approval_threshold"] == ["500.00", "800.00"]
    cause = RootCause.objects.create(code="temp", name="临时")
    cause_pk = cause.pk
    cause.delete()
    deleted = AuditEntry.objects.get(target_type="cases.RootCause", target_id=str(cause_pk),
                                     action=AuditAction.DELETE)
    assert deleted.changes["code"] == ["temp", None]


def test_a_role_change_is_recorded():
    user = UserFactory()
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    entry = _entries(user, AuditAction.CHANGE)[-1]
    assert entry.changes["groups"][1] == [f"+{Group.objects.get(name=Role.SUPERVISOR).pk}"]


def test_customer_personal_data_is_masked_in_the_trail(client, admin_user):
    case = CaseFactory(phone="13912345678", email="wang.fang@example.com",
                       subject="投诉 13912345678",
                       description="请回电 13912345678 或 wang.fang@example.com")
    customer = case.customer
    customer.phone = "13800001111"
    customer.save()
    change = _entries(customer, AuditAction.CHANGE)[-1]
    assert change.changes["phone"] == ["139****5678", "138****1111"]
    assert change.target_repr == f"{customer.name[0]}**"
    for raw in ("13912345678", "13800001111", "wang.fang@example.com", customer.name,
                case.tracking_code):
        assert not AuditEntry.objects.filter(
            Q(changes__icontains=raw) | Q(detail__icontains=raw) | Q(target_repr__icontains=raw)
        ).exists(), raw


def test_a_bulk_retime_records_one_entry_per_changed_case():
    cases = [CaseFactory(), CaseFactory()]
    SlaPolicy.objects.filter(tier=Tier.ROUTINE).update(response_minutes=30)
    loaded = list(Case.objects.filter(pk__in=[c.pk for c in cases]))
    before = AuditEntry.objects.count()
    clocks.retime_and_save_many(loaded)
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert {e.case_id for e in entries} == {c.pk for c in cases}
    assert all("response_due_at" in e.changes for e in entries)


def test_the_sweep_records_one_summarised_entry_per_batch(frontline):
    case = advance(CaseFactory(actor=frontline), Stage.TRIAGED)
    with time_machine.travel(case.response_due_at, tick=False):
        deadline_sweep()
    summary = AuditEntry.objects.filter(action=AuditAction.BULK_CHANGE).latest("seq")
    assert summary.detail["field"] == "sla_state" and case.pk in summary.detail["cases"]
    assert summary.actor_id is None


def test_a_rolled_back_change_leaves_no_entry():
    customer = CaseFactory().customer
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer.name = "改名"
        customer.save()
        raise RuntimeError
    assert AuditEntry.objects.count() == before


def test_compensation_and_a_collaboration_request_are_recorded_on_the_case(dept_tree):
    from cases.choices import CompensationKind
    from cases.models import Compensation
    from cases.services import collaboration as collab

    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE)
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    with audit_actor(agent):
        services.compensation_propose(actor=agent, case_id=case.pk,
                                      kind=CompensationKind.REFUND, amount=Decimal("800"))
        req = collab.request_create(actor=agent, case_id=case.pk,
                                    department=dept_tree["logistics"], ask="核实物流轨迹")
    compensation = Compensation.objects.get(case=case)
    [proposed] = _entries(compensation, AuditAction.CREATE)
    assert proposed.case_id == case.pk and proposed.actor_name == "cs-agent"
    assert proposed.changes["amount"][1] in ("800", "800.00")
    [asked] = _entries(req, AuditAction.CREATE)
    # Free text is kept as its digest (a name typed into it could never be anonymised).
    digest = hashlib.sha256("核实物流轨迹".encode()).hexdigest()
    assert asked.case_id == case.pk and asked.changes["ask"] == [None, f"sha256:{digest} (6 chars)"]
