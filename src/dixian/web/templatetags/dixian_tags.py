from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def month(value) -> str:
    """202305 -> 2023年5月."""
    if not value:
        return ""
    value = int(value)
    return f"{value // 100}年{value % 100}月"


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str):
    request = context["request"]
    params = request.GET.copy()
    current = params.get("sort", "")
    new = f"-{key}" if current == key else key
    params["sort"] = new
    params.pop("page", None)
    arrow = " ↑" if current == key else " ↓" if current == f"-{key}" else ""
    url = f"?{params.urlencode()}"
    return format_html(
        '<a class="sort-link{}" href="{}" hx-get="{}" hx-target="#results" hx-push-url="true">{}{}</a>',
        " on" if arrow else "",
        url,
        url,
        label,
        arrow,
    )


@register.filter
def yesno_zh(value) -> str:
    if value is None:
        return ""
    return "是" if value else "否"


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return ""
    return f"{value:,.2f}"


@register.filter
def action_label(action: str) -> str:
    from dixian.core.audit import ACTION_LABELS

    return ACTION_LABELS.get(action, action)
