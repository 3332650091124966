"""Roles (责任体系). Lane ids in the diagrams name these codes; assignments scope them to a unit."""

from __future__ import annotations

ROLES: dict[str, tuple[str, str]] = {
    "inspection_office": ("巡察办", "Inspection office"),
    "leading_group": ("巡察工作领导小组", "Inspection leading group"),
    "party_committee": ("被巡察党组织", "Inspected Party organisation"),
    "principal_leader": ("主要负责人", "Principal leader"),
    "leadership_member": ("领导班子成员", "Leadership team member"),
    "rectification_office": ("整改办公室", "Unit rectification office"),
    "responsible_department": ("整改责任部门", "Responsible department"),
    "discipline_committee": ("纪委", "Discipline committee"),
    "supervision_department": ("纪检、组织部门", "Discipline / organisation department"),
    "functional_department": ("职能部门", "Functional department"),
    "process_designer": ("流程设计员", "Process designer"),
    "admin": ("系统管理员", "Administrator"),
}

# Roles that read everything inside their unit's subtree, whatever the task lanes say: the group's
# oversight bodies, and the unit-level bodies that coordinate rectification inside their unit.
OVERSIGHT_ROLES = frozenset({"inspection_office", "leading_group", "discipline_committee",
                             "supervision_department", "admin", "party_committee", "principal_leader",
                             "rectification_office"})


def role_label(code: str, locale: str = "zh_CN") -> str:
    zh, en = ROLES.get(code, (code, code))
    return zh if locale.startswith("zh") else en
