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
            "load_feed": permissions.has_perm(user, permissions.LOAD_FEED),
            "county": _county_level(user),
        }
    return {"deployment": dep, "perms": perms}


def _county_level(user) -> bool:
    """A county-level account (or the whole site's): it sees the county's feed files and screening runs."""
    from dixian.accounts.scoping import user_region
    from dixian.regions.selectors import code_level

    code = user_region(user)
    return code is None or code_level(code) in ("county", "city", "province")
