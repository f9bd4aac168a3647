"""In a real browser: a liaison proposes a plan on the shared board, the agent accepts it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from cases.choices import Role, Stage, Tier
from cases.models import CollaborationRequest
from cases.models.collaboration import RequestStatus
from cases.services import collaboration as collab
from tests.factories import CaseFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    """``browser_env`` is function-scoped and undone before pytest-django flushes the database
    of a transactional test, which then fails inside Playwright's running loop; keep the
    variable set until the module is done."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1680, "height": 1000}}


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/board/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass12345")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Shared board")).to_be_visible()


def seed(dept_tree):
    agent = UserFactory(username="cs-agent", role=Role.FRONTLINE, display_name="Li Na (agent)")
    agent.department = dept_tree["cs"]
    agent.save(update_fields=["department"])
    logistics, sales = dept_tree["logistics"], dept_tree["sales"]
    case = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent, subject="Parcel never arrived",
                       order_ref="SO-88812")
    req = collab.request_create(actor=agent, case_id=case.pk, department=logistics,
                                ask="Check the courier's tracking for SO-88812 and propose a "
                                    "re-delivery.")
    collab.todo_add(actor=logistics.liaison, request_id=req.pk, title="Pull the courier scan log",
                    assignee=logistics.liaison)
    collab.request_add_note(actor=logistics.liaison, request_id=req.pk,
                            body="Courier says the parcel is at the Pudong depot.")
    # A few other cards so the board shows its columns.
    urgent = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent, tier=Tier.URGENT,
                         subject="Kettle base smoked")
    other = collab.request_create(actor=agent, case_id=urgent.pk, department=logistics,
                                  ask="Recall the remaining kettles of batch K-17 from stores.")
    CollaborationRequest.objects.filter(pk=other.pk).update(
        due_at=other.created_at - timedelta(minutes=5))  # overdue
    third = CaseFactory(stage=Stage.IN_PROGRESS, handler=agent)
    answered = collab.request_create(actor=agent, case_id=third.pk, department=sales,
                                     ask="Confirm the promised gift for order SO-7710.")
    collab.request_answer(actor=sales.liaison, request_id=answered.pk,
                          plan="Gift ships with the next batch on Friday.")
    return agent, case, req


def test_liaison_answers_and_agent_accepts(django_db_setup, browser_env, page: Page, live_server,
                                           artifacts_dir, dept_tree):
    # The test database and browser_env come first: once Playwright's event loop runs, Django
    # refuses synchronous database calls unless DJANGO_ALLOW_ASYNC_UNSAFE is set.
    agent, case, req = seed(dept_tree)
    base = live_server.url

    # The logistics liaison lands on their department's board and proposes a plan on the card.
    login(page, base, "logistics-liaison")
    card = page.locator(f"section[data-status=open] #request-{req.pk}")
    expect(card).to_contain_text(case.reference)
    expect(card).to_contain_text("Pull the courier scan log")
    expect(card).to_contain_text("Pudong depot")
    expect(page.locator("#board-overdue")).to_be_visible()
    expect(page.get_by_text("Confirm the promised gift")).to_have_count(0)  # sales' request
    page.screenshot(path=str(artifacts_dir / "board_liaison_open.png"), full_page=True)

    card.get_by_role("button", name="Propose plan").click()
    page.fill(f"#f-{req.pk}-answer", "Re-deliver by SF Express tomorrow before noon.")
    page.locator(f"#act-{req.pk}-answer").get_by_role("button", name="Propose plan").click()
    moved = page.locator(f"section[data-status=answered] #request-{req.pk}")
    expect(moved).to_contain_text("Re-deliver by SF Express")
    page.get_by_role("button", name="Log out").click()

    # The agent sees the plan and accepts it: the card moves and the case resumes.
    login(page, base, "cs-agent")
    card = page.locator(f"section[data-status=answered] #request-{req.pk}")
    expect(card).to_contain_text("Re-deliver by SF Express")
    card.get_by_role("button", name="Accept plan").click()
    expect(page.locator(f"section[data-status=accepted] #request-{req.pk}")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "board_after_accept.png"), full_page=True)

    page.locator(f"#request-{req.pk} .card-ref").click()
    expect(page.locator("#request-status")).to_have_text("Plan accepted")
    page.screenshot(path=str(artifacts_dir / "board_request_detail.png"), full_page=True)

    req.refresh_from_db()
    case.refresh_from_db()
    assert req.status == RequestStatus.ACCEPTED
    assert req.answered_by == dept_tree["logistics"].liaison
    assert case.stage == Stage.IN_PROGRESS
