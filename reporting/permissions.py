"""Who may see and do what in reporting.

* Dashboard, KPI tables (and their export) and the root-cause view hold aggregates only, no
  customer data: every agent (frontline, senior, supervisor) and admins see them, so the
  team can see how it is doing. Liaisons do not: they see one department's requests, not the
  company's performance.
* Weekly reviews list cases (reference, subject) to discuss: agents may read them;
  supervisors and admins build them and add and follow up improvement actions.
* Exports that contain case rows (the filtered case list, the weekly review) are customer
  data: supervisors and admins only.
"""

from __future__ import annotations

from typing import Any

from cases.choices import Role


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_admin(user: Any) -> bool:
    return _active(user) and (user.is_superuser or (user.is_staff and user.has_role(Role.ADMIN)))


def can_view_reports(user: Any) -> bool:
    return _active(user) and (
        user.has_role(Role.FRONTLINE, Role.SENIOR, Role.SUPERVISOR) or is_admin(user)
    )


def can_manage_reviews(user: Any) -> bool:
    return _active(user) and (user.has_role(Role.SUPERVISOR) or is_admin(user))


def can_export_customer_data(user: Any) -> bool:
    return can_manage_reviews(user)


def can_edit_targets(user: Any) -> bool:
    return is_admin(user) and user.has_perm("reporting.change_kpitarget")
