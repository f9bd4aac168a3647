"""Admin of canned replies (macros), the final-response letter template, and the letters
sent (read-only: they are kept as sent)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from cases.admin_base import ReadOnlyAdmin
from cases.choices import Category, Stage
from cases.models import FinalLetter, LetterTemplate, Macro, MacroAction
from cases.services.letters import OPTIONAL_PARTS, REQUIRED_PARTS, letter_template_problems
from cases.services.macros import PLACEHOLDERS, macro_problems


def _placeholder_list(names: dict[str, Any]) -> str:
    return format_html_join("", "<div><code>{{{}}}</code> {}</div>", names.items())


class MacroForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("only for categories"), choices=Category.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every category."))
    stages = forms.MultipleChoiceField(
        label=_("only at stages"), choices=Stage.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every stage."))

    class Meta:
        model = Macro
        fields = ["title", "title_en", "body", "body_en", "categories", "stages", "action",
                  "pause_reason", "is_active", "order"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in ("body", "body_en"):
            problems = macro_problems(data.get(field) or "")
            if problems:
                self.add_error(field, problems)
        reason = data.get("pause_reason")
        if data.get("action") == MacroAction.REQUEST_MATERIALS:
            if reason is None:
                self.add_error("pause_reason", _("“Request materials” pauses the case: choose "
                                                 "the pause reason."))
            elif not reason.resumes_on_customer_reply or reason.requires_evidence:
                self.add_error("pause_reason", _(
                    "Choose a reason that waits on the customer (resumes when the customer "
                    "answers) and needs no evidence."))
        elif reason is not None:
            self.add_error("pause_reason", _("Only “request materials” uses a pause reason."))
        return data


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    form = MacroForm
    list_display = ("title", "title_en", "action", "is_active", "order")
    list_filter = ("is_active", "action")
    search_fields = ("title", "title_en", "body", "body_en")
    list_select_related = ("pause_reason",)
    fieldsets = (
        (None, {"fields": ("title", "title_en", "is_active", "order")}),
        (_("Text"), {"fields": ("body", "body_en", "placeholders")}),
        (_("Applies to"), {"fields": ("categories", "stages")}),
        (_("Action recorded with the reply"), {"fields": ("action", "pause_reason")}),
    )
    readonly_fields = ("placeholders",)

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj: Macro | None) -> str:
        return _placeholder_list(PLACEHOLDERS)


class LetterTemplateForm(forms.ModelForm):
    class Meta:
        model = LetterTemplate
        fields = ["name", "is_active", "subject", "body", "subject_en", "body_en",
                  "escalation", "escalation_en", "contact", "contact_en"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for subject, body in (("subject", "body"), ("subject_en", "body_en")):
            if data.get(subject) is None or data.get(body) is None:
                continue
            problems = letter_template_problems(subject=data[subject], body=data[body])
            if problems:
                self.add_error(body, problems)
        return data


@admin.register(LetterTemplate)
class LetterTemplateAdmin(admin.ModelAdmin):
    """The newest active template is the one letters use; each saved change is a new
    version, recorded with every letter sent from it."""

    form = LetterTemplateForm
    list_display = ("name", "version", "is_active", "updated_at")
    readonly_fields = ("version", "placeholders")
    fieldsets = (
        (None, {"fields": ("name", "is_active", "version")}),
        (_("Chinese"), {"fields": ("subject", "body")}),
        (_("English"), {"fields": ("subject_en", "body_en")}),
        (_("Parts from the settings"), {"fields": ("escalation", "escalation_en", "contact",
                                                   "contact_en", "placeholders")}),
    )

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj: LetterTemplate | None) -> str:
        return _placeholder_list({**{name: _("%(part)s (required)") % {"part": label}
                                     for name, label in REQUIRED_PARTS.items()},
                                  **OPTIONAL_PARTS})

    def save_model(self, request: HttpRequest, obj: LetterTemplate, form: Any,
                   change: bool) -> None:
        if change and form.has_changed():
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(FinalLetter)
class FinalLetterAdmin(ReadOnlyAdmin):
    list_display = ("case", "round", "language", "template_version", "sent_by", "sent_at")
    search_fields = ("case__reference",)
    list_select_related = ("case", "sent_by")
    fields = ("case", "round", "language", "template", "template_version", "subject", "text",
              "sent_by", "sent_at", "notice")
