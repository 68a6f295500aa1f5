"""One run id across systems: the OpenLineage run ids mltrace records and exports.

The rule is openlineage-python's ``generate_static_uuid``; the client is the oracle here (the Airflow
provider's own functions are compared in tests/task/test_openlineage_ids.py)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openlineage.client.uuid import generate_static_uuid

from mltrace_core import ComponentRun, ExternalIdentity, InvalidInputError, olids
from mltrace_core.cli import cli
from tests.support.timeline import at

instants = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
)


@settings(max_examples=100, deadline=None)
@given(instant=instants, data=st.binary(max_size=200))
def test_static_uuid_is_the_clients(instant, data):
    assert olids.static_uuid(instant, data) == str(generate_static_uuid(instant, data))


def test_ids_are_deterministic_uuid7_ordered_by_date():
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    first = olids.task_run_id("default", "churn", "train", 1, -1, day)
    assert first == olids.task_run_id("default", "churn", "train", 1, -1, day)
    assert uuid.UUID(first).version == 7
    others = {
        olids.task_run_id("default", "churn", "train", 2, -1, day),  # another try
        olids.task_run_id("default", "churn", "train", 1, 0, day),  # a mapped instance
        olids.task_run_id("prod", "churn", "train", 1, -1, day),  # another namespace
        olids.dag_run_id("default", "churn", day, 0),
    }
    assert first not in others and len(others) == 4
    later = olids.task_run_id("default", "churn", "train", 1, -1, day + timedelta(days=1))
    assert later > first  # UUIDv7: ids sort by their DAG run's date
    assert olids.dag_run_id("default", "churn", day, 1) != olids.dag_run_id("default", "churn", day, 0)


def test_openlineage_identity_is_stored_merged_and_shown(store, log):
    run_id, parent = str(uuid.uuid4()), str(uuid.uuid4())
    ext = ExternalIdentity("churn", "manual__1", "train", 1, -1, None, run_id.upper(), "prod", parent)
    rid = log("churn.train", ["raw.csv"], ["model.pkl"], 0, external=ext)
    info = store.get_component_run_information(rid)
    assert info.external.openlineage_run_id == run_id  # canonical lower-case form
    assert (info.external.openlineage_namespace, info.external.openlineage_parent_run_id) == ("prod", parent)
    assert info.to_dict()["external"]["openlineage_run_id"] == run_id
    assert [r.id for r in store.get_recent_runs(5)] == [rid]
    assert store.get_recent_runs(5)[0].external.openlineage_run_id == run_id
    out = CliRunner().invoke(cli, ["--db-uri", store.uri, "inspect", str(rid)]).stdout
    assert f"openlineage run  {run_id} namespace=prod parent={parent}" in " ".join(out.split(" "))
    # A run known only to mltrace gets the id its exports carry (derived from its key and start), kept
    # when the run is reported again.
    plain = ComponentRun("plain")
    plain.key = "uuid:one"
    plain.set_start_timestamp(at(5))
    plain.set_end_timestamp(at(6))
    first = store.log(plain)
    derived = olids.run_id_of_key("uuid:one", at(5))
    assert store.get_component_run_information(first).external.openlineage_run_id == derived
    plain.external = ExternalIdentity(openlineage_run_id=str(uuid.uuid4()))
    assert store.log(plain) == first
    assert store.get_component_run_information(first).external.openlineage_run_id == derived
    assert "airflow" not in CliRunner().invoke(cli, ["--db-uri", store.uri, "inspect", str(first)]).stdout


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234", 42])
def test_an_openlineage_run_id_is_a_uuid(bad):
    run = ComponentRun("c")
    run.set_start_timestamp(at(0))
    run.set_end_timestamp(at(1))
    run.external = ExternalIdentity(openlineage_run_id=bad)
    with pytest.raises(InvalidInputError, match="UUID"):
        run.to_record()


def test_spooled_records_keep_the_identity():
    run = ComponentRun("c")
    run.set_start_timestamp(at(0))
    run.set_end_timestamp(at(1))
    run.external = ExternalIdentity("d", "r", "t", 1, -1, None, str(uuid.uuid4()), "default", None)
    record = run.to_record()
    assert type(record).from_json(json.loads(json.dumps(record.to_json()))) == record
