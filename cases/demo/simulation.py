"""One simulated case, walked along the process relative to now: every step takes a time
drawn inside its deadline (a few steps run late), so the stage a case has reached, its clocks
(running or stopped), their supervision state and the alerts they raised follow from the
times, as they would on a working desk. The rows go into ``tables.Table`` buffers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from cases.choices import (
    Category,
    ChannelKind,
    Clock,
    ContactChannel,
    Difficulty,
    NoteKind,
    Scope,
    SlaState,
    Stage,
    Tier,
    Urgency,
)
from cases.models import SlaPolicy, User
from cases.models.collaboration import RequestStatus
from cases.services.clocks import REVISIT_ANSWER_WINDOW
from cases.services.grouping import matter_key
from cases.services.lifecycle import suggest_tier
from cases.services.sweeps import ALERT_AT_RISK, ALERT_BREACHED, alert_message

from . import samples as S
from .history import DUE_FORMAT, DUE_PROBE, MARKERS, STAGE_ORDER, HistoryWriter

# Room for the clock rows of one case: their ids are planned (alerts refer to them).
DEADLINE_SLOTS = 12
# Share of steps that run late (past their deadline): what makes the few breaches; and of
# steps done close to it (past the at-risk point): what makes the cases at risk.
LATE = 0.025
CLOSE = 0.2
# After the department-request showcases, cases shown standing at these stages now (the
# stage a small demo might otherwise lack): just received, and answered unsatisfied (the
# second follow-up running).
SHOWCASE_HOLDS = (Stage.RECEIVED, Stage.CLOSED)
# Staff read alerts older than this; newer ones are unread.
READ_AFTER = timedelta(hours=8)

# Choice lists read once (each ``.values`` builds a new list).
_CATEGORIES = Category.values
_CONTACT_CHANNELS = ContactChannel.values


@dataclass
class Plan:
    """Everything a chunk of cases needs (picklable: worker processes get a copy)."""

    seed: int
    now: datetime
    days: int
    total: int
    first_case: int
    first_customer: int
    customers: int
    first_request: int
    first_deadline: int
    first_group: int
    staff: dict[str, User]
    departments: list[tuple[int, int | None, str]]  # (id, liaison id, name)
    root_causes: list[int]
    policies: dict[int, SlaPolicy]
    supervisors: list[int]
    featured: int = 0  # the last cases, shaped to show what a demo needs (SHOWCASE_HOLDS)
    # Python writes every ``stride``-th case (and customer); ``copies`` fills the ids between.
    stride: int = 1
    texts: dict[tuple, tuple[str, str]] = field(default_factory=dict)

    def deadline_id(self, case_id: int, slot: int) -> int:
        """The id of clock row ``slot`` of a case: a copy of the case adds its copy number
        (< stride) to every id, so the ids of one slot lie ``stride`` apart."""
        return self.first_deadline + (case_id - self.first_case) * DEADLINE_SLOTS + \
            slot * self.stride


def customer_row(plan: Plan, customer_id: int) -> dict[str, Any]:
    """The customer ``customer_id`` (a pure function of the seed and the id, so any chunk can
    read a customer another chunk wrote)."""
    rng = random.Random(plan.seed * 1_000_003 + customer_id)
    english = rng.random() < 0.2
    name = rng.choice(S.ENGLISH) if english else rng.choice(S.SURNAMES) + rng.choice(S.GIVEN)
    preferred = rng.choice(_CONTACT_CHANNELS)
    return {
        "id": customer_id, "name": name, "phone": f"13{customer_id * 7919 % 10**9:09d}",
        "email": f"customer{customer_id}@example.com" if rng.random() < 0.7 else "",
        "wechat_openid": f"o{customer_id:012d}" if preferred == ContactChannel.WECHAT else "",
        "preferred_channel": preferred, "is_key_customer": rng.random() < 0.03,
        "language": "en" if english else "zh-hans", "created_at": plan.now,
    }


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


class CaseWriter(HistoryWriter):
    """Simulates cases of one chunk into ``tables`` (a dict of model name -> Table)."""

    def __init__(self, plan: Plan, rng: random.Random, tables: dict) -> None:
        self.plan, self.rng, self.t, self.now = plan, rng, tables, plan.now
        self.groups: dict[str, dict[str, Any]] = {}
        self.users = {u.pk: u for u in plan.staff.values()}
        self.channel_labels = {c.value: str(c.label) for c in ChannelKind}

    # --- helpers ---------------------------------------------------------------------------
    def _m(self, lo: float, hi: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(lo, hi))

    def _within(self, start: datetime, minutes: int, lo: float = 0.05,
                hi: float = 0.7) -> datetime:
        """A step done well inside its allowed time, or close to it (past the at-risk point),
        or (now and then) late."""
        draw = self.rng.random()
        if draw < LATE:
            return start + self._m(minutes * 1.02, minutes * 1.4)
        if draw < LATE + CLOSE:
            return start + self._m(minutes * 0.75, minutes)
        return start + self._m(minutes * lo, minutes * hi)

    def _received_at(self, offset: int) -> datetime:
        """Case ``offset`` of the run: received times grow with the ids, with more cases
        lately (volume grows), during the day more than at night."""
        plan = self.plan
        u = (offset + self.rng.random()) / max(plan.total, 1)
        at = plan.now - timedelta(days=plan.days) * ((1 - u) ** 1.6)
        hour = timezone.localtime(at).hour
        if hour < 8 and self.rng.random() < 0.8:
            at = min(at + timedelta(hours=9), plan.now - self._m(1, 30))
        return at

    # --- one case --------------------------------------------------------------------------
    def case(self, offset: int) -> None:
        plan, rng, now, m = self.plan, self.rng, self.now, self._m
        pk = plan.first_case + offset
        showcase = offset - (plan.total - plan.featured)  # >= 0: one of the showcase cases
        hold = SHOWCASE_HOLDS[showcase - 2 * len(plan.departments)] if (
            showcase >= 2 * len(plan.departments)) else None
        featured = showcase >= 0 and hold is None  # waits on a department
        received = self._received_at(offset)
        category = rng.choice(_CATEGORIES)
        urgency = Urgency.EMERGENCY if rng.random() < 0.04 else Urgency.ROUTINE
        scope = Scope.GROUP if rng.random() < 0.03 else Scope.INDIVIDUAL
        cross = featured or rng.random() < 0.22
        difficulty = Difficulty.CROSS_DEPARTMENT if cross else Difficulty.FRONTLINE
        suggested = suggest_tier(urgency=urgency, scope=scope, difficulty=difficulty)
        retiered = rng.random() < 0.05
        tier = suggested if not retiered else rng.choice([t for t in (1, 2, 3) if t != suggested])
        p = plan.policies[tier]
        if featured:  # waiting on a department: the first close to the department's
            # deadline (at risk), the second past its own solution deadline, the rest on time
            received = now - (m(21 * 60, 22 * 60) if showcase == 0 else
                              timedelta(minutes=p.solution_minutes) + m(60, 180)
                              if showcase == 1 else m(300, 600))
        channel = _weighted(rng, S.CHANNEL_WEIGHTS)
        staff = plan.staff
        agent = staff[rng.choice(["agent", "agent", "agent2", "agent2", "senior"])]
        handler = staff["supervisor"] if tier == Tier.URGENT else (
            staff["senior"] if tier == Tier.IMPORTANT and rng.random() < 0.5 else agent)
        department = plan.departments[offset % len(plan.departments)] if featured else (
            rng.choice(plan.departments) if cross else None)

        # When each step happens (if it happens before now).
        spoken = channel in (ChannelKind.HOTLINE, ChannelKind.WALK_IN, ChannelKind.CALL_CENTRE)
        triaged = received + m(2, 40)
        assigned = self._within(received, p.assign_minutes, 0.1, 0.6)
        assigned = max(assigned, triaged + m(1, 10))
        responded = received if spoken else self._within(received, p.response_minutes)
        started = max(assigned, responded) + m(1, 30)
        resolved = max(self._within(received, p.solution_minutes, 0.15, 0.75), started + m(20, 90))
        fed_back = self._within(resolved, p.feedback_minutes, 0.02, 0.5)
        revisit_due = fed_back + timedelta(minutes=p.revisit_minutes)
        window = REVISIT_ANSWER_WINDOW.total_seconds() / 60
        answered = revisit_due + (m(5, window * 0.3) if rng.random() < 0.8 else m(5, window * 0.8))
        satisfied = rng.random() < 0.88
        score = rng.choice([4, 5, 5]) if satisfied else rng.choice([1, 2, 3])
        followed = self._within(answered, p.follow_up_minutes, 0.1, 0.6)
        times = {Stage.TRIAGED: triaged, Stage.ASSIGNED: assigned, Stage.IN_PROGRESS: started,
                 Stage.RESOLVED: resolved, Stage.FEEDBACK_GIVEN: fed_back,
                 Stage.REVISIT: revisit_due, Stage.CLOSED: answered}
        if hold is not None:  # the case stands at ``hold`` now: every time moves as one
            then = received if hold == Stage.RECEIVED else times[hold]
            after = followed if hold == Stage.CLOSED else times[
                STAGE_ORDER[STAGE_ORDER.index(hold) + 1]]
            delta = now - (after - then) * 0.3 - then
            received, triaged, assigned, responded, started, resolved, fed_back, revisit_due, \
                answered, followed = (t + delta for t in (
                    received, triaged, assigned, responded, started, resolved, fed_back,
                    revisit_due, answered, followed))
            times = {step: t + delta for step, t in times.items()}
            if hold == Stage.CLOSED:  # answered unsatisfied: the second follow-up runs
                satisfied, score = False, 2
        if featured:  # waiting on the department, its request open and on time
            resolved = fed_back = revisit_due = answered = now + timedelta(days=3)
            for step in (Stage.RESOLVED, Stage.FEEDBACK_GIVEN, Stage.REVISIT, Stage.CLOSED):
                times[step] = resolved
        stage = Stage.RECEIVED
        for step in STAGE_ORDER[1:]:
            if times[step] <= now:
                stage = step
        invalid = showcase < 0 and rng.random() < 0.025
        if invalid:
            stage = Stage.INVALID
        elif stage == Stage.CLOSED and not satisfied:
            stage = Stage.FOLLOW_UP if followed > now else Stage.CLOSED
        reached = {s for s in STAGE_ORDER if s == Stage.RECEIVED or times[s] <= now}
        if invalid:
            reached = {Stage.RECEIVED}
        zh, en = rng.choice(S.SUBJECTS[category])
        customer_id = plan.first_customer + \
            rng.randrange(plan.customers // plan.stride) * plan.stride
        customer = customer_row(plan, customer_id)
        english = customer["language"] == "en"
        order_ref = f"SO-{rng.randint(10000, 99999)}" if rng.random() < 0.7 else ""
        case: dict[str, Any] = {
            "id": pk, "reference": f"TS-{timezone.localtime(received).year}-{pk:06d}",
            "tracking_code": f"{rng.getrandbits(40):010X}", "customer_id": customer_id,
            "channel": channel, "received_at": received,
            "occurred_at": received - m(60, 4 * 1440), "category": category,
            "subject": en if english else zh,
            "description": (f"{en}. {rng.choice(S.DESCRIPTIONS_EN)}" if english
                            else f"{zh}。{rng.choice(S.DESCRIPTIONS_ZH)}"),
            "order_ref": order_ref, "urgency": urgency, "scope": scope,
            "difficulty": difficulty, "suggested_tier": suggested,
            "tier": tier if Stage.TRIAGED in reached else Tier.UNTRIAGED,
            "stage": stage, "retiered": retiered and Stage.TRIAGED in reached,
            "owner_id": agent.pk if (spoken or Stage.TRIAGED in reached) else None,
            "department_id": department[0] if department else None,
            "created_at": received, "updated_at": received,
        }
        eff = p if case["tier"] else plan.policies[suggested]
        case["assign_due_at"] = received + timedelta(minutes=eff.assign_minutes)
        case["response_due_at"] = received + timedelta(minutes=eff.response_minutes)
        case["solution_due_at"] = received + timedelta(minutes=eff.solution_minutes)
        if responded <= now and not invalid and (spoken or Stage.TRIAGED in reached):
            case["first_responded_at"] = responded
        if Stage.ASSIGNED in reached:
            case.update(handler_id=handler.pk, assigned_at=assigned,
                        progress_due_at=assigned + timedelta(minutes=p.progress_minutes))
        if Stage.RESOLVED in reached:
            case.update(resolved_at=resolved, root_cause_id=rng.choice(plan.root_causes),
                        solution=S.SOLUTION_EN if english else S.SOLUTION_ZH,
                        feedback_due_at=resolved + timedelta(minutes=p.feedback_minutes))
        if Stage.FEEDBACK_GIVEN in reached:
            case.update(feedback_given_at=fed_back, feedback_message=S.FEEDBACK_ZH,
                        preventive_measures=S.MEASURES_ZH, revisit_due_at=revisit_due)
        if Stage.CLOSED in reached:
            case.update(revisit_done_at=answered, satisfaction_score=score, satisfied=satisfied)
            if satisfied:
                case["closed_at"] = answered
            else:
                case["follow_up_due_at"] = answered + timedelta(minutes=p.follow_up_minutes)
                if stage == Stage.CLOSED:
                    case.update(follow_up_done_at=followed, closed_at=followed)
        if invalid:
            case.update(closed_at=received + m(30, 600), closing_reason=S.WITHDRAWN)
        if department and stage == Stage.IN_PROGRESS and (featured or rng.random() < 0.35):
            case["stage"] = stage = Stage.WAITING_DEPARTMENT
        if scope == Scope.GROUP and order_ref:
            case["group_id"] = self._group(pk, category, order_ref, received)
        case["updated_at"] = max(v for v in case.values() if isinstance(v, datetime)
                                 and v <= now)
        worker = case.get("owner_id") or case.get("handler_id")
        rows = self._clocks(case, p, reached, times, worker)
        request = self._request(case, p, times, department, featured, worker, rows)
        self._apply_sla(case, rows)
        self.t["case"].add(**case)
        self._history(case, reached, times, agent, customer, offset, request)

    # --- clocks ----------------------------------------------------------------------------
    def _clocks(self, case: dict, p: SlaPolicy, reached: set, times: dict,
                worker: int | None) -> list[dict]:
        """Every clock the case ran: (start, due, stop) by the process, state as of now."""
        now, received = self.now, case["received_at"]
        stop_all = case.get("closed_at") if case["stage"] == Stage.INVALID else None
        clocks: list[tuple[str, datetime, datetime, datetime | None]] = [
            (Clock.ASSIGN, received, case["assign_due_at"],
             case.get("assigned_at") or stop_all),
            (Clock.RESPONSE, received, case["response_due_at"],
             case.get("first_responded_at") or stop_all),
            (Clock.SOLUTION, received, case["solution_due_at"],
             case.get("resolved_at") or stop_all),
        ]
        if case.get("assigned_at"):
            start = case["assigned_at"]
            end = case.get("resolved_at")
            while True:  # a progress note every so often restarts the clock
                note = self._within(start, p.progress_minutes, 0.3, 0.74)
                due = start + timedelta(minutes=p.progress_minutes)
                if (end and note >= end) or note > now:
                    clocks.append((Clock.PROGRESS, start, due, end))
                    break
                clocks.append((Clock.PROGRESS, start, due, note))
                self.t["note"].add(case_id=case["id"], kind=NoteKind.PROGRESS,
                                   author_id=case.get("handler_id"),
                                   body=self.rng.choice(S.PROGRESS_NOTES),
                                   visible_to_customer=True, created_at=note)
                start = note
        if case.get("resolved_at"):
            clocks.append((Clock.FEEDBACK, case["resolved_at"], case["feedback_due_at"],
                           case.get("feedback_given_at")))
        if case.get("feedback_given_at"):
            clocks.append((Clock.REVISIT, case["feedback_given_at"],
                           case["revisit_due_at"] + REVISIT_ANSWER_WINDOW,
                           case.get("revisit_done_at")))
        if case.get("follow_up_due_at"):
            clocks.append((Clock.FOLLOW_UP, case["revisit_done_at"], case["follow_up_due_at"],
                           case.get("follow_up_done_at")))
        ratio = float(p.at_risk_ratio)
        rows = []
        if len(clocks) > DEADLINE_SLOTS - 1:  # a long one: its earliest progress clocks go
            clocks = clocks[:3] + clocks[3 - (DEADLINE_SLOTS - 1):]  # (the latest run on)
        for i, (clock, start, due, stop) in enumerate(clocks):
            rows.append(self._deadline(self.plan.deadline_id(case["id"], i), case, clock,
                                       start, due, stop, ratio, worker))
        return rows

    def _deadline(self, pk: int, case: dict, clock: str, start: datetime, due: datetime,
                  stop: datetime | None, ratio: float, worker: int | None,
                  request_id: int | None = None, liaison: int | None = None) -> dict:
        """One clock row, its state as the sweep would have left it, and the alerts the
        sweep raised on the way (owner or handler, the supervisor, the liaison at risk)."""
        risk = start + (due - start) * ratio
        until = stop or self.now
        state = (SlaState.BREACHED if until >= due else
                 SlaState.AT_RISK if until >= risk else SlaState.ON_TIME)
        row = {"id": pk, "case_id": case["id"], "clock": clock, "request_id": request_id,
               "started_at": start, "risk_at": risk, "due_at": due, "stopped_at": stop,
               "state": state, "breached_at": due if state == SlaState.BREACHED else None}
        self.t["deadline"].add(**row)
        if state != SlaState.ON_TIME:
            people = {p for p in (worker, *self.plan.supervisors) if p}
            self._alert(people, case, row, ALERT_AT_RISK, risk)
            if liaison:
                self._alert({liaison}, case, row, ALERT_AT_RISK, risk)
            if state == SlaState.BREACHED:
                self._alert(people, case, row, ALERT_BREACHED, due)
        return row

    def _alert(self, people: set[int], case: dict, row: dict, kind: str,
               at: datetime) -> None:
        for person in people:
            text, zone = self._alert_text(kind, row["clock"], person)
            due = timezone.localtime(row["due_at"], zone).strftime(DUE_FORMAT)
            message = text.replace(MARKERS[0], case["reference"]).replace(MARKERS[3], due)
            self.t["alert"].add(
                recipient_id=person, case_id=case["id"], deadline_id=row["id"], kind=kind,
                message=message, created_at=at,
                read_at=at + self._m(5, 240) if self.now - at > READ_AFTER else None)

    def _alert_text(self, kind: str, clock: str, person: int) -> tuple[str, ZoneInfo]:
        """The sweep's alert text for the recipient, rendered once per kind, clock and person
        with markers for the reference and the due time, and the recipient's time zone."""
        key = (kind, clock, person)
        if key not in self.plan.texts:
            user = self.users[person]
            zone = ZoneInfo(user.time_zone or settings.TIME_ZONE)
            text = alert_message(kind=kind, reference=MARKERS[0], clock=clock, due_at=DUE_PROBE,
                                 user=user)
            due = timezone.localtime(DUE_PROBE, zone).strftime(DUE_FORMAT)
            self.plan.texts[key] = (text.replace(due, MARKERS[3]), zone)
        return self.plan.texts[key]

    def _apply_sla(self, case: dict, rows: list[dict]) -> None:
        """The case's copy of its running clocks (what the desk reads) and breach flags."""
        running = [r for r in rows if r["stopped_at"] is None]
        case["next_due_at"] = min((r["due_at"] for r in running), default=None)
        case["next_risk_at"] = min((r["risk_at"] for r in running), default=None)
        states = {r["state"] for r in running}
        case["sla_state"] = (SlaState.BREACHED if SlaState.BREACHED in states else
                             SlaState.AT_RISK if SlaState.AT_RISK in states else SlaState.ON_TIME)
        case["ever_breached"] = any(r["state"] == SlaState.BREACHED for r in rows)
        case["response_breached"] = any(r["state"] == SlaState.BREACHED
                                        and r["clock"] == Clock.RESPONSE for r in rows)
        if case["stage"] in (Stage.CLOSED, Stage.INVALID):
            case["sla_state"] = SlaState.ON_TIME

    # --- collaboration ---------------------------------------------------------------------
    def _request(self, case: dict, p: SlaPolicy, times: dict, department, featured: bool,
                 worker: int | None, rows: list[dict]) -> dict | None:
        """The department request of a cross-department case once handling started: open or
        answered while the case waits, accepted while it is handled, done once resolved."""
        started = times[Stage.IN_PROGRESS]
        if department is None or case["stage"] in (Stage.INVALID,) or started > self.now:
            return None
        rng, now, m = self.rng, self.now, self._m
        dept_id, liaison, _name = department
        created = started + m(5, 90)
        if featured and now - started > timedelta(hours=20):
            created = now - timedelta(hours=19, minutes=30)
        if case.get("resolved_at"):
            created = min(created, case["resolved_at"] - m(30, 60))
        if created > now:
            created = started + (now - started) / 2
        allowed = timedelta(minutes=p.department_minutes)
        answered = self._within(created, p.department_minutes, 0.1, 0.7)
        if case.get("resolved_at"):
            answered = min(answered, created + (case["resolved_at"] - created) * 0.6)
        waiting = case["stage"] == Stage.WAITING_DEPARTMENT
        status = RequestStatus.DONE if case.get("resolved_at") else RequestStatus.ACCEPTED
        if waiting:
            status = RequestStatus.ANSWERED if answered <= now and not featured else (
                RequestStatus.OPEN)
        if status == RequestStatus.ACCEPTED and answered > now:
            status = RequestStatus.OPEN
            case["stage"] = Stage.WAITING_DEPARTMENT
        answered_at = answered if status != RequestStatus.OPEN else None
        accepted = None
        if status in (RequestStatus.ACCEPTED, RequestStatus.DONE):
            accepted = min(answered + m(5, 60), case.get("resolved_at") or now)
        requester = case.get("handler_id") or case.get("owner_id") or \
            self.plan.staff["supervisor"].pk
        pk = self.plan.first_request + case["id"] - self.plan.first_case
        request = {
            "id": pk, "case_id": case["id"], "department_id": dept_id,
            "requested_by_id": requester, "ask": rng.choice(S.ASKS), "status": status,
            "created_at": created, "due_at": created + allowed,
            "plan": S.PLAN if answered_at else "",
            "answered_by_id": liaison if answered_at else None, "answered_at": answered_at,
            "accepted_at": accepted, "accepted_by_id": requester if accepted else None,
            "closing_note": S.DONE if status == RequestStatus.DONE else "",
            "closed_by_id": requester if status == RequestStatus.DONE else None,
            "closed_at": case.get("resolved_at") if status == RequestStatus.DONE else None,
        }
        self.t["request"].add(**request)
        request["department_name"] = _name
        rows.append(self._deadline(
            self.plan.deadline_id(case["id"], DEADLINE_SLOTS - 1), case, Clock.DEPARTMENT,
            created, created + allowed,
            answered_at, float(p.at_risk_ratio), worker, request_id=pk, liaison=liaison))
        return request

    # --- groups ----------------------------------------------------------------------------
    def _group(self, pk: int, category: str, order_ref: str, received: datetime) -> int:
        """Group complaints: several customers on one matter within a few days."""
        open_groups = [g for g in self.groups.values() if g["category"] == category
                       and received - g["last_received_at"] < timedelta(days=3)
                       and g["case_count"] < 8]
        if open_groups:
            group = open_groups[0]
        else:
            group = {"id": self.plan.first_group + pk - self.plan.first_case,
                     "key": matter_key(category, order_ref, ""), "category": category,
                     "matter": order_ref, "first_received_at": received, "case_count": 0,
                     "created_at": received}
            self.groups[group["key"]] = group
        group["last_received_at"] = received
        group["case_count"] += 1
        return group["id"]

    def flush_groups(self) -> None:
        for group in self.groups.values():
            self.t["group"].add(**group)
        self.groups = {}

    # --- history ---------------------------------------------------------------------------
