"""OpenLineage events -> mltrace runs: data only, no transport (the web app and ``mltrace ingest`` carry
them). :func:`parse` checks one event; :meth:`mltrace_core.Store.ingest` merges and stores a batch."""

from mltrace_core.openlineage.events import DatasetEvent, Event, JobEvent, RunEvent, parse, parse_time
from mltrace_core.openlineage.ingest import IngestResult

__all__ = ["DatasetEvent", "Event", "IngestResult", "JobEvent", "RunEvent", "parse", "parse_time"]
