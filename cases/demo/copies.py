"""Copying simulated cases inside PostgreSQL: Python simulates every ``stride``-th case of a
large seed (with its history, customers and KPI fact) and ``copy_cases`` fills each gap with
``stride - 1`` copies, one ``INSERT ... SELECT`` per table. Copy ``k`` of a row adds ``k``
to every planned id it holds (case, customer, group, request, clock) and gets its own
reference, tracking code, contact details and nonces; times, texts and stages stay those of
the simulated case, so the stage mix relative to now and the KPI sums (copied fact by fact)
stay what the simulation made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, models

from cases.models import (
    Alert,
    Case,
    CaseDeadline,
    CaseNote,
    CaseTransition,
    CollaborationRequest,
    Compensation,
    ComplaintGroup,
    Customer,
    Notice,
    Revisit,
)
from reporting.models import CaseKpiFact, KpiQueue

from .tables import run_statements

# Tables whose ids the simulation plans (ids of a copy = id + k); the others take new ids
# from their sequences.
PLANNED = (Customer, ComplaintGroup, Case, CollaborationRequest, CaseDeadline)
SEQUENCED = (Alert, CaseTransition, CaseNote, Notice, Compensation, Revisit)

# SQL expressions over a case row ``c`` (the simulated one) and the copy number ``k``.
# (lpad cuts a longer string: a 7-digit id keeps its width.)
REFERENCE = "regexp_replace(c.reference, '[0-9]+$', " \
            "lpad((c.id + k)::text, greatest(6, length((c.id + k)::text)), '0'))"
TRACKING = "upper(substr(md5(c.tracking_code || ':' || k), 1, 10))"
CUSTOMER = {  # a customer row ``u``'s contact details, as simulation.customer_row makes them
    "phone": "'13' || lpad(mod((u.id + k) * 7919, 1000000000)::text, 9, '0')",
    "email": "CASE WHEN u.email = '' THEN '' ELSE 'customer' || (u.id + k) || '@example.com' END",
    "wechat_openid": "CASE WHEN u.wechat_openid = '' THEN '' "
                     "ELSE 'o' || lpad((u.id + k)::text, 12, '0') END",
}


@dataclass(frozen=True)
class Run:
    """The seed run being filled: ids from ``first_case`` to ``first_case + count - 1``,
    simulated where ``(id - first_case) % stride == 0``, customers from ``first_customer``."""

    first_case: int
    count: int
    stride: int
    first_customer: int
    first_group: int


def _replace_all(column: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        column = f"replace({column}, {old}, {new})"
    return column


# Per table: the columns a copy computes instead of taking them as they are; JOINS: what
# those expressions read (the simulated case ``c`` and its customer ``u``).
OVERRIDES: dict[type[models.Model], dict[str, str]] = {
    Customer: {name: expression.replace("u.", "s.") for name, expression in CUSTOMER.items()},
    Case: {"reference": REFERENCE.replace("c.", "s."),
           "tracking_code": TRACKING.replace("c.", "s.")},
    Notice: {
        "idempotency_key": "s.kind || ':' || (s.case_id + k) || ':' || "
                           "split_part(s.idempotency_key, ':', 3)",
        "subject": _replace_all("s.subject", [("c.reference", REFERENCE),
                                              ("c.tracking_code", TRACKING)]),
        "body": _replace_all("s.body", [("c.reference", REFERENCE),
                                        ("c.tracking_code", TRACKING)]),
        "recipient": "CASE s.recipient " + " ".join(
            f"WHEN u.{name} THEN {expression}" for name, expression in CUSTOMER.items())
            + " ELSE s.recipient END",
        "context": f"jsonb_set(s.context, '{{reference}}', to_jsonb({REFERENCE}), false)",
    },
    Alert: {"message": _replace_all("s.message", [("c.reference", REFERENCE)])},
    Revisit: {"token_nonce": "CASE WHEN s.token_nonce = '' THEN '' "
                             "ELSE substr(md5(s.token_nonce || ':' || k), 1, 16) END"},
}
JOINS = {
    Notice: "JOIN cases_case c ON c.id = s.case_id JOIN cases_customer u ON u.id = c.customer_id",
    Alert: "JOIN cases_case c ON c.id = s.case_id",
}


def _offset(model: type[models.Model], run: Run) -> str | None:
    """The SQL offset of a simulated row from the run's first case (a copy ``k`` exists
    while offset + k < count); None for customers, copied ``stride - 1`` times each."""
    if model is Customer:
        return None
    if model is Case:
        return f"s.id - {run.first_case}"
    if model is ComplaintGroup:  # a group's id is planned from the case that opened it
        return f"s.id - {run.first_group}"
    return f"s.case_id - {run.first_case}"


def _column(field: models.Field, model: type[models.Model]) -> str | None:
    """The expression of one column of a copy; None leaves it out (a sequence's id, a
    generated column)."""
    if getattr(field, "generated", False):
        return None
    if field.primary_key and model is not CaseKpiFact:
        return f"s.{field.column} + k" if model in PLANNED else None
    if field.attname in OVERRIDES.get(model, {}):
        return OVERRIDES[model][field.attname]
    if model is CaseKpiFact and field.attname == "case_id":
        return "s.case_id + k"
    target = field.related_model if field.is_relation and field.concrete else None
    if target in PLANNED:
        return f"s.{field.column} + k"
    if target in SEQUENCED:  # links between sequenced rows are not planned: none are seeded
        return "NULL"
    return f"s.{field.column}"


def copy_statement(model: type[models.Model], run: Run, part: int = 0, parts: int = 1) -> str:
    """``INSERT ... SELECT`` of the copies of the run's simulated rows of ``model`` (of part
    ``part`` of ``parts`` of the run's ids). The simulated rows lead the nested loop, so
    copies land in id order after their original."""
    q = connection.ops.quote_name
    columns, values = [], []
    for field in model._meta.concrete_fields:
        expression = _column(field, model)
        if expression is not None:
            columns.append(q(field.column))
            values.append(expression)
    offset = _offset(model, run)
    if offset is None:
        offset, last = f"s.id - {run.first_customer}", run.stride - 1
    else:
        last = f"LEAST({run.stride - 1}, {run.count - 1} - ({offset}))"
    # mod(), not %: a statement without parameters still goes through the driver's formatting.
    return (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {q(model._meta.db_table)} s {JOINS.get(model, '')} "
        f"CROSS JOIN LATERAL generate_series(1, {last}) AS k "
        f"WHERE {offset} >= {run.count * part // parts} "
        f"AND {offset} < {run.count * (part + 1) // parts} AND mod({offset}, {run.stride}) = 0"
    )


COPIED = (*PLANNED, *SEQUENCED, CaseKpiFact)


def copy_cases(run: Run, *, workers: int = 1, replica: bool = False,
               report: Callable[[str], None] | None = None) -> None:
    """Fill the run's gaps with copies of its simulated rows, then drop what the KPI
    triggers queued for the copies (their facts are copied too). In the replica role (no
    foreign-key checks) the tables go in parts over ``workers`` processes, else one by one,
    referenced tables first. Precondition: PostgreSQL; the simulated rows and their KPI
    facts written, no copy yet. ``report("copies <table>")`` after each statement."""
    parts = workers if replica else 1
    queued = KpiQueue.objects.order_by("-id").values_list("id", flat=True).first() or 0
    run_statements(
        [(f"copies {model._meta.db_table}", copy_statement(model, run, part, parts))
         for model in COPIED for part in range(parts)],
        workers=parts, replica=replica, report=report)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reporting_kpiqueue WHERE id > %s AND case_id >= %s",
                       [queued, run.first_case])
