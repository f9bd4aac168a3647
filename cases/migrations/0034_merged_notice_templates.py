"""Seed the notice templates of the "cases merged" notice (issue 16): email, SMS and WeChat,
Simplified Chinese and English. Admins edit them; existing rows are never overwritten."""

from django.db import migrations

SMS_SIGN_ZH = "【客服中心】"
SMS_SIGN_EN = "[Customer Care] "

TEXTS = {
    "zh-hans": (
        "您的投诉 {merged_reference} 已与 {reference} 合并处理",
        "{customer_name}您好：\n\n您的投诉 {merged_reference} 与投诉 {reference} 反映的是同一"
        "事项，我们将合并在 {reference} 中一并处理。\n请使用投诉编号 {reference} 和查询码 "
        "{tracking_code} 查询处理进度。\n\n感谢您的理解。",
        SMS_SIGN_ZH + "{customer_name}您好，您的投诉{merged_reference}与{reference}为同一事项，"
        "已合并处理，请凭编号{reference}及查询码{tracking_code}查询进度。",
    ),
    "en": (
        "Your complaints {merged_reference} and {reference} are handled together",
        "Dear {customer_name},\n\nYour complaint {merged_reference} is about the same matter "
        "as {reference}, so we handle both under {reference}.\nTrack its progress with "
        "reference {reference} and tracking code {tracking_code}.\n\nThank you for your "
        "understanding.",
        SMS_SIGN_EN + "Dear {customer_name}, complaint {merged_reference} is handled together "
        "with {reference}. Track it with {reference} and code {tracking_code}.",
    ),
}


def seed(apps, schema_editor):
    NoticeTemplate = apps.get_model("cases", "NoticeTemplate")
    for language, (subject, email_body, short_body) in TEXTS.items():
        for channel, body in (("email", email_body), ("sms", short_body),
                              ("wechat", short_body)):
            NoticeTemplate.objects.get_or_create(
                kind="merged", channel=channel, language=language,
                defaults={"subject": subject if channel != "sms" else "", "body": body},
            )


def unseed(apps, schema_editor):
    apps.get_model("cases", "NoticeTemplate").objects.filter(kind="merged").delete()


class Migration(migrations.Migration):

    dependencies = [("cases", "0033_case_links_merges")]

    operations = [migrations.RunPython(seed, unseed)]
