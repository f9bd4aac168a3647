"""Demo reference data: the departments and one user per role (idempotent)."""

from __future__ import annotations

from django.contrib.auth.models import Group

from cases.choices import (
    Role,
)
from cases.models import (
    Department,
    User,
)

DEMO_PASSWORD = "demo12345"

# (username, display name, role, department code)
DEMO_USERS = [
    ("agent", "李娜 (frontline)", Role.FRONTLINE, "cs"),
    ("agent2", "王强 (frontline)", Role.FRONTLINE, "cs"),
    ("senior", "张敏 (senior)", Role.SENIOR, "cs"),
    ("supervisor", "陈静 (supervisor)", Role.SUPERVISOR, "cs"),
    ("logistics", "赵磊 (logistics liaison)", Role.LIAISON, "logistics"),
    ("sales", "刘洋 (sales liaison)", Role.LIAISON, "sales"),
    ("product", "孙悦 (product liaison)", Role.LIAISON, "product"),
    ("billing", "周婷 (billing liaison)", Role.LIAISON, "billing"),
    ("ops", "运营管理员 (admin)", Role.ADMIN, None),
]

# (code, name, English name, parent code, manager username)
DEMO_DEPARTMENTS = [
    ("hq", "总经办", "General management", None, "supervisor"),
    ("cs", "客户服务中心", "Customer service", "hq", "supervisor"),
    ("operations", "运营中心", "Operations", "hq", "supervisor"),
    ("logistics", "物流部", "Logistics", "operations", "supervisor"),
    ("sales", "销售部", "Sales", "operations", "supervisor"),
    ("product-center", "产品中心", "Product centre", "hq", "supervisor"),
    ("product", "产品质量部", "Product quality", "product-center", "supervisor"),
    ("billing", "财务结算部", "Billing", "hq", "supervisor"),
]


def seed_reference_data() -> dict[str, User]:
    """Departments and one user per role (idempotent)."""
    users: dict[str, User] = {}
    for username, display, role, _dept in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"display_name": display, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.save()
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    departments: dict[str, Department] = {}
    for code, name, name_en, parent, manager in DEMO_DEPARTMENTS:
        dept, _ = Department.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "parent": departments.get(parent),
                      "manager": users.get(manager)},
        )
        departments[code] = dept
    for username, _display, role, dept_code in DEMO_USERS:
        if dept_code:
            User.objects.filter(pk=users[username].pk).update(department=departments[dept_code])
        if role == Role.LIAISON:
            Department.objects.filter(liaison=users[username]).exclude(code=dept_code).update(
                liaison=None)
            Department.objects.filter(code=dept_code).update(liaison=users[username])
    return users
