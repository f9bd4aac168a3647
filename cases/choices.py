"""The vocabulary of the domain: every enumerated value a case can hold."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Roles are Django groups with these names (created by a migration)."""

    FRONTLINE = "frontline_agent", _("Frontline agent")
    SENIOR = "senior_agent", _("Senior agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    LIAISON = "department_liaison", _("Department liaison")
    ADMIN = "admin", _("Admin")


class ChannelKind(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    WALK_IN = "walk_in", _("Store walk-in")
    WEB = "web", _("Web form")
    APP = "app", _("App feedback")
    WECHAT = "wechat", _("WeChat")
    WEIBO = "weibo", _("Weibo")
    CALL_CENTRE = "call_centre", _("Call-centre system")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    IMPORT = "import", _("Bulk import")


# Channels on which an agent talks to the customer while logging: that is the first response.
AGENT_LOGGED_CHANNELS = (ChannelKind.HOTLINE, ChannelKind.WALK_IN)

# The longest free text a person types into one box on the desk or the board (a note, a
# solution, a message to the customer, a reason): about three pages of Chinese.
MAX_FREE_TEXT = 4000


class Category(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    AFTER_SALES = "after_sales", _("After-sales")
    FALSE_ADVERTISING = "false_advertising", _("False advertising")
    DELIVERY = "delivery", _("Delivery / logistics")
    BILLING = "billing", _("Billing / charges")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    UNFULFILLED_PROMISE = "unfulfilled_promise", _("Unfulfilled promise")
    OTHER = "other", _("Other")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")


class Urgency(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency (safety or property loss)")
    ROUTINE = "routine", _("Routine")


class Scope(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    GROUP = "group", _("Group")


class Difficulty(models.TextChoices):
    FRONTLINE = "frontline", _("Frontline can solve")
    CROSS_DEPARTMENT = "cross_department", _("Needs another department")


class Tier(models.IntegerChoices):
    UNTRIAGED = 0, _("Not yet tiered")
    URGENT = 1, _("Tier 1 urgent")
    IMPORTANT = 2, _("Tier 2 important")
    ROUTINE = 3, _("Tier 3 routine")


class Stage(models.TextChoices):
    RECEIVED = "received", _("Received")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_DEPARTMENT = "waiting_department", _("Waiting on a department")
    RESOLVED = "resolved", _("Resolved")
    FEEDBACK_GIVEN = "feedback_given", _("Feedback given")
    REVISIT = "revisit", _("Satisfaction revisit")
    FOLLOW_UP = "follow_up", _("Second follow-up")
    # The complainant asked for a review 申请核查 of the answer; a reviewer above the handler
    # confirms or changes the decision.
    REVIEW = "under_review", _("Under review")
    CLOSED = "closed", _("Closed")
    INVALID = "invalid", _("Invalid / withdrawn")


OPEN_STAGES = tuple(s for s in Stage.values if s not in (Stage.CLOSED, Stage.INVALID))
# Stages before resolution: the case is still being handled.
HANDLING_STAGES = (
    Stage.RECEIVED,
    Stage.TRIAGED,
    Stage.ASSIGNED,
    Stage.IN_PROGRESS,
    Stage.WAITING_DEPARTMENT,
)


class Clock(models.TextChoices):
    """Every deadline of the process. Each has a due time and a stop time on the case."""

    ASSIGN = "assign", _("Assignment")
    RESPONSE = "response", _("First response")
    SOLUTION = "solution", _("Solution")
    PROGRESS = "progress", _("Progress update")
    FEEDBACK = "feedback", _("Result feedback")
    REVISIT = "revisit", _("Satisfaction revisit")
    FOLLOW_UP = "follow_up", _("Second follow-up")
    DEPARTMENT = "department", _("Department response")
    REVIEW = "review", _("Review")
    STATUTORY = "statutory", _("Statutory limit")
    ACCEPTANCE = "acceptance", _("Statutory acceptance decision")


# The clocks a statutory regime runs (cases.services.statutory), never re-timed by the tiers.
STATUTORY_CLOCKS = (Clock.STATUTORY, Clock.ACCEPTANCE)


class SlaState(models.TextChoices):
    ON_TIME = "on_time", _("On time")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


class NoteKind(models.TextChoices):
    INTERNAL = "internal", _("Internal note")
    PROGRESS = "progress", _("Progress update")
    CONTACT = "contact", _("Contact with customer")
    CUSTOMER_MESSAGE = "customer_message", _("Message from customer")
    # Claims to be from the customer but the sender could not be verified: staff only.
    UNVERIFIED_MESSAGE = "unverified_message", _("Unverified message")
    # A message an agent wrote to the customer, sent through the outbox (``CaseNote.notice``).
    REPLY = "reply", _("Reply to the customer")


class CompensationKind(models.TextChoices):
    COUPON = "coupon", _("Coupon")
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement")
    REPAIR = "repair", _("Repair")
    CASH = "cash", _("Cash")
    GIFT = "gift", _("Gift")
    OTHER = "other", _("Other")


class CompensationStatus(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ReviewOutcome(models.TextChoices):
    CONFIRMED = "confirmed", _("Decision confirmed")
    CHANGED = "changed", _("Decision changed")


# Stages from which the complainant may ask for a review: the answer has been given.
REVIEWABLE_STAGES = (Stage.FEEDBACK_GIVEN, Stage.REVISIT, Stage.FOLLOW_UP, Stage.CLOSED)


class RevisitMethod(models.TextChoices):
    SURVEY = "survey", _("Online survey")
    PHONE = "phone", _("Phone call")


class Basis(models.TextChoices):
    """How a clock counts: every minute, or only the working minutes of a calendar."""

    ELAPSED = "elapsed", _("Elapsed time")
    WORKING = "working", _("Working time")
