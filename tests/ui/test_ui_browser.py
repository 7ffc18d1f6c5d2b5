"""The web UI in real headless Chromium: navigate, filter, sort, page, compare, move an alias; what a read token
sees; hostile strings stay text; the pages fit a phone's width."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from ui_site import (
    HOSTILE_DESCRIPTION,
    HOSTILE_MODEL,
    HOSTILE_PARAM,
    HOSTILE_PROJECT,
    HOSTILE_TAG,
    HOSTILE_TASK,
    MODEL_COUNT,
    WAIT_SECONDS,
    Site,
    detector_models,
    sign_in,
    submit_and_wait,
)

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

DETECTOR = "fraud/detector"


def row_names(browser: WebDriver) -> list[str]:
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#models tbody th.name a")]


def column(browser: WebDriver, param: str) -> list[str]:
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, f"#models td[data-param='{param}']")]


def test_a_read_token_navigates_registry_task_and_model_and_sees_no_action(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "read")
    registry = browser.find_element(By.ID, "main").text
    assert "fraud" in registry and "secret" not in registry and HOSTILE_PROJECT not in registry
    detector_row = browser.find_element(By.XPATH, "//tr[th/a[text()='detector']]")
    assert detector_row.find_element(By.CSS_SELECTOR, "td.num").text == str(MODEL_COUNT)

    submit_and_wait(browser, detector_row.find_element(By.LINK_TEXT, "detector"))
    assert browser.current_url == site.task_url(DETECTOR)
    newest_first = [spec["name"] for spec in reversed(detector_models())]
    assert row_names(browser) == newest_first
    champion_row = browser.find_element(By.CSS_SELECTOR, f"tr[data-model-id='{site.ids[DETECTOR + '/model-00']}']")
    assert [badge.text for badge in champion_row.find_elements(By.CSS_SELECTOR, ".badge-alias")] == ["champion"]

    submit_and_wait(browser, browser.find_element(By.LINK_TEXT, "model-07"))
    page = browser.find_element(By.ID, "main").text
    assert "predict(list[float]) → list[float]" in page
    assert "pickle" in page and "loading runs code from the file" in page
    sha256 = browser.find_element(By.CSS_SELECTOR, "table.artifacts code.hash").text
    assert len(sha256) == 64 and set(sha256) <= set("0123456789abcdef")
    snippet = browser.find_element(By.ID, "load-snippet").text
    assert snippet.splitlines() == [
        "from ebonite_core import Ebonite",
        "model = Ebonite.from_env().get_model('model-07', 'detector', 'fraud', load_artifacts=True)",
    ]
    # A read token gets no action at all: no forms that change something, no delete link.
    assert browser.find_elements(By.CSS_SELECTOR, "main form[method='post']") == []
    assert browser.find_elements(By.PARTIAL_LINK_TEXT, "Delete") == []


def test_filters_by_tag_and_param_and_the_url_shares_the_filter(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "read")
    browser.get(site.task_url(DETECTOR))
    browser.find_element(By.ID, "tag-new").send_keys("stage=production")
    browser.find_element(By.ID, "param-new").send_keys("accuracy >= 0.3")
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type='submit']"))

    expected = [
        spec["name"]
        for spec in reversed(detector_models())
        if spec["tags"]["stage"] == "production" and spec["params"]["accuracy"] >= 0.3  # type: ignore[index]
    ]
    assert 0 < len(expected) < MODEL_COUNT
    assert row_names(browser) == expected
    query = parse_qs(urlsplit(browser.current_url).query)
    assert query["tag"] == ["stage=production"] and query["param"] == ["accuracy >= 0.3"]
    shared = browser.current_url
    browser.get(f"{site.url}/ui/")
    browser.get(shared)  # the same view from the link alone
    assert row_names(browser) == expected
    assert browser.find_element(By.ID, "tag-1").get_attribute("value") == "stage=production"


def test_sorts_by_a_param_column_and_flips_the_order_then_by_a_tag(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "read")
    browser.get(site.task_url(DETECTOR))
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "th a[data-sort='params.accuracy']"))
    values = [float(text) for text in column(browser, "accuracy")]
    assert len(values) == MODEL_COUNT and values == sorted(values, reverse=True)
    header = browser.find_element(By.XPATH, "//th[a[@data-sort='params.accuracy']]")
    assert header.get_attribute("aria-sort") == "descending"

    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "th a[data-sort='params.accuracy']"))
    assert [float(text) for text in column(browser, "accuracy")] == sorted(values)
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "th a[data-sort='name']"))
    assert row_names(browser) == sorted(spec["name"] for spec in detector_models())  # type: ignore[type-var]

    # The Tags header links each tag key: A to Z by the tag's value, ties in creation order.
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "th a[data-sort='tags.stage']"))
    stages = {spec["name"]: spec["tags"]["stage"] for spec in detector_models()}  # type: ignore[index]
    assert row_names(browser) == sorted(stages, key=lambda name: stages[name] == "production")
    assert browser.find_element(By.XPATH, "//th[span/a[@data-sort='tags.stage']]").get_attribute("aria-sort") == (
        "ascending"
    )
    assert parse_qs(urlsplit(browser.current_url).query)["sort"] == ["tags.stage"]


def test_pages_through_the_task_on_the_server(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "read")
    browser.get(f"{site.task_url(DETECTOR)}?limit=10")
    pages = [row_names(browser)]
    while browser.find_elements(By.ID, "next-page"):
        submit_and_wait(browser, browser.find_element(By.ID, "next-page"))
        pages.append(row_names(browser))
    assert [len(names) for names in pages] == [10, 10, 5]
    assert [name for names in pages for name in names] == [spec["name"] for spec in reversed(detector_models())]
    assert browser.find_element(By.ID, "models-title").text == "Models 21\N{EN DASH}25"
    submit_and_wait(browser, browser.find_element(By.LINK_TEXT, "First page"))
    assert row_names(browser) == pages[0]


def test_compares_three_models_with_the_keyboard_and_marks_what_differs(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "read")
    browser.get(f"{site.task_url(DETECTOR)}?sort=name")
    chosen = ["model-00", "model-02", "model-04"]  # same team and learning rate; numpy 2.0.0, 2.1.0, 2.1.0
    for name in chosen:
        row = browser.find_element(By.XPATH, f"//tr[th/a[text()='{name}']]")
        row.find_element(By.CSS_SELECTOR, "input.compare-choice").send_keys(Keys.SPACE)
    help_text = browser.find_element(By.ID, "compare-help")
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: help_text.text.startswith("3 ticked"))  # ui.js counts them
    submit_and_wait(browser, browser.find_element(By.ID, "compare-button"), key=Keys.ENTER)

    headers = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#compare thead th a")]
    assert headers == chosen

    def row_class(name: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f"#compare tr[data-row='{name}']").get_attribute("class") or ""

    assert row_class("Params:accuracy") == "differs"
    assert row_class("Params:learning_rate") == "same"
    assert row_class("Tags:stage") == "differs"  # production, candidate, production
    assert row_class("Tags:team") == "same"
    assert row_class("Requirements:numpy") == "differs"
    assert row_class("Requirements:ebonite-core") == "same"


def test_an_admin_moves_an_alias_to_another_model(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "admin")
    browser.get(site.model_url("fraud/alias-moves/b"))
    alias_input = browser.find_element(By.ID, "alias-name")
    alias_input.send_keys("champion")
    submit_and_wait(browser, alias_input, key=Keys.ENTER)

    assert browser.current_url == site.model_url("fraud/alias-moves/b") + "#aliases"
    assert [badge.text for badge in browser.find_elements(By.CSS_SELECTOR, "#aliases .badge-alias")] == ["champion"]
    browser.get(site.task_url("fraud/alias-moves"))
    badges = {
        row.get_attribute("data-model-id"): [badge.text for badge in row.find_elements(By.CSS_SELECTOR, ".badge-alias")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#models tbody tr")
    }
    assert badges == {site.ids["fraud/alias-moves/a"]: [], site.ids["fraud/alias-moves/b"]: ["champion"]}
    registry = site.registry()
    task = registry.get_task("fraud", "alias-moves")
    assert registry.get_model_by_alias(task, "champion").name == "b"  # type: ignore[arg-type, union-attr]


def test_hostile_strings_from_the_store_stay_text(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "everything")
    browser.get(site.model_url(f"{HOSTILE_PROJECT}/{HOSTILE_TASK}/{HOSTILE_MODEL}"))
    text = browser.find_element(By.TAG_NAME, "body").text
    for shown in (HOSTILE_PROJECT, HOSTILE_TASK, HOSTILE_MODEL, HOSTILE_DESCRIPTION, HOSTILE_PARAM, *HOSTILE_TAG):
        assert shown in text
    assert browser.title.endswith("· ebonite") and "pwned" not in browser.title
    assert browser.find_elements(By.CSS_SELECTOR, "img, svg, main script, b[onmouseover]") == []
    try:
        alert = browser.switch_to.alert.text
    except NoAlertPresentException:
        alert = None
    assert alert is None
    browser.get(site.task_url(f"{HOSTILE_PROJECT}/{HOSTILE_TASK}"))
    assert HOSTILE_PARAM in [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#models thead th.param")]
    assert browser.find_elements(By.CSS_SELECTOR, "img, svg, b[onmouseover]") == []


def test_pages_fit_a_phone_and_a_wide_screen(browser: WebDriver, site: Site) -> None:
    sign_in(browser, site, "admin")
    pages = [
        f"{site.url}/ui/",
        site.task_url(DETECTOR),
        site.model_url(DETECTOR + "/model-00"),
        f"{site.url}/ui/compare?model={site.ids[DETECTOR + '/model-00']}&model={site.ids[DETECTOR + '/model-01']}",
    ]
    try:
        for width in (375, 1440):
            browser.set_window_size(width, 900)
            assert browser.execute_script("return window.innerWidth") == width
            for url in pages:
                browser.get(url)
                # Wide tables scroll inside their own region; the page itself never scrolls sideways.
                scroll, client = browser.execute_script(
                    "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                assert scroll <= client, (width, url)
    finally:
        browser.set_window_size(1440, 1000)
