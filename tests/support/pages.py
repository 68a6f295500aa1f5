"""Reading the pages back: their links, forms (inputs, selects) and embedded data, with the standard
library's parser."""

from __future__ import annotations

import json
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.scripts: dict[str, str] = {}
        self.selects: dict[str, list[dict[str, str | None]]] = {}  # name -> its options' attributes
        self._select: str | None = None
        self.text: list[str] = []
        self._script_id: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.anchors.append(attrs)
        elif tag == "input":
            self.inputs.append(attrs)
        elif tag == "select":
            self._select = attrs.get("name") or ""
            self.selects[self._select] = []
        elif tag == "option" and self._select is not None:
            self.selects[self._select].append(attrs)
        elif tag == "script" and attrs.get("id"):
            self._script_id = attrs["id"]
            self.scripts[self._script_id] = ""

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_id = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._script_id:
            self.scripts[self._script_id] += data
        else:
            self.text.append(data)

    @property
    def hrefs(self) -> list[str]:
        return [a["href"] for a in self.anchors]

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())

    def field(self, name: str) -> str | None:
        return next((i.get("value") for i in self.inputs if i.get("name") == name), None)

    def options(self, name: str) -> list[str | None]:
        """The values a ``<select name=...>`` offers, in order."""
        return [o.get("value") for o in self.selects.get(name, [])]

    def selected(self, name: str) -> str | None:
        return next((o.get("value") for o in self.selects.get(name, []) if "selected" in o), None)

    def trace(self) -> dict:
        return json.loads(self.scripts["trace-data"])

    def data(self, script_id: str) -> dict:
        return json.loads(self.scripts[script_id])


def get_page(client, url: str, status: int = 200, unescaped: tuple[str, ...] = ()) -> Page:
    """GET an HTML page, check its status and that none of the ``unescaped`` strings (user data with
    markup in it) appears raw, and parse it."""
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    for text in unescaped:
        assert text not in r.text, f"unescaped user data in {url}"
    return Page(r.text)
