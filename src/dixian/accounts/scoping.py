"""Region scope: the one filter every selector applies (rule 2). Denied means not found."""

from __future__ import annotations

from django.db.models import Q

from dixian.regions.selectors import code_level


def user_region(user) -> str | None:
    """The 12-digit code an account is bound to; None for the operator or a superuser (everything)."""
    if user is None or getattr(user, "is_superuser", False):
        return None
    return user.region_code or "000000000000"  # an account without a region sees nothing


def scope_q(user, prefix: str = "") -> Q:
    """A Q object limiting rows with county/township/village_code columns to the user's region."""
    code = user_region(user)
    if code is None:
        return Q()
    level = code_level(code)
    if level == "village":
        return Q(**{f"{prefix}village_code": code})
    if level == "township":
        return Q(**{f"{prefix}township_code": code})
    if level == "county":
        return Q(**{f"{prefix}county_code": code})
    if level == "city":
        return Q(**{f"{prefix}county_code__startswith": code[:4]})
    if level == "province":
        return Q(**{f"{prefix}county_code__startswith": code[:2]})
    return Q(pk__in=[])


def covers(user, village_code: str) -> bool:
    """Whether a village (or any 12-digit code below it) lies in the user's region."""
    code = user_region(user)
    if code is None:
        return True
    level = code_level(code)
    keep = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}.get(level, 12)
    return village_code[:keep] == code[:keep]
