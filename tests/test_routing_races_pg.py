"""Triages at once never route past an agent's maximum load. Needs PostgreSQL (the
routing's transaction locks); SQLite serialises writers and proves nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from cases import services
from cases.choices import Role, Stage
from cases.models import Case, RoutingRule
from tests.factories import CaseFactory, UserFactory
from tests.races import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="lock race needs PostgreSQL (set DATABASE_URL)"),
]


def _triage(boss, case):
    return lambda: services.case_triage(actor=boss, case_id=case.pk, urgency=case.urgency,
                                        scope=case.scope, difficulty=case.difficulty, tier=3)


@pytest.mark.parametrize("method", ["least_loaded", "round_robin"])
def test_simultaneous_triages_respect_the_maximum_load(method):
    boss = UserFactory(username=f"race-route-boss-{method}", role=Role.SUPERVISOR)
    pool = [UserFactory(username=f"race-route-{method}-{i}", role=Role.FRONTLINE)
            for i in range(2)]
    cases = [CaseFactory() for _ in range(6)]
    RoutingRule.objects.create(name="race", pool_role=Role.FRONTLINE, max_load=2,
                               method=method)
    results = at_once(*[_triage(boss, case) for case in cases])
    assert all(isinstance(r, Case) for r in results), results
    loads = Counter(Case.objects.filter(stage=Stage.ASSIGNED).values_list("handler_id",
                                                                          flat=True))
    assert loads == {pool[0].pk: 2, pool[1].pk: 2}
    assert Case.objects.filter(stage=Stage.TRIAGED).exclude(routing_note="").count() == 2
