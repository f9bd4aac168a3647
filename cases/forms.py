"""Forms of the agent desk. Each asks for what one step needs; the domain rules themselves
are checked by the service the view calls (its errors come back onto the form)."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cases import selectors
from cases.choices import (
    MAX_FREE_TEXT,
    CompensationKind,
    ContactChannel,
    Difficulty,
    NoteKind,
    Role,
    Scope,
    Tier,
    Urgency,
)
from cases.ids import parse_id
from cases.models import Case, Department, RootCause, User
from channels.forms import MultipleFileField

TIER_CHOICES = [(t.value, t.label) for t in Tier if t != Tier.UNTRIAGED]
SCORE_CHOICES = [
    (5, _("5 — very satisfied")),
    (4, _("4 — satisfied")),
    (3, _("3 — neutral")),
    (2, _("2 — dissatisfied")),
    (1, _("1 — very dissatisfied")),
]
MAX_AMOUNT = Decimal("99999999.99")


def _textarea(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class DeskText(forms.CharField):
    """A free-text box of ``rows`` lines, at most MAX_FREE_TEXT characters (the browser
    stops typing there; a longer post is a form error)."""

    def __init__(self, *, rows: int = 4, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_FREE_TEXT)
        super().__init__(widget=_textarea(rows), **kwargs)


def _coerce_id(value: str) -> int:
    """An id for a typed choice field's ``coerce`` (its ValueError is "Select a valid
    choice"): see IdMultipleChoiceField."""
    pk = parse_id(value)
    if pk is None:
        raise ValueError(value)
    return pk


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses an id no primary key can have with "Select a valid choice" before querying:
    Django range-checks ids in single-value lookups only, and SQLite raised OverflowError on
    the ``pk__in`` of an id past 64 bits (a 500)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            for pk in value:
                if parse_id(str(pk)) is None:
                    raise forms.ValidationError(self.error_messages["invalid_choice"],
                                                code="invalid_choice", params={"value": pk})
        return super().clean(value)


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class AgentMultipleChoiceField(IdMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class DeskForm(forms.Form):
    """Base: a crispy helper without its own <form> tag (templates add tag and buttons)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class ActionForm(DeskForm):
    """A step on one case. ``version`` is the case version the agent saw: the service refuses
    the step if somebody changed the case since (ConflictError)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        self.case = case
        self.user = user
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["version"].initial = case.version

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class TriageForm(ActionForm):
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices,
                                widget=forms.RadioSelect)
    scope = forms.ChoiceField(label=_("Impact scope"), choices=Scope.choices,
                              widget=forms.RadioSelect)
    difficulty = forms.ChoiceField(label=_("Difficulty"), choices=Difficulty.choices,
                                   widget=forms.RadioSelect)
    tier = forms.TypedChoiceField(
        label=_("Confirmed tier"), choices=TIER_CHOICES, coerce=int,
        help_text=_("The system suggests a tier from the three dimensions; confirm or "
                    "change it."),
    )
    note = DeskText(label=_("Note"), required=False, rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.update(urgency=self.case.urgency, scope=self.case.scope,
                                difficulty=self.case.difficulty, tier=self.case.suggested_tier)
        self.helper.layout = Layout(
            Row(Column("urgency", css_class="col-md-4"), Column("scope", css_class="col-md-4"),
                Column("difficulty", css_class="col-md-4")),
            "tier", "note", "version",
        )


def _handlers_for(tier: int) -> Any:
    """Who may handle a case of ``tier`` (tier 2: senior agents; the supervisors always)."""
    if tier == Tier.IMPORTANT:
        return selectors.agents().filter(groups__name__in=[Role.SENIOR, Role.SUPERVISOR])
    return selectors.agents()


class AssignForm(ActionForm):
    handler = AgentChoiceField(label=_("Handler"), queryset=User.objects.none())
    department = forms.ModelChoiceField(
        label=_("Business department"), queryset=Department.objects.none(), required=False,
        help_text=_("Required for tier 1: the department on the task force."),
    )
    task_force = AgentMultipleChoiceField(
        label=_("Task force"), queryset=User.objects.none(), required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Tier 1 only: the agents and managers working the case with the handler."),
    )
    note = DeskText(label=_("Note"), required=False, rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["handler"].queryset = _handlers_for(self.case.tier)
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        if self.case.tier == Tier.URGENT:
            self.fields["task_force"].queryset = selectors.agents()
            self.fields["department"].required = True
        else:
            del self.fields["task_force"]
        if not self.is_bound:
            self.initial.setdefault("department", self.case.department_id)
            if self.case.tier == Tier.ROUTINE and self.case.owner_id:
                self.initial.setdefault("handler", self.case.owner_id)


class StartForm(ActionForm):
    contact_summary = DeskText(
        label=_("First response: what you told the customer"),
        required=False,
        help_text=_("Call or message the customer and summarise the contact. It counts as "
                    "the first response."), rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case.first_responded_at is None:
            self.fields["contact_summary"].required = True
        else:
            self.fields["contact_summary"].label = _("Contact with the customer (optional)")
            self.fields["contact_summary"].help_text = _(
                "The customer has had a first response already."
            )


class CompensationFieldsMixin(forms.Form):
    """Optional compensation, offered with the resolution."""

    compensation_kind = forms.ChoiceField(
        label=_("Compensation"), required=False,
        choices=[("", _("No compensation"))] + list(CompensationKind.choices),
    )
    compensation_amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=Decimal("0"), max_value=MAX_AMOUNT,
        decimal_places=2,
    )
    compensation_description = forms.CharField(
        label=_("Compensation details"), required=False, max_length=300,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind, amount = data.get("compensation_kind"), data.get("compensation_amount")
        if kind and amount is None and "compensation_amount" not in self.errors:
            self.add_error("compensation_amount", _("Enter the amount of the compensation."))
        if amount is not None and not kind:
            self.add_error("compensation_kind", _("Choose the kind of compensation."))
        return data


class ResolveForm(CompensationFieldsMixin, ActionForm):
    solution = DeskText(label=_("Solution"), rows=5)
    root_cause = forms.ModelChoiceField(label=_("Root cause"), queryset=RootCause.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = RootCause.objects.filter(is_active=True)
        self.helper.layout = Layout(
            "solution", "root_cause",
            Fieldset(
                _("Compensation (optional)"),
                Row(Column("compensation_kind", css_class="col-md-4"),
                    Column("compensation_amount", css_class="col-md-3"),
                    Column("compensation_description", css_class="col-md-5")),
            ),
            "version",
        )


class FeedbackForm(ActionForm):
    message = DeskText(
        label=_("Message to the customer"),
        help_text=_("The result of the handling. Approved compensation is named in the "
                    "notice automatically."), rows=5)
    preventive_measures = DeskText(
        label=_("Preventive measures"),
        help_text=_("What was changed so that it does not happen again."), rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.case.solution:
            self.initial.setdefault("message", self.case.solution)


class RevisitForm(ActionForm):
    score = forms.TypedChoiceField(label=_("Satisfaction"), choices=SCORE_CHOICES, coerce=int,
                                   widget=forms.RadioSelect)
    comment = DeskText(label=_("What the customer said"), required=False, rows=3)


class FollowUpForm(ActionForm):
    message = DeskText(
        label=_("Extra compensation or adjusted plan delivered"),
        help_text=_("The customer is told this message."), rows=4)


class ReasonForm(ActionForm):
    reason = DeskText(label=_("Reason"), rows=3)


class RetierForm(ActionForm):
    tier = forms.TypedChoiceField(label=_("New tier"), choices=TIER_CHOICES, coerce=int)
    reason = DeskText(label=_("Reason for the change"), rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [c for c in TIER_CHOICES if c[0] != self.case.tier]


class TransferForm(ActionForm):
    new_owner = AgentChoiceField(label=_("New owner"), queryset=User.objects.none())
    reason = DeskText(label=_("Reason for the transfer"), rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = selectors.agents().exclude(pk=self.case.owner_id)


class ContactForm(ActionForm):
    summary = DeskText(label=_("Summary of the contact"), rows=3)
    visible_to_customer = forms.BooleanField(
        label=_("Show on the customer's tracking page"), required=False,
    )


class CompensationForm(ActionForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=CompensationKind.choices)
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0"), max_value=MAX_AMOUNT,
                                decimal_places=2)
    description = forms.CharField(label=_("Details"), required=False, max_length=300)


class NoteForm(DeskForm):
    """An internal note or a progress update (which restarts the progress-sync clock)."""

    kind = forms.ChoiceField(
        label=_("Kind"), widget=forms.RadioSelect, initial=NoteKind.PROGRESS,
        choices=[(NoteKind.PROGRESS, NoteKind.PROGRESS.label),
                 (NoteKind.INTERNAL, NoteKind.INTERNAL.label)],
    )
    body = DeskText(label=_("Text"), rows=3, help_text=_(
        "Type @ and a name to mention a colleague or a department: they get an alert."))
    visible_to_customer = forms.BooleanField(
        label=_("Progress update visible on the customer's tracking page"), required=False,
    )
    files = MultipleFileField(label=_("Files"), help_text=_("Kept on the case for the desk."))


class ReplyForm(DeskForm):
    """A reply to the customer on one of their channels, with files (sent by e-mail)."""

    body = DeskText(label=_("Reply to the customer"), rows=5)
    channel = forms.ChoiceField(label=_("Send by"), choices=[])
    files = MultipleFileField(
        label=_("Files"),
        help_text=_("Sent by e-mail. With SMS or WeChat the text says the files went to the "
                    "customer's e-mail address."))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, customer: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_reply_%s")
        super().__init__(*args, **kwargs)
        from cases.services.notices import delivery_options

        labels = dict(ContactChannel.choices)
        self.fields["channel"].choices = [
            (channel, f"{labels[channel]} · {address}")
            for channel, address in delivery_options(customer)]


class CompensationDecisionForm(DeskForm):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Decision note"), required=False, max_length=300)


def _time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not
                   z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")))
    return [("", _("Server default (%(tz)s)") % {"tz": settings.TIME_ZONE})] + [
        (z, z) for z in zones
    ]


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False, choices=[])

    class Meta:
        model = User
        fields = ["display_name", "language", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()
        self.fields["language"].choices = [("", _("The browser's language"))] + list(
            settings.LANGUAGES
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
