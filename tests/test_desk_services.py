"""Desk services that are not case actions: marking alerts read, a user's preferences."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cases.models import Alert
from cases.services import InvalidInput, alerts_mark_read, user_preferences_update
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _alert(user, **kwargs):
    return Alert.objects.create(recipient=user, kind="at_risk", message="m",
                                created_at=timezone.now(), **kwargs)


def test_marking_alerts_read_touches_only_the_actor_s_chosen_unread_ones(frontline, frontline2):
    case = CaseFactory()
    chosen, other, theirs = _alert(frontline, case=case), _alert(frontline), _alert(frontline2)

    assert alerts_mark_read(actor=frontline, alert_ids=[chosen.pk, theirs.pk]) == 1

    read = set(Alert.objects.filter(read_at__isnull=False).values_list("pk", flat=True))
    assert read == {chosen.pk}
    assert alerts_mark_read(actor=frontline, alert_ids=[chosen.pk]) == 0  # already read
    assert other.pk not in read and theirs.pk not in read


def test_marking_all_alerts_read_counts_the_unread_ones(frontline, frontline2):
    _alert(frontline, read_at=timezone.now())
    _alert(frontline)
    _alert(frontline)
    _alert(frontline2)

    assert alerts_mark_read(actor=frontline) == 2

    assert not Alert.objects.filter(recipient=frontline, read_at__isnull=True).exists()
    assert Alert.objects.filter(recipient=frontline2, read_at__isnull=True).count() == 1


def test_preferences_are_saved(frontline):
    user_preferences_update(actor=frontline, display_name=" 小王 ", language="en",
                            time_zone="Asia/Tokyo")
    frontline.refresh_from_db()
    assert (frontline.display_name, frontline.language, frontline.time_zone) == (
        "小王", "en", "Asia/Tokyo")


@pytest.mark.parametrize(("field", "values"), [
    ("language", {"language": "xx"}),
    ("time_zone", {"time_zone": "Mars/Base"}),
    ("time_zone", {"time_zone": "../../etc/passwd"}),
    ("display_name", {"display_name": "x" * 101}),
])
def test_bad_preferences_are_refused_and_nothing_is_saved(frontline, field, values):
    before = (frontline.display_name, frontline.language, frontline.time_zone)
    data = {"display_name": "小王", "language": "", "time_zone": "", **values}
    with pytest.raises(InvalidInput) as info:
        user_preferences_update(actor=frontline, **data)
    assert info.value.field == field
    frontline.refresh_from_db()
    assert (frontline.display_name, frontline.language, frontline.time_zone) == before
