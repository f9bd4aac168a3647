"""The department tree: who is above whom, and where a dispute between two departments goes."""

from __future__ import annotations

from django.conf import settings

from cases.models import Department, User


def _parent_map() -> dict[int, int | None]:
    """Every department's parent id in one query (the tree is small: tens of rows)."""
    return dict(Department.objects.values_list("pk", "parent_id"))


def _chain(start: int, parents: dict[int, int | None]) -> list[int]:
    """``start`` and its ancestors up to the root, bottom-up. Stops at a cycle (an admin error
    that must not hang a request)."""
    chain: list[int] = []
    node: int | None = start
    while node is not None and node not in chain:
        chain.append(node)
        node = parents.get(node)
    return chain


def lowest_common_parent(first: Department | None, second: Department | None) -> Department | None:
    """The lowest department that has both ``first`` and ``second`` in its subtree.

    Siblings meet at their parent, cousins at their grandparent; when one department is under
    the other, the upper one is the common parent; a department with itself is itself. ``None``
    when either is missing or the two are in separate trees (the caller falls back to a
    supervisor).
    """
    if first is None or second is None:
        return None
    parents = _parent_map()
    upper = set(_chain(second.pk, parents))
    for node in _chain(first.pk, parents):
        if node in upper:
            return first if node == first.pk else (
                second if node == second.pk else Department.objects.get(pk=node)
            )
    return None


def customer_service_department() -> Department | None:
    """The department that asks for help when the requester has none on record
    (``CUSTOMER_SERVICE_DEPARTMENT_CODE``, default ``cs``)."""
    code = getattr(settings, "CUSTOMER_SERVICE_DEPARTMENT_CODE", "cs")
    return Department.objects.filter(code=code).first()


def requesting_department_for(user: User) -> Department | None:
    """The asking side of a collaboration request: the requester's own department, else the
    customer-service department."""
    if user.department_id is not None:
        return user.department
    return customer_service_department()


def liaison_department(user: User) -> Department | None:
    """The department ``user`` is the liaison of (one at most), or ``None``."""
    if not user.is_authenticated:
        return None
    return Department.objects.filter(liaison=user).first()
