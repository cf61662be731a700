"""What each role may do. One table, read by services, pages, API and CLI alike."""

from __future__ import annotations

from dixian.accounts.models import Role
from dixian.core.errors import PermissionDenied

IMPORT_LEDGER = "import_ledger"
EXPORT_LEDGER = "export_ledger"
EXPORT_FULL_ID = "export_full_id"
REVEAL_PERSONAL = "reveal_personal"
VIEW_AUDIT = "view_audit"
MANAGE_USERS = "manage_users"
LOAD_FEED = "load_feed"
MANAGE_RULES = "manage_rules"
RUN_SCREENING = "run_screening"
VERIFY_ALERT = "verify_alert"
ASSIGN_ALERT = "assign_alert"
PUBLISH_FIGURES = "publish_figures"

_GRANTS: dict[str, set[str]] = {
    Role.COUNTY_ADMIN: {
        IMPORT_LEDGER,
        EXPORT_LEDGER,
        EXPORT_FULL_ID,
        REVEAL_PERSONAL,
        VIEW_AUDIT,
        MANAGE_USERS,
        LOAD_FEED,
        MANAGE_RULES,
        RUN_SCREENING,
        VERIFY_ALERT,
        ASSIGN_ALERT,
        PUBLISH_FIGURES,
    },
    Role.COUNTY_STAFF: {EXPORT_LEDGER, LOAD_FEED, RUN_SCREENING, ASSIGN_ALERT},
    Role.TOWNSHIP_CADRE: {IMPORT_LEDGER, EXPORT_LEDGER, REVEAL_PERSONAL, VERIFY_ALERT, ASSIGN_ALERT},
    Role.VILLAGE_CADRE: {IMPORT_LEDGER, EXPORT_LEDGER, REVEAL_PERSONAL, VERIFY_ALERT},
    Role.LEADER: {EXPORT_LEDGER},
}

_MESSAGES = {
    IMPORT_LEDGER: "您的角色不能导入台账",
    EXPORT_LEDGER: "您的角色不能导出台账",
    EXPORT_FULL_ID: "您的角色不能导出完整证件号码",
    REVEAL_PERSONAL: "您的角色不能查看完整证件号码和电话",
    VIEW_AUDIT: "只有县级管理员可以查看操作记录",
    MANAGE_USERS: "只有县级管理员可以管理账户",
    LOAD_FEED: "只有县级管理员和县直部门人员可以加载部门数据",
    MANAGE_RULES: "只有县级管理员可以修改预警规则",
    RUN_SCREENING: "只有县级管理员和县直部门人员可以运行筛查",
    VERIFY_ALERT: "您的角色不能核实预警",
    ASSIGN_ALERT: "您的角色不能分派预警",
    PUBLISH_FIGURES: "只有县级管理员可以封账（发布统计数据）",
}


def has_perm(user, perm: str) -> bool:
    if user is None:  # the command-line operator
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return perm in _GRANTS.get(user.role, set())


def require(user, perm: str) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied(_MESSAGES.get(perm, "没有权限"))
