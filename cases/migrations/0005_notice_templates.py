"""Seed the notice templates: every notice kind x written channel (SMS, email, WeChat) x
language (Simplified Chinese, English). Admins edit them; existing rows are never overwritten.
(The "phone" contact preference has no template: a notice for such a customer goes by SMS.)"""

from django.db import migrations

SMS_SIGN_ZH = "【客服中心】"
SMS_SIGN_EN = "[Customer Care] "

TEXTS = {
    ("acknowledgement", "zh-hans"): (
        "我们已收到您的投诉 {reference}",
        "{customer_name}您好：\n\n我们已收到您的投诉，受理编号 {reference}。我们会尽快与您联系并处理。\n"
        "您可随时在 {track_url} 使用查询码 {tracking_code} 查看处理进度。\n\n感谢您的反馈！",
        SMS_SIGN_ZH + "{customer_name}您好，您的投诉已受理，编号{reference}，查询码{tracking_code}，"
        "进度查询：{track_url}",
    ),
    ("acknowledgement", "en"): (
        "We received your complaint {reference}",
        "Dear {customer_name},\n\nWe have received your complaint and registered it as "
        "{reference}. We will contact you soon.\nYou can follow its progress at {track_url} "
        "with tracking code {tracking_code}.\n\nThank you for telling us.",
        SMS_SIGN_EN + "Dear {customer_name}, your complaint {reference} is registered. "
        "Track it at {track_url} (code {tracking_code}).",
    ),
    ("feedback", "zh-hans"): (
        "您的投诉 {reference} 处理结果",
        "{customer_name}您好：\n\n关于您的投诉 {reference}，处理结果如下：\n{message}\n\n"
        "补偿：{compensation}\n为避免类似问题再次发生，我们已采取以下措施：{measures}\n\n"
        "如有疑问，请直接回复本邮件。",
        SMS_SIGN_ZH + "{customer_name}您好，投诉{reference}处理结果：{message} 补偿：{compensation}。"
        "改进措施：{measures}",
    ),
    ("feedback", "en"): (
        "The result of your complaint {reference}",
        "Dear {customer_name},\n\nAbout your complaint {reference}:\n{message}\n\n"
        "Compensation: {compensation}\nWhat we have changed so that it does not happen again: "
        "{measures}\n\nIf anything is unclear, just reply to this email.",
        SMS_SIGN_EN + "Dear {customer_name}, result of complaint {reference}: {message} "
        "Compensation: {compensation}. Measures taken: {measures}",
    ),
    ("survey", "zh-hans"): (
        "请评价我们对投诉 {reference} 的处理",
        "{customer_name}您好：\n\n您的投诉 {reference} 已处理完毕。请花一分钟告诉我们您是否满意：\n"
        "{survey_url}\n\n链接仅可使用一次，有效期至 {expires_on}。客服人员也可能致电回访，"
        "您只需回答其中一次。",
        SMS_SIGN_ZH + "{customer_name}您好，请评价投诉{reference}的处理：{survey_url} "
        "（有效期至{expires_on}）",
    ),
    ("survey", "en"): (
        "How did we handle your complaint {reference}?",
        "Dear {customer_name},\n\nYour complaint {reference} has been handled. Please take a "
        "minute to tell us how satisfied you are:\n{survey_url}\n\nThe link works once and "
        "until {expires_on}. An agent may also call you; answering either one is enough.",
        SMS_SIGN_EN + "Dear {customer_name}, how did we handle complaint {reference}? "
        "{survey_url} (valid until {expires_on})",
    ),
    ("follow_up", "zh-hans"): (
        "关于您的投诉 {reference} 的跟进",
        "{customer_name}您好：\n\n关于投诉 {reference}，我们进行了进一步处理：\n{message}\n\n"
        "感谢您的耐心与理解。",
        SMS_SIGN_ZH + "{customer_name}您好，投诉{reference}跟进：{message}",
    ),
    ("follow_up", "en"): (
        "Follow-up on your complaint {reference}",
        "Dear {customer_name},\n\nFollowing up on your complaint {reference}:\n{message}\n\n"
        "Thank you for your patience.",
        SMS_SIGN_EN + "Dear {customer_name}, follow-up on complaint {reference}: {message}",
    ),
    ("staff_alert", "zh-hans"): (
        "督办提醒：{reference}",
        "{recipient_name}您好：\n\n{message}\n\n查看案件：{case_url}",
        "督办提醒：{message} {case_url}",
    ),
    ("staff_alert", "en"): (
        "Complaint desk alert: {reference}",
        "Hello {recipient_name},\n\n{message}\n\nOpen the case: {case_url}",
        "Alert: {message} {case_url}",
    ),
}


def seed(apps, schema_editor):
    NoticeTemplate = apps.get_model("cases", "NoticeTemplate")
    for (kind, language), (subject, email_body, short_body) in TEXTS.items():
        for channel, body in (("email", email_body), ("sms", short_body),
                              ("wechat", short_body)):
            NoticeTemplate.objects.get_or_create(
                kind=kind, channel=channel, language=language,
                defaults={"subject": subject if channel != "sms" else "", "body": body},
            )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_board_request_details"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
