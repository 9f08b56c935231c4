"""Route templates: the request kind of an HTTP request, without the values in its path.

A recorded request is filed under its method and a *route template*: the path with
the segments that look like identifiers replaced by placeholders and the query
string dropped (its values may be secrets), e.g. ``GET /users/42/orders?page=2``
becomes ``GET /users/{id}/orders``. Placeholders:

* ``{id}``: digits only (``42``);
* ``{uuid}``: a UUID (``3f2c...-...``);
* ``{hex}``: 8 or more hex digits with at least one digit (a hash, an object id);
* ``{token}``: 16 or more characters of letters, digits, ``-`` and ``_`` with at
  least one digit and one letter (an API key, a session token).

Other segments are kept as they are. Templates given by the user
(:class:`RouteTemplates`, ``asyncsim record --route '/users/{name}'``) are tried first:
``{anything}`` in one of them matches one whole segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from asyncsim._validate import check_str

__all__ = ["RouteTemplates", "route_template"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_TOKEN = re.compile(r"(?=[\w-]*\d)(?=[\w-]*[a-zA-Z])[\w-]{16,}", re.ASCII)
_PLACEHOLDER = re.compile(r"\{[^/{}]*\}")


def _segment(segment: str) -> str:
    if segment.isdigit():
        return "{id}"
    if _UUID.fullmatch(segment):
        return "{uuid}"
    if _HEX.fullmatch(segment):
        return "{hex}"
    if _TOKEN.fullmatch(segment):
        return "{token}"
    return segment


def route_template(target: str) -> str:
    """The route template of a request target (path and query), e.g. ``/items/{id}``.

    >>> route_template("/items/42?verbose=1")
    '/items/{id}'
    >>> route_template("http://api.example.com/v1/keys/3f2a9c0b77d1")
    '/v1/keys/{hex}'
    """
    path = target
    if "://" in path:  # an absolute URL (a request through a proxy): keep its path
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    path = path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        return "*" if path == "*" else "/{other}"  # CONNECT host:port, or a malformed target
    return "/".join(_segment(s) for s in path.split("/"))


class RouteTemplates:
    """The user's route templates, tried before the built-in placeholders.

    Parameters
    ----------
    templates : iterable of str
        Paths such as ``"/users/{name}/orders"``: a ``{...}`` segment matches any one
        segment, the others must be equal.

    >>> RouteTemplates(["/users/{name}"]).template("/users/alice?x=1")
    '/users/{name}'
    >>> RouteTemplates(["/users/{name}"]).template("/items/7")
    '/items/{id}'
    """

    def __init__(self, templates: Iterable[str] = ()) -> None:
        if isinstance(templates, str):
            templates = [templates]
        self.templates: tuple[str, ...] = ()
        compiled = []
        for index, template in enumerate(templates):
            check_str(f"routes[{index}]", template, empty=False)
            if not template.startswith("/"):
                raise ValueError(
                    f"routes[{index}] must be a path starting with '/', "
                    f"e.g. '/users/{{name}}', got {template!r}"
                )
            pattern = "/".join(
                "[^/]+" if _PLACEHOLDER.fullmatch(s) else re.escape(s) for s in template.split("/")
            )
            compiled.append((re.compile(pattern), template))
            self.templates += (template,)
        self._compiled = tuple(compiled)

    def template(self, target: str) -> str:
        """The template of ``target``: the first user template that matches, else the built-in."""
        built_in = route_template(target)
        if self._compiled:
            path = target.split("?", 1)[0].split("#", 1)[0]
            for pattern, template in self._compiled:
                if pattern.fullmatch(path):
                    return template
        return built_in

    def __repr__(self) -> str:
        return f"RouteTemplates({list(self.templates)!r})"
