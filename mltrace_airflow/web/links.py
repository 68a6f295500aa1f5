"""Every URL the pages print, built in one place.

The app is mounted under a prefix (``/mltrace``) on the Airflow API server, so links start from the
request's ``root_path``. Names go into query strings or single, fully encoded path segments, so slashes,
spaces, ``?``, ``#``, ``%``, unicode and URL schemes in pointer and component names survive the round trip.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from mltrace_core import ExternalIdentity

MOUNT = (
    "/mltrace"  # where the plugin mounts the app; links to Airflow's own pages are relative to what is above
)


def segment(name: str) -> str:
    """One path segment: every reserved character encoded, ``/`` included."""
    return quote(name, safe="")


class Links:
    """URLs for one request. ``root``: the app's mount point; ``airflow``: the Airflow UI's base path."""

    def __init__(self, root_path: str, static_version: str = "") -> None:
        self.root = root_path.rstrip("/")
        self.airflow = self.root[: -len(MOUNT)] if self.root.endswith(MOUNT) else ""
        self.static_version = static_version

    def _to(self, path: str, **query) -> str:
        params = {k: v for k, v in query.items() if v is not None}
        return self.root + path + ("?" + urlencode(params, quote_via=quote) if params else "")

    # -- mltrace pages ----------------------------------------------------------------------------
    def home(self, **query) -> str:
        return self._to("/", **query)

    def command(self) -> str:
        return self._to("/command")

    def flag(self) -> str:
        return self._to("/flag")

    def rerun(self) -> str:
        return self._to("/rerun")

    def run(self, run_id: int) -> str:
        return self._to(f"/runs/{int(run_id)}")

    def trace(self, output: str, as_of: str | None = None, pointer: str | None = None) -> str:
        """The trace page of an address (``NAME``, ``NAME@VERSION``, ``run:ID``); ``pointer``: the output
        a ``run:ID`` trace is about, for the page's version picker."""
        return self._to("/trace", output=output, as_of=as_of or None, pointer=pointer)

    def trace_run(self, run_id: int, pointer: str | None = None) -> str:
        """The trace of exactly what run ``run_id`` wrote (of ``pointer``): that run's version, even
        when a newer one exists or another run wrote the same version."""
        return self.trace(f"run:{int(run_id)}", pointer=pointer)

    def trace_form(self) -> str:
        """Where the trace page's forms (version picker, as of) send their GET."""
        return self._to("/trace")

    def diff_form(self) -> str:
        return self._to("/diff")

    def versions(self, name: str, limit: int | None = None) -> str:
        return self._to("/versions", name=name, limit=limit)

    def diff(self, a: str, b: str, as_of_a: str | None = None, as_of_b: str | None = None) -> str:
        return self._to("/diff", a=a, b=b, as_of_a=as_of_a or None, as_of_b=as_of_b or None)

    def diff_runs(self, a: int, b: int) -> str:
        return self.diff(f"run:{int(a)}", f"run:{int(b)}")

    def impact(self, address: str, after: int | None = None, limit: str | None = None) -> str:
        return self._to("/impact", address=address, after=after, limit=limit)

    def downstream(self, pointer: str) -> str:
        return self._to("/downstream", pointer=pointer)

    def history(self, component: str, limit: int | None = None) -> str:
        if component in (".", ".."):  # a browser would resolve these as path segments
            return self._to("/history", component=component, limit=limit)
        return self._to(f"/history/{segment(component)}", limit=limit)

    def tag(self, tag: str) -> str:
        if tag in (".", ".."):
            return self._to("/tags", tag=tag)
        return self._to(f"/tags/{segment(tag)}")

    def tags(self) -> str:
        return self._to("/tags")

    def components(self) -> str:
        return self._to("/components")

    def review(self, **query) -> str:
        return self._to("/review", **query)

    def static(self, filename: str) -> str:
        return self._to(f"/static/{filename}", v=self.static_version or None)

    # -- Airflow's own pages ------------------------------------------------------------------------
    def task_instance(self, ext: ExternalIdentity | None, log: bool = False) -> str | None:
        """The Airflow 3 UI page of the task instance of ``ext`` (its default tab is the log).
        ``log=True`` selects the log of this very try (``?try_number=N``)."""
        if ext is None:
            return None
        if not (ext.dag_id and ext.run_id and ext.task_id):
            return safe_external_url(ext.url)
        path = f"{self.airflow}/dags/{segment(ext.dag_id)}/runs/{segment(ext.run_id)}/tasks/{segment(ext.task_id)}"
        if ext.map_index is not None and ext.map_index >= 0:
            path += f"/mapped/{ext.map_index}"
        if log and ext.try_number:
            path += f"?try_number={ext.try_number}"
        return path

    def dag_run(self, dag_id: str, run_id: str) -> str:
        return f"{self.airflow}/dags/{segment(dag_id)}/runs/{segment(run_id)}"


def catalogue_url(template: str | None, ext: ExternalIdentity | None, component: str) -> str | None:
    """The page of a run in the OpenLineage catalogue (``[mltrace] openlineage_ui_url``): ``{run_id}``,
    ``{namespace}`` and ``{job}`` in ``template`` become the run's OpenLineage run id, its namespace and
    its job (``dag_id.task_id`` for an Airflow try, else the component), each one encoded path segment.
    ``None`` without a template, for a run with no OpenLineage run id, or for a URL that is not http(s)."""
    if not template or ext is None or not ext.openlineage_run_id:
        return None
    job = f"{ext.dag_id}.{ext.task_id}" if ext.dag_id and ext.task_id else component
    values = {
        "{run_id}": ext.openlineage_run_id,
        "{namespace}": ext.openlineage_namespace or "default",
        "{job}": job,
    }
    url = template
    for placeholder, value in values.items():
        url = url.replace(placeholder, segment(value))
    return safe_external_url(url)


def safe_external_url(url: str | None) -> str | None:
    """A stored link, only if it is http(s): escaping does not stop a ``javascript:`` URL."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
