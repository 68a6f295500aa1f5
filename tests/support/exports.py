"""Reading exported lineage files back: DOT through a DOT parser (pydot; Graphviz too when installed),
Mermaid against the line grammar the exporters write, PNG by its header."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pydot

MERMAID_LINE = re.compile(
    r"^(flowchart LR"
    r'|  \w+(\["[^"<>`|]*"\]|\[\["[^"<>`|]*"\]\]|\[/"[^"<>`|]*"/\])(:::\w+)?'
    r'|  \w+ -->(\|"[^"<>`|]*"\|)? \w+'
    r"|  classDef \w+ [\w:#,]+)$"
)


def dot_graph(text: str):
    """The parsed graph (pydot); also rendered by Graphviz's ``dot`` if it is installed."""
    (parsed,) = pydot.graph_from_dot_data(text)
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=text.encode(), check=True, capture_output=True)
    return parsed


def dot_labels(text: str) -> dict[str, str]:
    """Node id -> label, unescaped (``\\n`` is a line break)."""
    labels = {}
    for node in dot_graph(text).get_nodes():
        label = node.get("label")
        if label is not None and node.get_name() not in ("graph", "node", "edge"):  # defaults, not nodes
            unescaped = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), label[1:-1])
            labels[node.get_name().strip('"')] = unescaped
    return labels


def mermaid_problems(text: str) -> list[str]:
    """The lines that break the flowchart grammar we write (none for a good file)."""
    lines = text.replace("<br/>", "").splitlines()  # the one markup we write: line breaks
    return [line for line in lines if not MERMAID_LINE.match(line)] + (
        [] if lines[:1] == ["flowchart LR"] else ["no header"]
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])
