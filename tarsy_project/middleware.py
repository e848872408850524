"""Refuse request input no database can store, before any view or query sees it.

PostgreSQL rejects a NUL character in text (``DataError``), so ``?status=a%00b``, a NUL in a
session id in the URL or in a POSTed form field would otherwise be a 500. A NUL in the path
cannot name anything: 404. In the query string, a form field or a cookie: 400. Input that
does not decode as UTF-8 reaches Django as U+FFFD replacement characters, which every
database stores, so the NUL is the one character to refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound

NUL = "\x00"


def _has_nul(pairs: Iterable[tuple[str, list[str] | str]]) -> bool:
    for key, values in pairs:
        if NUL in key:
            return True
        for value in [values] if isinstance(values, str) else values:
            if NUL in value:
                return True
    return False


class RejectNulInputMiddleware:
    """404 for a NUL in the path; 400 for one in the query string, form data or cookies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or NUL in request.path_info:
            return HttpResponseNotFound("Not found: the path holds a NUL character.")
        if (
            _has_nul(request.GET.lists())
            or _has_nul(request.COOKIES.items())
            or (request.method == "POST" and _has_nul(request.POST.lists()))
        ):
            return HttpResponseBadRequest("Bad request: the input holds a NUL character.")
        return self.get_response(request)
