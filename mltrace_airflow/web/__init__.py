"""The API-server side: the mltrace web app (pages, JSON API, static assets, auth), built by
:func:`mltrace_airflow.web.app.create_app` and mounted by the plugin at ``/mltrace``."""
