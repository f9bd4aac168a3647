"""Seed the statutory regimes of issue 14 as data (admins edit them in the Django admin)."""

from django.db import migrations

REGIMES = [
    {
        "code": "cn-banking-insurance",
        "name": "银行保险机构消费投诉处理（15日，可延长）",
        "name_en": "Banking and insurance consumer complaints (15 days, extendable)",
        "source": "《银行保险机构消费投诉处理管理办法》（中国银保监会令2020年第3号，2020年3月1日起施行）"
                  "第二十二条：自受理投诉之日起15日内作出处理决定并告知投诉人；情况复杂的可以延长至30日；"
                  "情况特别复杂或有其他特殊原因的，经上级机构或总行、总公司高级管理人员审批并告知投诉人，"
                  "可以再延长30日。",
        "description": "Decide within 15 calendar days of acceptance (受理); a complex case may be "
                       "extended to 30 days, and by a further 30 days, each with approval and a "
                       "notice to the complainant. The regulation asks senior management "
                       "(上级机构或总行、总公司高级管理人员) to approve the second extension: "
                       "both are approved by a supervisor here; change the roles to suit.",
        "basis": "calendar_days", "starts_at": "acceptance", "acceptance_days": None,
        "first_limit_days": 15, "max_total_days": 60,
        "steps": [(1, 15, "supervisor"), (2, 30, "supervisor")],
    },
    {
        "code": "cn-market-regulation",
        "name": "市场监管投诉（7个工作日受理，45个工作日调解）",
        "name_en": "Market-regulation complaints (7 working days to accept, 45 to mediate)",
        "source": "《市场监督管理投诉举报处理暂行办法》（国家市场监督管理总局令第20号，2020年1月1日起施行）"
                  "第十九条：自收到投诉之日起七个工作日内作出受理或者不予受理的决定；第三十三条："
                  "自投诉受理之日起四十五个工作日内投诉人和被投诉人未能达成调解协议的，终止调解。",
        "description": "Two limits in one regime: decide whether to accept within 7 working days "
                       "of receipt (the acceptance clock, stopped by triage 受理), then the "
                       "mediation ends if there is no agreement within 45 working days of "
                       "acceptance (the statutory clock). No extension.",
        "basis": "working_days", "starts_at": "acceptance", "acceptance_days": 7,
        "first_limit_days": 45, "max_total_days": 45, "steps": [],
    },
    {
        "code": "us-cfpb",
        "name": "美国CFPB投诉（15日答复，最终答复60日）",
        "name_en": "US CFPB complaints (15 days, 60 for a final response)",
        "source": "Consumer Financial Protection Bureau, Company Portal Manual: companies "
                  "respond within 15 days; where a complaint needs more time, an 'in progress' "
                  "response and a final response within 60 days.",
        "description": "Respond within 15 calendar days of receipt; one extension to 60 days "
                       "in total, approved by a supervisor, with a notice to the consumer.",
        "basis": "calendar_days", "starts_at": "receipt", "acceptance_days": None,
        "first_limit_days": 15, "max_total_days": 60, "steps": [(1, 45, "supervisor")],
    },
    {
        "code": "uk-fca-final",
        "name": "英国FCA投诉（8周最终答复）",
        "name_en": "UK FCA complaints (final response within 8 weeks)",
        "source": "FCA Handbook, DISP 1.6.2R: a final response within eight weeks of receipt "
                  "of the complaint (or a response explaining the delay and the referral "
                  "right to the Financial Ombudsman Service).",
        "description": "Eight weeks (56 calendar days) from receipt, no extension: past it the "
                       "complainant may go to the Financial Ombudsman.",
        "basis": "calendar_days", "starts_at": "receipt", "acceptance_days": None,
        "first_limit_days": 56, "max_total_days": 56, "steps": [],
    },
    {
        "code": "uk-fca-summary",
        "name": "英国FCA简易处理（3个工作日）",
        "name_en": "UK FCA summary resolution (3 business days)",
        "source": "FCA Handbook, DISP 1.5: complaints resolved by close of business on the "
                  "third business day following the day of receipt, answered with a summary "
                  "resolution communication (DISP 1.5.4R).",
        "description": "Three business days after the day of receipt, no extension. Give it a "
                       "UK working calendar: working days are counted on the regime's "
                       "calendar.",
        "basis": "working_days", "starts_at": "receipt", "acceptance_days": None,
        "first_limit_days": 3, "max_total_days": 3, "steps": [],
    },
]


def seed(apps, schema_editor):
    Regime = apps.get_model("cases", "Regime")
    Step = apps.get_model("cases", "RegimeExtensionStep")
    for spec in REGIMES:
        spec = dict(spec)
        steps = spec.pop("steps")
        regime, created = Regime.objects.get_or_create(code=spec["code"], defaults=spec)
        if created:
            Step.objects.bulk_create([
                Step(regime=regime, position=position, days=days, approver_role=role)
                for position, days, role in steps])


def unseed(apps, schema_editor):
    apps.get_model("cases", "Regime").objects.filter(
        code__in=[spec["code"] for spec in REGIMES], cases__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [("cases", "0019_statutory_regimes")]

    operations = [migrations.RunPython(seed, unseed)]
