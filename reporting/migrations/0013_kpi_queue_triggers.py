"""The KPI queue triggers on the cases tables, PostgreSQL only (SQLite: reporting.apps
installs them after every migrate). Written by ``python manage.py kpi_trigger_migration`` for
the columns the KPI fact queries read (reporting.summaries.watched); the test suite fails
when the KPIs read other columns than the latest such migration installs."""

from django.db import migrations

WATCHED = {'cases_case': ['category', 'channel', 'closed_at', 'customer_id', 'department_id',
                'extensions_approved', 'extensions_requested', 'feedback_due_at',
                'feedback_given_at', 'first_responded_at', 'paused_total', 'received_at',
                'reopen_count', 'resolved_at', 'response_breached', 'response_due_at',
                'retiered', 'review_changed', 'review_done_at', 'review_due_at',
                'review_requested_at', 'revisit_done_at', 'revisit_due_at', 'root_cause_id',
                'satisfaction_score', 'solution_due_at', 'stage', 'statutory_due_at',
                'statutory_stopped_at', 'tier'],
 'cases_casetransition': ['case_id', 'field', 'name', 'source', 'target'],
 'cases_collaborationrequest': ['answered_at', 'case_id', 'closed_at', 'created_at',
                                'department_id', 'due_at', 'status'],
 'cases_customer': ['is_key_customer']}

FORWARD = [
    """DROP TRIGGER IF EXISTS reporting_kpi_transition_write ON cases_casetransition""",
    """DROP TRIGGER IF EXISTS reporting_kpi_transition_delete ON cases_casetransition""",
    """DROP TRIGGER IF EXISTS reporting_kpi_case_insert ON cases_case""",
    """DROP TRIGGER IF EXISTS reporting_kpi_case_delete ON cases_case""",
    """DROP TRIGGER IF EXISTS reporting_kpi_case_update ON cases_case""",
    """DROP TRIGGER IF EXISTS reporting_kpi_customer_update ON cases_customer""",
    """DROP TRIGGER IF EXISTS reporting_kpi_request_insert ON cases_collaborationrequest""",
    """DROP TRIGGER IF EXISTS reporting_kpi_request_delete ON cases_collaborationrequest""",
    """DROP TRIGGER IF EXISTS reporting_kpi_request_update ON cases_collaborationrequest""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_rows() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) SELECT id FROM old_rows;
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) SELECT id FROM new_rows;
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_case() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_request_rows() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) SELECT case_id FROM old_rows;
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) SELECT case_id FROM new_rows;
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_request() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
             IF OLD.case_id <> NEW.case_id THEN
               INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id);
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_customer() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO reporting_kpiqueue (case_id)
               SELECT id FROM cases_case WHERE customer_id = NEW.id;
             RETURN NULL;
           END $$""",
    """CREATE TRIGGER reporting_kpi_case_insert AFTER INSERT ON cases_case
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_rows()""",
    """CREATE TRIGGER reporting_kpi_case_delete AFTER DELETE ON cases_case
           REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_rows()""",
    """CREATE TRIGGER reporting_kpi_case_update AFTER UPDATE ON cases_case
           FOR EACH ROW WHEN ((OLD.category, OLD.channel, OLD.closed_at, OLD.customer_id, OLD.department_id, OLD.extensions_approved, OLD.extensions_requested, OLD.feedback_due_at, OLD.feedback_given_at, OLD.first_responded_at, OLD.paused_total, OLD.received_at, OLD.reopen_count, OLD.resolved_at, OLD.response_breached, OLD.response_due_at, OLD.retiered, OLD.review_changed, OLD.review_done_at, OLD.review_due_at, OLD.review_requested_at, OLD.revisit_done_at, OLD.revisit_due_at, OLD.root_cause_id, OLD.satisfaction_score, OLD.solution_due_at, OLD.stage, OLD.statutory_due_at, OLD.statutory_stopped_at, OLD.tier) IS DISTINCT FROM (NEW.category, NEW.channel, NEW.closed_at, NEW.customer_id, NEW.department_id, NEW.extensions_approved, NEW.extensions_requested, NEW.feedback_due_at, NEW.feedback_given_at, NEW.first_responded_at, NEW.paused_total, NEW.received_at, NEW.reopen_count, NEW.resolved_at, NEW.response_breached, NEW.response_due_at, NEW.retiered, NEW.review_changed, NEW.review_done_at, NEW.review_due_at, NEW.review_requested_at, NEW.revisit_done_at, NEW.revisit_due_at, NEW.root_cause_id, NEW.satisfaction_score, NEW.solution_due_at, NEW.stage, NEW.statutory_due_at, NEW.statutory_stopped_at, NEW.tier))
           EXECUTE FUNCTION reporting_kpi_queue_case()""",
    """CREATE TRIGGER reporting_kpi_customer_update AFTER UPDATE ON cases_customer
           FOR EACH ROW WHEN (OLD.is_key_customer IS DISTINCT FROM NEW.is_key_customer)
           EXECUTE FUNCTION reporting_kpi_queue_customer()""",
    """CREATE TRIGGER reporting_kpi_request_insert AFTER INSERT ON cases_collaborationrequest
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_request_rows()""",
    """CREATE TRIGGER reporting_kpi_request_delete AFTER DELETE ON cases_collaborationrequest
           REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_request_rows()""",
    """CREATE TRIGGER reporting_kpi_request_update AFTER UPDATE ON cases_collaborationrequest
           FOR EACH ROW WHEN ((OLD.answered_at, OLD.case_id, OLD.closed_at, OLD.created_at, OLD.department_id, OLD.due_at, OLD.status) IS DISTINCT FROM (NEW.answered_at, NEW.case_id, NEW.closed_at, NEW.created_at, NEW.department_id, NEW.due_at, NEW.status))
           EXECUTE FUNCTION reporting_kpi_queue_request()""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_transition() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id);
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE TRIGGER reporting_kpi_transition_write AFTER INSERT ON cases_casetransition
           FOR EACH ROW WHEN (NEW.field = 'tier')
           EXECUTE FUNCTION reporting_kpi_queue_transition()""",
    """CREATE TRIGGER reporting_kpi_transition_delete AFTER DELETE ON cases_casetransition
           FOR EACH ROW WHEN (OLD.field = 'tier')
           EXECUTE FUNCTION reporting_kpi_queue_transition()""",
]

REVERSE = [
    """DROP TRIGGER IF EXISTS reporting_kpi_transition_write ON cases_casetransition""",
    """DROP TRIGGER IF EXISTS reporting_kpi_transition_delete ON cases_casetransition""",
    """DROP TRIGGER IF EXISTS reporting_kpi_case_insert ON cases_case""",
    """DROP TRIGGER IF EXISTS reporting_kpi_case_delete ON cases_case""",
    """DROP TRIGGER IF EXISTS reporting_kpi_case_update ON cases_case""",
    """DROP TRIGGER IF EXISTS reporting_kpi_customer_update ON cases_customer""",
    """DROP TRIGGER IF EXISTS reporting_kpi_request_insert ON cases_collaborationrequest""",
    """DROP TRIGGER IF EXISTS reporting_kpi_request_delete ON cases_collaborationrequest""",
    """DROP TRIGGER IF EXISTS reporting_kpi_request_update ON cases_collaborationrequest""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_rows() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) SELECT id FROM old_rows;
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) SELECT id FROM new_rows;
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_case() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.id); RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_request_rows() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) SELECT case_id FROM old_rows;
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) SELECT case_id FROM new_rows;
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_request() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
             IF OLD.case_id <> NEW.case_id THEN
               INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id);
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_customer() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             INSERT INTO reporting_kpiqueue (case_id)
               SELECT id FROM cases_case WHERE customer_id = NEW.id;
             RETURN NULL;
           END $$""",
    """CREATE TRIGGER reporting_kpi_case_insert AFTER INSERT ON cases_case
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_rows()""",
    """CREATE TRIGGER reporting_kpi_case_delete AFTER DELETE ON cases_case
           REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_rows()""",
    """CREATE TRIGGER reporting_kpi_case_update AFTER UPDATE ON cases_case
           FOR EACH ROW WHEN ((OLD.category, OLD.channel, OLD.closed_at, OLD.customer_id, OLD.department_id, OLD.extensions_approved, OLD.extensions_requested, OLD.feedback_due_at, OLD.feedback_given_at, OLD.first_responded_at, OLD.paused_total, OLD.received_at, OLD.reopen_count, OLD.resolved_at, OLD.response_breached, OLD.response_due_at, OLD.retiered, OLD.revisit_done_at, OLD.revisit_due_at, OLD.root_cause_id, OLD.satisfaction_score, OLD.solution_due_at, OLD.stage, OLD.statutory_due_at, OLD.statutory_stopped_at, OLD.tier) IS DISTINCT FROM (NEW.category, NEW.channel, NEW.closed_at, NEW.customer_id, NEW.department_id, NEW.extensions_approved, NEW.extensions_requested, NEW.feedback_due_at, NEW.feedback_given_at, NEW.first_responded_at, NEW.paused_total, NEW.received_at, NEW.reopen_count, NEW.resolved_at, NEW.response_breached, NEW.response_due_at, NEW.retiered, NEW.revisit_done_at, NEW.revisit_due_at, NEW.root_cause_id, NEW.satisfaction_score, NEW.solution_due_at, NEW.stage, NEW.statutory_due_at, NEW.statutory_stopped_at, NEW.tier))
           EXECUTE FUNCTION reporting_kpi_queue_case()""",
    """CREATE TRIGGER reporting_kpi_customer_update AFTER UPDATE ON cases_customer
           FOR EACH ROW WHEN (OLD.is_key_customer IS DISTINCT FROM NEW.is_key_customer)
           EXECUTE FUNCTION reporting_kpi_queue_customer()""",
    """CREATE TRIGGER reporting_kpi_request_insert AFTER INSERT ON cases_collaborationrequest
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_request_rows()""",
    """CREATE TRIGGER reporting_kpi_request_delete AFTER DELETE ON cases_collaborationrequest
           REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
           EXECUTE FUNCTION reporting_kpi_queue_request_rows()""",
    """CREATE TRIGGER reporting_kpi_request_update AFTER UPDATE ON cases_collaborationrequest
           FOR EACH ROW WHEN ((OLD.answered_at, OLD.case_id, OLD.closed_at, OLD.created_at, OLD.department_id, OLD.due_at, OLD.status) IS DISTINCT FROM (NEW.answered_at, NEW.case_id, NEW.closed_at, NEW.created_at, NEW.department_id, NEW.due_at, NEW.status))
           EXECUTE FUNCTION reporting_kpi_queue_request()""",
    """CREATE OR REPLACE FUNCTION reporting_kpi_queue_transition() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               INSERT INTO reporting_kpiqueue (case_id) VALUES (OLD.case_id);
             ELSE
               INSERT INTO reporting_kpiqueue (case_id) VALUES (NEW.case_id);
             END IF;
             RETURN NULL;
           END $$""",
    """CREATE TRIGGER reporting_kpi_transition_write AFTER INSERT ON cases_casetransition
           FOR EACH ROW WHEN (NEW.field = 'tier')
           EXECUTE FUNCTION reporting_kpi_queue_transition()""",
    """CREATE TRIGGER reporting_kpi_transition_delete AFTER DELETE ON cases_casetransition
           FOR EACH ROW WHEN (OLD.field = 'tier')
           EXECUTE FUNCTION reporting_kpi_queue_transition()""",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in REVERSE:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("reporting", "0012_kpi_day_sum_review_columns"),
        ("cases", "0032_review_open_cover_index"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
