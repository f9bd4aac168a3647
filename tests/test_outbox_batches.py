"""Batched dispatch of notices from web processes (OUTBOX_DISPATCH_LINGER_MS): the notices
committed within the linger leave in one message; every notice is still sent once, retried
on its own, and recovered by the sweep when a batch is lost."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from cases.models import Notice
from cases.models.notices import NoticeStatus
from cases.services import dispatch_batches, outbox
from tests.factories import CaseFactory
from tests.test_notices import _notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def batching(settings):
    settings.OUTBOX_DISPATCH_LINGER_MS = 200  # long enough for the test's five commits
    settings.OUTBOX_DISPATCH_BATCH = 3
    dispatch_batches._batcher = None
    yield
    dispatch_batches._batcher = None


def test_off_by_default_dispatches_at_once(settings, django_capture_on_commit_callbacks):
    assert settings.OUTBOX_DISPATCH_LINGER_MS == 0 and dispatch_batches.batcher() is None
    with mock.patch("cases.services.outbox.notice_dispatch") as dispatch:
        with django_capture_on_commit_callbacks(execute=True):
            outbox.notice_dispatch_on_commit([7])
    dispatch.assert_called_once_with([7])


@pytest.mark.parametrize(("linger", "batch", "on", "size"), [
    (-5, 3, False, None), ("", 3, False, None), (None, 3, False, None), (50, 0, True, 1),
    (50, -2, True, 1),
])
def test_odd_settings_turn_it_off_or_clamp_the_batch(settings, linger, batch, on, size):
    """A linger of zero, negative or empty is off (dispatch at once); a batch size below
    one is one."""
    settings.OUTBOX_DISPATCH_LINGER_MS = linger
    settings.OUTBOX_DISPATCH_BATCH = batch
    dispatch_batches._batcher = None
    try:
        made = dispatch_batches.batcher()
        assert (made is not None) == on
        if on:
            assert made.batch_size == size
    finally:
        dispatch_batches._batcher = None


def test_production_settings_turn_it_on():
    import ast
    from pathlib import Path

    source = Path(__file__).resolve().parent.parent / "complaints_project/settings/prod.py"
    assert "OUTBOX_DISPATCH_LINGER_MS" in {
        t.id for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}


def test_commits_within_the_linger_leave_in_batches(batching, django_capture_on_commit_callbacks):
    published = []
    done = threading.Event()

    def delay(ids):
        published.append(list(ids))
        if sum(len(p) for p in published) == 5:
            done.set()

    with mock.patch("cases.tasks.send_notices_task.delay", side_effect=delay), \
            mock.patch("cases.tasks.send_notice_task.delay") as single:
        with django_capture_on_commit_callbacks(execute=True):
            for notice_id in (1, 2, 3, 4, 5):
                outbox.notice_dispatch_on_commit([notice_id])
        assert done.wait(5), published
    assert published == [[1, 2, 3], [4, 5]] and not single.called


def test_nothing_is_dispatched_for_a_rolled_back_change(batching):
    from django.db import transaction

    with mock.patch.object(dispatch_batches.DispatchBatcher, "add") as add:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.notice_dispatch_on_commit([1])
            raise RuntimeError
    assert not add.called


def test_a_broker_outage_leaves_the_batch_to_the_sweep(batching, caplog):
    from kombu.exceptions import OperationalError

    notice = _notice(CaseFactory())
    batcher = dispatch_batches.batcher()
    batcher._pending.append(notice.pk)
    with mock.patch("cases.tasks.send_notices_task.delay", side_effect=OperationalError("x")):
        assert batcher.flush() == 0
    assert "redispatch sweep" in caplog.text
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.QUEUED
    later = timezone.now() + timedelta(seconds=outbox.settings.OUTBOX_REDISPATCH_AFTER_SECONDS + 5)
    with mock.patch("cases.services.outbox.notice_dispatch_on_commit") as redispatch:
        assert outbox.outbox_redispatch(now=later) == 1
    assert redispatch.call_args.args[0] == [notice.pk]


def test_a_batch_sends_each_notice_once():
    first, second = _notice(CaseFactory()), _notice(CaseFactory())
    from cases.tasks import send_notices_task

    assert send_notices_task([first.pk, second.pk, first.pk]) == {"sent": 2, "skipped": 1}
    assert len(mail.outbox) == 2
    assert send_notices_task([first.pk, second.pk]) == {"skipped": 2}  # a redelivery
    assert len(mail.outbox) == 2


def test_a_notice_to_retry_gets_its_own_delayed_message():
    from cases.tasks import send_notices_task

    with mock.patch("cases.services.outbox.notice_send",
                    return_value=outbox.SendOutcome("retry", retry_in=90)), \
            mock.patch("cases.tasks.send_notice_task.apply_async") as retry:
        assert send_notices_task([41, 42]) == {"retry": 2}
    assert [c.args[0] for c in retry.call_args_list] == [(41,), (42,)]
    assert {c.kwargs["countdown"] for c in retry.call_args_list} == {90}


def test_a_long_batch_hands_the_rest_back_as_single_messages(monkeypatch):
    from cases.tasks import send_notices_task

    clock = iter([0.0, 0.0, outbox.BATCH_SEND_BUDGET_SECONDS + 1])
    monkeypatch.setattr(outbox.time, "monotonic", lambda: next(clock))
    with mock.patch("cases.services.outbox.notice_send",
                    return_value=outbox.SendOutcome("sent")) as send, \
            mock.patch("cases.tasks.send_notice_task.delay") as single:
        assert send_notices_task([1, 2, 3, 4]) == {"sent": 1, "handed_back": 3}
    assert send.call_count == 1
    assert [c.args[0] for c in single.call_args_list] == [2, 3, 4]


def test_a_forked_process_starts_its_own_thread(batching):
    stop = threading.Event()
    batcher = dispatch_batches.batcher()
    with mock.patch.object(dispatch_batches.DispatchBatcher, "_run",
                           lambda self: stop.wait(5)):
        batcher.add([1])
        first = batcher._thread
        batcher.add([2])
        assert batcher._thread is first  # one thread per process
        batcher._pid = -1  # as seen from a child after fork
        batcher.add([3])
        assert batcher._thread is not first and batcher._thread.is_alive()
    stop.set()
    assert batcher._pending == [1, 2, 3]
