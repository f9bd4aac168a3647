"""Roles as groups with permissions, SPEC's SLA numbers, the root-cause taxonomy and the
desk settings row. Admins change all of these later in the Django admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SLA = [  # tier, first response (min), solution (min)
    (1, 60, 24 * 60),
    (2, 120, 48 * 60),
    (3, 240, 72 * 60),
]

ROOT_CAUSES = [
    ("product-defect", "产品缺陷", "Product defect"),
    ("logistics-delay", "物流延误", "Logistics delay"),
    ("billing-error", "计费错误", "Billing error"),
    ("staff-attitude", "服务态度", "Staff attitude"),
    ("process-gap", "流程缺陷", "Process gap"),
    ("misleading-info", "宣传误导", "Misleading information"),
    ("system-fault", "系统故障", "System fault"),
    ("customer-misunderstanding", "客户误解", "Customer misunderstanding"),
    ("third-party", "第三方原因", "Third party"),
    ("other", "其他", "Other"),
]

VIEW = ["view_case", "view_customer", "view_casenote", "view_compensation", "view_casetransition",
        "view_department", "view_collaborationrequest", "view_collaborationtodo",
        "view_collaborationnote", "view_notice", "view_revisit", "view_rootcause",
        "view_slapolicy", "view_casedeadline", "view_complaintgroup", "view_caseattachment"]
AGENT = VIEW + ["add_case", "add_customer", "change_customer", "add_casenote",
                "add_compensation", "add_collaborationrequest", "add_collaborationnote",
                "add_collaborationtodo", "change_collaborationtodo"]
SUPERVISOR = AGENT + ["change_case", "change_compensation", "view_user"]
LIAISON = ["view_collaborationrequest", "view_collaborationtodo", "add_collaborationtodo",
           "change_collaborationtodo", "view_collaborationnote", "add_collaborationnote"]


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    cases_perms = Permission.objects.filter(content_type__app_label="cases")

    def grant(name, codenames):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(cases_perms.filter(codename__in=codenames))

    grant("frontline_agent", AGENT)
    grant("senior_agent", AGENT)
    grant("supervisor", SUPERVISOR)
    grant("department_liaison", LIAISON)
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["cases", "channels", "reporting", "auth"]
        )
    )

    SlaPolicy = apps.get_model("cases", "SlaPolicy")
    for tier, response, solution in SLA:
        SlaPolicy.objects.update_or_create(
            tier=tier,
            defaults={"response_minutes": response, "solution_minutes": solution,
                      "assign_minutes": 120, "progress_minutes": 1440,
                      "feedback_minutes": 1440, "revisit_minutes": 2880,
                      "follow_up_minutes": 2880, "department_minutes": 1440},
        )
    RootCause = apps.get_model("cases", "RootCause")
    for code, name, name_en in ROOT_CAUSES:
        RootCause.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en})
    DeskSettings = apps.get_model("cases", "DeskSettings")
    DeskSettings.objects.get_or_create(pk=1)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["frontline_agent", "senior_agent", "supervisor", "department_liaison", "admin"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_initial"),
        ("channels", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
