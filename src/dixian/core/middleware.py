"""Map domain errors to responses: denied means not found; other errors show their Chinese message."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.response import TemplateResponse

from dixian.core.errors import DixianError, NotFound, PermissionDenied


class DixianErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DixianError):
            return None
        status = 400
        if isinstance(exception, NotFound):
            status = 404
        elif isinstance(exception, PermissionDenied):
            status = 403
        if request.headers.get("HX-Request"):
            return HttpResponse(f'<div class="alert alert-error">{exception.message}</div>', status=status)
        return TemplateResponse(
            request, "web/error.html", {"message": exception.message, "status": status}, status=status
        )
