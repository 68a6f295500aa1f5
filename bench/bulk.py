"""Fill a store fast with a realistic, lineage-correct synthetic history (for benchmarks and scale tests).

Families of a five-step churn pipeline run again and again: ingest -> validate -> featurize -> train
(warm-started from the family's previous model, afresh every 50 runs) -> predict. Each pipeline run writes new versioned files,
and the family's model is rewritten by every train run, so lineages are realistic: long through the
model, bounded by the family. Rows go straight into the tables (COPY on PostgreSQL, executemany on
SQLite) with the lineage edges the rule gives, computed here as the history is generated in time order.

    python bench/bulk.py URI RUNS [--families 20]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from datetime import datetime, timedelta, timezone

import mltrace_core

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
STEPS = ("ingest", "validate", "featurize", "train", "predict")
TABLES = ("components", "pointers", "component_runs", "run_inputs", "run_outputs", "run_dependencies")


def _step_io(family: int, p: int) -> list[tuple[list[str], list[str]]]:
    raw, report = f"data/f{family}/raw/{p}.csv", f"data/f{family}/reports/{p}.json"
    # The model is warm-started from the family's previous one, and started afresh every 50 pipelines.
    feats, model = f"data/f{family}/features/{p}.json", f"models/f{family}/v{p // 50}/churn.json"
    return [
        ([], [raw]),
        ([raw], [report]),
        ([raw, report], [feats]),
        (
            [feats, model, "config/train.yaml", "config/features.yaml"],
            [model, f"models/f{family}/archive/{p}.json"],
        ),
        ([model, raw], [f"predictions/f{family}/{p}.csv"]),
    ]


def generate(runs: int, families: int, first_run_id: int = 1, first_pointer_id: int = 1, start=T0):
    """Yield table -> rows batches for ``runs`` runs."""
    comps = {}
    rows = {t: [] for t in TABLES}
    for f in range(families):
        for step in STEPS:
            comps[(f, step)] = len(comps) + 1
            rows["components"].append((comps[(f, step)], f"churn_f{f}.{step}", "", "bench", start))
    pointer_ids: dict[str, int] = {}
    last_writer: dict[int, int] = {}
    run_id = first_run_id - 1
    pipeline = 0
    while run_id - first_run_id + 1 < runs:
        family, p = pipeline % families, pipeline // families
        base = start + timedelta(minutes=10 * pipeline)
        for k, (ins, outs) in enumerate(_step_io(family, p)):
            if run_id - first_run_id + 1 >= runs:
                break
            run_id += 1
            begin, end = base + timedelta(minutes=2 * k), base + timedelta(minutes=2 * k + 1)
            rows["component_runs"].append(
                (run_id, f"bulk:{run_id}", comps[(family, STEPS[k])], begin, end, "success", "", begin)
            )
            for name in ins:
                pid = pointer_ids.setdefault(name, first_pointer_id + len(pointer_ids))
                rows["run_inputs"].append((run_id, pid, begin))
                producer = last_writer.get(pid)
                if producer is not None:
                    rows["run_dependencies"].append((run_id, pid, producer))
            for name in outs:
                pid = pointer_ids.setdefault(name, first_pointer_id + len(pointer_ids))
                rows["run_outputs"].append((run_id, pid, begin, end))
                last_writer[pid] = run_id
        pipeline += 1
    rows["pointers"] = [(pid, name, False, start) for name, pid in pointer_ids.items()]
    return rows


COLUMNS = {
    "components": "id, name, description, owner, created_at",
    "pointers": "id, name, flagged, created_at",
    "component_runs": "id, key, component_id, start_ts, end_ts, status, notes, logged_at",
    "run_inputs": "run_id, pointer_id, start_ts",
    "run_outputs": "run_id, pointer_id, start_ts, end_ts",
    "run_dependencies": "consumer_run_id, pointer_id, producer_run_id",
}


def load(store: mltrace_core.Store, runs: int, families: int = 20) -> dict:
    """Bulk-load ``runs`` runs into an empty store; return counts and the time taken."""
    t0 = time.perf_counter()
    store.upgrade()
    rows = generate(runs, families)
    insert(store, rows)
    counts = {t: len(rows[t]) for t in TABLES}
    counts["links"] = counts["run_inputs"] + counts["run_outputs"]
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def insert(store: mltrace_core.Store, rows: dict, columns: dict | None = None) -> None:
    """Insert ``rows`` (table -> row tuples in the order of ``columns[table]``, default :data:`COLUMNS`)
    straight into the tables, then ANALYZE; ids are given, and PostgreSQL's sequences moved past them."""
    columns = {**COLUMNS, **(columns or {})}
    engine = store.engine
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            for table in TABLES:
                if not rows.get(table):
                    continue
                buf = io.StringIO()
                writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC)  # "" is text, not NULL
                for row in rows[table]:
                    writer.writerow(
                        ["f" if v is False else v.isoformat() if isinstance(v, datetime) else v for v in row]
                    )
                buf.seek(0)
                cur.copy_expert(f"COPY {table} ({columns[table]}) FROM STDIN WITH (FORMAT csv)", buf)
            for table in ("components", "pointers", "component_runs"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
        else:
            for table in TABLES:
                if not rows.get(table):
                    continue
                cols = columns[table]
                marks = ", ".join("?" * len(cols.split(",")))
                cur.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                    [
                        [v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in r]
                        for r in rows[table]
                    ],
                )
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("runs", type=int)
    parser.add_argument("--families", type=int, default=20)
    args = parser.parse_args()
    store = mltrace_core.Store(args.uri, timeout=600)
    if store.get_recent_run_ids(1):
        sys.exit("bulk.py fills an empty store only")
    print(load(store, args.runs, args.families))


if __name__ == "__main__":
    main()
