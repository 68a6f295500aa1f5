"""One name per thing: the canonical form of a pointer name, and the mapping to and from OpenLineage datasets.

The same file reaches mltrace under many spellings: a path a traced operator declares, an Airflow
``Asset(uri="file:///data/x.csv")``, an OpenLineage dataset (namespace ``file``, name ``/data/x.csv``)
the provider reports, a ``mltrace trace file:///data/x.csv`` typed by a user. :func:`canonical` turns
each into one name, and every entry point applies it -- writes (``RunRecord`` validation), look-ups
(trace, downstream, versions, flag), and OpenLineage ingestion (:func:`pointer_of_dataset`) -- so they
all meet at one pointer and lineage links them.

=============================================  ===========================================================
Named as                                       Canonical pointer name
=============================================  ===========================================================
``/data/x.csv``                                ``/data/x.csv`` (``.``, ``..``, ``//`` and a trailing ``/``
                                               resolved lexically)
``file:///data/x.csv``, ``file:/data/x.csv``,  ``/data/x.csv`` (percent-escapes are kept as written, as
``file://localhost/data/x.csv``                Airflow and the OpenLineage provider keep them)
OpenLineage (``file``, ``/data/x.csv``)        ``/data/x.csv``
``file://host/data/x.csv``;                    ``file://host/data/x.csv`` (another machine's file)
OpenLineage (``file://host``, ``/data/x.csv``)
``s3://bucket/key``; OL (``s3://bucket``,      ``s3://bucket/key`` (likewise ``gs://``, ``abfss://``,
``key``)                                       ``hdfs://``, ``kafka://``... any ``scheme://authority``:
                                               namespace, ``/``, name)
``postgres://host/db/schema/table``            ``postgres://host:5432/db.schema.table`` (Airflow's table
(Airflow Asset), ``postgresql://...``;         Asset URIs take OpenLineage's form: default port, the
OL (``postgres://host:5432``,                  table as ``db.schema.table``)
``db.schema.table``)
``mysql://host/db/table``; OL                  ``mysql://host:3306/db.table``
(``mysql://host:3306``, ``db.table``)
OL (``bigquery``, ``project.dataset.table``)   ``bigquery:project.dataset.table`` (a namespace without
                                               ``://``: namespace, ``:``, name)
OL (``mltrace``, ``raw.csv``)                  ``raw.csv`` (mltrace's own namespace: names as given)
``raw.csv``, ``warehouse.customers``,          unchanged: relative names stay as given
``model:v3``
=============================================  ===========================================================

URI schemes are lower-cased (``S3://`` is ``s3://``); nothing else is: keys, paths and table names are
case-sensitive in their own systems. The form is idempotent (``canonical(canonical(x)) == canonical(x)``)
and never longer than 1,024 bytes unless the name given was close to the limit (a default port added).
Migration 0005 renamed (and merged) the pointers of existing stores into this form; a change to these
rules needs a migration that applies them again.
"""

from __future__ import annotations

import posixpath
import re

__all__ = ["OWN_NAMESPACE", "canonical", "dataset_of_pointer", "pointer_of_dataset"]

OWN_NAMESPACE = "mltrace"  # OpenLineage namespace of names that are not URIs or absolute paths
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_ALIASES = {"postgresql": "postgres"}
# Table URIs as Airflow's providers spell Assets (host[:port]/part/part/...), with OpenLineage's
# default port and the number of path parts joined by "." into one dataset name.
_TABLES = {"postgres": (5432, 3), "mysql": (3306, 2)}
# Namespaces whose dataset names are paths with their leading "/" (OpenLineage naming spec).
_PATH_NAMES = {"file", "hdfs", "webhdfs", "dbfs"}
# OpenLineage namespaces with no authority: namespace:name.
_AUTHORITYLESS = {"bigquery", "pubsub"}


def canonical(name: str) -> str:
    """The one name of what ``name`` names (see the table in the module docstring)."""
    if name.startswith("/"):
        return _path(name)
    match = _SCHEME.match(name)
    if match is None:
        if name[:5].lower() == "file:" and name[5:6] == "/":
            return _path(name[5:])  # file:/p, as Java's File.toURI() spells it
        return name
    scheme = match.group(1).lower()
    scheme = _ALIASES.get(scheme, scheme)
    rest = name[match.end() :]
    if scheme == "file":
        host, slash, path = rest.partition("/")
        if host.lower() in ("", "localhost"):
            return _path("/" + path)
        return f"file://{host.lower()}{slash}{path}"
    if scheme in _TABLES:
        return f"{scheme}://{_table(rest, *_TABLES[scheme])}"
    return f"{scheme}://{rest}"


def _path(path: str) -> str:
    return "/" + posixpath.normpath(path).lstrip("/") if path.strip("/") else "/"


def _table(rest: str, default_port: int, parts: int) -> str:
    authority, slash, path = rest.partition("/")
    authority = authority.lower()
    if authority and ":" not in authority.rsplit("@", 1)[-1].rsplit("]", 1)[-1]:
        authority = f"{authority}:{default_port}"
    segments = path.split("/")
    if len(segments) == parts and all(segments):
        path = ".".join(segments)
    return f"{authority}{slash}{path}"


def pointer_of_dataset(namespace: str, name: str) -> str:
    """The pointer an OpenLineage dataset (``namespace``, ``name``) names."""
    if namespace == OWN_NAMESPACE or namespace.lower() == "file":
        return canonical(name)
    if "://" in namespace:
        base = namespace.rstrip("/")
        return canonical(base + name if name.startswith("/") else f"{base}/{name}")
    return canonical(f"{namespace}:{name}")


def dataset_of_pointer(pointer: str) -> tuple[str, str]:
    """The OpenLineage dataset (namespace, name) of a pointer, so that
    ``pointer_of_dataset(*dataset_of_pointer(p)) == p`` for every canonical pointer ``p``."""
    if pointer.startswith("/"):
        return "file", pointer
    match = _SCHEME.match(pointer)
    if match is not None:
        authority, slash, path = pointer[match.end() :].partition("/")
        scheme = match.group(1)
        if slash and path:
            namespace = f"{scheme}://{authority}"
            name = "/" + path if scheme in _PATH_NAMES else path
            if pointer_of_dataset(namespace, name) == pointer:
                return namespace, name
        return OWN_NAMESPACE, pointer
    scheme, colon, rest = pointer.partition(":")
    if colon and scheme in _AUTHORITYLESS and rest:
        return scheme, rest
    return OWN_NAMESPACE, pointer
