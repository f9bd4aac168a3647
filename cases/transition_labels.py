"""Human names of transitions, shared by buttons, errors and the timeline."""

from django.utils.translation import gettext_lazy as _

# What a logged change (``CaseTransition.field``) moved: its machine or field.
MACHINE_LABELS = {
    "stage": _("Stage"),
    "tier": _("Tier"),
    "owner": _("Owner"),
    "handler": _("Handler"),
    "department": _("Department"),
    "request": _("Department request"),
    "pause": _("Pause"),
    "statutory": _("Statutory limit"),
}

TRANSITION_LABELS = {
    "confirm_tier": _("Confirm tier"),
    "retier": _("Re-tier"),
    "triage": _("Triage"),
    "assign": _("Assign"),
    "start": _("Start handling"),
    "wait_for_department": _("Wait on department"),
    "resume": _("Resume"),
    "resolve": _("Resolve"),
    "give_feedback": _("Give feedback"),
    "open_revisit": _("Open revisit"),
    "record_revisit": _("Record revisit"),
    "complete_follow_up": _("Complete follow-up"),
    "request_review": _("Review requested by the customer"),
    "conclude_review": _("Conclude review"),
    "assign_review": _("Assign review"),
    "reopen": _("Reopen"),
    "invalidate": _("Close as invalid / withdrawn"),
    "close": _("Close"),  # an imported case's closing in the legacy system
    "transfer_ownership": _("Transfer ownership"),
    "change_handler": _("Change handler"),
    # Automatic routing and recusal 回避 (issue 16).
    "route": _("Not routed automatically"),
    "complained_employee": _("Employee complained about"),
    "answer": _("Propose plan"),
    "accept": _("Accept plan"),
    "dispute": _("Dispute plan"),
    "decide": _("Decide"),
    "complete": _("Mark done"),
    "withdraw": _("Withdraw request"),
    # Timeline rows of department requests that are not request transitions.
    "request_help": _("Help requested from a department"),
    "request_note": _("Department request progress"),
    "request_overdue": _("Department request overdue"),
    # Timeline rows of the statutory clock (cases.services.statutory).
    "statutory_start": _("Statutory clock started"),
    "statutory_calendar_days": _("Statutory limit counted in calendar days (calendar data "
                                 "missing)"),
    "extension_request": _("Statutory extension requested"),
    "extension_approve": _("Statutory extension approved"),
    "extension_refuse": _("Statutory extension refused"),
    # Related cases (cases.services.merging, splitting, groups).
    "link": _("Linked to"),
    "unlink": _("Link removed"),
    "close_as_duplicate": _("Closed as duplicate (merged)"),
    "restore_merged": _("Merge undone"),
    "merge_in": _("Case merged in"),
    "merge_undone": _("Merged case taken out again"),
    "split_to": _("Matter split off to"),
    "split_from": _("Split off"),
    "group_add": _("Added to group complaint"),
    "group_remove": _("Removed from group complaint"),
}
