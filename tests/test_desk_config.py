"""The per-process copy of the desk configuration that intake reads (cases.services.desk_config):
reused while nothing changed, dropped by a save here, reloaded when another process saved."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.choices import ContactChannel
from cases.models import DeskSettings, NoticeTemplate, SlaPolicy
from cases.models.notices import NoticeKind
from cases.services import desk_config

pytestmark = pytest.mark.django_db


def reads() -> int:
    with CaptureQueriesContext(connection) as ctx:
        desk_config.desk_config()
    return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]])


def test_the_configuration_is_read_once_then_reused():
    assert reads() == 6  # settings, policies, acknowledgement templates, clock bases,
    # pause reasons, regimes
    assert reads() == 0


def test_a_save_in_this_process_applies_to_the_next_read(django_capture_on_commit_callbacks):
    desk_config.desk_config()
    with django_capture_on_commit_callbacks(execute=True):
        policy = SlaPolicy.objects.get(tier=1)
        policy.response_minutes = 15
        policy.save()
    assert desk_config.desk_config().policy(1).response_minutes == 15


def test_a_save_publishes_a_new_version_after_commit(django_capture_on_commit_callbacks):
    desk_config.desk_config()
    before = cache.get(desk_config.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = DeskSettings.get()
        row.group_threshold = 9
        row.save()
    assert cache.get(desk_config.VERSION_KEY) == before  # not before the commit
    for callback in callbacks:
        callback()
    assert cache.get(desk_config.VERSION_KEY) != before


def test_another_process_s_save_is_seen_through_the_shared_version():
    assert desk_config.desk_config().settings.group_threshold == 5
    DeskSettings.objects.filter(pk=1).update(group_threshold=7)  # as another process would
    assert desk_config.desk_config().settings.group_threshold == 5  # this copy, unchanged
    cache.set(desk_config.VERSION_KEY, "saved-elsewhere", None)  # its commit's new version
    assert desk_config.desk_config().settings.group_threshold == 7


def test_a_copy_older_than_its_maximum_age_is_read_again(monkeypatch):
    desk_config.desk_config()
    monkeypatch.setattr(desk_config, "MAX_AGE", 0.0)
    assert reads() == 6


def test_a_cache_that_is_down_costs_only_the_reads(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(desk_config.cache, "get", down)
    monkeypatch.setattr("complaints_project.cache_outage._last_warning", {})
    with caplog.at_level("WARNING", logger="cases.services.desk_config"):
        assert reads() == 6 and reads() == 6  # no copy kept, but intake still works
    assert len(caplog.records) == 1  # one warning a minute, not one per complaint


def test_deleted_policies_fall_back_to_the_spec_and_templates_are_keyed_for_every_channel():
    SlaPolicy.objects.filter(tier=2).delete()
    ack = NoticeKind.ACKNOWLEDGEMENT
    NoticeTemplate.objects.filter(kind=ack, channel=ContactChannel.WECHAT).delete()
    NoticeTemplate.objects.update_or_create(kind=ack, channel=ContactChannel.SMS, language="en",
                                            defaults={"body": "Got it: {reference}"})
    config = desk_config.desk_config()
    assert config.policy(2).response_minutes == 120 and config.policy(0).tier == 3
    assert config.templates[(ack, ContactChannel.SMS, "en")].body == "Got it: {reference}"
    assert config.templates[(ack, ContactChannel.WECHAT, "en")] is None
