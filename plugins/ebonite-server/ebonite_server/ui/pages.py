"""The web UI's routes: pages (``GET``) and actions (``POST``), for ``ebonite serve`` and the read-only
``ebonite ui``.

Each request finds its principal (:class:`Visit`): under ``ebonite serve``, from the signed session cookie
(:mod:`.session`) or the anonymous grants; under ``ebonite ui``, a fixed principal that reads everything. Every
lookup then goes through :class:`~ebonite_server.access.RegistryView`, and every action checks its role with
:func:`~ebonite_server.auth.require_role` and the form's CSRF token on the server: hiding a button is for
convenience only. Under ``ebonite ui`` the action routes do not exist at all.

Pages are Jinja2 templates with autoescaping on; every response carries a Content-Security-Policy that
allows scripts and styles from this server's ``/ui/static/`` only (no inline script, no ``style=``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ebonite_core import Ebonite
from ebonite_core.masking import mask

from .. import __version__
from ..access import RegistryView
from ..protocol import ALL_PROJECTS, UnauthenticatedError, status_of
from ..state import Grant, Principal, ServerState
from . import listing, views
from .session import COOKIE_NAME, COOKIE_PATH, MAX_AGE, Session, SessionSigner

logger = logging.getLogger("ebonite_server.ui")

PREFIX = "/ui"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MAX_FORM_BYTES = 64 * 1024
HERE = Path(__file__).parent
STATIC_TYPES = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}
READ_EVERYTHING = Principal(None, (Grant(ALL_PROJECTS, "read"),))
"""The principal of the read-only ``ebonite ui``: whoever can reach the store directly may read it all."""
NOTICES = {"deleted": "The model was deleted."}


class CsrfError(PermissionError):
    """A form without the CSRF token of the session it was posted in (answered 403)."""


class SignInNeeded(Exception):
    """A page needs a principal and the visitor has none (no session, no anonymous grant)."""


@dataclass
class Visit:
    """One request as the UI sees it: who, with which session, and what the form (if any) held."""

    request: Request
    view: RegistryView | None  # None: nobody (the sign-in page only)
    read_only: bool
    session: Session | None = None
    csrf: str | None = None
    state: ServerState | None = None
    form: dict[str, str] = field(default_factory=dict)
    cookie: str | None = None  # a new session cookie to set on the response

    @property
    def principal(self) -> Principal | None:
        return self.view.principal if self.view is not None else None

    @property
    def registry_view(self) -> RegistryView:
        if self.view is None:
            raise SignInNeeded()
        return self.view

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])


def model_url(model_id: str | None) -> str:
    return f"{PREFIX}/models/{quote(model_id or '', safe='')}"


def task_url(task_id: str | None) -> str:
    return f"{PREFIX}/tasks/{quote(task_id or '', safe='')}"


def _when(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "-"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every string from the store is escaped, whatever the template's name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = {name: hashlib.sha256((HERE / "static" / name).read_bytes()).hexdigest()[:12] for name in STATIC_TYPES}
    environment.globals.update(
        model_url=model_url,
        task_url=task_url,
        static_url=lambda name: f"{PREFIX}/static/{name}?v={versions[name]}",
        version=__version__,
        compare_limits=(views.MIN_COMPARE, views.MAX_COMPARE),
    )
    environment.filters.update(
        size=views.human_size,
        when=_when,
        iso=lambda value: value.astimezone(timezone.utc).isoformat() if value else "",
        value=listing.show_value,
        signature=views.signature_text,
    )
    return environment


class WebUI:
    """The UI's routes. ``read_only`` (``ebonite ui``): no sign-in, no actions, ``registry`` read with
    :data:`READ_EVERYTHING`; otherwise (``ebonite serve``) the registry and state of ``request.app.state.context``.

    ``client_expression`` is the Python expression that opens this registry in the model page's load snippet.
    """

    def __init__(self, read_only: bool, client_expression: str, registry: Ebonite | None = None) -> None:
        if read_only and registry is None:
            raise ValueError("A read-only UI needs its registry.")
        self.read_only = read_only
        self.client_expression = client_expression
        self.registry = registry
        self.templates = _environment()
        self._signer: SessionSigner | None = None

    def routes(self) -> list[BaseRoute]:
        page = self._endpoint
        routes: list[BaseRoute] = [
            Route("/", _redirect_home, methods=["GET"]),
            Route(PREFIX, _redirect_home, methods=["GET"]),
            Route(f"{PREFIX}/", page(self.registry_page), methods=["GET"]),
            Route(f"{PREFIX}/tasks/{{task_id}}", page(self.task_page), methods=["GET"]),
            Route(f"{PREFIX}/models/{{model_id}}", page(self.model_page), methods=["GET"]),
            Route(f"{PREFIX}/compare", page(self.compare_page), methods=["GET"]),
            Route(f"{PREFIX}/static/{{name}}", _static, methods=["GET"]),
        ]
        if not self.read_only:
            action = self._action
            routes += [
                Route(f"{PREFIX}/sign-in", page(self.sign_in_page, public=True), methods=["GET"]),
                Route(f"{PREFIX}/sign-in", action(self.sign_in, public=True), methods=["POST"]),
                Route(f"{PREFIX}/sign-out", action(self.sign_out, public=True), methods=["POST"]),
                Route(f"{PREFIX}/models/{{model_id}}/delete", page(self.confirm_delete_page), methods=["GET"]),
                Route(f"{PREFIX}/models/{{model_id}}/delete", action(self.delete_model), methods=["POST"]),
                Route(f"{PREFIX}/models/{{model_id}}/tags", action(self.set_tag), methods=["POST"]),
                Route(f"{PREFIX}/models/{{model_id}}/tags/delete", action(self.delete_tag), methods=["POST"]),
                Route(f"{PREFIX}/models/{{model_id}}/aliases", action(self.set_alias), methods=["POST"]),
                Route(f"{PREFIX}/models/{{model_id}}/aliases/delete", action(self.delete_alias), methods=["POST"]),
            ]
        return routes

    # The machinery
    def _endpoint(self, handler: Callable[[Visit], Response], public: bool = False) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(self._handle, handler, request, {}, public, False)

        return endpoint

    def _action(self, handler: Callable[[Visit], Response], public: bool = False) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                form = await _read_form(request)
            except ValueError as err:
                return self._error(None, 400, str(err))
            return await run_in_threadpool(self._handle, handler, request, form, public, True)

        return endpoint

    def _handle(
        self, handler: Callable[[Visit], Response], request: Request, form: dict[str, str], public: bool, action: bool
    ) -> Response:
        started = time.perf_counter()
        visit: Visit | None = None
        try:
            visit = self._visit(request, form)
            if visit.view is None and not public:
                raise SignInNeeded()
            if action and (self._signer is None or not self._signer.csrf_matches(visit.session, form.get("csrf"))):
                raise CsrfError(
                    "The form's security token is missing or does not belong to your session: nothing was changed. "
                    "Go back, reload the page and try again."
                )
            response = handler(visit)
        except SignInNeeded:  # and back here afterwards (to the registry after a form: it was not sent)
            back = _local_path(request) if request.method == "GET" else f"{PREFIX}/"
            response = RedirectResponse(f"{PREFIX}/sign-in?{urlencode({'next': back})}", 303)
        except UnauthenticatedError as err:  # the session's token was revoked between two steps
            response = self._error(visit, 401, str(err))
        except CsrfError as err:
            response = self._error(visit, 403, str(err))
        except Exception as err:
            status = status_of(err)
            if status >= 500:
                logger.error("Unexpected error while serving %s", request.url.path, exc_info=err)
                response = self._error(visit, status, "Something went wrong on the server: its log has the details.")
            else:
                response = self._error(visit, status, str(err))
        if visit is not None and visit.cookie is not None:
            response.set_cookie(
                COOKIE_NAME,
                visit.cookie,
                max_age=MAX_AGE,
                path=COOKIE_PATH,
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="strict",
            )
        response.headers.update(SECURITY_HEADERS)  # redirects too
        # The time this server spent on the page (session, lookups, search, template): browsers' developer tools
        # show it, and `make bench` reads it.
        response.headers["Server-Timing"] = f"page;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def _signer_for(self, state: ServerState) -> SessionSigner:
        if self._signer is None:
            self._signer = SessionSigner(state.secret("ui-session"))
        return self._signer

    def _visit(self, request: Request, form: dict[str, str]) -> Visit:
        if self.read_only:
            assert self.registry is not None
            return Visit(request, RegistryView(self.registry, READ_EVERYTHING), True, form=form)
        context = request.app.state.context
        signer = self._signer_for(context.state)
        session = signer.loads(request.cookies.get(COOKIE_NAME))
        cookie = None
        principal = None
        if session is not None and session.token_id is not None:
            try:
                principal = context.state.principal_of_token_id(session.token_id)
            except UnauthenticatedError:  # revoked: the session ends
                session = None
        if session is None:
            session = Session.new()
            cookie = signer.dumps(session)
        if principal is None:
            try:
                principal = context.state.authenticate(None)  # the anonymous grants, if the operator made any
            except UnauthenticatedError:
                principal = None
        view = RegistryView(context.registry, principal) if principal is not None else None
        return Visit(request, view, False, session, signer.csrf_token(session), context.state, form, cookie)

    def render(self, visit: Visit | None, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(visit=visit, read_only=self.read_only, **values)
        response = HTMLResponse(html, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _error(self, visit: Visit | None, status: int, message: str) -> HTMLResponse:
        titles = {400: "Bad request", 401: "Sign in again", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
        title = titles.get(status, "Error")
        return self.render(visit, "error.html", status, title=title, message=mask(message))  # secrets never shown

    # Pages
    def registry_page(self, visit: Visit) -> Response:
        return self.render(visit, "registry.html", projects=views.registry_summary(visit.registry_view))

    def task_page(self, visit: Visit) -> Response:
        view = visit.registry_view
        task, project = view.task(visit.path_param("task_id"), "read")
        table = listing.TableQuery.parse(visit.request.query_params)
        page = None
        errors = list(table.errors)
        try:
            page = listing.search_page(view, str(task.id), table)
        except ValueError as err:
            errors.append(str(err))
        aliases = {alias: model_id for alias, model_id in sorted(view.meta.get_aliases(task).items())}
        return self.render(
            visit,
            "task.html",
            400 if page is None else 200,
            task=task,
            project=project,
            table=table,
            page=page,
            errors=errors,
            aliases=aliases,
            path=task_url(task.id),
            notice=NOTICES.get(visit.request.query_params.get("notice", "")),
        )

    def model_page(self, visit: Visit) -> Response:
        view = visit.registry_view
        model, task, project = view.model(visit.path_param("model_id"), "read")
        safe, safety = views.format_safety(model)
        return self.render(
            visit,
            "model.html",
            model=model,
            task=task,
            project=project,
            aliases=views.aliases_of(view, task, model),
            task_aliases=sorted(view.meta.get_aliases(task)),
            safe=safe,
            safety=safety,
            size=views.model_size(model),
            snippet=views.load_snippet(self.client_expression, project, task, model),
            can_write=not self.read_only and views.may(view, project, "write"),
            can_admin=not self.read_only and views.may(view, project, "admin"),
        )

    def compare_page(self, visit: Visit) -> Response:
        comparison = views.compare(visit.registry_view, visit.request.query_params.getlist("model"))
        return self.render(visit, "compare.html", comparison=comparison)

    def confirm_delete_page(self, visit: Visit) -> Response:
        model, task, project = visit.registry_view.model(visit.path_param("model_id"), "write")
        aliases = views.aliases_of(visit.registry_view, task, model)
        return self.render(visit, "delete.html", model=model, task=task, project=project, aliases=aliases)

    def sign_in_page(self, visit: Visit, status: int = 200, problem: str | None = None) -> Response:
        return self.render(
            visit, "sign_in.html", status, next=_safe_next(visit.request.query_params.get("next")), problem=problem
        )

    # Actions (each behind the CSRF check of _handle, then its role check)
    def sign_in(self, visit: Visit) -> Response:
        assert visit.state is not None and self._signer is not None
        token = visit.form.get("token", "").strip()
        try:
            principal = visit.state.authenticate(token) if token else None
        except UnauthenticatedError:
            principal = None
        if principal is None or principal.token_id is None:
            return self.render(
                visit,
                "sign_in.html",
                401,
                next=_safe_next(visit.form.get("next")),
                problem="This token is unknown or was revoked: check it, or ask the registry's operator for one.",
            )
        session = Session.new(principal.token_id)  # a new nonce: nothing of the anonymous session carries over
        visit.cookie = self._signer.dumps(session)
        return RedirectResponse(_safe_next(visit.form.get("next")), 303)

    def sign_out(self, visit: Visit) -> Response:
        assert self._signer is not None
        visit.cookie = self._signer.dumps(Session.new())
        return RedirectResponse(f"{PREFIX}/sign-in", 303)

    def set_tag(self, visit: Visit) -> Response:
        view = visit.registry_view
        model, _, _ = view.model(visit.path_param("model_id"), "write")
        key = visit.form.get("key", "").strip()
        view.registry.set_model_tags(model, {key: visit.form.get("value", "").strip()})
        return RedirectResponse(f"{model_url(model.id)}#tags", 303)

    def delete_tag(self, visit: Visit) -> Response:
        view = visit.registry_view
        model, _, _ = view.model(visit.path_param("model_id"), "write")
        view.registry.delete_model_tag(model, visit.form.get("key", ""))
        return RedirectResponse(f"{model_url(model.id)}#tags", 303)

    def set_alias(self, visit: Visit) -> Response:
        """Point an alias of the model's task at this model (moving it if it pointed elsewhere): admin only."""
        view = visit.registry_view
        model, task, _ = view.model(visit.path_param("model_id"), "admin")
        view.registry.set_alias(task, visit.form.get("alias", "").strip(), model)
        return RedirectResponse(f"{model_url(model.id)}#aliases", 303)

    def delete_alias(self, visit: Visit) -> Response:
        view = visit.registry_view
        model, task, _ = view.model(visit.path_param("model_id"), "admin")
        alias = visit.form.get("alias", "")
        if view.meta.get_aliases(task).get(alias) != model.id:
            raise ValueError(f"Alias {alias!r} does not point at model {model.name!r} (any more): nothing was changed.")
        view.registry.delete_alias(task, alias)
        return RedirectResponse(f"{model_url(model.id)}#aliases", 303)

    def delete_model(self, visit: Visit) -> Response:
        """Delete the model (metadata first, then its files) once confirmed: write role."""
        view = visit.registry_view
        model, task, _ = view.model(visit.path_param("model_id"), "write")
        if visit.form.get("confirm") != model.name:
            raise ValueError("Confirm the deletion on the confirmation page: nothing was deleted.")
        key = model.artifact_key
        view.registry.delete_model(model)
        if key and visit.state is not None:  # the server's record of the key goes with the files
            visit.state.forget_key(key)
        return RedirectResponse(f"{task_url(task.id)}?notice=deleted", 303)


async def _read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form body, bounded; the first value of each field."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ValueError("Forms must be sent as application/x-www-form-urlencoded.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ValueError(f"The form is larger than {MAX_FORM_BYTES} bytes.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"The form could not be read: {err}") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(text: str | None) -> str:
    """Where to go after signing in: a path of this UI only, never another site."""
    if text and text.startswith(f"{PREFIX}/") and not text.startswith("//") and text.isprintable():
        if "\\" not in text and ":" not in text.split("?")[0]:
            return text
    return f"{PREFIX}/"


async def _redirect_home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", 307)


async def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_TYPES:
        return Response("Not found", 404, headers=SECURITY_HEADERS, media_type="text/plain")
    response = Response((HERE / "static" / name).read_bytes(), media_type=STATIC_TYPES[name])
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "public, max-age=86400"  # the URL carries the file's hash
    return response
