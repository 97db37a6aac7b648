"""Many cases fast: copy a small database of real cases (made by the agent itself) many
times over, one INSERT ... SELECT per table, on SQLite or PostgreSQL.

The copying reads the schema from the database (reflection), so it follows the schema as
the product changes it, by these rules:

* an integer primary key `id` becomes id + k * stride (stride: the table's largest id + 1),
  and every foreign key to such a table moves with it, so each copy is a whole case with
  its own events, emails, participants and thread;
* a case reference (`ref`, `*_ref`) gets the copy's number appended as digits, so it stays
  a reference the matcher reads (ESC-2026-0042 becomes ESC-2026-0042001234) and each copy
  is about its own child;
* any other column unique on its own (a Message-ID, a digest, a dedupe key) gets "." and the
  copy's number appended;
* raw email bytes are replaced by one small stand-in email: only `case export` reads them,
  and it is run on a case of the original. This keeps 130,000 cases to a few hundred MB.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

SKIP = {"alembic_version", "counter", "source_state", "bench_copy"}
STUB = (b"From: someone@example.test\r\nTo: agent@example.test\r\nSubject: (copy)\r\n"
        b"Message-ID: <copy@example.test>\r\n\r\n(a bench copy: the bytes are not kept)\r\n")


def replicate(engine: sa.Engine, copies: int) -> dict[str, int]:
    """Add `copies` copies of every row; returns the number of rows per table after."""
    meta = sa.MetaData()
    meta.reflect(engine)
    inspector = sa.inspect(engine)
    tables = [t for t in meta.sorted_tables if t.name not in SKIP]
    copy = sa.Table("bench_copy", sa.MetaData(), sa.Column("k", sa.Integer, primary_key=True),
                    sa.Column("tag", sa.String(10), nullable=False))
    with engine.begin() as conn:
        copy.drop(conn, checkfirst=True)
        copy.create(conn)
        conn.execute(copy.insert(), [{"k": k, "tag": f"{k:06d}"} for k in range(1, copies + 1)])
        stride = {t.name: (conn.execute(sa.select(sa.func.max(_int_id(t)))).scalar() or 0) + 1
                  for t in tables if _int_id(t) is not None}
        for table in tables:
            unique = _unique_alone(inspector, table)
            exprs = [_copied(col, table, copy, stride, unique).label(col.name)
                     for col in table.columns]
            select = sa.select(*exprs).select_from(table.join(copy, sa.true()))
            conn.execute(sa.insert(table).from_select([c.name for c in table.columns], select))
        copy.drop(conn)
        if engine.dialect.name == "postgresql":
            for table in tables:
                key = _int_id(table)
                if key is not None:
                    conn.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{key.name}'),"
                        f" (SELECT max({key.name}) FROM \"{table.name}\"))"))
    analyze(engine)
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0
                for t in tables}


def analyze(engine: sa.Engine) -> None:
    """Fresh planner statistics, as a database in service has."""
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def spread_over_a_year(engine: sa.Engine, stride: int) -> None:
    """Copy k of a case was opened (and, if closed, closed) k days earlier, modulo a year:
    a council's open cases were raised over months, so yesterday's new and closed cases
    are a few hundred, not all of them. Only these two dates move: each case's stage and
    deadlines stay as the agent set them, so nothing falls due."""
    from mailagent.store.models import Case

    table = Case.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:  # copy k's ids are the template's + k * stride
        rows = conn.execute(sa.select(table.c.id, table.c.opened_at, table.c.closed_at)
                            .where(table.c.id >= stride)).all()
        earlier = {r.id: timedelta(days=(r.id // stride) % 365) for r in rows}
        updates = [{"_id": r.id, "opened_at": r.opened_at - earlier[r.id],
                    "closed_at": r.closed_at and r.closed_at - earlier[r.id]} for r in rows]
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("_id"))
                     .values(opened_at=sa.bindparam("opened_at"),
                             closed_at=sa.bindparam("closed_at")), updates)


def shift_back(engine: sa.Engine, case_ids: list[int], days: int) -> None:
    """Move every date and time of these cases `days` earlier, as if they had been opened
    then: whatever fell due meanwhile is due now."""
    from mailagent.store.models import Case, UtcDateTime

    table = Case.__table__  # type: ignore[attr-defined]
    when = [c for c in table.columns if isinstance(c.type, UtcDateTime)]
    with engine.begin() as conn:
        rows = conn.execute(sa.select(table.c.id, *when).where(table.c.id.in_(case_ids))).all()
        updates = [
            {"_id": row.id, **{c.name: (getattr(row, c.name) - timedelta(days=days)
                                        if getattr(row, c.name) else None) for c in when}}
            for row in rows
        ]
        statement = (sa.update(table).where(table.c.id == sa.bindparam("_id"))
                     .values({c.name: sa.bindparam(c.name) for c in when}))
        conn.execute(statement, updates)


def _int_id(table: sa.Table) -> sa.Column | None:
    keys = list(table.primary_key.columns)
    if len(keys) == 1 and isinstance(keys[0].type, sa.Integer) and not keys[0].foreign_keys:
        return keys[0]
    return None


def _unique_alone(inspector: sa.Inspector, table: sa.Table) -> set[str]:
    sets = [list(table.primary_key.columns.keys())]
    sets += [u["column_names"] for u in inspector.get_unique_constraints(table.name)]
    sets += [i["column_names"] for i in inspector.get_indexes(table.name) if i.get("unique")]
    return {names[0] for names in sets if len(names) == 1}


def _copied(col: sa.Column, table: sa.Table, copy: sa.Table, stride: dict[str, int],
            unique: set[str]) -> sa.ColumnElement:
    k, tag = copy.c.k, copy.c.tag
    fk = next(iter(col.foreign_keys), None)
    if fk is not None and fk.column.table.name in stride:
        return col + k * stride[fk.column.table.name]
    if col.primary_key and table.name in stride and _int_id(table) is col:
        return col + k * stride[table.name]
    if isinstance(col.type, sa.LargeBinary):
        return sa.literal(STUB, sa.LargeBinary)
    if isinstance(col.type, sa.String) and (col.name == "ref" or col.name.endswith("_ref")):
        return col + tag
    if isinstance(col.type, sa.String) and col.name in unique:
        room = col.type.length
        kept = sa.func.substr(col, 1, room - 7) if room else col  # a digest fills its column
        return kept + "." + tag
    return col
