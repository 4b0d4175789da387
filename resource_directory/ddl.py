"""Database objects that ``Base.metadata.create_all`` cannot express: full-text and spatial indexes.

Called after ``create_all`` in tests and from the hub's Alembic migration
(``create_extras(op.get_bind())``); every statement is idempotent, so running it twice is harmless.
The plain SQL is exposed per dialect (:data:`SQLITE_EXTRAS`, :data:`POSTGRESQL_EXTRAS`) so a
migration can also be reviewed or replayed by hand.

Design (issue 5, scope 5: "PostgreSQL full-text; SQLite FTS5 … Spatial index on both databases"):

* **Search document** per service = name (weight A), alternate name + organization name + the
  names of taxonomy terms attached to the service (B), description + eligibility (C). Kept current
  by triggers on ``hsds_service`` and ``hsds_attribute``; :func:`refresh_search_index` rebuilds it
  after bulk imports or organization renames (organization names are not watched by triggers).
  - SQLite: FTS5 table ``hsds_service_fts`` (porter stemming, diacritics folded). FTS5 rowids are
    integers and SQLite may renumber the implicit rowids of ``hsds_service`` on VACUUM, so a key
    table ``hsds_service_fts_key`` gives each service id a stable integer.
  - PostgreSQL: table ``hsds_service_search(service_id, document tsvector)`` with a GIN index;
    ``unaccent`` folds diacritics like SQLite does.
* **Spatial index** on location points, used as a bounding-box prefilter before exact haversine:
  - SQLite: R*Tree ``hsds_location_rtree`` (+ key table ``hsds_location_rtree_key``), maintained by
    triggers on ``hsds_location``. R*Tree stores 32-bit floats rounded outwards, so a box query
    never loses a point.
  - PostgreSQL: GiST expression index on ``ll_to_earth(latitude, longitude)`` (``cube`` +
    ``earthdistance``), queried with ``earth_box``; maintained by PostgreSQL itself.
"""

# Every SQL string here is assembled from module constants and trigger row names (NEW/OLD), never from
# user input, so the S608 "string-built SQL" warning does not apply to this module.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

FTS_TABLE = "hsds_service_fts"
FTS_KEY_TABLE = "hsds_service_fts_key"
RTREE_TABLE = "hsds_location_rtree"
RTREE_KEY_TABLE = "hsds_location_rtree_key"
PG_SEARCH_TABLE = "hsds_service_search"
PG_TEXT_CONFIG = "english"

# ---------------------------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------------------------

_SQLITE_TERMS = (
    "(SELECT group_concat(t.name, ' ') FROM hsds_attribute a JOIN hsds_taxonomy_term t ON t.id = a.taxonomy_term_id"
    " WHERE a.link_id = s.id AND a.link_entity = 'service')"
)


def _sqlite_index_service(service_id_sql: str) -> list[str]:
    """Statements that (re)index one service; ``service_id_sql`` is e.g. ``NEW.id`` in a trigger."""
    return [
        f"INSERT OR IGNORE INTO {FTS_KEY_TABLE}(service_id) SELECT id FROM hsds_service WHERE id = {service_id_sql}",
        f"DELETE FROM {FTS_TABLE} WHERE rowid = (SELECT rid FROM {FTS_KEY_TABLE} WHERE service_id = {service_id_sql})",
        f"INSERT INTO {FTS_TABLE}(rowid, service_id, name, body) "
        f"SELECT k.rid, s.id, s.name, "
        f"coalesce(s.alternate_name, '') || ' ' || coalesce(o.name, '') || ' ' || coalesce({_SQLITE_TERMS}, '')"
        f" || ' ' || coalesce(s.description, '') || ' ' || coalesce(s.eligibility_description, '') "
        f"FROM hsds_service s JOIN {FTS_KEY_TABLE} k ON k.service_id = s.id "
        f"LEFT JOIN hsds_organization o ON o.id = s.organization_id WHERE s.id = {service_id_sql}",
    ]


def _sqlite_unindex_service(service_id_sql: str) -> list[str]:
    return [
        f"DELETE FROM {FTS_TABLE} WHERE rowid = (SELECT rid FROM {FTS_KEY_TABLE} WHERE service_id = {service_id_sql})",
        f"DELETE FROM {FTS_KEY_TABLE} WHERE service_id = {service_id_sql}",
    ]


def _sqlite_index_location(location_sql: str) -> list[str]:
    """Statements that (re)index one location point; ``location_sql`` is ``NEW`` in a trigger."""
    return [
        f"INSERT OR IGNORE INTO {RTREE_KEY_TABLE}(location_id) VALUES ({location_sql}.id)",
        f"INSERT OR REPLACE INTO {RTREE_TABLE}(rid, min_lat, max_lat, min_lon, max_lon) VALUES ("
        f"(SELECT rid FROM {RTREE_KEY_TABLE} WHERE location_id = {location_sql}.id), "
        f"{location_sql}.latitude, {location_sql}.latitude, {location_sql}.longitude, {location_sql}.longitude)",
    ]


def _sqlite_unindex_location(location_sql: str) -> list[str]:
    return [
        f"DELETE FROM {RTREE_TABLE} "
        f"WHERE rid = (SELECT rid FROM {RTREE_KEY_TABLE} WHERE location_id = {location_sql}.id)",
        f"DELETE FROM {RTREE_KEY_TABLE} WHERE location_id = {location_sql}.id",
    ]


def _trigger(name: str, event: str, statements: Iterable[str], when: str | None = None) -> str:
    body = "".join(f"  {statement};\n" for statement in statements)
    condition = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER IF NOT EXISTS {name} {event} FOR EACH ROW{condition}\nBEGIN\n{body}END"


_HAS_POINT = "{row}.latitude IS NOT NULL AND {row}.longitude IS NOT NULL"

SQLITE_EXTRAS: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {FTS_KEY_TABLE} (rid INTEGER PRIMARY KEY, service_id VARCHAR(36) NOT NULL UNIQUE)",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "service_id UNINDEXED, name, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    f"CREATE TABLE IF NOT EXISTS {RTREE_KEY_TABLE} (rid INTEGER PRIMARY KEY, location_id VARCHAR(36) NOT NULL UNIQUE)",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {RTREE_TABLE} USING rtree(rid, min_lat, max_lat, min_lon, max_lon)",
    _trigger("hsds_service_fts_ai", "AFTER INSERT ON hsds_service", _sqlite_index_service("NEW.id")),
    _trigger(
        "hsds_service_fts_au",
        "AFTER UPDATE OF name, alternate_name, description, eligibility_description, organization_id ON hsds_service",
        _sqlite_index_service("NEW.id"),
    ),
    _trigger("hsds_service_fts_ad", "AFTER DELETE ON hsds_service", _sqlite_unindex_service("OLD.id")),
    _trigger(
        "hsds_attribute_fts_ai",
        "AFTER INSERT ON hsds_attribute",
        _sqlite_index_service("NEW.link_id"),
        when="NEW.link_entity = 'service'",
    ),
    _trigger(
        "hsds_attribute_fts_ad",
        "AFTER DELETE ON hsds_attribute",
        _sqlite_index_service("OLD.link_id"),
        when="OLD.link_entity = 'service'",
    ),
    _trigger(
        "hsds_location_rtree_ai",
        "AFTER INSERT ON hsds_location",
        _sqlite_index_location("NEW"),
        when=_HAS_POINT.format(row="NEW"),
    ),
    _trigger(
        "hsds_location_rtree_au",
        "AFTER UPDATE OF latitude, longitude ON hsds_location",
        [*_sqlite_unindex_location("OLD"), *_sqlite_index_location("NEW")],
        when=_HAS_POINT.format(row="NEW"),
    ),
    _trigger(
        "hsds_location_rtree_au_cleared",
        "AFTER UPDATE OF latitude, longitude ON hsds_location",
        _sqlite_unindex_location("OLD"),
        when=f"NOT ({_HAS_POINT.format(row='NEW')})",
    ),
    _trigger("hsds_location_rtree_ad", "AFTER DELETE ON hsds_location", _sqlite_unindex_location("OLD")),
)

_SQLITE_BACKFILL: tuple[str, ...] = (
    # Rows that existed before the extras (e.g. a migration on a populated database).
    f"INSERT OR IGNORE INTO {RTREE_KEY_TABLE}(location_id) "
    "SELECT id FROM hsds_location WHERE latitude IS NOT NULL AND longitude IS NOT NULL",
    f"INSERT OR REPLACE INTO {RTREE_TABLE}(rid, min_lat, max_lat, min_lon, max_lon) "
    f"SELECT k.rid, l.latitude, l.latitude, l.longitude, l.longitude FROM {RTREE_KEY_TABLE} k "
    "JOIN hsds_location l ON l.id = k.location_id WHERE l.latitude IS NOT NULL AND l.longitude IS NOT NULL",
)

SQLITE_DROP: tuple[str, ...] = (
    *(
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "hsds_service_fts_ai",
            "hsds_service_fts_au",
            "hsds_service_fts_ad",
            "hsds_attribute_fts_ai",
            "hsds_attribute_fts_ad",
            "hsds_location_rtree_ai",
            "hsds_location_rtree_au",
            "hsds_location_rtree_au_cleared",
            "hsds_location_rtree_ad",
        )
    ),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
    f"DROP TABLE IF EXISTS {FTS_KEY_TABLE}",
    f"DROP TABLE IF EXISTS {RTREE_TABLE}",
    f"DROP TABLE IF EXISTS {RTREE_KEY_TABLE}",
)

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

_PG_DOCUMENT = (
    f"setweight(to_tsvector('{PG_TEXT_CONFIG}', unaccent(coalesce(s.name, ''))), 'A')"
    f" || setweight(to_tsvector('{PG_TEXT_CONFIG}', unaccent(concat_ws(' ', s.alternate_name, o.name,"
    " (SELECT string_agg(t.name, ' ') FROM hsds_attribute a JOIN hsds_taxonomy_term t ON t.id = a.taxonomy_term_id"
    "  WHERE a.link_id = s.id AND a.link_entity = 'service')))), 'B')"
    f" || setweight(to_tsvector('{PG_TEXT_CONFIG}', unaccent(concat_ws(' ', s.description,"
    " s.eligibility_description))), 'C')"
)

POSTGRESQL_EXTRAS: tuple[str, ...] = (
    # Extensions are per database but live in one schema: pin them to public so that a connection
    # whose search_path starts with a private schema (tests, multi-tenant setups) does not install
    # them where other connections cannot see them.
    "CREATE EXTENSION IF NOT EXISTS cube SCHEMA public",
    "CREATE EXTENSION IF NOT EXISTS earthdistance SCHEMA public",
    "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public",
    "CREATE INDEX IF NOT EXISTS ix_hsds_location_earth ON hsds_location USING gist (ll_to_earth(latitude, longitude))",
    f"CREATE TABLE IF NOT EXISTS {PG_SEARCH_TABLE} ("
    " service_id VARCHAR(36) PRIMARY KEY REFERENCES hsds_service(id) ON DELETE CASCADE,"
    " document tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS ix_{PG_SEARCH_TABLE}_document ON {PG_SEARCH_TABLE} USING gin (document)",
    # One function indexes a set of services; triggers and refresh_search_index() both call it.
    "CREATE OR REPLACE FUNCTION hsds_service_search_refresh(ids text[]) RETURNS void LANGUAGE sql AS $$"
    f" DELETE FROM {PG_SEARCH_TABLE} WHERE service_id = ANY(ids)"
    " AND NOT EXISTS (SELECT 1 FROM hsds_service s WHERE s.id = service_id);"
    f" INSERT INTO {PG_SEARCH_TABLE}(service_id, document)"
    f" SELECT s.id, {_PG_DOCUMENT} FROM hsds_service s LEFT JOIN hsds_organization o ON o.id = s.organization_id"
    " WHERE s.id = ANY(ids)"
    " ON CONFLICT (service_id) DO UPDATE SET document = EXCLUDED.document $$",
    "CREATE OR REPLACE FUNCTION hsds_service_search_on_service() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN PERFORM hsds_service_search_refresh(ARRAY[NEW.id]::text[]); RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION hsds_service_search_on_attribute() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.link_entity = 'service' THEN"
    "   PERFORM hsds_service_search_refresh(ARRAY[OLD.link_id]::text[]); END IF;"
    "  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.link_entity = 'service' THEN"
    "   PERFORM hsds_service_search_refresh(ARRAY[NEW.link_id]::text[]); END IF;"
    "  RETURN NULL;"
    " END $$",
    "CREATE OR REPLACE TRIGGER hsds_service_search_service AFTER INSERT OR UPDATE OF"
    " name, alternate_name, description, eligibility_description, organization_id ON hsds_service"
    " FOR EACH ROW EXECUTE FUNCTION hsds_service_search_on_service()",
    "CREATE OR REPLACE TRIGGER hsds_service_search_attribute AFTER INSERT OR UPDATE OR DELETE ON hsds_attribute"
    " FOR EACH ROW EXECUTE FUNCTION hsds_service_search_on_attribute()",
)

POSTGRESQL_DROP: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS hsds_service_search_attribute ON hsds_attribute",
    "DROP TRIGGER IF EXISTS hsds_service_search_service ON hsds_service",
    "DROP FUNCTION IF EXISTS hsds_service_search_on_attribute()",
    "DROP FUNCTION IF EXISTS hsds_service_search_on_service()",
    "DROP FUNCTION IF EXISTS hsds_service_search_refresh(text[])",
    f"DROP TABLE IF EXISTS {PG_SEARCH_TABLE}",
    "DROP INDEX IF EXISTS ix_hsds_location_earth",
)


def extras_sql(dialect_name: str) -> tuple[str, ...]:
    """The CREATE statements for a dialect name (``sqlite`` or ``postgresql``)."""
    if dialect_name == "sqlite":
        return SQLITE_EXTRAS
    if dialect_name == "postgresql":
        return POSTGRESQL_EXTRAS
    raise NotImplementedError(f"no search/spatial extras for dialect {dialect_name!r}")


def create_extras(connection: Connection) -> None:
    """Create the FTS and spatial objects (idempotent) and index rows that already exist."""
    for statement in extras_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_BACKFILL:
            connection.exec_driver_sql(statement)
        _refresh(connection, None, only_missing=True)
    else:
        _refresh(connection, None, only_missing=True)


def drop_extras(connection: Connection) -> None:
    """Remove what :func:`create_extras` made (for an Alembic downgrade)."""
    statements = SQLITE_DROP if connection.dialect.name == "sqlite" else POSTGRESQL_DROP
    for statement in statements:
        connection.exec_driver_sql(statement)


def refresh_search_index(session: Session, service_ids: Sequence[str] | None = None) -> None:
    """Rebuild the search documents of ``service_ids`` (all services when ``None``).

    Call after a bulk import or an organization rename; single-row edits are already covered by
    triggers. Runs in the session's transaction (the caller commits).
    """
    _refresh(session.connection(), service_ids, only_missing=False)


def _refresh(connection: Connection, service_ids: Sequence[str] | None, *, only_missing: bool) -> None:
    if service_ids is None:
        if only_missing:
            table = FTS_KEY_TABLE if connection.dialect.name == "sqlite" else PG_SEARCH_TABLE
            ids = connection.execute(
                text(f"SELECT id FROM hsds_service WHERE id NOT IN (SELECT service_id FROM {table})")
            ).scalars()
        else:
            ids = connection.execute(text("SELECT id FROM hsds_service")).scalars()
        service_ids = list(ids)
        if not only_missing:
            _drop_orphans(connection)
    for start in range(0, len(service_ids), 500):
        chunk = list(service_ids[start : start + 500])
        if connection.dialect.name == "sqlite":
            for sql in _sqlite_index_service("sid.id"):
                # Turn the per-row trigger statement into a set statement over the chunk.
                connection.execute(
                    text(_sqlite_for_chunk(sql)).bindparams(bindparam("ids", expanding=True)), {"ids": chunk}
                )
        else:
            connection.execute(text("SELECT hsds_service_search_refresh(CAST(:ids AS text[]))"), {"ids": chunk})


def _sqlite_for_chunk(statement: str) -> str:
    """Rewrite ``… = sid.id`` (one service) into ``… IN :ids`` (a chunk) for the shared statements."""
    statement = statement.replace("rowid = (SELECT rid", "rowid IN (SELECT rid")
    return statement.replace("= sid.id", "IN :ids")


def _drop_orphans(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"DELETE FROM {FTS_TABLE} WHERE rowid IN (SELECT rid FROM {FTS_KEY_TABLE} "
            "WHERE service_id NOT IN (SELECT id FROM hsds_service))"
        )
        connection.exec_driver_sql(f"DELETE FROM {FTS_KEY_TABLE} WHERE service_id NOT IN (SELECT id FROM hsds_service)")
    else:
        connection.exec_driver_sql(
            f"DELETE FROM {PG_SEARCH_TABLE} WHERE service_id NOT IN (SELECT id FROM hsds_service)"
        )
