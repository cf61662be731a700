"""``{% load indicator_tags %}``: a figure anywhere links to its definition on the catalogue page.

* ``{{ "monitored.households"|definition_url }}`` → ``/figures/catalogue/#monitored.households``
* ``{% definition_link "monitored.households" %}`` → a small "口径" link whose tooltip is the
  definition in words.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from dixian.indicators import definitions
from dixian.indicators.catalogue import BY_CODE

register = template.Library()


@register.filter
def definition_url(code: str) -> str:
    return definitions.url(code)


@register.simple_tag
def definition_link(code: str, text: str = "口径"):
    indicator = BY_CODE[code]
    return format_html(
        '<a class="def-link" href="{}" title="{}：{}（单位：{}；{}）">{}</a>',
        definitions.url(code),
        indicator.name,
        indicator.definition,
        indicator.unit,
        indicator.rounding,
        text,
    )
