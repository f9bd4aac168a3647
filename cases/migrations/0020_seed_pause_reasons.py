"""Seed the usual lawful pause reasons (admins edit or add to them) and the "handling paused"
notice templates (email, SMS, WeChat x Chinese, English; existing rows are never overwritten).

The statutory clock (Clock.STATUTORY, added with the statutory regimes) belongs in the
``clocks`` of the reasons the law excludes from the statutory time limit (materials the
complainant must supply, testing or appraisal, another authority's decision); it is added to
these rows when that clock exists."""

from django.db import migrations

# code, Chinese name, English name, maximum days, clocks, requires evidence, resumes when the
# customer answers
REASONS = [
    ("customer_materials", "等待投诉人补充材料", "Waiting for the complainant's materials", 30,
     ["response", "solution", "progress"], False, True),
    ("third_party_testing", "第三方检测/鉴定", "Third-party testing or appraisal", 60,
     ["solution", "progress"], True, False),
    ("authority", "等待监管机构或其他机关处理", "Waiting for a regulator or another authority", 60,
     ["solution", "progress"], True, False),
    ("customer_unreachable", "投诉人暂时无法联系", "Complainant cannot be reached for now", 7,
     ["solution", "progress"], False, True),
]


# language -> (subject, email body, short body for SMS and WeChat)
NOTICE_TEXTS = {
    "zh-hans": (
        "您的投诉 {reference} 处理时限暂停",
        "{customer_name}您好：\n\n您的投诉 {reference} 的处理时限自即日起暂停，原因：{reason}。\n"
        "该事项处理完毕后恢复计时，最迟于 {resume_by} 恢复，届时处理期限相应顺延。\n"
        "您可使用查询码 {tracking_code} 查看处理进度。",
        "【客服中心】{customer_name}您好，投诉{reference}处理时限暂停，原因：{reason}，"
        "最迟{resume_by}恢复计时。查询码{tracking_code}",
    ),
    "en": (
        "The handling time of your complaint {reference} is paused",
        "Dear {customer_name},\n\nThe time limit for handling your complaint {reference} is "
        "paused: {reason}.\nIt runs again when this is settled, at the latest on {resume_by}, "
        "and the due dates move by the paused time.\nTrack its progress with tracking code "
        "{tracking_code}.",
        "[Customer Care] Dear {customer_name}, complaint {reference} is paused: {reason}. "
        "It runs again by {resume_by} at the latest. Code {tracking_code}",
    ),
}


def seed(apps, schema_editor):
    NoticeTemplate = apps.get_model("cases", "NoticeTemplate")
    for language, (subject, email_body, short_body) in NOTICE_TEXTS.items():
        for channel, body in (("email", email_body), ("sms", short_body),
                              ("wechat", short_body)):
            NoticeTemplate.objects.get_or_create(
                kind="pause", channel=channel, language=language,
                defaults={"subject": subject if channel != "sms" else "", "body": body},
            )
    PauseReason = apps.get_model("cases", "PauseReason")
    for order, (code, name, name_en, days, clocks, evidence, reply) in enumerate(REASONS):
        PauseReason.objects.get_or_create(code=code, defaults={
            "name": name, "name_en": name_en, "max_days": days, "clocks": clocks,
            "requires_evidence": evidence, "resumes_on_customer_reply": reply,
            "order": order * 10,
        })


def unseed(apps, schema_editor):
    apps.get_model("cases", "PauseReason").objects.filter(
        code__in=[r[0] for r in REASONS]).delete()
    apps.get_model("cases", "NoticeTemplate").objects.filter(kind="pause").delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0019_pauses")]
    operations = [migrations.RunPython(seed, unseed)]
