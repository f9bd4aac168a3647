"""Read queries: what the desk, the case workspace and the shared board show.

One concept per module: ``queues``, ``lists`` (the case list), ``search``, ``workspace``,
``saved_filters``, ``alerts``, ``board`` (the shared board) and ``department_requests``
(one request's page, a case's requests). The desk's names are re-exported here
(``cases.selectors.<name>``); the board's are read from their modules
(``from cases.selectors import board, department_requests``).
"""

from .alerts import alert_links, alerts_for
from .lists import (
    DEFAULT_SORT,
    SORTS,
    PagedCases,
    agents,
    case_list_for_desk,
    label_rows,
    rows_in_order,
)
from .queues import (
    HOME_COUNT_CAP,
    HOME_QUEUES,
    QUEUES,
    Queue,
    QueueCount,
    capped_count,
    deadline_state_q,
    desk_queue_counts,
    estimated_count,
    may_open_queue,
    queue_q,
    queues_for,
    task_force_case_ids,
)
from .saved_filters import saved_filter_for, saved_filters_for
from .search import (
    CJK_FTS_SQL,
    CJK_RUN,
    CUSTOMER_MATCH_CAP,
    NON_CJK_WORD,
    REFERENCE_RE,
    SEARCH_CAP,
    case_by_reference,
    cjk_tsquery,
    search_q,
)
from .workspace import (
    OTHER_CASES_SHOWN,
    TimelineEntry,
    Workspace,
    approved_compensations,
    case_for_action,
    case_for_workspace,
    case_open_deadlines,
    case_workspace,
    pending_compensations,
    state_label,
    transition_label,
)

__all__ = [
    "CJK_FTS_SQL",
    "CJK_RUN",
    "CUSTOMER_MATCH_CAP",
    "DEFAULT_SORT",
    "HOME_COUNT_CAP",
    "HOME_QUEUES",
    "NON_CJK_WORD",
    "OTHER_CASES_SHOWN",
    "PagedCases",
    "QUEUES",
    "Queue",
    "QueueCount",
    "REFERENCE_RE",
    "SEARCH_CAP",
    "SORTS",
    "TimelineEntry",
    "Workspace",
    "agents",
    "alert_links",
    "alerts_for",
    "approved_compensations",
    "capped_count",
    "case_by_reference",
    "case_for_action",
    "case_for_workspace",
    "case_list_for_desk",
    "case_open_deadlines",
    "case_workspace",
    "cjk_tsquery",
    "deadline_state_q",
    "desk_queue_counts",
    "estimated_count",
    "label_rows",
    "may_open_queue",
    "pending_compensations",
    "queue_q",
    "queues_for",
    "rows_in_order",
    "saved_filter_for",
    "saved_filters_for",
    "search_q",
    "state_label",
    "task_force_case_ids",
    "transition_label",
]
