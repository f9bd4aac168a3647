"""Seed a few canned replies in both languages, the default final-response letter template and
the letter notice's texts (admins edit or replace them; existing rows are left alone). E-mail
carries the whole letter; SMS and WeChat say it was issued and link to the progress page, which
shows it in full."""

from django.db import migrations

HANDLING = ["triaged", "assigned", "in_progress", "waiting_department"]

# title, English title, Chinese text, English text, categories, stages, action, pause reason
MACROS = [
    ("受理确认并告知时限", "Acknowledge and give the date",
     "{customer_name}您好，我是客服专员{agent_name}。您的投诉 {reference} 已由我负责跟进，"
     "我们会在 {due_date} 前给您明确答复。处理进度可随时查看：{tracking_link}",
     "Dear {customer_name}, this is {agent_name} from Customer Care. I am handling your "
     "complaint {reference} and you will have our answer by {due_date}. You can follow its "
     "progress at {tracking_link}",
     [], HANDLING, "", None),
    ("请补充材料", "Request materials",
     "{customer_name}您好，为尽快核实您反映的问题（{reference}），请补充以下材料：\n"
     "1. 订单截图或购买凭证；\n2. 问题部位的照片或视频；\n3. 其他您认为有助于说明情况的材料。\n"
     "直接回复本消息即可。收到材料前，处理时限暂停计算，收到后立即恢复。",
     "Dear {customer_name}, to look into your complaint {reference} quickly we need:\n"
     "1. a screenshot of the order or the receipt;\n2. photos or a video of the problem;\n"
     "3. anything else that helps explain what happened.\n"
     "Just reply to this message. The handling time is paused until we receive them and runs "
     "again as soon as we do.",
     [], HANDLING, "request_materials", "customer_materials"),
    ("材料已收到", "Materials received",
     "{customer_name}您好，您补充的材料已收到，谢谢配合。我们已恢复处理您的投诉 {reference}，"
     "将在 {due_date} 前给您答复。",
     "Dear {customer_name}, thank you: we received your materials and are handling your "
     "complaint {reference} again. You will have our answer by {due_date}.",
     [], HANDLING, "materials_received", None),
    ("处理进展告知", "Progress update",
     "{customer_name}您好，关于您的投诉 {reference}：我们正在与相关部门核实情况，"
     "预计 {due_date} 前给您结果。如有新进展会第一时间告知您。—— {agent_name}",
     "Dear {customer_name}, about your complaint {reference}: we are checking the facts with "
     "the department concerned and expect to have a result by {due_date}. We will tell you as "
     "soon as anything changes. -- {agent_name}",
     [], HANDLING, "progress", None),
    ("物流延误致歉", "Delivery delay apology",
     "{customer_name}您好，非常抱歉您的包裹未能按时送达。我们已联系承运商加急处理，"
     "并将在 {due_date} 前告知您最新物流情况。进度查询：{tracking_link}",
     "Dear {customer_name}, we are sorry your parcel did not arrive on time. We have asked "
     "the carrier to speed it up and will update you on the delivery by {due_date}. Progress: "
     "{tracking_link}",
     ["delivery"], [], "", None),
]

LETTER = {
    "name": "答复函（标准）",
    "subject": "关于投诉 {reference} 的答复函",
    "subject_en": "Final response to your complaint {reference}",
    "body": (
        "{customer_name}：\n\n"
        "您好！您反映的投诉（编号 {reference}）我们已调查处理完毕，现答复如下。\n\n"
        "一、经核实的事实\n{facts}\n\n"
        "二、处理决定\n{decision}\n\n"
        "三、决定理由\n{reasons}\n\n"
        "四、补偿\n{compensation}\n\n"
        "五、改进措施\n{measures}\n\n"
        "六、如您对本答复不满意\n{escalation}\n\n"
        "联系我们\n{contact}\n\n"
        "{date}"
    ),
    "body_en": (
        "Dear {customer_name},\n\n"
        "We have completed our investigation of your complaint {reference}. This is our final "
        "response.\n\n"
        "1. The facts as established\n{facts}\n\n"
        "2. Our decision\n{decision}\n\n"
        "3. The reasons for it\n{reasons}\n\n"
        "4. Compensation\n{compensation}\n\n"
        "5. What we changed\n{measures}\n\n"
        "6. If you are not satisfied with this response\n{escalation}\n\n"
        "Contact us\n{contact}\n\n"
        "{date}"
    ),
    "escalation": (
        "您可在收到本答复后通过本函所列方式向我们申请复核；也可拨打全国12315消费者投诉举报"
        "专线或登录全国12315平台向市场监督管理部门投诉；可向消费者协会等调解组织申请调解；"
        "双方有仲裁协议的，可申请仲裁；也可依法向人民法院提起诉讼。"
    ),
    "escalation_en": (
        "You may ask us to review this response using the contact details below. You may also "
        "complain to the market regulation authority through the national 12315 hotline or "
        "platform, ask a consumer association or another mediation body to mediate, apply for "
        "arbitration where there is an arbitration agreement, or bring the matter before a "
        "people's court."
    ),
    "contact": "客户服务中心　热线：400-800-1234（每日9:00-21:00）　邮箱：complaints@example.com",
    "contact_en": ("Customer Care Centre, hotline 400-800-1234 (daily 9:00-21:00), "
                   "e-mail complaints@example.com"),
}


# language -> (e-mail subject, SMS / WeChat text)
LETTER_NOTICES = {
    "zh-hans": ("关于您的投诉 {reference} 的答复函",
                "【客服中心】{customer_name}您好，您的投诉{reference}的答复函已出具，"
                "全文请见 {track_url}（查询码{tracking_code}）。"),
    "en": ("Final response to your complaint {reference}",
           "[Customer Care] Dear {customer_name}, our final response to complaint {reference} "
           "is ready: read it at {track_url} (code {tracking_code})."),
}


def seed(apps, schema_editor):
    Macro = apps.get_model("cases", "Macro")
    PauseReason = apps.get_model("cases", "PauseReason")
    for order, (title, title_en, body, body_en, cats, stages, action, reason) in enumerate(
            MACROS):
        if Macro.objects.filter(title=title).exists():
            continue
        pause_reason = PauseReason.objects.filter(code=reason).first() if reason else None
        if reason and pause_reason is None:
            continue  # the admins removed the reason: no half-configured macro
        Macro.objects.create(title=title, title_en=title_en, body=body, body_en=body_en,
                             categories=cats, stages=stages, action=action,
                             pause_reason=pause_reason, order=order * 10)
    LetterTemplate = apps.get_model("cases", "LetterTemplate")
    if not LetterTemplate.objects.exists():
        LetterTemplate.objects.create(**LETTER)
    NoticeTemplate = apps.get_model("cases", "NoticeTemplate")
    for language, (subject, short) in LETTER_NOTICES.items():
        for channel, body in (("email", "{letter}"), ("sms", short), ("wechat", short)):
            NoticeTemplate.objects.get_or_create(
                kind="letter", channel=channel, language=language,
                defaults={"subject": subject if channel != "sms" else "", "body": body})


def unseed(apps, schema_editor):
    apps.get_model("cases", "Macro").objects.filter(title__in=[m[0] for m in MACROS]).delete()
    apps.get_model("cases", "LetterTemplate").objects.filter(name=LETTER["name"]).delete()
    apps.get_model("cases", "NoticeTemplate").objects.filter(kind="letter").delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0034_macros_and_letters")]
    operations = [migrations.RunPython(seed, unseed)]
