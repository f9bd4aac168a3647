"""The KPI queue triggers: their watched columns are derived from the KPI definitions (the
columns the fact queries read), the migration that installs them on PostgreSQL freezes that
list and must still match it, what the database has installed matches it, and a change of
any watched column queues the case (on whichever database the tests run)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Q

from cases.models import Case, CollaborationRequest, Customer
from cases.models.collaboration import RequestStatus
from reporting.choices import Direction
from reporting.kpis import definitions, queries
from reporting.management.commands.kpi_trigger_migration import current_sql, trigger_migrations
from reporting.models import KpiQueue
from reporting.summaries import triggers
from reporting.summaries.watched import columns_read, fact_queries, watched_columns
from tests.factories import CustomerFactory, DepartmentFactory, root_cause
from tests.kpi_facts import NOW, at, make


def latest_trigger_migration():
    return trigger_migrations()[-1]


def test_the_derived_columns_are_what_the_kpi_definitions_read():
    watched = watched_columns()
    # A KPI's own filters, a dimension, an anchor, the invalid exclusion, a subquery's column.
    assert {"first_responded_at", "channel", "revisit_due_at", "stage", "customer_id",
            "root_cause_id"} <= set(watched["cases_case"])
    assert watched["cases_customer"] == ("is_key_customer",)
    assert {"answered_at", "due_at", "status", "department_id"} <= set(
        watched["cases_collaborationrequest"])
    # Columns no KPI reads are not watched: the deadline sweep's state, free text.
    assert not {"sla_state", "next_due_at", "subject", "id"} & set(watched["cases_case"])


@pytest.fixture
def kpi_reading_subject(monkeypatch):
    """A new case KPI that reads ``subject``, a column no trigger watches."""
    def by_subject(w):
        den = definitions.in_window(w, "received_at")
        return Count("pk", filter=den & Q(subject="x")), Count("pk", filter=den)

    extra = definitions.Kpi("by_subject", "by subject", Direction.AT_LEAST, Decimal(1),
                            definitions.PERCENT, definitions.CASE, "received_at", by_subject,
                            "test only")
    monkeypatch.setattr(queries, "CASE_KPIS", (*queries.CASE_KPIS, extra))


def test_a_kpi_reading_a_new_column_is_watched_and_the_check_fails(kpi_reading_subject):
    assert "subject" in watched_columns()["cases_case"]
    assert latest_trigger_migration().FORWARD != current_sql()
    with pytest.raises(CommandError, match="other columns"):
        call_command("kpi_trigger_migration", "--check")


def test_the_command_writes_the_next_migration_for_the_new_column(kpi_reading_subject,
                                                                   monkeypatch):
    written = {}
    monkeypatch.setattr(Path, "write_text", lambda path, text: written.update({path: text}))
    call_command("kpi_trigger_migration", verbosity=0)
    [(path, text)] = written.items()
    latest = latest_trigger_migration()
    assert path.name.startswith(f"{int(latest.__name__.rsplit('.', 1)[1][:4]) + 1:04d}_")
    migration: dict = {}
    exec(compile(text, str(path), "exec"), migration)  # noqa: S102 - the file just written
    assert "subject" in migration["WATCHED"]["cases_case"]
    assert migration["FORWARD"] == current_sql()
    assert migration["REVERSE"] == latest.FORWARD  # unapplying restores the previous triggers
    assert ("reporting", latest.__name__.rsplit(".", 1)[1]) in (
        migration["Migration"].dependencies)


def test_the_latest_trigger_migration_watches_what_the_kpis_read():
    latest = latest_trigger_migration()
    assert {t: tuple(c) for t, c in latest.WATCHED.items()} == watched_columns()
    assert latest.FORWARD == current_sql(), (
        "The KPIs read other columns than the queue triggers watch (or their SQL changed): "
        "run python manage.py kpi_trigger_migration")


def test_every_table_the_kpis_read_has_a_trigger_route():
    assert set(watched_columns()) <= triggers.ROUTED_TABLES
    with pytest.raises(ValueError, match="cases_department"):
        triggers.postgresql_sql({**watched_columns(), "cases_department": ["name"]})


def test_the_walk_sees_filters_joins_and_subqueries():
    read = columns_read(*fact_queries())
    assert "is_key_customer" in read["cases_customer"]  # a subquery inside a filter
    assert {"field", "target", "source"} <= read["cases_casetransition"]  # nested subquery
    assert "tier" in read["cases_case"]  # via the request query's join to the case too


@pytest.mark.django_db
def test_the_installed_triggers_watch_what_the_kpis_read():
    assert set(triggers.installed()) == set(triggers.TRIGGERS)
    derived = watched_columns()
    assert triggers.watched_by_installed() == {
        table: set(derived[table]) for table in triggers.UPDATE_TRIGGERS.values()}


def _other_value(case: Case, column: str):
    """A value different from the case's for ``column``, of the column's type."""
    field = next(f for f in Case._meta.concrete_fields if f.column == column)
    value = getattr(case, field.attname)
    if column == "customer_id":
        return CustomerFactory().pk
    if column == "department_id":
        return DepartmentFactory(code="trig-dept").pk
    if column == "root_cause_id":
        return root_cause().pk
    if field.choices:
        return next(c for c, _label in field.choices if c != value)
    internal = field.get_internal_type()
    if internal == "BooleanField":
        return not value
    if internal == "DateTimeField":
        return (value or NOW) + timedelta(hours=1)
    if internal == "DurationField":
        return (value or timedelta(0)) + timedelta(hours=1)
    return (value or 0) + 1


@pytest.mark.django_db
@pytest.mark.parametrize("column", watched_columns()["cases_case"])
def test_updating_any_watched_case_column_queues_the_case(column):
    case = make(CustomerFactory(), received_at=at(17, 9), first_responded_at=at(17, 10))
    KpiQueue.objects.all().delete()
    field = next(f for f in Case._meta.concrete_fields if f.column == column)
    Case.objects.filter(pk=case.pk).update(**{field.attname: _other_value(case, column)})
    assert list(KpiQueue.objects.values_list("case_id", flat=True)) == [case.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["answered_at", "due_at", "closed_at", "status"])
def test_updating_a_watched_request_column_queues_its_case(column, facts):
    request = CollaborationRequest.objects.filter(answered_at__isnull=True).first()
    KpiQueue.objects.all().delete()
    value = at(24, 9)
    if column == "status":
        value = next(s for s in RequestStatus.values if s != request.status)
    CollaborationRequest.objects.filter(pk=request.pk).update(**{column: value})
    assert list(KpiQueue.objects.values_list("case_id", flat=True)) == [request.case_id]


@pytest.mark.django_db
def test_the_key_customer_flag_queues_the_customers_cases_and_other_fields_do_not():
    customer = CustomerFactory()
    case = make(customer, received_at=at(17, 9))
    KpiQueue.objects.all().delete()
    Customer.objects.filter(pk=customer.pk).update(name="改名")
    assert not KpiQueue.objects.exists()
    Customer.objects.filter(pk=customer.pk).update(is_key_customer=True)
    assert list(KpiQueue.objects.values_list("case_id", flat=True)) == [case.pk]


@pytest.mark.django_db
def test_migrate_keeps_the_triggers_and_on_sqlite_reinstalls_a_dropped_one():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps triggers through migrations; nothing rebuilds tables")
    # SQLite drops a table's triggers when a migration rebuilds the table; migrate's
    # post_migrate handler puts them back.
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER reporting_kpi_case_update")
    assert "reporting_kpi_case_update" not in triggers.installed()
    call_command("migrate", verbosity=0)
    assert set(triggers.installed()) == set(triggers.TRIGGERS)


@pytest.mark.django_db
def test_verify_fails_on_a_missing_or_stale_trigger(capsys):
    call_command("kpi_summaries", "--verify", "1")
    assert "agree" in capsys.readouterr().out
    on = " ON cases_customer" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER reporting_kpi_customer_update{on}")
    with pytest.raises(CommandError, match="triggers"):
        call_command("kpi_summaries", "--verify", "1")
    assert "reporting_kpi_customer_update is not installed" in capsys.readouterr().err


@pytest.mark.django_db
def test_verify_fails_when_a_kpi_reads_a_column_the_installed_triggers_miss(
        kpi_reading_subject, capsys):
    with pytest.raises(CommandError, match="triggers"):
        call_command("kpi_summaries", "--verify", "1")
    assert "the triggers on cases_case watch" in capsys.readouterr().err
