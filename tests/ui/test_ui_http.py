"""The web UI over plain HTTP (no browser): escaping, the Content-Security-Policy, the session cookie, CSRF,
role checks on every action, and the read-only `ebonite ui` on 127.0.0.1."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import timezone
from html.parser import HTMLParser
from pathlib import Path

import httpx
import psutil
import pytest
from ebonite_server.ui.views import human_size
from srv_processes import ebonite_command
from ui_site import (
    HOSTILE_MODEL,
    HOSTILE_PROJECT,
    HOSTILE_STRINGS,
    HOSTILE_TASK,
    WAIT_SECONDS,
    Site,
    UiClient,
    csrf_of,
)

from ebonite_core import Ebonite

ClientFor = Callable[[str | None], UiClient]
HOSTILE = f"{HOSTILE_PROJECT}/{HOSTILE_TASK}/{HOSTILE_MODEL}"


class InlineCode(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [f"{name}= on <{tag}>" for name in names if name == "style" or name.startswith("on")]


class PageText(HTMLParser):
    """The text a browser would show (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""

    def handle_data(self, data: str) -> None:
        self.text += data


def page_urls(site: Site) -> list[str]:
    detector = "fraud/detector"
    return [
        "/ui/",
        f"/ui/tasks/{site.ids[detector]}",
        f"/ui/tasks/{site.ids[detector]}?param=accuracy+%3E%3D+0.5&sort=-params.accuracy&limit=5",
        f"/ui/models/{site.ids[detector + '/model-03']}",
        f"/ui/models/{site.ids[detector + '/model-03']}/delete",
        f"/ui/compare?model={site.ids[detector + '/model-03']}&model={site.ids[detector + '/model-04']}",
        f"/ui/tasks/{site.ids['fraud/actions']}?param=nonsense",  # a 400 page
        "/ui/models/no-such-id",  # a 404 page
        "/ui/sign-in",
    ]


def test_every_page_has_a_strict_csp_and_no_inline_script_or_style(site: Site, client_for: ClientFor) -> None:
    client = client_for("admin")
    statuses = []
    for url in page_urls(site):
        response = client.http.get(url)
        statuses.append(response.status_code)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy, url
        assert "frame-ancestors 'none'" in policy and response.headers["x-content-type-options"] == "nosniff"
        parser = InlineCode()
        parser.feed(response.text)
        assert parser.found == [], (url, parser.found)
    assert statuses == [200, 200, 200, 200, 200, 200, 400, 404, 200]
    css = client.http.get(re.search(r'href="(/ui/static/ui\.css\?v=\w+)"', response.text).group(1))  # type: ignore[union-attr]
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_strings_from_the_store_are_escaped_on_every_page(site: Site, client_for: ClientFor) -> None:
    client = client_for("everything")
    task_id, model_id = site.ids[f"{HOSTILE_PROJECT}/{HOSTILE_TASK}"], site.ids[HOSTILE]
    other = site.ids["fraud/detector/model-00"]
    pages = [
        client.http.get("/ui/").text,
        client.http.get(f"/ui/tasks/{task_id}").text,
        client.http.get(f"/ui/models/{model_id}").text,
        client.http.get(f"/ui/compare?model={model_id}&model={other}").text,
    ]
    for text in pages:
        for hostile in HOSTILE_STRINGS:
            if any(char in hostile for char in '<>"'):
                assert hostile not in text, hostile
        assert "<script>alert" not in text and "<img src=x" not in text and "<svg" not in text
    model_page = pages[2]
    shown = PageText()
    shown.feed(model_page)
    for hostile in HOSTILE_STRINGS:  # each shows as the text it is ("{{ 7*7 }}" too: data is never a template)
        assert hostile in shown.text, hostile
    # The load snippet holds the names as Python literals, escaped for HTML.
    assert f"get_model({HOSTILE_MODEL!r}, {HOSTILE_TASK!r}, {HOSTILE_PROJECT!r}" in shown.text


def test_a_visitor_without_a_session_is_sent_to_sign_in_and_stays_on_this_site(
    site: Site, client_for: ClientFor
) -> None:
    visitor = client_for(None)
    response = visitor.http.get("/ui/tasks/1?sort=name")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/sign-in?next=%2Fui%2Ftasks%2F1%3Fsort%3Dname"
    assert "script-src 'self'" in response.headers["content-security-policy"]  # redirects carry the headers too
    # A form sent without a session is not resent after signing in: back to the registry, not to the action.
    posted = visitor.post(f"/ui/models/{site.ids['fraud/actions/keep-me']}/tags", key="k", value="v", csrf=visitor.csrf)
    assert posted.status_code == 303 and posted.headers["location"] == "/ui/sign-in?next=%2Fui%2F"
    wrong = visitor.post("/ui/sign-in", token="ebt_000000000000_nope", csrf=visitor.csrf, next="/ui/")
    assert wrong.status_code == 401 and "unknown or was revoked" in wrong.text
    assert visitor.http.get("/ui/").status_code == 303  # still nobody
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "javascript:alert(1)"):
        signed = visitor.post("/ui/sign-in", token=site.tokens["read"], csrf=visitor.csrf, next=target)
        assert signed.status_code == 303 and signed.headers["location"] == "/ui/", target
        visitor.http.cookies.clear()
        visitor.csrf = csrf_of(visitor.http.get("/ui/sign-in").text)


def test_the_session_cookie_is_httponly_samesite_strict_and_secure_over_https(site: Site) -> None:
    plain = httpx.get(f"{site.url}/ui/sign-in")
    cookie = plain.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie and "secure" not in cookie
    # Behind a TLS proxy on 127.0.0.1 (trusted by default), X-Forwarded-Proto says the browser used HTTPS.
    tls = httpx.get(f"{site.url}/ui/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "; secure" in tls.headers["set-cookie"].lower()
    # Signed in, the cookie names the token by its public id; its secret is never in it.
    with httpx.Client(base_url=site.url) as client:
        csrf = csrf_of(client.get("/ui/sign-in").text)
        signed = client.post("/ui/sign-in", data={"token": site.tokens["read"], "csrf": csrf})
    assert signed.status_code == 303
    payload = signed.cookies["ebonite_ui_session"].split(".")[0]
    content = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert site.token_ids["read"] in content and site.tokens["read"].split("_", 2)[2] not in content


def test_actions_refuse_a_missing_wrong_or_foreign_csrf_token(site: Site, client_for: ClientFor) -> None:
    writer, other = client_for("write"), client_for("write")
    url = f"/ui/models/{site.ids['fraud/actions/edit-me']}/tags"
    for forged in ({}, {"csrf": "x" * 43}, {"csrf": other.csrf}, {"csrf": ""}):
        response = writer.post(url, key="forged", value="yes", **forged)
        assert response.status_code == 403 and "security token" in response.text, forged
    registry = site.registry()
    assert "forged" not in registry.get_model("edit-me", "actions", "fraud").tags  # type: ignore[union-attr]
    accepted = writer.post(url, key="reviewed", value="yes", csrf=writer.csrf)
    assert accepted.status_code == 303
    assert registry.get_model("edit-me", "actions", "fraud").tags["reviewed"] == "yes"  # type: ignore[union-attr]
    # A cross-site form cannot send JSON or multipart either: only URL-encoded forms are read.
    assert writer.http.post(url, json={"key": "k", "value": "v", "csrf": writer.csrf}).status_code == 400


def test_every_action_is_checked_against_the_tokens_role(site: Site, client_for: ClientFor) -> None:
    reader, writer, admin = client_for("read"), client_for("write"), client_for("admin")
    keep = f"/ui/models/{site.ids['fraud/actions/keep-me']}"
    champion = f"/ui/models/{site.ids['fraud/detector/model-00']}"
    refusals = [
        reader.post(f"{keep}/tags", key="k", value="v", csrf=reader.csrf),
        reader.post(f"{keep}/tags/delete", key="stage", csrf=reader.csrf),
        reader.post(f"{keep}/delete", confirm="keep-me", csrf=reader.csrf),
        reader.http.get(f"{keep}/delete"),
        reader.post(f"{keep}/aliases", alias="x", csrf=reader.csrf),
        writer.post(f"{keep}/aliases", alias="x", csrf=writer.csrf),  # aliases need admin
        writer.post(f"{champion}/aliases/delete", alias="champion", csrf=writer.csrf),
    ]
    assert [response.status_code for response in refusals] == [403] * 7
    assert "needs the write role" in refusals[0].text and "needs the admin role" in refusals[5].text
    # Another project's model is missing, not forbidden, even for an admin of fraud.
    secret = f"/ui/models/{site.ids['secret/hidden/classified']}"
    assert admin.http.get(secret).status_code == 404
    assert admin.post(f"{secret}/tags", key="k", value="v", csrf=admin.csrf).status_code == 404
    registry = site.registry()
    kept = registry.get_model("keep-me", "actions", "fraud")
    assert kept is not None and kept.tags == {"stage": "candidate"}
    assert registry.get_model("classified", "hidden", "secret").tags == {}  # type: ignore[union-attr]
    detector = registry.get_task("fraud", "detector")
    assert registry.get_model_by_alias(detector, "champion").name == "model-00"  # type: ignore[arg-type, union-attr]
    # The page offers each role what it may do, and nothing more.
    reader_page, writer_page, admin_page = (client.http.get(keep).text for client in (reader, writer, admin))
    assert 'id="tag-form"' not in reader_page and 'id="tag-form"' in writer_page
    assert 'id="alias-form"' not in writer_page and 'id="alias-form"' in admin_page


def test_deleting_a_model_needs_the_confirmation_and_removes_its_files(site: Site, client_for: ClientFor) -> None:
    writer = client_for("write")
    url = f"/ui/models/{site.ids['fraud/actions/delete-me']}"
    registry = site.registry()
    model = registry.get_model("delete-me", "actions", "fraud")
    assert model is not None and model.artifact_key
    assert writer.post(f"{url}/delete", csrf=writer.csrf).status_code == 400  # not confirmed
    assert registry.get_model("delete-me", "actions", "fraud") is not None
    confirm = writer.http.get(f"{url}/delete")
    assert confirm.status_code == 200 and 'name="confirm" value="delete-me"' in confirm.text
    deleted = writer.post(f"{url}/delete", confirm="delete-me", csrf=writer.csrf)
    assert deleted.status_code == 303 and deleted.headers["location"].endswith("?notice=deleted")
    assert "The model was deleted." in writer.http.get(deleted.headers["location"]).text
    assert registry.get_model("delete-me", "actions", "fraud") is None
    assert model.artifact_key not in registry.artifact_repo.keys()
    assert writer.http.get(url).status_code == 404


def test_revoking_the_token_ends_its_sessions(site: Site, client_for: ClientFor, tmp_path: Path) -> None:
    from ebonite_server.state import ServerState, default_state_path

    state = ServerState(default_state_path(site.config))
    token, info = state.create_token("fraud", "read", "revoked by a test")
    session = UiClient(site.url, token)
    try:
        assert session.http.get("/ui/").status_code == 200
        assert state.revoke(info.id)
        assert session.http.get("/ui/").status_code == 303
    finally:
        session.close()
        state.close()


def test_the_registry_page_shows_each_tasks_count_size_and_last_push(site: Site, client_for: ClientFor) -> None:
    """The figures the store aggregates (``summarize_models``) are those of the task's models."""
    models = site.registry().get_models("detector", "fraud")
    page = client_for("read").http.get("/ui/").text
    row = re.search(r'<tr>\s*<th scope="row"><a href="[^"]+">detector</a></th>(.*?)</tr>', page, re.DOTALL)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.DOTALL)
    newest = max(model.creation_date for model in models).astimezone(timezone.utc).isoformat()
    assert cells[0] == str(len(models)) and len(models) > 1
    assert cells[1] == human_size(sum(artifact.size for model in models for artifact in model.artifacts))
    assert f'datetime="{newest}"' in cells[2]


def test_every_column_header_of_the_task_table_is_a_sort_link(site: Site, client_for: ClientFor) -> None:
    """Name, created, author, each tag key (in the Tags header) and each param column, numbers or text; an order
    that leaves models out says so, and the order menu keeps it."""
    client = client_for("read")
    task = f"/ui/tasks/{site.ids['fraud/detector']}"
    head = client.http.get(task).text.split("<thead>")[1].split("</thead>")[0]
    assert set(re.findall(r'data-sort="([^"]+)"', head)) == {
        "name",
        "creation_date",
        "author",
        "tags.stage",
        "tags.team",
        "params.accuracy",
        "params.learning_rate",
        "text_params.kernel",
    }
    page = client.http.get(f"{task}?sort=-text_params.kernel&limit=5").text
    kernels = re.findall(r'data-param="kernel">([^<]*)<', page)
    assert kernels == sorted(kernels, reverse=True) and len(kernels) == 5
    assert "only models whose kernel is text are listed" in page
    assert '<option value="-text_params.kernel" selected>kernel, Z to A</option>' in page


def test_a_bad_filter_is_explained_next_to_the_form(site: Site, client_for: ClientFor) -> None:
    client = client_for("read")
    task = f"/ui/tasks/{site.ids['fraud/detector']}"
    for query, message in [
        ("param=accuracy+%3E%3D+high", "needs a number"),
        ("param=accuracy", "write it as key, a comparison"),
        ("tag=stage", "write it as key=value"),
        ("sort=size", "Cannot order by"),
        ("page=garbage", "Invalid page token"),
    ]:
        response = client.http.get(f"{task}?{query}")
        assert response.status_code == 400 and message in html.unescape(response.text), query
        assert 'id="tag-new"' in response.text  # the form is there to fix it


def test_installed_from_its_sdist_the_ui_has_its_templates_and_static_files(sdist_environment: Path) -> None:
    script = (
        "import json; from ebonite_server.ui import pages; ui = pages.WebUI(read_only=False, client_expression='x'); "
        "names = ui.templates.list_templates(); [ui.templates.get_template(name) for name in names]; "
        "print(json.dumps({'file': pages.__file__, 'templates': names, "
        "'static': sorted(path.name for path in (pages.HERE / 'static').iterdir())}))"
    )
    done = subprocess.run([str(sdist_environment), "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Path(report["file"]).is_relative_to(sdist_environment.parents[1])
    shipped = sorted(
        path.name
        for path in (Path(__file__).parents[2] / "plugins/ebonite-server/ebonite_server/ui/templates").iterdir()
    )
    assert report["templates"] == shipped and "task.html" in shipped
    assert report["static"] == ["ui.css", "ui.js"]


# ebonite ui: the read-only UI for a registry reached directly
@pytest.fixture(scope="module")
def ebonite_ui(site: Site) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        ebonite_command("ui", "--config", str(site.config), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the address, printed once it listens
    found = re.match(r"ebonite ui: (http://127\.0\.0\.1:\d+)/ui/ \(read-only", line)
    if found is None:
        process.kill()
        pytest.fail(f"ebonite ui printed {line!r}{process.communicate(timeout=WAIT_SECONDS)[0]!r}")
    yield process, found.group(1)
    process.terminate()
    process.wait(timeout=WAIT_SECONDS)


def test_ebonite_ui_listens_on_127_0_0_1_only(ebonite_ui: tuple[subprocess.Popen[str], str]) -> None:
    process, url = ebonite_ui
    processes = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    listening = [
        connection.laddr
        for one in processes
        for connection in one.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    assert [address.ip for address in listening] == ["127.0.0.1"]
    assert url.endswith(f":{listening[0].port}")
    # A page reached through another name (DNS rebinding) is refused.
    assert httpx.get(f"{url}/ui/", headers={"Host": "evil.example"}).status_code == 400
    assert httpx.get(f"{url}/ui/", headers={"Host": f"localhost:{listening[0].port}"}).status_code == 200


def test_ebonite_ui_shows_everything_without_sign_in_and_refuses_writes(
    ebonite_ui: tuple[subprocess.Popen[str], str], site: Site
) -> None:
    _, url = ebonite_ui
    registry_page = httpx.get(f"{url}/ui/")
    assert (
        registry_page.status_code == 200
        and "secret" in registry_page.text
        and "set-cookie" not in registry_page.headers
    )
    model = f"{url}/ui/models/{site.ids['fraud/actions/keep-me']}"
    page = httpx.get(model).text
    assert '<form method="post"' not in page and "Sign in" not in page
    assert f"Ebonite.from_config({str(site.config)!r})" in html.unescape(page)
    writes = [
        httpx.post(f"{model}/tags", data={"key": "k", "value": "v"}),
        httpx.post(f"{model}/delete", data={"confirm": "keep-me"}),
        httpx.post(f"{model}/aliases", data={"alias": "champion"}),
        httpx.post(model, data={"key": "k"}),
        httpx.post(f"{url}/ui/sign-in", data={"token": site.tokens["admin"]}),
        httpx.get(f"{url}/ui/sign-in"),
    ]
    assert [response.status_code for response in writes] == [404, 404, 404, 405, 404, 404]
    assert Ebonite.from_config(site.config).get_model("keep-me", "actions", "fraud").tags == {"stage": "candidate"}  # type: ignore[union-attr]
