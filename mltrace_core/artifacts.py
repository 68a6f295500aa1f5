"""mltrace 0.17's ``load`` and ``save``: keep Python objects in files, and log them as the run's inputs and
outputs when called inside a decorated function (``register``, ``Component.run``), each with its value as
the version (:func:`values.version_of`), so a run that loads what another saved links to it.

Files are written with joblib when it is installed (as 0.17 did: numpy arrays stay compact) and with
pickle otherwise; ``load`` reads either. Only load files you trust: unpickling runs code.
"""

from __future__ import annotations

import os
import pickle
import random
import string
import time
from pathlib import Path
from typing import Any

from mltrace_core import config


def _joblib() -> Any:
    try:
        import joblib  # type: ignore[import-untyped]
    except ImportError:
        return None
    return joblib


def save_artifact(obj: Any, pathname: str | os.PathLike[str]) -> str:
    """Write ``obj`` to ``pathname`` (directories made as needed); return the path as text."""
    path = os.fspath(pathname)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    joblib = _joblib()
    if joblib is not None:
        joblib.dump(obj, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=4)
    return path


def load_artifact(pathname: str | os.PathLike[str]) -> Any:
    joblib = _joblib()
    if joblib is not None:
        return joblib.load(pathname)
    with open(pathname, "rb") as fh:
        return pickle.load(fh)  # noqa: S301 -- 0.17's load: the caller names a file it trusts


def default_path(var_name: str, component: str | None) -> str:
    """0.17's name for an object saved without one: ``<SAVE_DIR>/[<component>/]<var>_<5 letters>
    <YYYYmmddHHMMSS>.mlt`` (the component's name in lower case, spaces as underscores)."""
    letters = "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    name = f"{var_name}_{letters}{time.strftime('%Y%m%d%H%M%S')}.mlt"
    if component:
        name = os.path.join(component.lower().replace(" ", "_"), name)
    return os.path.join(config.save_dir(), name)


def load(pathname: str) -> Any:
    """Load the object saved at ``pathname``; inside a decorated function it is an input of the run."""
    from mltrace_core.capture import current_artifacts

    obj = load_artifact(pathname)
    found = current_artifacts()
    if found is not None:
        found.loaded.append((os.fspath(pathname), obj))
    return obj


def save(obj: Any, pathname: str | None = None) -> str:
    """Save ``obj`` at ``pathname`` (default: a new file under ``$SAVE_DIR``, see :func:`default_path`);
    return the path. Inside a decorated function it is an output of the run."""
    from mltrace_core.capture import current_artifacts

    found = current_artifacts()
    path = save_artifact(obj, pathname or default_path("", found.component if found else None))
    if found is not None:
        found.saved.append((path, obj))
    return path
