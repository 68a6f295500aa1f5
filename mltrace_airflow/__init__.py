"""mltrace for Apache Airflow."""
