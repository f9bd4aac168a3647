"""Seed the usual lawful pause reasons (admins edit or add to them).

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


def seed(apps, schema_editor):
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


class Migration(migrations.Migration):
    dependencies = [("cases", "0019_pauses")]
    operations = [migrations.RunPython(seed, unseed)]
