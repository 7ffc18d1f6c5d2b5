"""``make screenshots``: each page of the web UI at 375 and 1440 px wide, as PNG files for ``docs/ui.md``.

The registry is the UI tests' seeded site (``ui_site.py``) behind a real `ebonite serve`, browsed by headless
Chromium signed in with the admin token of the ``fraud`` project (so the actions show). Full-page captures, cut
at :data:`MAX_HEIGHT` pixels.

    .venv/bin/python tests/ui/ui_screenshots.py docs/ui
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ui_site import Site, seed, sign_in, start_browser, start_server

WIDTHS = (375, 1440)
MAX_HEIGHT = 2400


def pages(site: Site) -> list[tuple[str, str]]:
    detector = "fraud/detector"
    chosen = "&".join(f"model={site.ids[f'{detector}/{name}']}" for name in ("model-00", "model-02", "model-04"))
    return [
        ("registry", f"{site.url}/ui/"),
        ("task", f"{site.task_url(detector)}?param=accuracy+%3E%3D+0.2&sort=-params.accuracy&limit=10"),
        ("model", site.model_url(f"{detector}/model-00")),
        ("compare", f"{site.url}/ui/compare?{chosen}"),
        ("delete", f"{site.model_url(f'{detector}/model-03')}/delete"),
    ]


def capture(browser: object, path: Path) -> None:
    """A PNG of the whole page, as wide as the window and at most MAX_HEIGHT tall (the capture lays the page out
    without a scroll bar, at the window's full width)."""
    width, height = browser.execute_script(  # type: ignore[attr-defined]
        "return [window.innerWidth, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, MAX_HEIGHT), "scale": 1}
    shot = browser.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the folder for the PNG files (docs/ui)")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ebonite-screenshots-") as directory:
        root = Path(directory)
        (root / "site").mkdir()
        site = start_server(seed(root / "site"))
        browser = start_browser(root / "chromium-profile")
        assert site.server is not None
        try:
            for width in WIDTHS:
                browser.set_window_size(width, 900)
                browser.get(f"{site.url}/ui/sign-in")
                capture(browser, args.output / f"sign-in-{width}.png")
                sign_in(browser, site, "admin")
                for name, url in pages(site):
                    browser.get(url)
                    capture(browser, args.output / f"{name}-{width}.png")
                    print(f"wrote {args.output / f'{name}-{width}.png'}")
        finally:
            browser.quit()
            site.server.stop()


if __name__ == "__main__":
    main()
