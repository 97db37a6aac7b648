"""The database: tables, migrations, the inbound record and the outbox."""
