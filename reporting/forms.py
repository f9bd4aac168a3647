"""Forms of the reporting pages: the period picker and improvement actions."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.choices import Role
from cases.models import Case, User
from reporting import periods
from reporting.models import ActionStatus, ImprovementAction


class PeriodForm(forms.Form):
    """GET form: a preset period or a custom range of local dates (inclusive)."""

    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=periods.PRESETS,
                               required=False)
    start = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("Until"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("period") or periods.THIS_WEEK
        data["period"] = kind
        if kind == periods.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError(_("Give both dates of the custom range."))
            if start > end:
                raise forms.ValidationError(_("The range starts after it ends."))
            if (end - start).days + 1 > periods.MAX_CUSTOM_DAYS:
                raise forms.ValidationError(
                    _("A custom range may cover at most %(days)s days.")
                    % {"days": periods.MAX_CUSTOM_DAYS}
                )
            if start.year < 2000 or end.year > 2999:
                raise forms.ValidationError(_("Choose dates between 2000 and 2999."))
        return data

    def period_for(self, today: date) -> periods.Period:
        """The chosen period (call after ``is_valid()``); this week when invalid."""
        if not self.is_valid():
            return periods.resolve(periods.THIS_WEEK, today=today)
        data = self.cleaned_data
        return periods.resolve(data["period"], today=today, first=data.get("start"),
                               last=data.get("end"))


def action_owner_choices() -> Any:
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR, Role.ADMIN])
                | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


_REF_SPLIT = re.compile(r"[\s,;，；]+")


class ImprovementActionForm(forms.ModelForm):
    """An improvement action; linked cases are typed as references (TS-2026-000123)."""

    case_refs = forms.CharField(
        label=gettext_lazy("Linked cases"), required=False,
        help_text=gettext_lazy("Case references separated by spaces or commas."),
        widget=forms.TextInput(attrs={"placeholder": "TS-2026-000123, TS-2026-000124"}),
    )

    class Meta:
        model = ImprovementAction
        fields = ["action", "owner", "due_date", "status", "progress_note"]
        widgets = {
            "action": forms.Textarea(attrs={"rows": 2}),
            "progress_note": forms.Textarea(attrs={"rows": 2}),
            "due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"].queryset = action_owner_choices()
        self.fields["status"].choices = ActionStatus.choices
        for form_field in self.fields.values():
            css = "form-select" if isinstance(form_field.widget, forms.Select) else "form-control"
            form_field.widget.attrs.setdefault("class", f"{css} form-control-sm" if css ==
                                               "form-control" else f"{css} form-select-sm")
        if self.instance.pk and not self.is_bound:
            self.initial["case_refs"] = ", ".join(
                c.reference for c in self.instance.cases.all() if c.reference
            )

    def clean_case_refs(self) -> list[Case]:
        refs = [r.upper() for r in _REF_SPLIT.split(self.cleaned_data.get("case_refs") or "")
                if r]
        if not refs:
            return []
        if len(refs) > 200:
            raise forms.ValidationError(_("Link at most 200 cases."))
        visible = Case.objects.for_user(self.user) if self.user is not None else Case.objects
        found = {c.reference.upper(): c for c in visible.filter(reference__in=set(refs))}
        missing = [r for r in refs if r not in found]
        if missing:
            raise forms.ValidationError(
                _("No such case: %(refs)s") % {"refs": ", ".join(missing[:10])}
            )
        return list({c.pk: c for c in found.values()}.values())
