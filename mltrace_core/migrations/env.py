"""Alembic environment: always run on a connection handed in by ``mltrace_core.db.upgrade``."""

from alembic import context

from mltrace_core.db import VERSION_TABLE
from mltrace_core.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
