from dixian.accounts import permissions


def deployment(request):
    from dixian.core.deployment import current

    user = getattr(request, "user", None)
    dep = None
    try:
        dep = current()
    except Exception:  # database not ready (first migration)
        dep = None
    perms = {}
    if user is not None and user.is_authenticated:
        perms = {
            "import": permissions.has_perm(user, permissions.IMPORT_LEDGER),
            "export": permissions.has_perm(user, permissions.EXPORT_LEDGER),
            "audit": permissions.has_perm(user, permissions.VIEW_AUDIT),
            "admin": permissions.has_perm(user, permissions.MANAGE_USERS),
        }
    return {"deployment": dep, "perms": perms}
