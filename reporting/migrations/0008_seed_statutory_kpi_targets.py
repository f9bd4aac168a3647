"""The target rows of the statutory KPIs (issue 14): on time by statute 100 %, extensions
approved watched period over period."""

from django.db import migrations

TARGETS = [("statutory_on_time", "at_least", 100), ("extensions_approved", "falling", None)]


def forwards(apps, schema_editor):
    KpiTarget = apps.get_model("reporting", "KpiTarget")
    for code, direction, target in TARGETS:
        KpiTarget.objects.get_or_create(code=code, defaults={"direction": direction,
                                                             "target": target})


def backwards(apps, schema_editor):
    apps.get_model("reporting", "KpiTarget").objects.filter(
        code__in=[code for code, _d, _t in TARGETS]).delete()


class Migration(migrations.Migration):
    dependencies = [("reporting", "0007_statutory_kpi_columns")]

    operations = [migrations.RunPython(forwards, backwards)]
