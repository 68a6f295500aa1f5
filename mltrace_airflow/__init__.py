"""mltrace for Apache Airflow: the lineage hook, traced operators, the listener and the UI plugin."""

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata (the ``apache_airflow_provider`` entry point): the hook and its connection type."""
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
    }
