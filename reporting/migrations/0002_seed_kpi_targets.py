"""Seed SPEC's KPI targets and give the admin role the reporting permissions (the roles
migration in cases ran before these models existed)."""

from django.db import migrations

# code, direction, target (percent; None = falling period over period). Frozen copy of SPEC.
TARGETS = [
    ("first_response", "at_least", 95),
    ("handling_complete", "at_least", 95),
    ("satisfaction", "at_least", 85),
    ("feedback_on_time", "at_least", 95),
    ("revisit_done", "at_least", 90),
    ("tier_accuracy", "at_least", 90),
    ("late_handling", "at_most", 8),
    ("slow_response_escalation", "falling", None),
    ("key_customer_recovery", "at_least", 90),
    ("department_response", "at_least", 95),
    ("handling_cycle", "falling", None),
]


def forwards(apps, schema_editor):
    KpiTarget = apps.get_model("reporting", "KpiTarget")
    for code, direction, target in TARGETS:
        KpiTarget.objects.get_or_create(code=code, defaults={"direction": direction,
                                                             "target": target})
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("reporting")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin = Group.objects.filter(name="admin").first()
    if admin is not None:
        admin.permissions.add(*Permission.objects.filter(content_type__app_label="reporting"))


def backwards(apps, schema_editor):
    apps.get_model("reporting", "KpiTarget").objects.filter(
        code__in=[code for code, _d, _t in TARGETS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("cases", "0003_roles_policies"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
