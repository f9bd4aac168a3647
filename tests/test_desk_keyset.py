"""The desk list's Previous/Next links page by cursor (keyset): the right rows in order across
ties and NULLs of the sort key, a damaged cursor falls back to page 1, and a deep page runs
the queries of page 1."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.models import Case
from cases.views import desk as desk_views
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
PER_PAGE = 10
MAX_QUERIES = 15


@pytest.fixture
def agent_client(client, frontline):
    client.force_login(frontline)
    return client


@pytest.fixture
def tied_cases() -> list[int]:
    """23 cases whose sort keys tie in groups (three due times, one in four without one; two
    received and updated times; three tiers)."""
    pks = [CaseFactory().pk for _ in range(23)]
    base = timezone.now().replace(microsecond=0)
    for i, pk in enumerate(pks):
        Case.objects.filter(pk=pk).update(
            next_due_at=None if i % 4 == 3 else base + timedelta(hours=i % 3),
            received_at=base - timedelta(days=i % 2), updated_at=base - timedelta(days=i % 2),
            tier=i % 3 + 1,
        )
    return pks


def _get(client, query: dict | str):
    response = client.get(reverse("desk:cases"), query)
    assert response.status_code == 200
    return response


def _link(response, name: str) -> dict | None:
    query = getattr(response.context["page_obj"], name, "")
    return {k: v[0] for k, v in parse_qs(query).items()} if query else None


@pytest.mark.parametrize("sort", list(selectors.SORT_KEYS))
def test_next_and_previous_cursors_walk_the_list_in_order(agent_client, tied_cases, sort):
    expected = list(Case.objects.order_by(*selectors.SORTS[sort][1])
                    .values_list("pk", flat=True))
    pages = [_get(agent_client, {"queue": "all", "sort": sort, "per_page": PER_PAGE})]
    while (query := _link(pages[-1], "next_query")) is not None:
        assert "after" in query and query["page"] == str(len(pages) + 1)
        pages.append(_get(agent_client, query))
    walked = [c.pk for page in pages for c in page.context["cases"]]
    assert walked == expected and len(pages) == 3
    assert [p.context["page_obj"].number for p in pages] == [1, 2, 3]
    # Back from the last page: page 2 by a "before" cursor, then page 1 by number.
    back = _get(agent_client, _link(pages[2], "previous_query"))
    assert [c.pk for c in back.context["cases"]] == expected[PER_PAGE:2 * PER_PAGE]
    assert back.context["page_obj"].number == 2
    assert _link(back, "previous_query") is None  # page 1 is a plain ?page=1 link
    assert 'page=1" rel="prev"' in back.content.decode()


def test_a_page_by_number_links_on_by_cursor(agent_client, tied_cases):
    second = _get(agent_client, {"queue": "all", "per_page": PER_PAGE, "page": 2})
    expected = list(Case.objects.order_by(*selectors.SORTS["due"][1])
                    .values_list("pk", flat=True))
    assert [c.pk for c in second.context["cases"]] == expected[PER_PAGE:2 * PER_PAGE]
    third = _get(agent_client, _link(second, "next_query"))
    assert [c.pk for c in third.context["cases"]] == expected[2 * PER_PAGE:]
    assert not third.context["page_obj"].has_next()


@pytest.mark.parametrize("cursor", [
    {"after": "garbage"},
    {"before": "x:y:z"},
    {"after": selectors.cursor_token("due", 2, (None, 1))[:-3] + "abc"},  # tampered
    {"after": selectors.cursor_token("received", 2, (timezone.now(), 1))},  # another sort
    {"after": selectors.cursor_token("due", 2, ("not a date", 1))},
    {"after": selectors.cursor_token("due", 2, (None, "x"))},
    {"after": selectors.cursor_token("due", 1, (None, 1))},  # page 1 has no cursor
    {"after": selectors.cursor_token("due", 2, (None, 10**9))},  # nothing after it
])
def test_a_bad_cursor_shows_page_1_with_a_message(agent_client, tied_cases, cursor):
    response = _get(agent_client, {"queue": "all", "per_page": PER_PAGE, **cursor})
    expected = list(Case.objects.order_by(*selectors.SORTS["due"][1])
                    .values_list("pk", flat=True)[:PER_PAGE])
    assert [c.pk for c in response.context["cases"]] == expected
    assert response.context["page_obj"].number == 1
    assert "That page link is out of date" in response.content.decode()


def test_a_deep_page_by_cursor_runs_the_queries_of_page_1(agent_client, tied_cases, monkeypatch,
                                                         django_assert_max_num_queries):
    monkeypatch.setattr(desk_views, "COUNT_CAP", 5)
    monkeypatch.setattr(selectors, "estimated_count", lambda qs: 1_000_000)
    params = {"queue": "all", "sort": "-received", "per_page": PER_PAGE}
    _get(agent_client, params)  # warm: the user's roles are cached from the first request on
    with django_assert_max_num_queries(MAX_QUERIES), CaptureQueriesContext(connection) as first:
        page_1 = _get(agent_client, params)
    deep_cursor = selectors.cursor_token(
        "-received", 1000, (page_1.context["cases"][PER_PAGE - 1].received_at,
                            page_1.context["cases"][PER_PAGE - 1].pk))
    with django_assert_max_num_queries(MAX_QUERIES), CaptureQueriesContext(connection) as deep:
        page_1000 = _get(agent_client, {**params, "page": 1000, "after": deep_cursor})
    assert page_1000.context["page_obj"].number == 1000
    assert "Page 1,000 of about 100,000" in page_1000.content.decode()
    assert len(deep.captured_queries) == len(first.captured_queries)
