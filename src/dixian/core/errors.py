"""Domain errors: raised, never returned. The message is Simplified Chinese for the user."""

from __future__ import annotations


class DixianError(Exception):
    """Base of every error a user may see. ``message`` is Chinese, ``code`` is a stable English key."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def __str__(self) -> str:
        return self.message


class ValidationError(DixianError):
    code = "invalid"


class NotFound(DixianError):
    """Also what an account outside the object's region gets: denied means not found."""

    code = "not_found"


class PermissionDenied(DixianError):
    code = "forbidden"


class IdNumberError(ValidationError):
    code = "invalid_id_number"


class MonthError(ValidationError):
    code = "invalid_month"


class MoneyError(ValidationError):
    code = "invalid_money"


class RegionMatchError(ValidationError):
    code = "region_mismatch"
