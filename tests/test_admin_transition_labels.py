"""The admin shows a case's logged changes by the timeline's labels, not stored codes."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from cases.choices import Stage
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _cells(html: str) -> set[str]:
    return {c.strip() for c in re.findall(r"<td[^>]*>\s*(?:<p>)?([^<]*)", html)}


def test_the_case_admin_lists_transitions_by_their_labels(client, admin_user):
    case = CaseFactory(stage=Stage.IN_PROGRESS)
    client.force_login(admin_user)
    with translation.override("en"):
        html = client.get(f"/admin/cases/case/{case.pk}/change/",
                          HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cells = _cells(html)
    assert {"Triage", "Start handling", "In progress", "Stage"} <= cells
    assert not {"triage", "in_progress", "start"} & cells


def test_the_transition_admin_list_reads_the_same_in_chinese(client, admin_user):
    CaseFactory(stage=Stage.ASSIGNED)
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/admin/cases/casetransition/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = html.content.decode()
    assert html.status_code == 200
    assert "assigned</td>" not in text and "triage</td>" not in text
    assert "已分派" in text or "已指派" in text or "已分配" in text
