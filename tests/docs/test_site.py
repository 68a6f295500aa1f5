"""The manual builds in strict mode and reads offline: no page, stylesheet or script it ships loads
anything from the network (no web fonts, no CDN), so it works on an air-gapped machine and from file://."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.airflow_env import REPO

EXTERNAL = re.compile(r"^(https?:)?//", re.I)


class Assets(HTMLParser):
    """Every URL a page loads by itself (not the links a reader may click)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for attr in ("src", "srcset", "poster", "data"):
            if found.get(attr):
                self.urls.append(found[attr])
        if tag == "link" and found.get("href") and found.get("rel") != "canonical":
            self.urls.append(found["href"])  # stylesheets, icons, preloads, preconnects
        style = found.get("style") or ""
        self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", style)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    out = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_MKDOCS_2_WARNING", "1")
        build(load_config(str(REPO / "mkdocs.yml"), site_dir=str(out), strict=True))  # a warning aborts
    return out


def test_every_page_in_the_nav_is_built(site):
    pages = {p.stem for p in (REPO / "docs").glob("*.md")}
    built = {p.stem for p in site.glob("*.html")}
    assert pages <= built, pages - built
    assert {"index", "getting-started", "cli", "configuration", "airflow", "tab", "contributing"} <= pages


def test_no_page_loads_anything_from_the_network(site):
    loaded: dict[str, list[str]] = {}
    for page in site.rglob("*.html"):
        parser = Assets()
        parser.feed(page.read_text("utf-8"))
        external = [u for u in parser.urls if EXTERNAL.match(u.strip())]
        if external:
            loaded[str(page.relative_to(site))] = external
    assert loaded == {}
    index = (site / "index.html").read_text("utf-8")
    assert "fonts.googleapis" not in index and "fonts.gstatic" not in index
    assert 'src="assets/trace-in-airflow.png"' in index  # the screenshot ships with the site


def test_no_stylesheet_loads_anything_from_the_network(site):
    external = {}
    for sheet in site.rglob("*.css"):
        text = sheet.read_text("utf-8")
        urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(r"@import\s+['\"]([^'\"]+)", text)
        bad = [u for u in urls if EXTERNAL.match(u.strip())]
        if bad:
            external[str(sheet.relative_to(site))] = bad
    assert external == {}


def test_search_works_from_file_urls(site):
    """The offline plugin inlines the search index, and the worker shim comes from the site itself."""
    assert (site / "search" / "search_index.js").is_file()
    assert (site / "assets" / "vendor" / "iframe-worker-shim.js").is_file()
