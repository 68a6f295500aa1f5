"""Reading the pages back: their links, forms and embedded trace, with the standard library's parser."""

from __future__ import annotations

import json
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.scripts: dict[str, str] = {}
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
        elif tag == "script" and attrs.get("id"):
            self._script_id = attrs["id"]
            self.scripts[self._script_id] = ""

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_id = None

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

    def trace(self) -> dict:
        return json.loads(self.scripts["trace-data"])
