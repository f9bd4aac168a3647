"""The user's roles come from the cache after the first request (a signed-in request reads
the user row alone), and every way of changing them counts from the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.choices import Role

pytestmark = pytest.mark.django_db


def _desk(client) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(reverse("desk:home")).status_code
    return status, [q["sql"] for q in ctx.captured_queries]


def _reads_groups(queries: list[str]) -> bool:
    return any('"auth_group"' in sql for sql in queries)


def test_roles_are_read_once_then_from_the_cache(client, frontline):
    client.force_login(frontline)
    status, first = _desk(client)
    assert status == 200 and _reads_groups(first)
    status, second = _desk(client)
    assert status == 200 and not _reads_groups(second)
    assert len(second) == len(first) - 1


def test_a_removed_role_counts_on_the_next_request(client, frontline):
    client.force_login(frontline)
    assert _desk(client)[0] == 200
    frontline.groups.clear()
    assert _desk(client)[0] == 403


def test_a_role_granted_from_the_group_side_counts_on_the_next_request(client, liaison):
    client.force_login(liaison)
    assert _desk(client)[0] == 403
    Group.objects.get(name=Role.FRONTLINE).user_set.add(liaison)
    assert _desk(client)[0] == 200


def test_an_emptied_or_deleted_group_counts_on_the_next_request(client, frontline):
    client.force_login(frontline)
    assert _desk(client)[0] == 200
    Group.objects.get(name=Role.FRONTLINE).user_set.clear()
    assert _desk(client)[0] == 403
    frontline.groups.add(Group.objects.get(name=Role.FRONTLINE))
    assert _desk(client)[0] == 200
    Group.objects.filter(name=Role.FRONTLINE).delete()
    assert _desk(client)[0] == 403


def test_a_per_process_cache_of_several_processes_is_not_trusted(client, frontline, settings):
    settings.AUTH_ROLES_CACHED = False  # e.g. production without Redis
    client.force_login(frontline)
    assert _reads_groups(_desk(client)[1])
    assert _reads_groups(_desk(client)[1])
