"""Transitions are read through django-fsm-2's public API: the desk shows the same steps per
role and stage, the transition log records the machine moved, and a wildcard source is found
the way django-fsm finds it."""

from __future__ import annotations

import pytest
from django.db import models
from django.test.utils import isolate_apps
from django_fsm import ANY_OTHER_STATE, ANY_STATE, FSMField, transition

from cases import services
from cases.choices import Difficulty, Role, Scope, Stage, Tier, Urgency
from cases.models import CaseTransition
from cases.services.transitions import current_transition, transitions_named
from cases.views.actions import actions_for
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

# The steps (in button order) each person sees on a tier-3 case owned by ``owner`` and
# handled by ``handler`` (both frontline agents), at each stage. Recorded from the desk
# before it stopped reading django-fsm's private metadata; it must not change.
EXPECTED: dict[str, dict[str, list[str]]] = {
    "received": {
        "owner": ["triage", "invalidate", "record_contact", "propose_compensation"],
        "handler": ["triage", "record_contact"],
        "outsider": ["triage", "record_contact"],
        "senior": ["triage", "record_contact"],
        "supervisor": ["triage", "invalidate", "transfer_ownership", "record_contact",
            "propose_compensation"],
        "liaison": [],
    },
    "triaged": {
        "owner": ["assign", "invalidate", "record_contact", "propose_compensation"],
        "handler": ["record_contact"],
        "outsider": ["record_contact"],
        "senior": ["record_contact"],
        "supervisor": ["assign", "invalidate", "retier", "transfer_ownership", "record_contact",
            "propose_compensation"],
        "liaison": [],
    },
    "assigned": {
        "owner": ["start", "invalidate", "record_contact", "propose_compensation"],
        "handler": ["start", "record_contact", "propose_compensation"],
        "outsider": ["record_contact"],
        "senior": ["record_contact"],
        "supervisor": ["start", "invalidate", "retier", "transfer_ownership", "record_contact",
            "propose_compensation"],
        "liaison": [],
    },
    "in_progress": {
        "owner": ["resolve", "invalidate", "record_contact", "propose_compensation"],
        "handler": ["resolve", "record_contact", "propose_compensation"],
        "outsider": ["record_contact"],
        "senior": ["record_contact"],
        "supervisor": ["resolve", "invalidate", "retier", "transfer_ownership", "record_contact",
            "propose_compensation"],
        "liaison": [],
    },
    "waiting_department": {
        "owner": ["invalidate", "record_contact", "propose_compensation"],
        "handler": ["record_contact", "propose_compensation"],
        "outsider": ["record_contact"],
        "senior": ["record_contact"],
        "supervisor": ["invalidate", "retier", "transfer_ownership", "record_contact",
            "propose_compensation"],
        "liaison": [],
    },
    "resolved": {
        "owner": ["give_feedback", "invalidate", "record_contact", "propose_compensation"],
        "handler": ["give_feedback", "record_contact", "propose_compensation"],
        "outsider": ["record_contact"],
        "senior": ["record_contact"],
        "supervisor": ["give_feedback", "invalidate", "retier", "transfer_ownership",
            "record_contact", "propose_compensation"],
        "liaison": [],
    },
    "feedback_given": {
        "owner": ["record_revisit", "invalidate", "record_contact"],
        "handler": ["record_revisit", "record_contact"],
        "outsider": ["record_revisit", "record_contact"],
        "senior": ["record_revisit", "record_contact"],
        "supervisor": ["record_revisit", "invalidate", "retier", "transfer_ownership",
            "record_contact"],
        "liaison": [],
    },
    "revisit": {
        "owner": ["record_revisit", "invalidate", "record_contact"],
        "handler": ["record_revisit", "record_contact"],
        "outsider": ["record_revisit", "record_contact"],
        "senior": ["record_revisit", "record_contact"],
        "supervisor": ["record_revisit", "invalidate", "retier", "transfer_ownership",
            "record_contact"],
        "liaison": [],
    },
    "follow_up": {
        "owner": ["complete_follow_up", "invalidate", "record_contact", "propose_compensation"],
        "handler": ["complete_follow_up", "record_contact", "propose_compensation"],
        "outsider": ["record_contact"],
        "senior": ["record_contact"],
        "supervisor": ["complete_follow_up", "invalidate", "retier", "transfer_ownership",
            "record_contact", "propose_compensation"],
        "liaison": [],
    },
    # The complainant's review (issue 19): the case team never reviews its own answer; a
    # senior agent reviews a frontline agent's case; supervisors review and assign reviews.
    "under_review": {
        "owner": ["record_contact"],
        "handler": ["record_contact"],
        "outsider": ["record_contact"],
        "senior": ["conclude_review", "record_contact"],
        "supervisor": ["conclude_review", "assign_review", "retier", "transfer_ownership",
            "record_contact"],
        "liaison": [],
    },
    "closed": {
        "owner": ["reopen"],
        "handler": [],
        "outsider": [],
        "senior": [],
        "supervisor": ["reopen", "retier"],
        "liaison": [],
    },
    "invalid": {
        "owner": [],
        "handler": [],
        "outsider": [],
        "senior": [],
        "supervisor": [],
        "liaison": [],
    },
}


@pytest.fixture
def people():
    return {
        "owner": UserFactory(username="p-owner", role=Role.FRONTLINE),
        "handler": UserFactory(username="p-handler", role=Role.FRONTLINE),
        "outsider": UserFactory(username="p-outsider", role=Role.FRONTLINE),
        "senior": UserFactory(username="p-senior", role=Role.SENIOR),
        "supervisor": UserFactory(username="p-supervisor", role=Role.SUPERVISOR),
        "liaison": UserFactory(username="p-liaison", role=Role.LIAISON),
    }


@pytest.mark.parametrize("stage", Stage.values)
def test_the_steps_shown_per_role_and_stage_are_unchanged(people, stage):
    handler = people["handler"] if stage not in (Stage.RECEIVED, Stage.TRIAGED,
                                                 Stage.INVALID) else None
    case = CaseFactory(stage=stage, actor=people["owner"], handler=handler,
                       channel_kind="hotline")
    seen = {who: [a.name for a in actions_for(case, user)] for who, user in people.items()}
    assert seen == EXPECTED[stage]


def test_the_log_records_which_machine_each_transition_moved(frontline, supervisor):
    case = CaseFactory(actor=frontline, channel_kind="hotline")
    services.case_triage(actor=frontline, case_id=case.pk, urgency=Urgency.ROUTINE,
                         scope=Scope.INDIVIDUAL, difficulty=Difficulty.FRONTLINE,
                         tier=Tier.ROUTINE)
    services.case_retier(actor=supervisor, case_id=case.pk, tier=Tier.IMPORTANT, reason="影响大")

    rows = list(CaseTransition.objects.filter(case=case).order_by("pk")
                .values_list("field", "name", "source", "target", "actor_id"))

    assert rows[-3:] == [
        ("tier", "confirm_tier", "0", "3", frontline.pk),
        ("stage", "triage", "received", "triaged", frontline.pk),
        ("tier", "retier", "3", "2", supervisor.pk),
    ]


@isolate_apps("cases")
def test_a_source_is_matched_as_django_fsm_matches_it():
    class Door(models.Model):
        state = FSMField(default="closed")

        class Meta:
            app_label = "cases"

        def __str__(self) -> str:
            return self.state

        @transition(field=state, source="closed", target="open", custom={"from": "closed"})
        @transition(field=state, source=ANY_STATE, target="open", custom={"from": "any"})
        def open(self) -> None:
            pass

        @transition(field=state, source=ANY_OTHER_STATE, target="locked")
        def lock(self) -> None:
            pass

    field, exact = current_transition(Door(state="closed"), "open")
    assert field == "state" and exact.custom == {"from": "closed"}
    assert current_transition(Door(state="ajar"), "open")[1].custom == {"from": "any"}
    assert current_transition(Door(state="open"), "lock")[1].source == ANY_OTHER_STATE
    assert current_transition(Door(state="locked"), "lock") == ("state", None)
    assert {t.source for t in transitions_named(Door(), "open")[1]} == {"closed", ANY_STATE}
    with pytest.raises(AttributeError):
        transitions_named(Door(), "save")
