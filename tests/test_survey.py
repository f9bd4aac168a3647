"""The public survey page /survey/<token>/: valid, reused, expired and tampered links; both
languages; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from cases.choices import Stage
from cases.models import Notice
from cases.models.notices import NoticeKind
from cases.services.revisits import revisit_open_due
from tests.factories import CaseFactory, advance

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(frontline):
    """(case, token, url) of a revisit that has just opened."""
    case = advance(CaseFactory(actor=frontline), Stage.FEEDBACK_GIVEN)
    with time_machine.travel(case.revisits.get().due_at, tick=False):
        revisit_open_due()
    link = Notice.objects.get(case=case, kind=NoticeKind.SURVEY).context["survey_url"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    return case, token, reverse("survey:answer", args=[token])


def test_the_link_in_the_notice_opens_the_form_in_the_customers_language(
    client, survey, django_assert_max_num_queries,
):
    case, token, url = survey
    link = Notice.objects.get(case=case, kind=NoticeKind.SURVEY).context["survey_url"]
    assert link.endswith(url)
    with django_assert_max_num_queries(4):
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert case.reference in html and 'name="score"' in html and 'lang="zh-hans"' in html
    assert case.customer.phone not in html and case.customer.email not in html


def test_the_page_switches_to_english(client, survey):
    _case, _token, url = survey
    page = client.get(url, {"lang": "en"})
    assert page.status_code == 200
    assert "How did we do?" in page.content.decode()


def test_a_valid_answer_is_recorded_once_and_the_link_is_then_used_up(client, survey):
    case, _token, url = survey
    response = client.post(url, {"score": "5", "comment": "处理很快", "lang": "en"})
    assert response.status_code == 302 and "answered=1" in response["Location"]
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and "Thank you" in thanks.content.decode()
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED and case.satisfaction_score == 5

    again = client.post(url, {"score": "1", "lang": "en"})
    assert again.status_code == 200 and "already been answered" in again.content.decode()
    reopened = client.get(url, {"lang": "en"})
    assert "already been answered" in reopened.content.decode()
    case.refresh_from_db()
    assert case.satisfaction_score == 5


def test_an_expired_link_is_refused_politely(client, survey, settings):
    case, _token, url = survey
    later = case.revisits.get().opened_at + timedelta(seconds=settings.SURVEY_TOKEN_MAX_AGE + 60)
    with time_machine.travel(later, tick=False):
        page = client.get(url, {"lang": "en"})
        post = client.post(url, {"score": "5", "lang": "en"})
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert post.status_code == 410
    case.refresh_from_db()
    assert case.stage == Stage.REVISIT


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
    lambda t: "9999" + t[t.index("."):],  # another revisit id, same signature
    lambda t: "not-a-token",
])
def test_a_tampered_link_is_refused_politely(client, survey, tamper):
    case, token, _url = survey
    page = client.get(reverse("survey:answer", args=[tamper(token)]), {"lang": "en"})
    assert page.status_code == 404
    assert "not valid" in page.content.decode()
    post = client.post(reverse("survey:answer", args=[tamper(token)]), {"score": "5"})
    assert post.status_code == 404
    case.refresh_from_db()
    assert case.stage == Stage.REVISIT


def test_a_link_of_an_earlier_round_does_not_answer_the_current_one(client, survey):
    case, token, url = survey
    revisit = case.revisits.get()
    revisit.token_nonce = "rotated-nonce"
    revisit.save()
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("data", [{}, {"score": "6"}, {"score": "x"},
                                  {"score": "3", "comment": "长" * 2001}])
def test_bad_input_shows_the_form_again_and_changes_nothing(client, survey, data):
    case, _token, url = survey
    response = client.post(url, {**data, "lang": "en"})
    assert response.status_code == 400
    assert 'name="score"' in response.content.decode()
    case.refresh_from_db()
    assert case.stage == Stage.REVISIT and case.satisfaction_score is None
