"""A text search reads a common phrase by walking the newest cases (capped at the newest
matches) and a rare one through the text indexes (every match); both show the matches in the
list's order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.models import Case
from cases.selectors import search
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
PHRASE = "快递延误"


@pytest.fixture
def agent_client(client, frontline):
    client.force_login(frontline)
    return client


@pytest.fixture
def small_search(monkeypatch):
    """A cap of 3 matches and a sample of the newest 4 cases (instead of 1,000 and 1,000), in
    a table small enough that the index would always win unless the walk is made cheap."""
    monkeypatch.setattr(selectors, "SEARCH_CAP", 3)
    monkeypatch.setattr(search, "SEARCH_SAMPLE", 4)
    monkeypatch.setattr(search, "WALK_COST", 0.1)


def _cases(matching: list[bool]) -> list[Case]:
    """Cases oldest first, whose subject holds PHRASE where ``matching`` says so; their due
    times run against their age, so the list's default order is not the id order."""
    now = timezone.now()
    cases = [CaseFactory(subject=f"{PHRASE} {i}" if hit else f"发票错误 {i}")
             for i, hit in enumerate(matching)]
    for i, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(next_due_at=now + timedelta(hours=i % 3),
                                               received_at=now - timedelta(hours=i))
    return cases


def _listed(client, **params) -> tuple[list[int], object]:
    response = client.get(reverse("desk:cases"), {"q": PHRASE, **params})
    assert response.status_code == 200
    return [c.pk for c in response.context["cases"]], response


def _in_order(pks: list[int], sort: str) -> list[int]:
    return list(Case.objects.filter(pk__in=pks).order_by(*selectors.SORTS[sort][1])
                .values_list("pk", flat=True))


@pytest.mark.parametrize("sort", ["due", "-received"])
def test_a_common_phrase_shows_its_newest_matches_in_list_order(agent_client, small_search,
                                                               sort):
    cases = _cases([True] * 5 + [True, False, True, True, True, False])
    newest_matches = [c.pk for c in cases if "快递" in c.subject][-3:]
    shown, response = _listed(agent_client, sort=sort)
    assert shown == _in_order(newest_matches, sort)
    assert response.context["search_capped"] is True


def test_a_rare_phrase_shows_every_match_through_the_index(agent_client, small_search):
    cases = _cases([True, False, True] + [False] * 7)
    shown, response = _listed(agent_client)
    assert shown == _in_order([cases[0].pk, cases[2].pk], "due")
    assert response.context["search_capped"] is False


def test_a_walk_that_comes_up_short_still_shows_every_match(agent_client, small_search):
    """The newest cases all match but the older ones do not: the walk finds too few to say
    the phrase is common, and the index gives every match, uncapped."""
    cases = _cases([False] * 7 + [True, True, True])
    shown, response = _listed(agent_client, sort="received")
    assert shown == [c.pk for c in cases[7:]][::-1]  # oldest received first: the newest id
    assert response.context["search_capped"] is False


def test_a_text_that_cannot_be_in_a_reference_does_not_search_references():
    assert "reference" not in str(selectors.search_q(PHRASE))
    assert "reference" in str(selectors.search_q("2026-0001"))


def test_a_search_with_latin_words_is_never_walked(agent_client, small_search):
    """Words matched by LIKE cost more to test case by case than their trigram index."""
    cases = [CaseFactory(subject=f"Parcel lost {i}") for i in range(6)]
    with CaptureQueriesContext(connection) as ctx:
        response = agent_client.get(reverse("desk:cases"), {"q": "parcel"})
    assert len(response.context["cases"]) == 3 and response.context["search_capped"] is True
    assert {c.pk for c in response.context["cases"]} <= {c.pk for c in cases}
    assert not any("CASE WHEN" in q["sql"] for q in ctx.captured_queries)
