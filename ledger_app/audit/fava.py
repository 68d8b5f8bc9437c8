"""Fava, the auditor's own explorer of the ledger, mounted read-only under /audit/fava behind this
app's login (Fava itself has none).

Fava runs as a second WSGI application inside this process, created on first use for the app's
``main.beancount`` in Fava's read-only mode. Every request passes four gates before it reaches Fava:

1. only GET and HEAD (anything else is refused with 405 here, so Fava never sees a write);
2. signed in with a reader's role (auditor, admin, approver), as every /audit page;
3. the Fava endpoint the path leads to is not one that edits the source, imports files or runs
   extensions (403 here, although read-only mode would refuse the writes too: defence in depth);
4. page requests hold the ledger's shared lock, so Fava never reads an entry half appended.

Fava notices appended entries by itself: it polls the files' modification times on each request and
reloads when they changed (the polling watcher, so no watcher threads run in every worker).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import current_app, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from ledger_app.audit.views import READERS, bp
from ledger_app.books import get_book
from ledger_app.extensions import csrf, db
from ledger_app.security import FAVA_PREFIX, audit, role_required

if TYPE_CHECKING:
    from flask import Flask

#: The methods that reach Fava; every other one is refused before Fava sees it.
READ_METHODS = frozenset({"GET", "HEAD"})
#: The methods this route accepts only to refuse them with a clear message (not Flask's own 405).
_REFUSED_METHODS = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

#: Fava endpoints refused with 403 although they only read: the source editor's file (the auditor
#: reads the files from the ledger download, not through an editor with a save button), the
#: importer (it runs importer code on files on the server) and extensions (code that the ledger
#: names, which may write). An entry's own text (``get_source_slice``) stays readable: Fava's entry
#: view, which shows an entry with the balances before and after it, cannot open without it; its
#: save button only meets the 405 above.
BLOCKED_ENDPOINTS = frozenset(
    {
        "json_api.get_source",
        "json_api.get_imports",
        "json_api.get_extract",
        "extension_endpoint",
        "extension_report",
        "extension_js_module",
    }
)
#: Client-side pages of Fava refused with 403, for the same reasons.
BLOCKED_REPORTS = frozenset({"editor", "import"})

#: What a refused request is told, in Chinese and English.
READ_ONLY_MESSAGE = (
    "Fava 在本系统中只读：不能修改、上传、导入或编辑源文件"
    "（Fava is read-only here: no changes, uploads, imports or source editing）"
)
BLOCKED_MESSAGE = (
    "Fava 的源文件编辑、导入与扩展功能已关闭；请下载账本文件自行查看"
    "（Fava's source editor, import and extensions are switched off here; download the ledger "
    "files to read the source）"
)

_SESSION_FLAG = "fava_opened"
_lock = threading.Lock()


def fava_app() -> Flask:
    """This app's Fava application on its ledger, created once per process on first use.

    Returns:
        Fava's Flask application, read-only, for the ledger's ``main.beancount``.
    """
    app: Flask | None = current_app.extensions.get("fava")
    if app is not None:
        return app
    with _lock:
        app = current_app.extensions.get("fava")
        if app is None:
            # Imported here: Fava is only loaded by processes that serve it.
            from fava.application import create_app

            main = get_book().store.main
            app = create_app([str(main)], read_only=True, poll_watcher=True)
            current_app.extensions["fava"] = app
    return app


def _refusal(code: int, message: str) -> ResponseReturnValue:
    """A refusal in the form the caller reads: JSON for Fava's API calls, a page otherwise."""
    if "/api/" in request.path:
        response = jsonify({"error": message})
    else:
        response = current_app.make_response(
            render_template("error.html", code=code, message=message)
        )
    response.status_code = code
    if code == 405:
        response.headers["Allow"] = ", ".join(sorted(READ_METHODS))
    return response


def _fava_environ() -> dict[str, Any]:
    """The WSGI environment of this request as Fava should see it: mounted at /audit/fava, and
    without this app's cookies or credentials (Fava needs neither)."""
    environ = dict(request.environ)
    path = environ.get("PATH_INFO", "")
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + FAVA_PREFIX
    # The raw WSGI path, not the decoded route argument: it keeps its encoding (the ledger's slug
    # is its Chinese title).
    environ["PATH_INFO"] = path[len(FAVA_PREFIX) :] or "/"
    for key in ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "werkzeug.request"):
        environ.pop(key, None)
    # Fava's read-only mode refuses HEAD too; Werkzeug drops the body of a HEAD response anyway.
    environ["REQUEST_METHOD"] = "GET"
    return environ


def _fava_endpoint(app: Flask, environ: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Which Fava endpoint a GET of this path reaches, by Fava's own URL map.

    Returns:
        The endpoint and its arguments; ``(None, {})`` when Fava would answer a redirect or 404
        itself (harmless: Fava then reads nothing).

    Raises:
        MethodNotAllowed: the path is one of Fava's write endpoints (they accept no GET).
    """
    adapter = app.url_map.bind_to_environ(environ)
    try:
        endpoint, args = adapter.match(method="GET")
    except (NotFound, RequestRedirect):
        return None, {}
    return str(endpoint), dict(args)


@bp.route("/fava/", defaults={"rest": ""}, methods=["GET", "HEAD", *_REFUSED_METHODS])
@bp.route("/fava/<path:rest>", methods=["GET", "HEAD", *_REFUSED_METHODS])
@csrf.exempt  # nothing but GET and HEAD gets past the first line, so there is no form to protect
def fava(rest: str) -> ResponseReturnValue:
    """Fava, for readers only, read-only: everything under /audit/fava/ is Fava's."""
    if request.method not in READ_METHODS:
        return _refusal(405, READ_ONLY_MESSAGE)
    return _fava_for_reader()


@role_required(*READERS)
def _fava_for_reader() -> ResponseReturnValue:
    """Pass a reader's GET to Fava, unless it leads to an endpoint refused here."""
    app = fava_app()
    environ = _fava_environ()
    try:
        endpoint, args = _fava_endpoint(app, environ)
    except MethodNotAllowed:
        return _refusal(405, READ_ONLY_MESSAGE)
    except HTTPException:
        return _refusal(404, "页面不存在（not found）")
    if endpoint in BLOCKED_ENDPOINTS or (
        endpoint == "report" and args.get("report_name") in BLOCKED_REPORTS
    ):
        return _refusal(403, BLOCKED_MESSAGE)
    if endpoint == "static":
        # Fava's own scripts, styles and fonts: no ledger read, no audit row.
        return current_app.response_class.from_app(app, environ)
    book = get_book()
    if not session.get(_SESSION_FLAG):
        audit("fava_open", target=environ["PATH_INFO"][:128], head=book.head_hash)
        db.session.commit()
        session[_SESSION_FLAG] = True
    with book.store.locked(shared=True):
        response = current_app.response_class.from_app(app, environ, buffered=True)
    # Fava sets no cookie; should a future version do so, it must not reach this app's origin.
    response.headers.remove("Set-Cookie")
    return response
