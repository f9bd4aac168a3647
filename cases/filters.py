"""django-filter FilterSets of the desk's case list."""

from __future__ import annotations

from typing import Any

import django_filters
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from cases import selectors
from cases.choices import Category, ChannelKind, SlaState, Stage, Tier
from cases.models import Case, Department


class YesNoWidget(django_filters.widgets.BooleanWidget):
    """"Any / Yes / No" (django-filter's own labels say "Unknown")."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = (("", _("Any")), ("true", _("Yes")), ("false", _("No")))



class FastSelect(forms.Select):
    """A <select> whose options are joined in Python instead of rendering one template per
    option: the filter bar holds about a hundred options, and the per-option templates cost
    more than all of the page's queries together."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        selected = set(self.format_value(value))
        options = format_html_join(
            "", '<option value="{}"{}>{}</option>',
            ((str(v), mark_safe(" selected") if str(v) in selected else "", label)
             for v, label in self.choices),
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)


def _queue_choices() -> list[tuple[str, Any]]:
    return [(q.name, q.label) for q in selectors.QUEUES.values()]


class CaseFilter(django_filters.FilterSet):
    """Every filter of the desk list. Each maps to an indexed column (or a trigram index for
    the text search) so a filtered page of a million-row table stays fast."""

    q = django_filters.CharFilter(
        method="filter_text", label=_("Search"),
        widget=forms.TextInput(attrs={
            "placeholder": _("Reference, subject, description, customer name, phone or email"),
            "type": "search",
        }),
    )
    queue = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=_queue_choices, method="filter_queue", label=_("Queue"), empty_label=None,
    )
    tier = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=Tier.choices, label=_("Tier"), empty_label=_("Any tier"),
    )
    stage = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=Stage.choices, label=_("Stage"), empty_label=_("Any stage"),
    )
    channel = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=ChannelKind.choices, label=_("Channel"), empty_label=_("Any channel"),
    )
    category = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=Category.choices, label=_("Category"), empty_label=_("Any category"),
    )
    department = django_filters.ModelChoiceFilter(
        widget=FastSelect,
        queryset=Department.objects.filter(is_active=True).order_by("code"),
        label=_("Department"), empty_label=_("Any department"),
    )
    owner = django_filters.ModelChoiceFilter(
        widget=FastSelect,
        queryset=selectors.agents(), label=_("Owner"), empty_label=_("Any owner"),
    )
    deadline = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=SlaState.choices, method="filter_deadline", label=_("Deadline state"),
        empty_label=_("Any deadline state"),
    )
    received = django_filters.DateFromToRangeFilter(
        field_name="received_at", label=_("Received between"),
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    key_customer = django_filters.BooleanFilter(
        field_name="customer__is_key_customer", label=_("Key customer"), widget=YesNoWidget,
    )
    group = django_filters.BooleanFilter(
        field_name="group", lookup_expr="isnull", exclude=True, label=_("Group complaint"),
        widget=YesNoWidget,
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)
    sort = django_filters.ChoiceFilter(
        widget=FastSelect,
        choices=[(k, v[0]) for k, v in selectors.SORTS.items()], method="filter_sort",
        label=_("Sort"), empty_label=None,
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.now = timezone.now()
        self.form.helper = CaseFilterFormHelper()

    # Each method returns the queryset filtered; ordering is applied last in ``qs``.
    def filter_text(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return queryset.filter(selectors.search_q(value))

    def filter_queue(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        if not value:
            return queryset
        return queryset.filter(selectors.queue_q(value, self.user, self.now))

    def filter_deadline(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return queryset.filter(selectors.deadline_state_q(value, self.now))

    def filter_sort(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return queryset  # applied in ``qs`` after every filter

    @property
    def qs(self) -> QuerySet[Case]:
        queryset = super().qs
        self.form.is_valid()  # an invalid field is ignored; the valid ones still apply
        sort = self.form.cleaned_data.get("sort")
        return queryset.order_by(*selectors.SORTS[sort or selectors.DEFAULT_SORT][1])

    @property
    def active_filter_count(self) -> int:
        """How many filters narrow the list (queue and sort not counted)."""
        self.form.is_valid()
        skip = {"queue", "sort", "customer"}
        count = 0
        for name, value in self.form.cleaned_data.items():
            if name in skip or value in (None, "", [], ()):
                continue
            if isinstance(value, slice):
                if value.start is None and value.stop is None:
                    continue
            count += 1
        return count


class CaseFilterFormHelper(FormHelper):
    form_method = "get"
    form_tag = False
    disable_csrf = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layout = Layout(
            Row(
                Column("q", css_class="col-lg-4 col-md-6"),
                Column("queue", css_class="col-lg-2 col-md-3"),
                Column("sort", css_class="col-lg-2 col-md-3"),
                Column("deadline", css_class="col-lg-2 col-md-3"),
                Column("tier", css_class="col-lg-2 col-md-3"),
                css_class="g-2",
            ),
            Row(
                Column("stage", css_class="col-lg-2 col-md-3"),
                Column("channel", css_class="col-lg-2 col-md-3"),
                Column("category", css_class="col-lg-2 col-md-3"),
                Column("department", css_class="col-lg-2 col-md-3"),
                Column("owner", css_class="col-lg-2 col-md-3"),
                Column("key_customer", css_class="col-lg-1 col-md-3"),
                Column("group", css_class="col-lg-1 col-md-3"),
                css_class="g-2",
            ),
            Row(
                Column("received", css_class="col-lg-4 col-md-6 date-range"),
                "customer",
                css_class="g-2 align-items-end",
            ),
        )
        self.add_input(Submit("apply", _("Apply filters"), css_class="btn-primary"))
