from django.db import migrations

CHANNELS = [
    ("hotline", "客服热线 Hotline", "hotline"),
    ("walk-in", "门店登记 Store walk-in", "walk_in"),
    ("letter", "信函 Letter", "letter"),
    ("web", "官网表单 Web form", "web"),
    ("email", "电子邮件 Email", "email"),
    ("app", "App 反馈 App feedback", "app"),
    ("wechat", "微信 WeChat", "wechat"),
    ("weibo", "微博 Weibo", "weibo"),
    ("call-centre", "呼叫中心 Call centre", "call_centre"),
    ("import", "批量导入 Bulk import", "import"),
]


def forwards(apps, schema_editor):
    Channel = apps.get_model("channels", "Channel")
    for code, name, kind in CHANNELS:
        Channel.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})


class Migration(migrations.Migration):
    dependencies = [("channels", "0001_initial"), ("cases", "0002_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
