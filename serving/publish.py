"""The published warehouse: a read-only copy of the marts that BI tools and analysts read.

DuckDB allows one writer per file and a reader cannot open a file another process writes, so readers
never open the warehouse dbt builds. After a run's blocking checks pass, `publish` copies every table
of the public schemas into a new DuckDB file under a temporary name beside the published path, syncs
it to disk and renames it over the published path in one step (`os.replace`). A reader that already
has the old file open keeps reading that version (on POSIX the old inode lives on until it closes);
a new connection opens the new one. The copy carries the dbt table and column descriptions, and a
`meta` schema says which run built it and how many rows each table holds.

Dagster-free: orchestration/defs/serving.py runs it as the `published_warehouse` asset.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PUBLIC_SCHEMAS = ("marts",)
META_SCHEMA = "meta"


@dataclass(frozen=True)
class Publication:
    path: Path
    run_id: str
    built_at: datetime  # when dbt last wrote the warehouse the copy was taken from
    published_at: datetime
    row_counts: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    size_bytes: int = 0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str | None) -> str:
    return "null" if text is None else "'" + text.replace("'", "''") + "'"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    warehouse: Path,
    published: Path,
    run_id: str,
    schemas: tuple[str, ...] = PUBLIC_SCHEMAS,
) -> Publication:
    """Copy the tables of `schemas` from `warehouse` into a new file and swap it in at `published`.

    Needs the warehouse closed for writing (run it inside the warehouse pool); never opens `published`
    itself, so readers holding it, even read-write, do not block the swap."""
    warehouse, published = Path(warehouse), Path(published)
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse to publish at {warehouse}: build the marts first")
    published.parent.mkdir(parents=True, exist_ok=True)
    built_at = datetime.fromtimestamp(warehouse.stat().st_mtime, UTC)
    published_at = datetime.now(UTC)
    tmp = published.with_name(f".{published.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        counts = _copy(warehouse, tmp, schemas, run_id, built_at, published_at)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, published)
        _fsync_dir(published.parent)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return Publication(
        path=published,
        run_id=run_id,
        built_at=built_at,
        published_at=published_at,
        row_counts=counts,
        size_bytes=published.stat().st_size,
    )


def _copy(
    warehouse: Path, tmp: Path, schemas: tuple[str, ...], run_id: str, built_at: datetime, published_at: datetime
) -> dict[str, int]:
    # dbt-duckdb names relations after the file's basename: attach the warehouse under that name so its
    # views (which refer to it by name) resolve.
    source = warehouse.stem
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"attach {_literal(str(warehouse))} as {_quote(source)} (read_only)")
        target_db = _quote(con.execute("select current_database()").fetchone()[0])
        names = ", ".join(_literal(s) for s in schemas)
        relations = con.execute(
            f"select schema_name, table_name, comment from duckdb_tables() "
            f"where database_name = ? and schema_name in ({names}) "
            f"union all select schema_name, view_name, comment from duckdb_views() "
            f"where database_name = ? and schema_name in ({names}) and not internal order by 1, 2",
            [source, source],
        ).fetchall()
        if not relations:
            raise ValueError(f"{warehouse} has no tables in schema(s) {', '.join(schemas)}: nothing to publish")
        counts: dict[str, int] = {}
        for schema in schemas:
            con.execute(f"create schema {target_db}.{_quote(schema)}")
        for schema, table, comment in relations:
            target = f"{target_db}.{_quote(schema)}.{_quote(table)}"
            # views become tables: the copy must not refer back to the warehouse
            con.execute(f"create table {target} as select * from {_quote(source)}.{_quote(schema)}.{_quote(table)}")
            if comment:
                con.execute(f"comment on table {target} is {_literal(comment)}")
            for column, column_comment in con.execute(
                "select column_name, comment from duckdb_columns() "
                "where database_name = ? and schema_name = ? and table_name = ? and comment is not null",
                [source, schema, table],
            ).fetchall():
                con.execute(f"comment on column {target}.{_quote(column)} is {_literal(column_comment)}")
            counts[f"{schema}.{table}"] = con.execute(f"select count(*) from {target}").fetchone()[0]
        _write_meta(con, target_db, run_id, built_at, published_at, counts)
        con.execute(f"detach {_quote(source)}")
        con.execute("checkpoint")
        return counts
    finally:
        con.close()


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    target_db: str,
    run_id: str,
    built_at: datetime,
    published_at: datetime,
    counts: dict[str, int],
) -> None:
    meta = f"{target_db}.{META_SCHEMA}"
    con.execute(f"create schema {meta}")
    con.execute(
        f"create table {meta}.publication as select ? as run_id, ? as built_at, ? as published_at",
        [run_id, built_at, published_at],
    )
    con.execute(
        f"comment on table {meta}.publication is "
        "'One row: the run that published this file, when dbt built the marts and when it was published.'"
    )
    con.execute(f"create table {meta}.published_tables (table_name varchar, row_count bigint)")
    con.executemany(f"insert into {meta}.published_tables values (?, ?)", list(counts.items()))
    con.execute(
        f"comment on table {meta}.published_tables is "
        "'One row per table copied into this file (schema.table), with its row count at publication.'"
    )


def current_publication(path: Path) -> dict | None:
    """The `meta.publication` row of the published file, or None when nothing is published yet."""
    if not Path(path).exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"select * from {META_SCHEMA}.publication")
        columns = [d[0] for d in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))
