"""Forms of the public complaint page, the desk's logging page and the progress lookup.
Forms check shape only; the domain rules are ``case_intake``'s (its errors are put back on
the matching fields by the views)."""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from cases.choices import Category, ChannelKind, ContactChannel, Difficulty, Scope, Urgency
from cases.models import Customer, Regime, User
from channels import attachments as files


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is sniffed and size-checked."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={
            "accept": ".jpg,.jpeg,.png,.gif,.webp,.heic,.pdf,.txt,.docx,.xlsx",
        }))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        items = [item for item in items if item]
        if len(items) > files.MAX_FILES:
            raise forms.ValidationError(
                _("At most %(n)d files.") % {"n": files.MAX_FILES}, code="too_many"
            )
        checked, errors = [], []
        for item in items:
            if not isinstance(item, UploadedFile):
                continue
            if item.size is not None and item.size > files.max_bytes():
                errors.append(_("“%(name)s” is too large.") % {"name": item.name})
                continue
            try:
                checked.append(files.check(files.IncomingFile(item.name or "", item.read())))
            except files.AttachmentRejected as exc:
                errors.append(str(exc))
        if errors:
            raise forms.ValidationError(errors)
        return checked


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ComplaintFieldsMixin(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=Category.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("What happened?"), max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )
    order_ref = forms.CharField(
        label=_("Order or product number"), max_length=64, required=False,
        help_text=_("If you have one: it helps us find your order quickly."),
    )
    occurred_at = forms.DateTimeField(
        label=_("When did it happen?"), required=False, widget=_datetime_widget(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    desired_outcome = forms.CharField(
        label=_("What would you like us to do?"), max_length=5000, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    attachments = MultipleFileField(
        label=_("Photos or documents"),
        help_text=_("Up to 5 files: photos, PDF, text or Office documents, 10 MB each."),
    )


class PublicComplaintForm(ComplaintFieldsMixin):
    """The public web form (官网表单). ``website`` is a honeypot: hidden from people, filled in
    by bots that complete every field."""

    field_order = ["name", "phone", "email", "preferred_channel", "category", "subject",
                   "description", "order_ref", "occurred_at", "desired_outcome", "attachments"]

    name = forms.CharField(label=_("Your name"), max_length=100)
    phone = forms.CharField(label=_("Mobile phone"), max_length=32, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    preferred_channel = forms.ChoiceField(
        label=_("How should we contact you?"), choices=ContactChannel.choices,
        initial=ContactChannel.SMS,
    )
    # A random id per rendered form: a double click or a browser re-post is the same
    # submission (idempotent like the API's external_id), not a second case.
    submission_id = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False,
                                     widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("Leave this field empty"), required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("phone") or cleaned.get("email")):
            self.add_error("phone", _("Give a phone number or an email address."))
        return cleaned

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website"))


class CustomerLookupForm(forms.Form):
    q = forms.CharField(label=_("Phone or email"), max_length=254, required=False)


AGENT_CHANNELS = [
    (ChannelKind.HOTLINE, ChannelKind.HOTLINE.label),
    (ChannelKind.WALK_IN, ChannelKind.WALK_IN.label),
    (ChannelKind.LETTER, ChannelKind.LETTER.label),
]


class DeskComplaintForm(ComplaintFieldsMixin):
    """An agent logs a hotline call, a store walk-in or a letter on the customer's behalf."""

    field_order = ["channel", "customer", "name", "phone", "email", "preferred_channel",
                   "is_key_customer", "category", "subject", "description", "order_ref",
                   "location", "occurred_at", "desired_outcome", "urgency", "scope",
                   "difficulty", "regime", "regulator_reference", "regulator_due_at",
                   "complained_employee", "attachments"]

    channel = forms.ChoiceField(label=_("Channel"), choices=AGENT_CHANNELS)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(), required=False, widget=forms.HiddenInput
    )
    name = forms.CharField(label=_("Customer name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    preferred_channel = forms.ChoiceField(
        label=_("Preferred contact channel"), choices=ContactChannel.choices,
        initial=ContactChannel.PHONE,
    )
    is_key_customer = forms.BooleanField(label=_("Key customer"), required=False)
    location = forms.CharField(label=_("Store or location"), max_length=100, required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices,
                                initial=Urgency.ROUTINE)
    scope = forms.ChoiceField(label=_("Impact scope"), choices=Scope.choices,
                              initial=Scope.INDIVIDUAL)
    difficulty = forms.ChoiceField(label=_("Difficulty"), choices=Difficulty.choices,
                                   initial=Difficulty.FRONTLINE)
    regime = forms.ModelChoiceField(
        label=_("Statutory regime"), queryset=Regime.objects.filter(is_active=True),
        to_field_name="code", required=False,
        empty_label=_("By channel or category (none if neither names one)"))
    regulator_reference = forms.CharField(
        label=_("Regulator reference"), max_length=64, required=False,
        help_text=_("For a complaint a regulator forwarded: its reference (one case per "
                    "reference)."))
    regulator_due_at = forms.DateTimeField(
        label=_("Regulator's deadline"), required=False, widget=_datetime_widget(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"])

    complained_employee = forms.ModelChoiceField(
        label=_("Employee complained about"), required=False,
        queryset=User.objects.filter(is_active=True).order_by("username"),
        empty_label=_("Nobody named"),
        help_text=_("Recusal (回避): the named employee will never handle or own this case."))

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("phone") or cleaned.get("email")) and not cleaned.get("customer"):
            self.add_error("phone", _("Give a phone number or an email address."))
        return cleaned


class TrackForm(forms.Form):
    reference = forms.CharField(
        label=_("Complaint reference"), max_length=24,
        widget=forms.TextInput(attrs={"placeholder": "TS-2026-000123", "autocomplete": "off"}),
    )
    code = forms.CharField(
        label=_("Tracking code"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper()

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).upper()


class TrackReviewForm(TrackForm):
    """A review request 申请核查 from the progress page: the reference and tracking code
    again (hidden; the customer typed them for the lookup) and the reason."""

    reference = forms.CharField(max_length=24, widget=forms.HiddenInput)
    code = forms.CharField(max_length=16, widget=forms.HiddenInput)

    reason = forms.CharField(
        label=_("Why are you not satisfied with our answer?"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
        error_messages={"required": _("Tell us why you are not satisfied with our answer.")},
    )
