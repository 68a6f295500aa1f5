"""OpenLineage run ids: the one id a run has in mltrace and in an OpenLineage catalogue.

The Airflow OpenLineage provider names each task try with a deterministic UUIDv7
(``build_task_instance_ol_run_id``): its time part is the DAG run's logical date (or ``run_after`` when
there is none), its other bits a SHA-1 of ``"<namespace>.<dag_id>.<task_id>.<try_number>.<map_index>"``
salted with that date (``openlineage.client.uuid.generate_static_uuid``). A DAG run's id is the same rule
over ``"<namespace>.<dag_id>.<clear_number>"``. The rule is reproduced here, in plain Python, so a try
traced without the provider installed still records the id the provider would give it (a test checks the
two agree); the Airflow side uses the provider's own function when the provider is installed.

A run that did not come from Airflow nor from an OpenLineage producer has no id given from outside: its
id is the same rule over its idempotency key and start (:func:`run_id_of_key`), so every export and every
emission of one run agree on it without it having to be stored first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from hashlib import sha1

DEFAULT_NAMESPACE = "default"  # the provider's namespace when [openlineage] namespace is unset


def static_uuid(instant: datetime, data: bytes) -> str:
    """``generate_static_uuid(instant, data)`` of openlineage-python 1.15+: a UUIDv7 whose 48-bit time is
    ``instant`` in milliseconds and whose 76 other free bits are the top bits of
    ``sha1(instant.isoformat() + data)`` (``instant`` in UTC; a naive one is taken to be UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    elif instant.tzinfo is not timezone.utc:
        instant = instant.astimezone(timezone.utc)
    millis = int(instant.timestamp() * 1000)
    digest = sha1(instant.isoformat().encode("utf-8") + data).digest()  # noqa: S324  (not for security)
    node = int.from_bytes(digest, "big") >> 84
    value = ((millis & 0xFFFF_FFFF_FFFF) << 80) | (node & 0xFFFF_FFFF_FFFF_FFFF_FFFF)
    value = (value & ~(0xF000 << 64)) | (7 << 76)  # version 7
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    # str(UUID(int=value)), without the UUID object: every run logged without an id of its own gets one
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def task_run_id(
    namespace: str, dag_id: str, task_id: str, try_number: int, map_index: int, logical_date: datetime
) -> str:
    """The provider's run id of one Airflow task try (``logical_date``: the DAG run's logical date, or
    its ``run_after`` when it has none; ``map_index`` -1 for an unmapped task)."""
    data = f"{namespace}.{dag_id}.{task_id}.{try_number}.{map_index}"
    return static_uuid(logical_date, data.encode())


def dag_run_id(namespace: str, dag_id: str, logical_date: datetime, clear_number: int) -> str:
    """The provider's run id of one DAG run (a cleared DAG run gets a new one: ``clear_number``)."""
    return static_uuid(logical_date, f"{namespace}.{dag_id}.{clear_number}".encode())


def run_id_of_key(key: str, start: datetime) -> str:
    """The OpenLineage run id of a run known only to mltrace: derived from its idempotency key (unique
    per run) and its start, so it is the same whenever and wherever it is computed."""
    return static_uuid(start, f"mltrace.{key}".encode())
