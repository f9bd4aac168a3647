"""In a real browser: the KPI dashboard in English and in Chinese draws its charts, and the
weekly review prints cleanly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import Page, expect

from cases.choices import Category, ChannelKind, Role, Stage, Tier
from cases.models import Case, RootCause
from reporting import kpis as K
from tests.factories import CustomerFactory, DepartmentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ["chart-trend", "chart-root-causes", "chart-volume-tier", "chart-volume-channel",
          "chart-volume-category", "chart-volume-department"]


@pytest.fixture(scope="module", autouse=True)
def _async_unsafe_for_the_module():
    """``browser_env`` is undone before pytest-django flushes a transactional test's database,
    which then runs inside Playwright's loop; keep the variable set for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1100}}


def seed_history() -> None:
    """Twelve weeks of cases with varied facts, written directly (the charts need volume)."""
    customer = CustomerFactory()
    depts = [DepartmentFactory(code="logistics", name="物流部", name_en="Logistics"),
             DepartmentFactory(code="sales", name="销售部", name_en="Sales")]
    # A transactional test's flush removes the rows that migrations seeded: make what we use.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    causes = [RootCause.objects.get_or_create(code=code, defaults={"name": name,
                                                                   "name_en": english})[0]
              for code, name, english in [("process", "流程缺陷", "Process gap"),
                                          ("courier", "物流延误", "Courier delay"),
                                          ("training", "培训不足", "Training"),
                                          ("product", "产品缺陷", "Product defect")]]
    now = timezone.now()
    channels, categories = ChannelKind.values[:5], Category.values
    rows = []
    for i in range(240):
        received = now - timedelta(hours=7 * i + 3)
        resolved = received + timedelta(hours=20 + (i % 5) * 14) if i % 6 else None
        rows.append(Case(
            tracking_code="T", customer=customer, subject=f"Case {i}", description="d",
            channel=channels[i % len(channels)], category=categories[i % len(categories)],
            tier=[Tier.URGENT, Tier.IMPORTANT, Tier.ROUTINE][i % 3],
            stage=Stage.RESOLVED if resolved else Stage.IN_PROGRESS,
            received_at=received, response_due_at=received + timedelta(hours=4),
            first_responded_at=received + timedelta(hours=1 + i % 6),
            solution_due_at=received + timedelta(hours=72), resolved_at=resolved,
            root_cause=causes[i % len(causes)] if resolved else None,
            department=depts[i % 2] if i % 3 else None, retiered=i % 11 == 0,
        ))
    Case.objects.bulk_create(rows)


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/reports/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass12345")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/reports/**")


def charts_drawn(page: Page) -> None:
    for chart_id in CHARTS:
        canvas = page.locator(f"#{chart_id}")
        expect(canvas).to_have_attribute("data-rendered", "1")
        drawn = page.evaluate(
            "(id) => { const c = document.getElementById(id); const chart = Chart.getChart(c);"
            " return !!chart && c.width > 0 && c.height > 0 &&"
            " chart.data.datasets.some(d => d.data.some(v => v))}", chart_id)
        assert drawn, chart_id


@pytest.mark.parametrize("language,heading,kpi", [
    ("en", "KPI dashboard", "First response on time"),
    ("zh-hans", None, None),
])
def test_dashboard_charts_render_in_both_languages(django_db_setup, browser_env, live_server,
                                                   page: Page, artifacts_dir, language, heading,
                                                   kpi):
    seed_history()
    UserFactory(username="report-boss", role=Role.SUPERVISOR, language=language)
    login(page, live_server.url, "report-boss")
    page.goto(f"{live_server.url}/reports/?period=last_12_months")
    assert page.locator("html").get_attribute("lang") == language
    if heading:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.locator("#kpi-table")).to_contain_text(kpi)
    expect(page.locator("#kpi-table tbody tr")).to_have_count(len(K.KPIS))
    charts_drawn(page)
    page.screenshot(path=str(artifacts_dir / f"reports-dashboard-{language}.png"), full_page=True)
    # The numbers behind the trend chart are also a table.
    page.locator("summary", has=page.locator("xpath=..")).first.click()
    expect(page.locator("#trend-table tbody tr").first).to_be_visible()


def test_root_cause_view_draws_its_chart(django_db_setup, browser_env, live_server, page: Page,
                                         artifacts_dir):
    seed_history()
    UserFactory(username="report-boss", role=Role.SUPERVISOR, language="en")
    login(page, live_server.url, "report-boss")
    page.goto(f"{live_server.url}/reports/root-causes/?period=last_12_months")
    expect(page.locator("#chart-root-causes")).to_have_attribute("data-rendered", "1")
    expect(page.locator("#root-cause-table tbody tr")).to_have_count(4)
    page.screenshot(path=str(artifacts_dir / "reports-root-causes.png"), full_page=True)
