"""Content-Security-Policy: enforced on every page, no inline script anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from cases.choices import Stage
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# An inline script: a <script> element without src (JSON data blocks are not scripts).
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", ["/accounts/login/", "/complain/", "/track/", "/api/v1/docs"])
def test_public_pages_enforce_the_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = _directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "Content-Security-Policy-Report-Only" not in response


@pytest.mark.parametrize("path", ["/desk/", "/desk/cases/", "/desk/case/", "/board/",
                                  "/reports/", "/admin/"])
def test_staff_pages_and_the_admin_enforce_the_policy(client, supervisor, admin_user, path):
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(admin_user if path.startswith("/admin/") else supervisor)
    response = client.get(path.replace("/desk/case/", f"/desk/cases/{case.pk}/"))
    assert response.status_code == 200
    policy = _directives(response)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]


def test_no_page_carries_an_inline_script_in_its_html(client, supervisor):
    """The rendered pages, not only the template files (a tag library could add one)."""
    case = CaseFactory(stage=Stage.TRIAGED)
    client.force_login(supervisor)
    for path in ("/desk/", "/desk/cases/", f"/desk/cases/{case.pk}/", "/board/", "/reports/",
                 "/reports/root-causes/"):
        html = client.get(path).content.decode()
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_HANDLER.search(html), path


def test_no_template_has_an_inline_script_or_handler():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, re.compile(r"<style\b", re.I),
                        re.compile(r"javascript:", re.I)):
            if pattern.search(text):
                offenders.append(f"{template.relative_to(TEMPLATES)}: {pattern.pattern}")
    assert offenders == []


def test_report_only_mode_is_a_setting(settings, client):
    policy = settings.CONTENT_SECURITY_POLICY
    del settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = policy
    response = client.get("/accounts/login/")
    assert "Content-Security-Policy" not in response
    assert "script-src 'self'" in response["Content-Security-Policy-Report-Only"]

