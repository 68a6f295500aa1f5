"""The steps of a small, real ML pipeline on local files, in plain Python (no downloads, no numpy):
synthetic customer data -> validation -> standardised features -> logistic regression -> metrics ->
batch predictions. The example DAGs and the plain-Python example both run these functions.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import random
import shutil
from pathlib import Path

FEATURES = ("tenure_months", "monthly_spend", "support_calls")


def content_version(path: str | Path) -> str:
    """A pointer version: the first 16 hex digits of the file's SHA-256."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"sha256:{digest[:16]}"


def ingest(raw_path: str, seed: int, rows: int = 400) -> str:
    """Write a day's worth of synthetic churn data (the label depends on the features, plus noise)."""
    rng = random.Random(seed)
    Path(raw_path).parent.mkdir(parents=True, exist_ok=True)
    with open(raw_path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow((*FEATURES, "churned"))
        for _ in range(rows):
            tenure = rng.uniform(1, 72)
            spend = rng.uniform(10, 120)
            calls = rng.randint(0, 9)
            logit = -0.06 * tenure + 0.02 * spend + 0.45 * calls - 1.0 + rng.gauss(0, 0.7)
            out.writerow((f"{tenure:.2f}", f"{spend:.2f}", calls, int(logit > 0)))
    return raw_path


def validate(raw_path: str, report_path: str) -> dict:
    """Check the schema and value ranges; raise (failing the step) on bad data."""
    rows = _read(raw_path)
    problems = []
    if not rows:
        problems.append("no rows")
    for i, row in enumerate(rows):
        if any(v == "" for v in row.values()):
            problems.append(f"row {i}: missing value")
        elif float(row["tenure_months"]) < 0:
            problems.append(f"row {i}: negative tenure")
    report = {"rows": len(rows), "problems": problems[:20], "ok": not problems}
    _write_json(report_path, report)
    if problems:
        raise ValueError(f"{raw_path}: {len(problems)} data problems, first: {problems[0]}")
    return report


def featurize(raw_path: str, features_path: str) -> str:
    """Standardise each feature (mean 0, sd 1) and keep the label."""
    rows = _read(raw_path)
    columns = {f: [float(r[f]) for r in rows] for f in FEATURES}
    stats = {f: (_mean(v), _sd(v)) for f, v in columns.items()}
    data = {
        "stats": stats,
        "x": [[(float(r[f]) - stats[f][0]) / stats[f][1] for f in FEATURES] for r in rows],
        "y": [int(r["churned"]) for r in rows],
    }
    _write_json(features_path, data)
    return features_path


def train(features_path: str, model_path: str, epochs: int = 150, warm_start: str | None = None) -> dict:
    """Logistic regression by batch gradient descent; optionally start from a previous model."""
    data = json.loads(Path(features_path).read_text())
    x, y = data["x"], data["y"]
    weights = [0.0] * (len(FEATURES) + 1)
    if warm_start and Path(warm_start).exists():
        weights = json.loads(Path(warm_start).read_text())["weights"]
    rate = 0.5
    for _ in range(epochs):
        grad = [0.0] * len(weights)
        for xi, yi in zip(x, y, strict=True):
            err = _sigmoid(_dot(weights, xi)) - yi
            grad[0] += err
            for j, v in enumerate(xi):
                grad[j + 1] += err * v
        weights = [w - rate * g / len(x) for w, g in zip(weights, grad, strict=True)]
    model = {"weights": weights, "features": list(FEATURES), "stats": data["stats"]}
    _write_json(model_path, model)
    return model


def evaluate(model_path: str, features_path: str, metrics_path: str) -> dict:
    model = json.loads(Path(model_path).read_text())
    data = json.loads(Path(features_path).read_text())
    scores = [_sigmoid(_dot(model["weights"], xi)) for xi in data["x"]]
    accuracy = sum((s > 0.5) == bool(y) for s, y in zip(scores, data["y"], strict=True)) / len(scores)
    metrics = {"accuracy": round(accuracy, 4), "auc": round(_auc(scores, data["y"]), 4), "rows": len(scores)}
    _write_json(metrics_path, metrics)
    return metrics


def predict(model_path: str, batch_path: str, predictions_path: str) -> int:
    """Score a batch of raw rows with the model's own standardisation; write id,score rows."""
    model = json.loads(Path(model_path).read_text())
    rows = _read(batch_path)
    Path(predictions_path).parent.mkdir(parents=True, exist_ok=True)
    with open(predictions_path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(("row", "churn_probability"))
        for i, row in enumerate(rows):
            xi = [(float(row[f]) - model["stats"][f][0]) / model["stats"][f][1] for f in FEATURES]
            out.writerow((i, f"{_sigmoid(_dot(model['weights'], xi)):.4f}"))
    return len(rows)


def publish(source: str, target: str) -> str:
    """Make ``source`` the current ``target`` (the latest model, the latest predictions) in one step:
    copied beside it and renamed over it, so a reader, or a run publishing at the same time, never
    sees half a file."""
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target


def _read(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _write_json(path: str, data) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1))


def _mean(v):
    return sum(v) / len(v)


def _sd(v):
    m = _mean(v)
    return math.sqrt(sum((a - m) ** 2 for a in v) / len(v)) or 1.0


def _dot(w, xi):
    return w[0] + sum(a * b for a, b in zip(w[1:], xi, strict=True))


def _sigmoid(z):
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def _auc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return 0.5
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))
