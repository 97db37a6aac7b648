"""Alembic environment: runs migrations on the engine mailagent hands it.

SQLite alters a table by copying it and dropping the old one, which its foreign keys would
refuse while other tables point at the rows; they are switched off for the migration (the
copy keeps every row, so nothing is left dangling) and checked afterwards.
"""

from alembic import context
from sqlmodel import SQLModel

import mailagent.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"migration left {len(broken)} row(s) pointing at nothing")
