"""Desk forms of the complainant's review 申请核查 (assign / take, conclude)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.choices import CompensationKind, ReviewOutcome, Role
from cases.forms import MAX_AMOUNT, ActionForm, AgentChoiceField, DeskText
from cases.selectors.lists import agents


class ReviewAssignForm(ActionForm):
    reviewer = AgentChoiceField(
        label=_("Reviewer"), queryset=agents().none(),
        help_text=_("A supervisor, or a senior agent when a frontline agent handled the case; "
                    "never the handler or the owner."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = [pk for pk in (self.case.owner_id, self.case.handler_id) if pk]
        self.fields["reviewer"].queryset = agents().filter(
            groups__name__in=[Role.SENIOR, Role.SUPERVISOR]
        ).exclude(Q(pk__in=team))
        if not self.is_bound and self.user.pk not in team:
            self.initial["reviewer"] = self.user.pk


class ReviewConcludeForm(ActionForm):
    outcome = forms.ChoiceField(label=_("Conclusion"), choices=ReviewOutcome.choices,
                                widget=forms.RadioSelect)
    reasons = DeskText(label=_("Reasons (sent to the customer)"), rows=4)
    new_solution = DeskText(label=_("New solution (when the decision is changed)"),
                            rows=3, required=False)
    compensation_kind = forms.ChoiceField(
        label=_("Compensation (optional, when the decision is changed)"), required=False,
        choices=[("", "—"), *CompensationKind.choices],
    )
    compensation_amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=Decimal("0"), max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    compensation_description = forms.CharField(label=_("Details"), required=False,
                                               max_length=300)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("compensation_kind") and data.get("compensation_amount") is None:
            self.add_error("compensation_amount", _("Enter the amount of the compensation."))
        return data
