"""The history half of a simulated case: its contacts, progress notes, long exchanges and
customer notices (``HistoryWriter``, the base of ``simulation.CaseWriter``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from cases.choices import (
    CompensationKind,
    CompensationStatus,
    NoteKind,
    RevisitMethod,
    Stage,
)
from cases.models import User
from cases.models.collaboration import RequestStatus
from cases.models.notices import NoticeKind, NoticeStatus
from cases.notice_texts import render_notice
from cases.services.notices import delivery_for

from . import samples as S

# Every this many cases one has a long history (a disputed complaint, many contacts): the
# case page's 30-entry timeline in the benchmarks.
LONG_TIMELINE_EVERY = 1000

_REVISIT_METHODS = RevisitMethod.values
_COMPENSATION_KINDS = CompensationKind.values

STAGE_ORDER = [Stage.RECEIVED, Stage.TRIAGED, Stage.ASSIGNED, Stage.IN_PROGRESS,
               Stage.RESOLVED, Stage.FEEDBACK_GIVEN, Stage.REVISIT, Stage.CLOSED]
TRANSITION_NAMES = {Stage.TRIAGED: "triage", Stage.ASSIGNED: "assign",
                    Stage.IN_PROGRESS: "start", Stage.RESOLVED: "resolve",
                    Stage.FEEDBACK_GIVEN: "give_feedback", Stage.REVISIT: "open_revisit",
                    Stage.CLOSED: "record_revisit"}


MARKERS = ("\x00REF\x00", "\x00CODE\x00", "\x00NAME\x00", "\x00DUE\x00")
# A due time no real one shares, to find where the alert text puts it (as the sweep writes it).
DUE_PROBE = datetime(1999, 9, 9, 9, 9, tzinfo=UTC)
DUE_FORMAT = "%Y-%m-%d %H:%M"


class HistoryWriter:
    """Writes the notes, notices and long exchanges of one case into the tables; the
    subclass provides ``plan``, ``rng``, ``tables`` and the clock helpers."""

    def _history(self, case: dict, reached: set, times: dict, agent: User, customer: dict,
                 offset: int, request: dict | None) -> None:
        """Transitions, contact notes, customer notices, revisit and compensation."""
        rng, t, pk = self.rng, self.t, case["id"]
        actor = case.get("owner_id")
        boss = self.plan.staff["supervisor"].pk
        add = t["transition"].add
        add(case_id=pk, field="stage", name="receive", source="", target=Stage.RECEIVED,
            actor_id=actor, note=self.channel_labels[case["channel"]], at=case["received_at"])
        if case["stage"] == Stage.INVALID:
            add(case_id=pk, field="stage", name="invalidate", source=Stage.RECEIVED,
                target=Stage.INVALID, actor_id=boss, note=case["closing_reason"],
                at=case["closed_at"])
        previous = Stage.RECEIVED
        for step in STAGE_ORDER[1:]:
            if step not in reached:
                break
            at = times[step]
            if step == Stage.TRIAGED:
                add(case_id=pk, field="tier", name="confirm_tier", source="0",
                    target=str(case["suggested_tier"] if case["retiered"] else case["tier"]),
                    actor_id=actor, note="", at=at)
            target = step
            if step == Stage.CLOSED and case.get("follow_up_due_at"):
                target = Stage.FOLLOW_UP
            add(case_id=pk, field="stage", name=TRANSITION_NAMES[step], source=previous,
                target=target, actor_id=None if step == Stage.REVISIT else actor, note="", at=at)
            previous = target
            if step == Stage.TRIAGED and case["retiered"]:
                add(case_id=pk, field="tier", name="retier", source=str(case["suggested_tier"]),
                    target=str(case["tier"]), actor_id=boss, note=S.RETIER_NOTE,
                    at=at + timedelta(minutes=30))
        if request is not None:
            add(case_id=pk, field="request", name="request_help", source="",
                target=RequestStatus.OPEN, actor_id=request["requested_by_id"],
                note=f"{request.pop('department_name')}: {request['ask']}",
                at=request["created_at"])
            add(case_id=pk, field="stage", name="wait_for_department",
                source=Stage.IN_PROGRESS, target=Stage.WAITING_DEPARTMENT, actor_id=None,
                note="", at=request["created_at"])
            if case["stage"] != Stage.WAITING_DEPARTMENT:
                add(case_id=pk, field="stage", name="resume", source=Stage.WAITING_DEPARTMENT,
                    target=Stage.IN_PROGRESS, actor_id=None, note="", at=request["accepted_at"])
        if case.get("follow_up_done_at"):
            add(case_id=pk, field="stage", name="complete_follow_up", source=Stage.FOLLOW_UP,
                target=Stage.CLOSED, actor_id=case.get("handler_id"), note="",
                at=case["follow_up_done_at"])
        note = t["note"].add
        if case.get("first_responded_at"):
            note(case_id=pk, kind=NoteKind.CONTACT, author_id=actor, body=rng.choice(S.CONTACTS),
                 visible_to_customer=False, created_at=case["first_responded_at"])
        if case.get("feedback_given_at"):
            note(case_id=pk, kind=NoteKind.CONTACT, author_id=case.get("handler_id"),
                 body=case["feedback_message"], visible_to_customer=True,
                 created_at=case["feedback_given_at"])
        if offset % LONG_TIMELINE_EVERY == LONG_TIMELINE_EVERY // 2:
            self._long_exchange(case)
        self._notices(case, customer)
        if case.get("resolved_at") and rng.random() < 0.3:
            amount = Decimal(rng.choice([20, 50, 100, 200, 800]))
            t["compensation"].add(
                case_id=pk, kind=rng.choice(_COMPENSATION_KINDS), amount=amount,
                description=S.COMPENSATION, status=CompensationStatus.APPROVED,
                proposed_by_id=case["handler_id"],
                decided_by_id=boss if amount > 500 else case["handler_id"],
                created_at=case["resolved_at"], decided_at=case["resolved_at"])
        if case.get("feedback_given_at"):
            done = case.get("revisit_done_at")
            t["revisit"].add(
                case_id=pk, round=1, due_at=case["revisit_due_at"],
                opened_at=case["revisit_due_at"] if Stage.REVISIT in reached else None,
                token_nonce=f"{rng.getrandbits(64):016x}" if Stage.REVISIT in reached else "",
                answered_at=done, score=case.get("satisfaction_score"),
                method=rng.choice(_REVISIT_METHODS) if done else "")

    def _long_exchange(self, case: dict) -> None:
        """A disputed complaint: the customer writes again and again, the agent answers."""
        at, end = case["received_at"], case.get("closed_at") or self.now
        step = (end - at) / 26
        for i in range(24):
            at += step
            if i % 2 == 0:
                self.t["note"].add(case_id=case["id"], kind=NoteKind.CUSTOMER_MESSAGE,
                                   author_id=None, body=self.rng.choice(S.CUSTOMER_MESSAGES),
                                   visible_to_customer=True, created_at=at)
            else:
                self.t["note"].add(case_id=case["id"], kind=NoteKind.CONTACT,
                                   author_id=case.get("handler_id") or case.get("owner_id"),
                                   body=self.rng.choice(S.CONTACTS), visible_to_customer=True,
                                   created_at=at)

    def _notices(self, case: dict, customer: dict) -> None:
        """The customer's notices: acknowledgement, result feedback, survey invitation,
        follow-up; sent a little after they were queued."""
        kinds = [(NoticeKind.ACKNOWLEDGEMENT, "ack", case["received_at"])]
        if case.get("feedback_given_at"):
            kinds.append((NoticeKind.FEEDBACK, "round1", case["feedback_given_at"]))
        if case.get("revisit_due_at") and case["revisit_due_at"] <= self.now:
            kinds.append((NoticeKind.SURVEY, "round1", case["revisit_due_at"]))
        if case.get("follow_up_done_at"):
            kinds.append((NoticeKind.FOLLOW_UP, "followup1", case["follow_up_done_at"]))
        target = delivery_for(SimpleNamespace(**customer))  # reads the address fields only
        if target is None:
            return
        channel, recipient = target
        for kind, key, at in kinds:
            subject, body = self._text(kind, channel, customer["language"])
            values = (case["reference"], case["tracking_code"], customer["name"])
            for marker, value in zip(MARKERS, values, strict=False):
                subject, body = subject.replace(marker, value), body.replace(marker, value)
            sent = at + self._m(0.1, 3)
            self.t["notice"].add(
                case_id=case["id"], kind=kind, channel=channel, recipient=recipient,
                language=customer["language"], subject=subject[:200], body=body,
                context={"reference": case["reference"]},
                idempotency_key=f"{kind}:{case['id']}:{key}",
                status=NoticeStatus.SENT if sent <= self.now else NoticeStatus.QUEUED,
                attempts=1 if sent <= self.now else 0, created_at=at,
                sent_at=sent if sent <= self.now else None)

    def _text(self, kind: str, channel: str, language: str) -> tuple[str, str]:
        """The notice's text rendered once per kind, channel and language with markers for
        the per-case values (rendering each of millions of notices would dominate)."""
        key = (kind, channel, language)
        if key not in self.plan.texts:
            context = dict(zip(("reference", "tracking_code", "customer_name"), MARKERS,
                               strict=False))
            context.update(S.NOTICE_CONTEXT)
            self.plan.texts[key] = render_notice(kind=kind, channel=channel, language=language,
                                                 context=context)
        return self.plan.texts[key]


