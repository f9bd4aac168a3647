"""Seed the notice templates of the statutory extension notice (issue 14): email, SMS and
WeChat, Simplified Chinese and English. Admins edit them; existing rows are never
overwritten."""

from django.db import migrations

SMS_SIGN_ZH = "【客服中心】"
SMS_SIGN_EN = "[Customer Care] "

TEXTS = {
    "zh-hans": (
        "您的投诉 {reference} 处理时限已延长",
        "{customer_name}您好：\n\n根据{regime}，您的投诉 {reference} 情况较为复杂，处理决定时限"
        "已延长至 {new_due}。\n延期理由：{reason}\n\n我们会在新的时限内给您答复，"
        "感谢您的理解。",
        SMS_SIGN_ZH + "{customer_name}您好，您的投诉{reference}处理时限已依据{regime}延长至"
        "{new_due}，理由：{reason}",
    ),
    "en": (
        "The time limit for your complaint {reference} is extended",
        "Dear {customer_name},\n\nUnder {regime}, the time limit for deciding your complaint "
        "{reference} is extended to {new_due}.\nReason: {reason}\n\nWe will answer you "
        "within the new limit. Thank you for your patience.",
        SMS_SIGN_EN + "Dear {customer_name}, under {regime} the time limit for complaint "
        "{reference} is extended to {new_due}. Reason: {reason}",
    ),
}


def seed(apps, schema_editor):
    NoticeTemplate = apps.get_model("cases", "NoticeTemplate")
    for language, (subject, email_body, short_body) in TEXTS.items():
        for channel, body in (("email", email_body), ("sms", short_body),
                              ("wechat", short_body)):
            NoticeTemplate.objects.get_or_create(
                kind="extension", channel=channel, language=language,
                defaults={"subject": subject if channel != "sms" else "",
                          "body": body},
            )


def unseed(apps, schema_editor):
    apps.get_model("cases", "NoticeTemplate").objects.filter(kind="extension").delete()


class Migration(migrations.Migration):

    dependencies = [("cases", "0024_merge_statutory_and_calendars")]

    operations = [migrations.RunPython(seed, unseed)]
