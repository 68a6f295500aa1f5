from mltrace_airflow.hooks.mltrace import MltraceHook

__all__ = ["MltraceHook"]
