"""What the tests, the benches and the demo share: processes and ports, stores and backends, Airflow's
test environment, page parsing, the tests' timeline. One copy of each; nothing is copied between tests."""
