"""Desk forms of related cases: link, merge, split, group complaints and bulk actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cases import permissions as perms
from cases.choices import MAX_FREE_TEXT, Category, Tier
from cases.forms import AgentChoiceField, DeskForm, DeskText, _coerce_id
from cases.models import Case, Department, User
from cases.selectors.lists import agents
from cases.selectors.search import REFERENCE_RE, case_by_reference


class ReferenceField(forms.CharField):
    """A case reference (TS-2026-000123), upper-cased."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 24)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text = (super().clean(value) or "").strip().upper()
        if text and not REFERENCE_RE.match(text):
            raise forms.ValidationError(_("Write a case reference such as TS-2026-000123."))
        return text


class CaseReferenceForm(DeskForm):
    """One other case, named by its reference and read within what ``user`` may see."""

    reference_field = "reference"

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.other: Case | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        reference = data.get(self.reference_field)
        if reference:
            self.other = case_by_reference(self.user, reference)
            if self.other is None:
                self.add_error(self.reference_field,
                               _("No case %(ref)s.") % {"ref": reference})
        return data


class LinkForm(CaseReferenceForm):
    reference = ReferenceField(label=_("Link to case"))


class MergeForm(CaseReferenceForm):
    reference_field = "primary"
    primary = ReferenceField(label=_("Primary case (reference)"),
                             help_text=_("This case is closed as its duplicate; its notes, "
                                         "messages and files move to the primary case."))
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=MAX_FREE_TEXT,
                           widget=forms.TextInput)


class SplitForm(DeskForm):
    subject = forms.CharField(label=_("Subject of the new case"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    description = DeskText(label=_("The matter the new case is about"), rows=4)
    notes = forms.TypedMultipleChoiceField(
        label=_("Notes and messages that move to the new case"), coerce=_coerce_id,
        required=False, widget=forms.CheckboxSelectMultiple)
    attachments = forms.TypedMultipleChoiceField(
        label=_("Files that move to the new case"), coerce=_coerce_id, required=False,
        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notes"].choices = [
            (n.pk, f"{n.created_at:%Y-%m-%d %H:%M} · {n.get_kind_display()} · {n.body[:80]}")
            for n in case.notes.all()]
        self.fields["attachments"].choices = [(a.pk, a.original_name)
                                              for a in case.attachments.all()]
        if not self.is_bound:
            self.initial["category"] = case.category


class GroupAddForm(CaseReferenceForm):
    reference = ReferenceField(label=_("Add case (reference)"))


class GroupActionForm(DeskForm):
    ACTIONS = [("assign", _("Assign all open cases to")), ("note", _("Add a note to all open "
                                                                   "cases"))]
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    agent = AgentChoiceField(label=_("Agent"), queryset=User.objects.none(), required=False)
    body = forms.CharField(label=_("Note"), required=False, max_length=MAX_FREE_TEXT,
                           widget=forms.TextInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == "assign" and not data.get("agent"):
            self.add_error("agent", _("Choose the agent."))
        if data.get("action") == "note" and not (data.get("body") or "").strip():
            self.add_error("body", _("Write the note."))
        return data


AGENT_BULK_ACTIONS = [
    ("assign_me", _("Assign to me")),
    ("triage", _("Triage with one tier")),
    ("link", _("Link to a case")),
    ("duplicate", _("Close as duplicate of (merge into) a case")),
]
SUPERVISOR_BULK_ACTIONS = [
    ("assign", _("Assign to a handler")),
    ("transfer", _("Transfer ownership")),
]


def bulk_actions_for(user: User) -> list[tuple[str, Any]]:
    """The bulk actions ``user`` is offered: every agent's, and a supervisor's two more."""
    return AGENT_BULK_ACTIONS + (SUPERVISOR_BULK_ACTIONS if perms.is_supervisor(user) else [])


class BulkActionForm(CaseReferenceForm):
    """Many cases, one action; the view re-reads the ids within the user's visibility."""

    reference_field = "primary"
    action = forms.ChoiceField(label=_("Bulk action"))
    cases = forms.TypedMultipleChoiceField(coerce=_coerce_id, choices=[], label=_("Cases"),
                                           widget=forms.MultipleHiddenInput)
    agent = AgentChoiceField(label=_("Agent"), queryset=User.objects.none(), required=False)
    department = forms.ModelChoiceField(label=_("Business department (tier 1)"),
                                        queryset=Department.objects.none(), required=False)
    tier = forms.TypedChoiceField(label=_("Tier"), coerce=int, required=False,
                                  choices=[("", "—"), *Tier.choices[1:]])
    primary = ReferenceField(label=_("Case to link to or merge into"), required=False)
    reason = forms.CharField(label=_("Reason (for a transfer)"), required=False,
                             max_length=MAX_FREE_TEXT, widget=forms.TextInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = bulk_actions_for(self.user)
        self.fields["agent"].queryset = agents()
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        raw = self.data.getlist("cases") if hasattr(self.data, "getlist") else []
        self.fields["cases"].choices = [(v, v) for v in raw]

    def clean_cases(self) -> list[int]:
        ids = self.cleaned_data["cases"]
        if not ids:
            raise forms.ValidationError(_("Select at least one case."))
        if len(ids) > 200:
            raise forms.ValidationError(_("Select at most 200 cases at a time."))
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action in ("assign", "transfer") and not data.get("agent"):
            self.add_error("agent", _("Choose the agent."))
        if action == "transfer" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason for the transfer."))
        if action == "triage" and not data.get("tier"):
            self.add_error("tier", _("Choose tier 1, 2 or 3."))
        if action in ("link", "duplicate") and not data.get("primary"):
            self.add_error("primary", _("Give the reference of the case to link to or merge "
                                        "into."))
        return data
