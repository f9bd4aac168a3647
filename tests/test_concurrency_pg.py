"""Two agents transition the same case at once: one wins, the other gets a conflict, nothing
is lost. Needs PostgreSQL (row locks); SQLite serialises writers and proves nothing."""

from __future__ import annotations

import pytest
from django.db import connection

from cases import services
from cases.choices import Stage
from cases.models import Case
from tests.factories import CaseFactory, UserFactory, root_cause
from tests.races import at_once as _race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row-lock race needs PostgreSQL (set DATABASE_URL)"),
]


def test_two_agents_resolve_and_invalidate_at_once():
    boss = UserFactory(username="race-boss", role="supervisor")
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    version = case.version
    results = _race(
        lambda: services.case_resolve(actor=boss, case_id=case.pk, solution="补发",
                                      root_cause=root_cause(), expected_version=version),
        lambda: services.case_invalidate(actor=boss, case_id=case.pk, reason="撤回",
                                         expected_version=version),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    wins = [r for r in results if isinstance(r, Case)]
    assert len(wins) == 1 and len(errors) == 1
    assert isinstance(errors[0], services.ConflictError | services.ActionNotAllowed)
    case.refresh_from_db()
    assert case.stage in (Stage.RESOLVED, Stage.INVALID)
    assert case.version == version + 1
    assert case.transitions.filter(name__in=["resolve", "invalidate"]).count() == 1


def test_same_action_twice_at_once_runs_once():
    boss = UserFactory(username="race-boss2", role="supervisor")
    case = CaseFactory(stage=Stage.TRIAGED)
    version = case.version
    results = _race(*[
        (lambda t=t: services.case_retier(actor=boss, case_id=case.pk, tier=t, reason="x",
                                          expected_version=version))
        for t in (1, 2)
    ])
    assert sum(isinstance(r, Case) for r in results) == 1
    assert sum(isinstance(r, services.ConflictError) for r in results) == 1
    assert Case.objects.get(pk=case.pk).transitions.filter(name="retier").count() == 1
