"""The task side: code that runs in Airflow's task processes (workers).

Traced operators (:mod:`.operators`, :mod:`.decorator`), the trace-every-task listener (:mod:`.listener`),
the record of one task try (:mod:`.tasktry`) and its delivery to the store (:mod:`.delivery`: guard, time
bound, spool, strict mode). Nothing here runs in the scheduler or the API server.
"""
