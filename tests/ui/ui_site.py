"""The web UI tests' site: a local registry seeded with known models, tokens for each role, `ebonite serve` in
front of it (a real process on 127.0.0.1), and headless Chromium driven by Selenium.

Used by the tests' fixtures (``conftest.py``) and by ``make screenshots`` (``ui_screenshots.py``). Modules here
are named ``test_ui_*`` and helpers ``ui_*`` (pytest imports test directories without ``__init__.py`` by their
base names, so names must not clash with other directories').

Chromium is Debian's (``apt-get install chromium chromium-driver``, done by ``.ci/install-services``): Selenium
is handed both paths, so Selenium Manager never runs (it would try to download a browser and a driver).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ebonite_core import Ebonite, create_model
from ebonite_core.testing import ScaleModel

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).parents[1]))  # services.py, which srv_processes imports (make screenshots)
from srv_processes import LOCAL_REGISTRY, ServerProcess, serve
from srv_processes import ServerUnavailable as ServerUnavailable  # for the fixtures

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WAIT_SECONDS = 30  # how long a step may take to show its result before the test fails (never a speed check)

MODEL_COUNT = 25
# Strings that would run script or change the page if a template forgot to escape them. Names take no '/'.
HOSTILE_PROJECT = "<img src=x onerror=alert(1)>"
HOSTILE_TASK = "<svg onload=alert(2)>"
HOSTILE_MODEL = '" onmouseover="alert(3)" x="><script>alert(3)'
HOSTILE_DESCRIPTION = "</p><script>document.title='pwned'</script>{{ 7*7 }}"
HOSTILE_PARAM = "<b onmouseover=alert(4)>key</b>"
HOSTILE_TAG = ("x<y", "<script>alert(5)</script>")
HOSTILE_STRINGS = (HOSTILE_PROJECT, HOSTILE_TASK, HOSTILE_MODEL, HOSTILE_DESCRIPTION, HOSTILE_PARAM, *HOSTILE_TAG)


def accuracy_of(index: int) -> float:
    """A permutation of creation order, so that sorting by accuracy differs from sorting by date."""
    return round(((index * 7) % MODEL_COUNT) / MODEL_COUNT, 2)


def detector_models() -> list[dict[str, object]]:
    """What the 25 models of fraud/detector hold, in creation order."""
    return [
        {
            "name": f"model-{index:02d}",
            "params": {
                "accuracy": accuracy_of(index),
                "learning_rate": [0.1, 0.01][index % 2],
                "kernel": ["rbf", "linear", "poly"][index % 3],
            },
            "tags": {"stage": "production" if index % 5 == 0 else "candidate", "team": f"team-{index % 2}"},
            "requirements": {"numpy": "2.0.0" if index % 3 == 0 else "2.1.0"},
        }
        for index in range(MODEL_COUNT)
    ]


@dataclass
class Site:
    """The seeded registry and its tokens (``read``, ``write``, ``admin`` on fraud; ``everything``: read on
    every project), and the server once started."""

    root: Path
    config: Path
    tokens: dict[str, str]
    token_ids: dict[str, str]
    server: ServerProcess | None = None
    ids: dict[str, str] = field(default_factory=dict)  # "project/task/model" or "project/task" -> id

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def registry(self) -> Ebonite:
        return Ebonite.from_config(self.config)

    def model_url(self, path: str) -> str:
        return f"{self.url}/ui/models/{self.ids[path]}"

    def task_url(self, path: str) -> str:
        return f"{self.url}/ui/tasks/{self.ids[path]}"


def seed(root: Path) -> Site:
    """A local registry under ``root`` with the models the tests expect, and tokens in the server's state file."""
    from ebonite_server.state import ServerState, default_state_path

    config = root / "registry.toml"
    config.write_text(LOCAL_REGISTRY)
    registry = Ebonite.from_config(config)
    ids: dict[str, str] = {}

    def push(project: str, task: str, name: str, **fields: object) -> None:
        target = registry.get_or_create_task(project, task)
        ids[f"{project}/{task}"] = str(target.id)
        model = create_model(ScaleModel(), [1.0, 2.0], name, **fields)  # type: ignore[arg-type]
        ids[f"{project}/{task}/{name}"] = str(registry.push_model(model, target).id)

    for spec in detector_models():
        push(
            "fraud",
            "detector",
            str(spec["name"]),
            params=spec["params"],
            tags=spec["tags"],
            additional_requirements=spec["requirements"],
            description="Gradient boosting on the card transactions of 2026.",
        )
    detector = registry.get_task("fraud", "detector")
    assert detector is not None
    registry.set_alias(detector, "champion", registry.get_model("model-00", detector))
    registry.set_alias(detector, "challenger", registry.get_model("model-01", detector))
    for name in ("a", "b"):  # moved by the alias test
        push("fraud", "alias-moves", name, params={"accuracy": 0.5})
    moves = registry.get_task("fraud", "alias-moves")
    registry.set_alias(moves, "champion", registry.get_model("a", moves))
    for name in ("edit-me", "delete-me", "keep-me"):  # changed by the action tests
        push("fraud", "actions", name, tags={"stage": "candidate"})
    push("secret", "hidden", "classified", params={"accuracy": 0.99})
    push(
        HOSTILE_PROJECT,
        HOSTILE_TASK,
        HOSTILE_MODEL,
        description=HOSTILE_DESCRIPTION,
        params={HOSTILE_PARAM: 1, "accuracy": 0.5},
        tags=dict([HOSTILE_TAG]),
    )
    hostile = registry.get_task(HOSTILE_PROJECT, HOSTILE_TASK)
    registry.set_alias(hostile, "<i>alias", registry.get_model(HOSTILE_MODEL, hostile))
    registry.close()

    state = ServerState(default_state_path(config))
    tokens, token_ids = {}, {}
    for name, project, role in [
        ("read", "fraud", "read"),
        ("write", "fraud", "write"),
        ("admin", "fraud", "admin"),
        ("everything", "*", "read"),
    ]:
        tokens[name], info = state.create_token(project, role, f"ui tests: {name}")
        token_ids[name] = info.id
    state.close()
    return Site(root, config, tokens, token_ids, ids=ids)


def start_server(site: Site) -> Site:
    site.server = serve(site.config)
    return site


# Plain HTTP: a signed-in session as a browser would hold it
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class UiClient:
    """An HTTP client with the UI's session cookie; ``csrf`` is its session's CSRF token."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.http = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
        self.csrf = csrf_of(self.http.get("/ui/sign-in").text)
        if token is not None:
            response = self.http.post("/ui/sign-in", data={"token": token, "csrf": self.csrf, "next": "/ui/"})
            assert response.status_code == 303, response.text
            self.csrf = csrf_of(self.http.get("/ui/").text)  # a new session: a new CSRF token

    def post(self, path: str, **form: str) -> httpx.Response:
        return self.http.post(path, data=form)

    def close(self) -> None:
        self.http.close()


# The browser
def start_browser(user_data_dir: Path, width: int = 1440, height: int = 1000) -> WebDriver:
    """Headless Chromium with a fresh profile; raises ``RuntimeError`` if it cannot start."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        raise RuntimeError(f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    try:
        return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    except Exception as err:  # the driver or the browser would not start: say why
        raise RuntimeError(f"headless Chromium did not start: {err}") from err


def sign_in(browser: WebDriver, site: Site, token_name: str) -> None:
    """Sign the browser in afresh with one of the site's tokens, through the sign-in form."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{site.url}/ui/sign-in")
    browser.find_element(By.ID, "token").send_keys(site.tokens[token_name])
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-in'] button"))
    assert browser.current_url == f"{site.url}/ui/", browser.page_source[:2000]


def submit_and_wait(browser: WebDriver, element: object, key: str | None = None) -> None:
    """Click ``element`` (or press ``key`` on it) and wait until the next page has loaded.

    The old page is marked with a script variable: a new document does not have it. (Waiting for an element of
    the old page to go stale can fail with an inspector error while the document is swapped.)
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.eboniteOldPage = true")
    if key is None:
        element.click()  # type: ignore[attr-defined]
    else:
        element.send_keys(key)  # type: ignore[attr-defined]
    WebDriverWait(browser, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return window.eboniteOldPage === undefined && document.readyState === 'complete'"
        )
    )
