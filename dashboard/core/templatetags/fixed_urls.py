"""`{% url %}` as Django has it, except that each URL is worked out once per process.

Every page's layout links to the same dozen pages (the menu, the settings menu, sign-out), and each
`reverse()` walks the URL resolver's namespaces and patterns again: about a twentieth of a light
page's CPU went there, and as much again for the links with ids (a team's projects, a job's parts).
A URL cannot change while the process runs: it is kept, per name, positional arguments (numbers and
strings), URLconf, script prefix and current namespace (the things `reverse()` reads), the 4,096 most
recently used. Keyword arguments, other values and `{% url … as var %}` take Django's own path.

settings.TEMPLATES lists this library in `builtins`, after Django's own, so this `url` replaces
Django's in every template without a `{% load %}`.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.template import Context
from django.template.base import Parser, Token
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=4096)
def _fixed_url(
    view_name: str, args: tuple[int | str, ...], current_app: str | None, urlconf: str, prefix: str
) -> str:
    # `prefix` is only part of the key: reverse() reads the same script prefix itself.
    return reverse(view_name, args=args, urlconf=urlconf, current_app=current_app)


class FixedURLNode(URLNode):
    def render(self, context: Context) -> str:
        if self.kwargs or self.asvar:
            return str(super().render(context))
        args = tuple(arg.resolve(context) for arg in self.args)
        if not all(type(arg) in (int, str) for arg in args):  # a lazy or odd value: Django's own path
            return str(super().render(context))
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        url = _fixed_url(self.view_name.resolve(context), args, current_app, urlconf, get_script_prefix())
        return str(conditional_escape(url)) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> FixedURLNode:
    node = django_url(parser, token)
    return FixedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
