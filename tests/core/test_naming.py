"""One pointer per file: every spelling of a name is one pointer, at every entry point (naming.py)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from mltrace_core.cli import cli
from mltrace_core.naming import canonical, dataset_of_pointer, pointer_of_dataset

TABLE = [
    # (spelling, canonical name, OpenLineage dataset)
    ("/data/x.csv", "/data/x.csv", ("file", "/data/x.csv")),
    ("file:///data/x.csv", "/data/x.csv", ("file", "/data/x.csv")),
    ("file:/data/x.csv", "/data/x.csv", ("file", "/data/x.csv")),
    ("file://localhost/data/x.csv", "/data/x.csv", ("file", "/data/x.csv")),
    ("FILE:///data/./raw//x.csv/", "/data/raw/x.csv", ("file", "/data/raw/x.csv")),
    ("/data/models/../x.csv", "/data/x.csv", ("file", "/data/x.csv")),
    ("file:///data/a%20b.csv", "/data/a%20b.csv", ("file", "/data/a%20b.csv")),
    ("file://Other-Host/data/x.csv", "file://other-host/data/x.csv", ("file://other-host", "/data/x.csv")),
    ("s3://bucket/key/x.csv", "s3://bucket/key/x.csv", ("s3://bucket", "key/x.csv")),
    ("S3://bucket/a b/ü.csv", "s3://bucket/a b/ü.csv", ("s3://bucket", "a b/ü.csv")),
    ("gs://bucket/k", "gs://bucket/k", ("gs://bucket", "k")),
    ("hdfs://nn:8020/user/x", "hdfs://nn:8020/user/x", ("hdfs://nn:8020", "/user/x")),
    ("postgres://db.host/sales/public/orders", "postgres://db.host:5432/sales.public.orders", None),
    ("postgresql://db.host:5433/sales/public/orders", "postgres://db.host:5433/sales.public.orders", None),
    (
        "postgres://db.host:5432/sales.public.orders",
        "postgres://db.host:5432/sales.public.orders",
        ("postgres://db.host:5432", "sales.public.orders"),
    ),
    (
        "mysql://db.host/sales/orders",
        "mysql://db.host:3306/sales.orders",
        ("mysql://db.host:3306", "sales.orders"),
    ),
    (
        "bigquery:project.dataset.table",
        "bigquery:project.dataset.table",
        ("bigquery", "project.dataset.table"),
    ),
    ("raw.csv", "raw.csv", ("mltrace", "raw.csv")),
    ("data/raw.csv", "data/raw.csv", ("mltrace", "data/raw.csv")),
    ("warehouse.customers", "warehouse.customers", ("mltrace", "warehouse.customers")),
    ("model:v3", "model:v3", ("mltrace", "model:v3")),
    ("s3://bucket", "s3://bucket", ("mltrace", "s3://bucket")),
]


@pytest.mark.parametrize(("spelling", "name", "dataset"), TABLE)
def test_the_table_of_namings(spelling, name, dataset):
    assert canonical(spelling) == name
    if dataset is not None:
        assert dataset_of_pointer(name) == dataset
        assert pointer_of_dataset(*dataset) == name


@pytest.mark.parametrize(
    ("dataset", "name"),
    [
        (("file", "/data/x.csv"), "/data/x.csv"),
        (("file", "data/x.csv"), "data/x.csv"),  # relative names stay as given
        (("postgres://db.host:5432", "sales.public.orders"), "postgres://db.host:5432/sales.public.orders"),
        (("s3://bucket/", "key"), "s3://bucket/key"),
        (("file://localhost", "/data/x.csv"), "/data/x.csv"),
        (("kafka://broker:9092", "events"), "kafka://broker:9092/events"),
        (("custom", "thing"), "custom:thing"),
        (("mltrace", "file:///data/x.csv"), "/data/x.csv"),
    ],
)
def test_openlineage_datasets_name_pointers(dataset, name):
    assert pointer_of_dataset(*dataset) == name


names = st.one_of(
    st.text(min_size=1, max_size=40),
    st.builds(
        lambda scheme, rest: f"{scheme}{rest}",
        st.sampled_from(["/", "file://", "file:/", "FILE:///", "s3://", "postgres://", "mysql://", "x+y://"]),
        st.text(alphabet="ab/.:%@ _-é", max_size=30),
    ),
)


@given(names)
def test_canonical_is_idempotent_and_round_trips_through_openlineage(name):
    once = canonical(name)
    assert canonical(once) == once
    assert pointer_of_dataset(*dataset_of_pointer(once)) == once


def test_writes_of_any_spelling_are_one_pointer(store, log):
    writer = log("ingest", [], ["file:///data/x.csv"], 0)
    reader = log("train", ["/data/x.csv"], ["file://localhost/models/m.pkl"], 2)
    twice = log("both", [("/data/x.csv", "v1"), "file:///data/x.csv"], [], 4)
    assert store.get_component_run_information(reader).dependencies == (writer,)
    assert store.get_component_run_information(writer).outputs == ("/data/x.csv",)
    assert dict(store.get_component_run_information(twice).input_versions) == {"/data/x.csv": "v1"}
    assert store.get_component_run_information(reader).outputs == ("/models/m.pkl",)


def test_look_ups_take_any_spelling(store, log):
    writer = log("ingest", [], ["/data/x.csv"], 0)
    reader = log("train", ["/data/x.csv"], ["/models/m.pkl"], 2)
    for spelling in ("/data/x.csv", "file:///data/x.csv", "file:/data//x.csv"):
        graph = store.trace(spelling)
        assert (graph.output, [n.run.id for n in graph.nodes]) == ("/data/x.csv", [writer])
        assert [n.run.id for n in store.downstream(spelling).nodes] == [reader]
        assert [v.run for v in store.versions(spelling)] == [writer]
    assert [n.run.id for n in store.trace("file:///models/m.pkl").nodes] == [reader, writer]
    store.flag_output_id("file:///models/m.pkl")
    assert store.get_flagged() == ["/models/m.pkl"]
    store.unflag_output_id("file://localhost/models/m.pkl")
    assert store.get_flagged() == []


def test_the_cli_traces_a_file_by_path_or_uri(store_uri, log):
    log("ingest", [], ["/data/x.csv"], 0)
    runner = CliRunner()
    by_path = runner.invoke(cli, ["--db-uri", store_uri, "--json", "trace", "/data/x.csv"])
    by_uri = runner.invoke(cli, ["--db-uri", store_uri, "--json", "trace", "file:///data/x.csv"])
    assert by_path.exit_code == by_uri.exit_code == 0, by_uri.output
    assert by_path.output == by_uri.output
