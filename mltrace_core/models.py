"""The schema. Alembic owns it (``migrations/``); these classes describe it for queries.

Lineage edges are materialised in ``run_dependencies`` when a run is logged (see ``write.py``),
so a trace is one recursive query over an indexed table. The start/end timestamps of a run are
copied onto its input/output rows: they never change once a run is logged, and the producer lookup
("latest writer of P that ended at or before R started") is then a single index range scan.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAME = String(1024)
VERSION = String(256)
ID = BigInteger().with_variant(Integer, "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps naive ISO strings, which order correctly as text because they are all UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is timezone.utc:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Component(Base):
    __tablename__ = "components"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(NAME, default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How many runs it has (schema 0010): kept by triggers on component_runs, for the listings.
    run_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ComponentTag(Base):
    __tablename__ = "component_tags"

    component_id: Mapped[int] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(NAME, primary_key=True, index=True)


class Run(Base):
    """One component run (one Airflow task try)."""

    __tablename__ = "component_runs"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # Idempotency key: the Airflow task try, or a uuid made when the record was built.
    key: Mapped[str] = mapped_column(String(1200), unique=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    start_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    end_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    code_version: Mapped[str | None] = mapped_column(String(256))
    error: Mapped[str | None] = mapped_column(Text)
    ext_dag_id: Mapped[str | None] = mapped_column(String(250))
    ext_run_id: Mapped[str | None] = mapped_column(String(250))
    ext_task_id: Mapped[str | None] = mapped_column(String(250))
    ext_try_number: Mapped[int | None] = mapped_column(Integer)
    ext_map_index: Mapped[int | None] = mapped_column(Integer)
    ext_url: Mapped[str | None] = mapped_column(Text)
    # OpenLineage identity (schema 0006): the run id the run has there (an Airflow try: the provider's
    # deterministic id), its job's namespace, and its parent run's id (an Airflow try: its DAG run's).
    ext_ol_run_id: Mapped[str | None] = mapped_column(String(36))
    ext_ol_namespace: Mapped[str | None] = mapped_column(NAME)
    ext_ol_parent_run_id: Mapped[str | None] = mapped_column(String(36))
    # What mltrace 0.17 kept of the code that ran (schema 0003): the git commit and the tags on it, and the
    # source of the decorated function (at most 65,536 characters).
    git_hash: Mapped[str | None] = mapped_column(String(256))
    git_tags: Mapped[list[str] | None] = mapped_column(JSON)
    code_snapshot: Mapped[str | None] = mapped_column(Text)
    # Seconds after which an input counts as stale for this run (None: the default, 30 days).
    staleness_threshold: Mapped[int | None] = mapped_column(BigInteger)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_component_runs_start", "start_ts", "id"),
        Index("ix_component_runs_component", "component_id", "start_ts", "id"),
        Index("ix_component_runs_external", "ext_dag_id", "ext_run_id", "ext_task_id", "ext_map_index"),
        Index("ix_component_runs_ol_run_id", "ext_ol_run_id"),
    )


class Pointer(Base):
    __tablename__ = "pointers"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    type: Mapped[str | None] = mapped_column(String(64))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # Only the few flagged pointers, by name (queries say `flagged = true` to match it).
        Index(
            "ix_pointers_flagged_name",
            "name",
            sqlite_where=text("flagged = 1"),
            postgresql_where=text("flagged"),
        ),
    )


class Flag(Base):
    """One flag (schema 0009): on a whole pointer (``version`` NULL: every version, later ones included)
    or on one version of it; who, when, why; ``unflagged_at`` once ended (records are never deleted).
    ``pointers.flagged`` caches "has an active flag" (see :mod:`mltrace_core.flags`)."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    pointer_id: Mapped[int] = mapped_column(ForeignKey("pointers.id", ondelete="CASCADE"))
    version: Mapped[str | None] = mapped_column(VERSION)
    reason: Mapped[str | None] = mapped_column(Text)
    flagged_by: Mapped[str | None] = mapped_column(String(256))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unflagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_flags_pointer", "pointer_id", "flagged_at", "id"),
        # The active flags of a pointer (or of one version): what the check of a try's inputs reads.
        Index(
            "ix_flags_active",
            "pointer_id",
            "version",
            sqlite_where=text("unflagged_at IS NULL"),
            postgresql_where=text("unflagged_at IS NULL"),
        ),
    )


class FlagReach(Base):
    """A run made from data an active flag reaches (schema 0014): it reads or writes such data, or a run
    upstream of it does; ``via``, the latest such run upstream of it, itself included. Kept by
    :mod:`mltrace_core.reach`; the check of a try reads its producers' rows."""

    __tablename__ = "flag_reach"

    run_id: Mapped[int] = mapped_column(ID, primary_key=True)  # no foreign key: see migration 0014
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True)
    via: Mapped[int] = mapped_column(ID)

    __table_args__ = (Index("ix_flag_reach_flag", "flag_id"),)


class RunInput(Base):
    __tablename__ = "run_inputs"

    run_id: Mapped[int] = mapped_column(ForeignKey("component_runs.id", ondelete="CASCADE"), primary_key=True)
    pointer_id: Mapped[int] = mapped_column(ForeignKey("pointers.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[str | None] = mapped_column(VERSION)
    start_ts: Mapped[datetime] = mapped_column(UTCDateTime)  # the reading run's start

    __table_args__ = (Index("ix_run_inputs_pointer_start", "pointer_id", "start_ts"),)


class RunOutput(Base):
    __tablename__ = "run_outputs"

    run_id: Mapped[int] = mapped_column(ForeignKey("component_runs.id", ondelete="CASCADE"), primary_key=True)
    pointer_id: Mapped[int] = mapped_column(ForeignKey("pointers.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[str | None] = mapped_column(VERSION)
    start_ts: Mapped[datetime] = mapped_column(UTCDateTime)  # the writing run's start and end
    end_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    # The writing run's status, a copy kept by triggers (schema 0013): `versions` lists it with the write.
    status: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_run_outputs_pointer_end", "pointer_id", "end_ts", "run_id"),
        Index("ix_run_outputs_pointer_version", "pointer_id", "version", "end_ts"),
        # Finding who wrote a value, whatever its name (0.17's auto_log): only versioned outputs.
        Index(
            "ix_run_outputs_version",
            "version",
            sqlite_where=text("version IS NOT NULL"),
            postgresql_where=text("version IS NOT NULL"),
        ),
    )


class RunTest(Base):
    """One test method run with a run (0.17's Component ``beforeTests``/``afterTests``), in run order."""

    __tablename__ = "run_tests"

    run_id: Mapped[int] = mapped_column(ForeignKey("component_runs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase: Mapped[str] = mapped_column(String(16))  # "before" or "after" the function ran
    name: Mapped[str] = mapped_column(NAME)  # "<test name>.<method>"
    passed: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text, default="")


class RunDependency(Base):
    """A lineage edge: ``consumer`` read ``pointer`` as written by ``producer``."""

    __tablename__ = "run_dependencies"

    consumer_run_id: Mapped[int] = mapped_column(
        ForeignKey("component_runs.id", ondelete="CASCADE"), primary_key=True
    )
    pointer_id: Mapped[int] = mapped_column(ForeignKey("pointers.id", ondelete="CASCADE"), primary_key=True)
    producer_run_id: Mapped[int] = mapped_column(ForeignKey("component_runs.id", ondelete="CASCADE"))

    __table_args__ = (
        # Downstream walks by producer; a page of `versions` counts one write's readers of one pointer.
        Index("ix_run_dependencies_producer_pointer", "producer_run_id", "pointer_id"),
        # PostgreSQL: all the versions of a pointer count their readers in one range scan of its edges
        # (SQLite, without hash joins, probes per write as fast: there it would only cost the writes).
        Index("ix_run_dependencies_pointer_producer", "pointer_id", "producer_run_id").ddl_if(
            dialect="postgresql"
        ),
    )


class OpenLineageRun(Base):
    """An OpenLineage run not written yet: the merge of the events received so far (``state``, JSON, see
    ``openlineage/state.py``). A run in progress waits here until it ends; a SQL query run of a task
    (``<task>.query.N``) waits here for its task run (``parent_uuid``). Rows go when their run is written."""

    __tablename__ = "openlineage_runs"

    run_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_uuid: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _table(model: type[Base]) -> Table:
    """A model's table, typed as the Core table every query here uses."""
    return cast(Table, model.__table__)


components = _table(Component)
component_tags = _table(ComponentTag)
runs = _table(Run)
pointers = _table(Pointer)
run_inputs = _table(RunInput)
run_outputs = _table(RunOutput)
run_dependencies = _table(RunDependency)
run_tests = _table(RunTest)
openlineage_runs = _table(OpenLineageRun)
flags = _table(Flag)
flag_reach = _table(FlagReach)
