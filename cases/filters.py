"""django-filter FilterSets of the desk's case list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from cases import selectors
from cases.choices import Category, ChannelKind, SlaState, Stage, Tier
from cases.ids import MAX_ID
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


class LocalDateRangeField(django_filters.fields.DateRangeField):
    """django-filter's date range (from the first day's local midnight to the last day's
    end, in the user's time zone), refusing a date whose bound falls outside the years UTC
    can hold (year 1 ahead of UTC, 9999 behind it): SQLite converts the bound to UTC and
    raised OverflowError (a 500)."""

    def compress(self, data_list: list[Any]) -> slice | None:
        value = super().compress(data_list)
        for bound in (value.start, value.stop) if value else ():
            if bound is None:
                continue
            try:
                bound.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError(
                    _("%(date)s is out of range."), code="out_of_range",
                    params={"date": bound.date().isoformat()},
                ) from None
        return value


class LocalDateRangeFilter(django_filters.DateFromToRangeFilter):
    field_class = LocalDateRangeField


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
    received = LocalDateRangeFilter(
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
    # An id past the database's integer range is refused by the form (SQLite raised
    # OverflowError on it: a 500).
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput,
                                           min_value=1, max_value=MAX_ID)
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
        style_filter_form(self.form)
        self._choice_lists: dict[str, list[tuple[Any, str]]] = {}

    def choice_list(self, name: str) -> list[tuple[Any, str]]:
        """The (id, label) options of the ``owner`` or ``department`` filter, read once per
        request and shared with the bulk-action bar (which offers the same agents and
        departments): one query each instead of one per <select>."""
        if name not in self._choice_lists:
            field = self.form.fields[name]
            rows = [(obj.pk, field.label_from_instance(obj)) for obj in field.queryset]
            self._choice_lists[name] = rows
            field.widget.choices = [("", field.empty_label), *rows]
        return self._choice_lists[name]

    # Each method returns the queryset filtered; ordering is applied last in ``qs``.
    def filter_text(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return queryset  # searched in ``qs`` (SearchResults), after every other filter

    def filter_queue(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        if not value:
            return queryset
        return queryset.filter(selectors.queue_q(value, self.user, self.now))

    def filter_deadline(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return queryset.filter(selectors.deadline_state_q(value, self.now))

    def filter_sort(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return queryset  # applied in ``qs`` after every filter

    search_capped = False
    applied_sort = selectors.DEFAULT_SORT  # the sort in force, once ``qs`` has been read

    @property
    def matching(self) -> QuerySet[Case]:
        """The filtered cases as one QuerySet (an export streams it in its own order): for a
        text search, the matches the list shows (at most SEARCH_CAP, see SearchResults)."""
        rows = self.qs
        return rows.queryset() if isinstance(rows, SearchResults) else rows

    @property
    def qs(self) -> Any:
        """The filtered, sorted cases: a QuerySet, or for a text search a ``SearchResults``
        sequence (see there)."""
        if hasattr(self, "_sorted_qs"):
            return self._sorted_qs
        queryset = super().qs
        self.form.is_valid()  # an invalid field is ignored; the valid ones still apply
        sort = self.form.cleaned_data.get("sort") or selectors.DEFAULT_SORT
        self.applied_sort = sort
        if (self.form.cleaned_data.get("q") or "").strip():
            self._sorted_qs = SearchResults(self.queryset, queryset, sort,
                                            self.form.cleaned_data["q"])
            self.search_capped = self._sorted_qs.capped
        else:
            self._sorted_qs = queryset.order_by(*selectors.SORTS[sort][1])
        return self._sorted_qs

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


_NO_DUE = (True, datetime.max.replace(tzinfo=UTC))


def _due_key(row: tuple) -> tuple:
    return (False, row[1]) if row[1] is not None else _NO_DUE


# Python sort keys of a search's matches (pk, next_due_at, received_at, tier, updated_at),
# the same orders as selectors.SORTS: (key, reverse).
_SEARCH_SORTS: dict[str, tuple[Any, bool]] = {
    "due": (lambda r: (*_due_key(r), r[0]), False),
    "-received": (lambda r: (r[2], r[0]), True),
    "received": (lambda r: (r[2], r[0]), False),
    "tier": (lambda r: (r[3], *_due_key(r), r[0]), False),
    "-updated": (lambda r: (r[4], r[0]), True),
}


class SearchResults(Sequence):
    """The matches of a text search, sorted, as a sequence the paginator slices.

    A search first collects at most SEARCH_CAP matches with their sort keys and *no* ORDER BY
    (``selectors.search_matches``: the newest matches of a common phrase, else all of them
    through the text indexes; an ORDER BY ... LIMIT of the list's sort could make PostgreSQL
    walk the sort index hoping to meet matches early, and read a million rows when they are
    rare). The matches are sorted here; a page then loads its rows by primary key."""

    def __init__(self, base: QuerySet[Case], filtered: QuerySet[Case], sort: str,
                 text: str) -> None:
        rows = selectors.search_matches(
            filtered, text, ("pk", "next_due_at", "received_at", "tier", "updated_at"),
            cap=selectors.SEARCH_CAP)
        self.capped = len(rows) > selectors.SEARCH_CAP
        key, reverse = _SEARCH_SORTS.get(sort, _SEARCH_SORTS[selectors.DEFAULT_SORT])
        rows = sorted(rows[: selectors.SEARCH_CAP], key=key, reverse=reverse)
        self.ids = [row[0] for row in rows]
        self.base = base

    def queryset(self) -> QuerySet[Case]:
        """The matches as an unordered QuerySet."""
        return self.base.filter(pk__in=self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return selectors.rows_in_order(self.base, list(self.ids[index]))
        return self[index:index + 1][0]


# The filter bar's rows (rendered by templates/cases/desk/_filter_bar.html with Bootstrap
# classes set on the widgets; the bar is read on every list request, so it skips crispy's
# per-field template machinery, which cost more than the page's queries).
FILTER_ROWS = [
    [("q", "col-lg-4 col-md-6"), ("queue", "col-lg-2 col-md-3"), ("sort", "col-lg-2 col-md-3"),
     ("deadline", "col-lg-2 col-md-3"), ("tier", "col-lg-2 col-md-3")],
    [("stage", "col-lg-2 col-md-3"), ("channel", "col-lg-2 col-md-3"),
     ("category", "col-lg-2 col-md-3"), ("department", "col-lg-2 col-md-3"),
     ("owner", "col-lg-2 col-md-3"), ("key_customer", "col-lg-1 col-md-3"),
     ("group", "col-lg-1 col-md-3")],
    [("received", "col-lg-4 col-md-6 date-range")],
]


def style_filter_form(form: forms.Form) -> None:
    for field in form.fields.values():
        widgets = getattr(field.widget, "widgets", [field.widget])
        for widget in widgets:
            css = "form-select form-select-sm" if isinstance(widget, forms.Select) else (
                "form-control form-control-sm")
            if not isinstance(widget, forms.HiddenInput):
                widget.attrs["class"] = css


def list_query(params: QueryDict) -> QueryDict:
    """A mutable copy of the list's query with its defaults (the desk list and its export
    show the same cases): a search looks through every case (a caller asks about last
    year's complaint too); otherwise the list starts with the open ones."""
    data = params.copy()
    data.setdefault("queue", "all" if (data.get("q") or "").strip() else "open")
    data.setdefault("sort", selectors.DEFAULT_SORT)
    return data


def list_params() -> tuple[str, ...]:
    """The query parameters of the list's filter set (what a saved filter keeps): every
    filter's own parameter, a date range's ``_after``/``_before`` pair, and the page size."""
    names: list[str] = []
    for name, flt in CaseFilter.base_filters.items():
        if isinstance(flt, django_filters.DateFromToRangeFilter):
            names += [f"{name}_after", f"{name}_before"]
        else:
            names.append(name)
    return (*names, "per_page")
