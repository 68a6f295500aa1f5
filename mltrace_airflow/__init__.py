"""mltrace for Apache Airflow: the lineage hook, traced operators, the listener and the UI plugin."""

from typing import Any

from mltrace_core import __version__  # one version for the whole distribution


def get_provider_info() -> dict[str, Any]:
    """Provider metadata (the ``apache_airflow_provider`` entry point): the hook, its connection type, and
    the ``[mltrace]`` configuration section (``airflow config list`` shows it, with its defaults)."""
    from mltrace_airflow.config import provider_config

    return {
        "package-name": "mltrace-airflow",
        "name": "mltrace",
        "description": "Lineage and tracing for ML pipelines: component runs, the pointers they read and wrote.",
        "versions": [__version__],
        "connection-types": [
            {"hook-class-name": "mltrace_airflow.hooks.mltrace.MltraceHook", "connection-type": "mltrace"}
        ],
        "hooks": [{"integration-name": "mltrace", "python-modules": ["mltrace_airflow.hooks.mltrace"]}],
        "integrations": [{"integration-name": "mltrace", "tags": ["software"]}],
        "config": provider_config(),
    }
