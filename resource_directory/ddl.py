"""Database objects that ``Base.metadata.create_all`` cannot express: full-text and spatial indexes.

Called after ``create_all`` in tests and from the hub's Alembic migration
(``create_extras(op.get_bind())``); every statement is idempotent, so running it twice is harmless.
The plain SQL is exposed per dialect (:data:`SQLITE_EXTRAS`, :data:`POSTGRESQL_EXTRAS`) so a
migration can also be reviewed or replayed by hand.

Design (issue 5, scope 5: "PostgreSQL full-text; SQLite FTS5 … Spatial index on both databases"):

* **Search document** per service = name (weight A), alternate name + organization name + the
  names of taxonomy terms attached to the service (B), description + eligibility (C). Kept current
  by triggers on ``hsds_service`` and ``hsds_attribute`` (SQLite: per row; PostgreSQL: at COMMIT,
  together with the search tables below); :func:`refresh_search_index` rebuilds it
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
* **Search tables** (what ``resource_directory.search`` reads; details further down):
  ``hsds_search_location`` (one row per active service at each location, every filterable fact
  denormalised, B-tree on ``(lat_band, longitude)``) and ``hsds_search_term`` (the same rows once per
  taxonomy term, B-tree on ``(term_key, lat_band, longitude)``), with ``hsds_search_term_key`` giving
  terms small integer keys. Triggers keep them current: on SQLite per row, immediately; on PostgreSQL
  the row triggers note the service in ``hsds_search_dirty`` and one deferred trigger refreshes all
  noted services at COMMIT. Bulk loads drop the extras, load, and call :func:`create_extras`, which
  rebuilds everything set-wise.
"""

# Every SQL string here is assembled from module constants and trigger row names (NEW/OLD), never from
# user input, so the S608 "string-built SQL" warning does not apply to this module.
# ruff: noqa: S608

from __future__ import annotations

import json
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

_SQLITE_INDEX_TRIGGERS = (
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

SQLITE_DROP: tuple[str, ...] = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_INDEX_TRIGGERS),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
    f"DROP TABLE IF EXISTS {FTS_KEY_TABLE}",
    f"DROP TABLE IF EXISTS {RTREE_TABLE}",
    f"DROP TABLE IF EXISTS {RTREE_KEY_TABLE}",
)

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------


def _pg_document(terms_sql: str) -> str:
    """The weighted tsvector of service ``s`` (organization ``o``), given SQL for its term names."""
    return (
        f"setweight(to_tsvector('{PG_TEXT_CONFIG}', unaccent(coalesce(s.name, ''))), 'A')"
        f" || setweight(to_tsvector('{PG_TEXT_CONFIG}', unaccent(concat_ws(' ', s.alternate_name, o.name,"
        f" {terms_sql}))), 'B')"
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
    f" SELECT s.id, {_pg_document('tt.names')} FROM hsds_service s"
    " LEFT JOIN hsds_organization o ON o.id = s.organization_id"
    # Term names grouped once for the whole set (a subquery per service costs more for thousands of them).
    " LEFT JOIN (SELECT a.link_id, string_agg(t.name, ' ') AS names FROM hsds_attribute a"
    "  JOIN hsds_taxonomy_term t ON t.id = a.taxonomy_term_id"
    "  WHERE a.link_entity = 'service' AND a.link_id = ANY(ids) GROUP BY a.link_id) tt ON tt.link_id = s.id"
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
    # The documents are refreshed at COMMIT with the search tables (``hsds_search_flush`` below), once per
    # transaction; the per-row triggers of earlier versions made an import pay one refresh per row.
    "DROP TRIGGER IF EXISTS hsds_service_search_service ON hsds_service",
    "DROP TRIGGER IF EXISTS hsds_service_search_attribute ON hsds_attribute",
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
    raise ValueError(f"the directory supports SQLite and PostgreSQL, not {dialect_name!r}")


def create_extras(connection: Connection) -> None:
    """Create the FTS and spatial objects (idempotent) and index rows that already exist."""
    for statement in extras_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_BACKFILL:
            connection.exec_driver_sql(statement)
    _refresh(connection, None, only_missing=True)
    for statement in search_extras_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)
    rebuild_search_tables(connection)


def drop_extras(connection: Connection) -> None:
    """Remove what :func:`create_extras` made (for an Alembic downgrade)."""
    statements = SQLITE_DROP if connection.dialect.name == "sqlite" else POSTGRESQL_DROP
    for statement in [*search_drop_sql(connection.dialect.name), *statements]:
        connection.exec_driver_sql(statement)


def refresh_search_index(session: Session, service_ids: Sequence[str] | None = None) -> None:
    """Rebuild the search documents and search rows of ``service_ids`` (all services when ``None``).

    Call after a bulk import or an organization rename; single-row edits are already covered by
    triggers. Runs in the session's transaction (the caller commits).
    """
    refresh_search_connection(session.connection(), service_ids)


def refresh_search_connection(connection: Connection, service_ids: Sequence[str] | None = None) -> None:
    """:func:`refresh_search_index` on a connection (in its transaction)."""
    _refresh(connection, service_ids, only_missing=False)
    if service_ids is None:
        rebuild_search_tables(connection)
        return
    for start in range(0, len(service_ids), 500):
        chunk = list(service_ids[start : start + 500])
        if connection.dialect.name == "sqlite":
            for statement in search_refresh_sql("sqlite", "{col} IN (SELECT value FROM json_each(:ids))", grouped=True):
                connection.execute(text(statement), {"ids": json.dumps(chunk)})
        else:
            connection.execute(text("SELECT hsds_search_refresh(CAST(:ids AS text[]))"), {"ids": chunk})


def sqlite_row_trigger_names() -> list[str]:
    """Every per-row trigger the SQLite extras define (FTS, R*Tree, search tables): what a bulk write that
    refreshes the extras itself may suspend."""
    return [*_SQLITE_INDEX_TRIGGERS, *_sqlite_search_trigger_names()]


def reindex_locations(connection: Connection, location_ids: Sequence[str]) -> None:
    """SQLite: put ``location_ids`` into the R*Tree again (after writes made with its triggers suspended).

    The same statements as the triggers, over a chunk: remove the old box, then add one for each location
    that has a point. PostgreSQL's GiST index needs nothing.
    """
    if connection.dialect.name != "sqlite":
        return
    ids = "(SELECT value FROM json_each(:ids))"
    statements = [
        f"DELETE FROM {RTREE_TABLE} WHERE rid IN (SELECT rid FROM {RTREE_KEY_TABLE} WHERE location_id IN {ids})",
        f"DELETE FROM {RTREE_KEY_TABLE} WHERE location_id IN {ids}",
        f"INSERT INTO {RTREE_KEY_TABLE}(location_id) SELECT id FROM hsds_location"
        f" WHERE id IN {ids} AND latitude IS NOT NULL AND longitude IS NOT NULL",
        f"INSERT INTO {RTREE_TABLE}(rid, min_lat, max_lat, min_lon, max_lon) "
        f"SELECT k.rid, l.latitude, l.latitude, l.longitude, l.longitude FROM {RTREE_KEY_TABLE} k "
        f"JOIN hsds_location l ON l.id = k.location_id WHERE k.location_id IN {ids}",
    ]
    for start in range(0, len(location_ids), 5000):
        chunk = json.dumps(list(location_ids[start : start + 5000]))
        for statement in statements:
            connection.execute(text(statement), {"ids": chunk})


# Term names per service, grouped once for a set-wise (re)build instead of one subquery per service.
_TERMS_BY_SERVICE = (
    "(SELECT a.link_id, {agg}(t.name, ' ') AS names FROM hsds_attribute a"
    " JOIN hsds_taxonomy_term t ON t.id = a.taxonomy_term_id WHERE a.link_entity = 'service' GROUP BY a.link_id)"
)


def _index_services_setwise(connection: Connection, *, only_missing: bool) -> None:
    """Index every service (or every service without a document) in a few set statements.

    Same documents as the per-service statements, computed with grouped joins: after a bulk load of
    hundreds of thousands of services this takes seconds instead of minutes.
    """
    if connection.dialect.name == "sqlite":
        if not only_missing:
            connection.exec_driver_sql(f"DELETE FROM {FTS_TABLE}")
            _drop_orphans(connection)
        connection.exec_driver_sql(f"INSERT OR IGNORE INTO {FTS_KEY_TABLE}(service_id) SELECT id FROM hsds_service")
        terms = _TERMS_BY_SERVICE.format(agg="group_concat")
        connection.exec_driver_sql(
            f"INSERT INTO {FTS_TABLE}(rowid, service_id, name, body) SELECT k.rid, s.id, s.name, "
            "coalesce(s.alternate_name, '') || ' ' || coalesce(o.name, '') || ' ' || coalesce(tt.names, '')"
            " || ' ' || coalesce(s.description, '') || ' ' || coalesce(s.eligibility_description, '') "
            f"FROM hsds_service s JOIN {FTS_KEY_TABLE} k ON k.service_id = s.id "
            f"LEFT JOIN hsds_organization o ON o.id = s.organization_id LEFT JOIN {terms} tt ON tt.link_id = s.id"
            f" WHERE k.rid NOT IN (SELECT rowid FROM {FTS_TABLE})"
        )
        return
    if not only_missing:
        connection.exec_driver_sql(f"DELETE FROM {PG_SEARCH_TABLE}")
    terms = _TERMS_BY_SERVICE.format(agg="string_agg")
    connection.exec_driver_sql(
        f"INSERT INTO {PG_SEARCH_TABLE}(service_id, document) SELECT s.id, {_pg_document('tt.names')}"
        f" FROM hsds_service s LEFT JOIN hsds_organization o ON o.id = s.organization_id"
        f" LEFT JOIN {terms} tt ON tt.link_id = s.id"
        f" WHERE NOT EXISTS (SELECT 1 FROM {PG_SEARCH_TABLE} x WHERE x.service_id = s.id)"
    )


def _refresh(connection: Connection, service_ids: Sequence[str] | None, *, only_missing: bool) -> None:
    if service_ids is None:
        _index_services_setwise(connection, only_missing=only_missing)
        return
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


# ---------------------------------------------------------------------------------------------
# Denormalised search tables (both dialects)
# ---------------------------------------------------------------------------------------------
#
# Why: a search filters on columns spread over seven HSDS tables (service, service_at_location,
# location, attribute, language, cost_option, organization). Joining them per candidate made a
# search cost a Python pass over every row in the bounding box. ``hsds_search_location`` holds one
# row per (active service, service_at_location) — or one row with NULL location for a service with
# no location — carrying everything the filters need; ``hsds_search_term`` repeats those rows once
# per taxonomy term attached to the service, so a need + radius search reads only the rows of the
# needed terms (index ``term_key, lat_band, longitude``) instead of every row near the point.
#
# ``lat_band`` = floor(latitude × 10): 0.1° (11 km) bands. A radius query reads the bands its box
# spans and the longitude range inside them straight from a B-tree (no extension needed, the same
# plan on SQLite and PostgreSQL); exact haversine in SQL then decides. The band bounds of a query
# are computed by the *same SQL expression* as the stored bands, so float rounding cannot make a
# row fall outside the bands that are read (the expression is monotone).
#
# ``name_key`` = the service name with ASCII letters lower-cased (SQLite's ``lower()``; PostgreSQL
# ``translate()``), compared bytewise (``COLLATE "C"`` on PostgreSQL): both engines and Python
# (:func:`name_sort_key`) then order names identically.
#
# Kept current by triggers on every table they read (one refresh = delete and re-insert the rows of
# the affected services); :func:`refresh_search_index` rebuilds them after bulk loads made with
# triggers absent (``create_extras`` after a COPY).

SEARCH_LOCATION_TABLE = "hsds_search_location"
SEARCH_TERM_TABLE = "hsds_search_term"
SEARCH_TERM_KEY_TABLE = "hsds_search_term_key"
#: Bands per degree of latitude (``lat_band = floor(latitude * LAT_BANDS_PER_DEGREE)``).
LAT_BANDS_PER_DEGREE = 10
#: Fee texts containing one of these words mean "free" when no priced cost option exists.
FREE_WORDS = ("free", "no cost", "no charge", "no fee")
_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: Columns shared by both search tables, in insert order.
SEARCH_COLUMNS = (
    "service_id",
    "sal_id",
    "location_id",
    "latitude",
    "longitude",
    "lat_band",
    "name_key",
    "min_age",
    "max_age",
    "is_free",
    "referral_status",
    "lang_codes",
    "lang_names",
)


def name_sort_key(name: str) -> str:
    """The order of service names in results: ASCII case folded, then code points (as both databases do)."""
    return name.translate(_ASCII_LOWER_TABLE)


_ASCII_LOWER_TABLE = str.maketrans(_ASCII_UPPER, _ASCII_UPPER.lower())


def lat_band_sql(dialect_name: str, value_sql: str) -> str:
    """SQL for the band of a latitude expression (also used for query bounds; see module notes)."""
    if dialect_name == "postgresql":
        return f"CAST(floor(({value_sql}) * {LAT_BANDS_PER_DEGREE}) AS integer)"
    # SQLite's floor() exists only in builds with math functions; CAST truncates toward zero, so shift
    # positive first. Monotone in the value, which is all the band filter needs.
    return f"(CAST(({value_sql}) * {LAT_BANDS_PER_DEGREE} + 1000 AS INTEGER) - 1000)"


def _search_select_sql(dialect_name: str, service_filter: str) -> str:
    """SELECT producing the ``hsds_search_location`` rows of the services matching ``service_filter``."""
    pg = dialect_name == "postgresql"
    name_key = f"translate(s.name, '{_ASCII_UPPER}', '{_ASCII_UPPER.lower()}')" if pg else "lower(s.name)"
    concat = "string_agg" if pg else "group_concat"
    position = "strpos" if pg else "instr"  # no LIKE: '%' would need escaping for psycopg
    free_text = " OR ".join(
        f"{position}(lower(coalesce(s.fees_description, s.fees, '')), '{word}') > 0" for word in FREE_WORDS
    )
    # Language codes and names are '|'-delimited lists ('|es|spa|'), matched by substring with the
    # delimiters included, so 'es' never matches 'est'. Service languages and the location's both count.
    langs = (
        "'|' || coalesce((SELECT {agg}(replace(lower(g.{col}), '|', ' '), '|') FROM hsds_language g"
        " WHERE g.{col} IS NOT NULL AND (g.service_id = s.id OR g.location_id = l.id)), '') || '|'"
    )
    return (
        "SELECT s.id, sal.id, l.id, l.latitude, l.longitude, "
        f"{lat_band_sql(dialect_name, 'l.latitude')}, {name_key}, s.minimum_age, s.maximum_age, "
        "CASE WHEN EXISTS (SELECT 1 FROM hsds_cost_option c WHERE c.service_id = s.id AND c.amount = 0) THEN 1"
        " WHEN EXISTS (SELECT 1 FROM hsds_cost_option c WHERE c.service_id = s.id AND c.amount > 0) THEN 0"
        f" WHEN {free_text} THEN 1 ELSE 0 END, "
        "s.referral_status, "
        f"{langs.format(agg=concat, col='code')}, {langs.format(agg=concat, col='name')} "
        "FROM hsds_service s "
        "LEFT JOIN hsds_service_at_location sal ON sal.service_id = s.id "
        "LEFT JOIN hsds_location l ON l.id = sal.location_id "
        f"WHERE s.status = 'active' AND {service_filter.format(col='s.id')}"
    )


def _bulk_search_select_sql(dialect_name: str, service_filter: str | None = None) -> str:
    """:func:`_search_select_sql` for every service (or those matching ``service_filter``) at once, with
    grouped joins instead of subqueries per row; the grouped subqueries are narrowed by the same filter.

    Language lists may hold a code twice or an empty item (``'|es||es|'``); matching looks for
    ``'|code|'``, so that changes nothing.
    """

    def where(col: str) -> str:
        return "" if service_filter is None else " AND " + service_filter.format(col=col)

    location_filter = (
        ""
        if service_filter is None
        else " AND location_id IN (SELECT location_id FROM hsds_service_at_location"
        f" WHERE {service_filter.format(col='service_id')})"
    )
    pg = dialect_name == "postgresql"
    name_key = f"translate(s.name, '{_ASCII_UPPER}', '{_ASCII_UPPER.lower()}')" if pg else "lower(s.name)"
    agg = "string_agg" if pg else "group_concat"
    position = "strpos" if pg else "instr"
    free_text = " OR ".join(
        f"{position}(lower(coalesce(s.fees_description, s.fees, '')), '{word}') > 0" for word in FREE_WORDS
    )

    def langs(owner: str, narrow: str) -> str:
        return (
            f"(SELECT {owner} AS owner, {agg}(replace(lower(code), '|', ' '), '|') AS codes,"
            f" {agg}(replace(lower(name), '|', ' '), '|') AS names FROM hsds_language"
            f" WHERE {owner} IS NOT NULL{narrow} GROUP BY {owner})"
        )

    return (
        "SELECT s.id, sal.id, l.id, l.latitude, l.longitude, "
        f"{lat_band_sql(dialect_name, 'l.latitude')}, {name_key}, s.minimum_age, s.maximum_age, "
        "CASE WHEN c.zero = 1 THEN 1 WHEN c.priced = 1 THEN 0"
        f" WHEN {free_text} THEN 1 ELSE 0 END, "
        "s.referral_status, "
        "'|' || coalesce(sl.codes, '') || '|' || coalesce(ll.codes, '') || '|', "
        "'|' || coalesce(sl.names, '') || '|' || coalesce(ll.names, '') || '|' "
        "FROM hsds_service s "
        "LEFT JOIN hsds_service_at_location sal ON sal.service_id = s.id "
        "LEFT JOIN hsds_location l ON l.id = sal.location_id "
        "LEFT JOIN (SELECT service_id, max(CASE WHEN amount = 0 THEN 1 ELSE 0 END) AS zero,"
        " max(CASE WHEN amount > 0 THEN 1 ELSE 0 END) AS priced FROM hsds_cost_option"
        f" WHERE 1 = 1{where('service_id')} GROUP BY service_id) c ON c.service_id = s.id "
        f"LEFT JOIN {langs('service_id', where('service_id'))} sl ON sl.owner = s.id "
        f"LEFT JOIN {langs('location_id', location_filter)} ll ON ll.owner = l.id "
        f"WHERE s.status = 'active'{where('s.id')}"
    )


def search_refresh_sql(
    dialect_name: str, service_filter: str, *, ordered: bool = False, grouped: bool = False
) -> list[str]:
    """Statements that rebuild the search rows of the services matching ``service_filter``.

    ``service_filter`` is a SQL predicate with a ``{col}`` placeholder for the service id column,
    e.g. ``"{col} IN (NEW.id)"`` in a trigger or ``"1 = 1"`` for everything. ``ordered`` inserts the
    rows in index order (band, longitude) so a full rebuild leaves the table physically clustered
    by place, which keeps the heap pages of one search few. ``grouped`` builds the location rows with
    grouped joins (:func:`_bulk_search_select_sql`) instead of subqueries per row: the faster form for a
    set of thousands of services (statement refreshes, imports); per-row triggers keep the subqueries.
    """
    cols = ", ".join(SEARCH_COLUMNS)
    x_cols = ", ".join(f"x.{c}" for c in SEARCH_COLUMNS)
    pg = dialect_name == "postgresql"
    ignore, conflict = ("", " ON CONFLICT (term_id) DO NOTHING") if pg else (" OR IGNORE", "")
    order_location = " ORDER BY 6, 5" if ordered else ""
    order_term = " ORDER BY 1, x.lat_band, x.longitude" if ordered else ""
    return [
        f"DELETE FROM {SEARCH_TERM_TABLE} WHERE {service_filter.format(col='service_id')}",
        f"DELETE FROM {SEARCH_LOCATION_TABLE} WHERE {service_filter.format(col='service_id')}",
        f"INSERT{ignore} INTO {SEARCH_TERM_KEY_TABLE}(term_id) SELECT DISTINCT a.taxonomy_term_id FROM hsds_attribute a"
        f" WHERE a.link_entity = 'service' AND {service_filter.format(col='a.link_id')}{conflict}",
        f"INSERT INTO {SEARCH_LOCATION_TABLE}({cols}) "
        + (
            _bulk_search_select_sql(dialect_name, service_filter)
            if grouped
            else _search_select_sql(dialect_name, service_filter)
        )
        + order_location,
        f"INSERT INTO {SEARCH_TERM_TABLE}(term_key, {cols}) SELECT DISTINCT k.term_key, {x_cols} "
        f"FROM {SEARCH_LOCATION_TABLE} x"
        " JOIN hsds_attribute a ON a.link_id = x.service_id AND a.link_entity = 'service'"
        f" JOIN {SEARCH_TERM_KEY_TABLE} k ON k.term_id = a.taxonomy_term_id"
        f" WHERE {service_filter.format(col='x.service_id')}{order_term}",
    ]


def _search_table_sql(dialect_name: str, name: str, with_term: bool) -> str:
    pg = dialect_name == "postgresql"
    rid = "rid BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if pg else "rid INTEGER PRIMARY KEY"
    float_type = "DOUBLE PRECISION" if pg else "FLOAT"
    term = "term_key INTEGER NOT NULL, " if with_term else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {name} ({rid}, {term}"
        "service_id VARCHAR(36) NOT NULL, sal_id VARCHAR(36), location_id VARCHAR(36), "
        f"latitude {float_type}, longitude {float_type}, lat_band INTEGER, name_key TEXT NOT NULL, "
        f"min_age {float_type}, max_age {float_type}, is_free SMALLINT NOT NULL, referral_status VARCHAR(16), "
        "lang_codes TEXT NOT NULL, lang_names TEXT NOT NULL)"
    )


def _search_tables_sql(dialect_name: str) -> list[str]:
    pg = dialect_name == "postgresql"
    key_rid = "term_key INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" if pg else "term_key INTEGER PRIMARY KEY"
    return [
        f"CREATE TABLE IF NOT EXISTS {SEARCH_TERM_KEY_TABLE} ({key_rid}, term_id VARCHAR(36) NOT NULL UNIQUE)",
        _search_table_sql(dialect_name, SEARCH_LOCATION_TABLE, with_term=False),
        _search_table_sql(dialect_name, SEARCH_TERM_TABLE, with_term=True),
        f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_LOCATION_TABLE}_service ON {SEARCH_LOCATION_TABLE} (service_id)",
        f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_LOCATION_TABLE}_place ON {SEARCH_LOCATION_TABLE} (lat_band, longitude)",
        f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TERM_TABLE}_service ON {SEARCH_TERM_TABLE} (service_id)",
        f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TERM_TABLE}_place"
        f" ON {SEARCH_TERM_TABLE} (term_key, lat_band, longitude)",
    ]


# Which services a change touches, per table: (table, SQL set of service ids for a NEW/OLD row).
_AT_LOCATION = "SELECT service_id FROM hsds_service_at_location WHERE location_id = {row}.id"
_SEARCH_WATCH: tuple[tuple[str, str, str | None], ...] = (
    # (table, service-id set for a row alias, optional WHEN condition for the row alias)
    ("hsds_service", "SELECT {row}.id", None),
    ("hsds_service_at_location", "SELECT {row}.service_id", None),
    ("hsds_attribute", "SELECT {row}.link_id", "{row}.link_entity = 'service'"),
    ("hsds_cost_option", "SELECT {row}.service_id", None),
    (
        "hsds_language",
        "SELECT {row}.service_id UNION SELECT service_id FROM hsds_service_at_location"
        " WHERE location_id = {row}.location_id",
        None,
    ),
)


def _sqlite_search_triggers() -> list[str]:
    statements = []
    for table, ids, when in _SEARCH_WATCH:
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
            body: list[str] = []
            for row in rows:
                body += search_refresh_sql("sqlite", "{col} IN (" + ids.format(row=row) + ")")
            condition = " OR ".join(f"({when.format(row=row)})" for row in rows) if when else None
            statements.append(_trigger(f"{table}_search_{event.lower()}", f"AFTER {event} ON {table}", body, condition))
    for event, row in (("UPDATE OF latitude, longitude", "NEW"), ("DELETE", "OLD")):
        name = "hsds_location_search_" + event.split()[0].lower()
        body = search_refresh_sql("sqlite", "{col} IN (" + _AT_LOCATION.format(row=row) + ")")
        statements.append(_trigger(name, f"AFTER {event} ON hsds_location", body))
    return statements


def _sqlite_search_trigger_names() -> list[str]:
    names = [f"{t}_search_{e}" for t, _, _ in _SEARCH_WATCH for e in ("insert", "update", "delete")]
    return [*names, "hsds_location_search_update", "hsds_location_search_delete"]


_PG_REFRESH_FUNCTION = (
    "CREATE OR REPLACE FUNCTION hsds_search_refresh(ids text[]) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    + " ".join(s + ";" for s in search_refresh_sql("postgresql", "{col} = ANY(ids)", grouped=True))
    + " END $$"
)


SEARCH_DIRTY_TABLE = "hsds_search_dirty"
SEARCH_FLUSH_TABLE = "hsds_search_flush_request"

# PostgreSQL refreshes at COMMIT, once per transaction. Statement-level triggers (with transition tables)
# note the services a statement touched in ``hsds_search_dirty`` -- one INSERT … SELECT per statement, so a
# COPY of 100,000 rows costs one trigger call, not 100,000 -- and file one flush request per transaction in
# ``hsds_search_flush_request`` (keyed by transaction id: concurrent writers never wait on each other's
# request row; ON CONFLICT DO NOTHING fires no trigger, so later statements queue nothing). The deferred
# constraint trigger on that request refreshes every noted service in one set-wise call when the transaction
# commits. A flush forced early (SET CONSTRAINTS … IMMEDIATE) deletes the request, so a later write files a
# new one. Searches see the change once it is committed -- as every other session does anyway.
_PG_FLUSH = [
    f"CREATE TABLE IF NOT EXISTS {SEARCH_DIRTY_TABLE} (service_id VARCHAR(36) PRIMARY KEY)",
    f"CREATE TABLE IF NOT EXISTS {SEARCH_FLUSH_TABLE} (txid BIGINT PRIMARY KEY)",
    "CREATE OR REPLACE FUNCTION hsds_search_flush() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE ids text[]; BEGIN"
    f" DELETE FROM {SEARCH_FLUSH_TABLE} WHERE txid = txid_current();"
    f" WITH gone AS (DELETE FROM {SEARCH_DIRTY_TABLE} RETURNING service_id) SELECT array_agg(service_id) INTO ids"
    " FROM gone; IF ids IS NOT NULL THEN PERFORM hsds_search_refresh(ids); PERFORM hsds_service_search_refresh(ids);"
    " END IF; RETURN NULL; END $$",
    # The row-level flush of earlier versions (one deferred event per noted service).
    f"DROP TRIGGER IF EXISTS hsds_search_dirty_flush ON {SEARCH_DIRTY_TABLE}",
    f"DROP TRIGGER IF EXISTS hsds_search_flush_at_commit ON {SEARCH_FLUSH_TABLE}",
    f"CREATE CONSTRAINT TRIGGER hsds_search_flush_at_commit AFTER INSERT ON {SEARCH_FLUSH_TABLE}"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hsds_search_flush()",
]
_PG_NOTE_FLUSH = f"INSERT INTO {SEARCH_FLUSH_TABLE}(txid) VALUES (txid_current()) ON CONFLICT DO NOTHING;"

# Transition tables allow one event per trigger: (event, transition tables, suffix).
_PG_EVENTS = (
    ("INSERT", "NEW TABLE AS new_rows", "ins"),
    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "upd"),
    ("DELETE", "OLD TABLE AS old_rows", "del"),
)


# The services a statement's rows name, as one set query over transition table ``{rows}`` (hash joins, not a
# subquery per row): the statement-level form of ``_SEARCH_WATCH``.
_PG_NOTED_SERVICES: dict[str, str] = {
    "hsds_service": "SELECT id FROM {rows}",
    "hsds_service_at_location": "SELECT service_id FROM {rows}",
    "hsds_attribute": "SELECT link_id FROM {rows} WHERE link_entity = 'service'",
    "hsds_cost_option": "SELECT service_id FROM {rows}",
    "hsds_language": "SELECT service_id FROM {rows} UNION SELECT sal.service_id FROM hsds_service_at_location sal"
    " JOIN {rows} r ON sal.location_id = r.location_id",
}


def _pg_note_sql(table: str, rows: str) -> str:
    """INSERT noting the services named by the rows of transition table ``rows``."""
    return (
        f"INSERT INTO {SEARCH_DIRTY_TABLE}(service_id) SELECT DISTINCT d.i FROM"
        f" ({_PG_NOTED_SERVICES[table].format(rows=rows)}) d(i) WHERE d.i IS NOT NULL ON CONFLICT DO NOTHING;"
    )


def _pg_search_triggers() -> list[str]:
    statements = [_PG_REFRESH_FUNCTION, *_PG_FLUSH]
    for table, _ids, _when in _SEARCH_WATCH:
        function = f"{table}_search_note"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_pg_note_sql(table, 'old_rows')} END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_pg_note_sql(table, 'new_rows')} END IF; "
            f"{_PG_NOTE_FLUSH} RETURN NULL; END $$"
        )
        statements.append(f"DROP TRIGGER IF EXISTS {table}_search ON {table}")  # row-level, earlier versions
        for event, referencing, suffix in _PG_EVENTS:
            statements.append(
                f"CREATE OR REPLACE TRIGGER {table}_search_{suffix} AFTER {event} ON {table}"
                f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    # Locations matter to the search rows through their point only: moved or deleted locations touch the
    # services there (transition-table triggers cannot name columns, so the function compares the points).
    moved = (
        "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id"
        " WHERE o.latitude IS DISTINCT FROM n.latitude OR o.longitude IS DISTINCT FROM n.longitude"
    )
    at_locations = (
        f"INSERT INTO {SEARCH_DIRTY_TABLE}(service_id) SELECT DISTINCT sal.service_id FROM hsds_service_at_location sal"
        " WHERE sal.location_id IN ({locations}) ON CONFLICT DO NOTHING;"
    )
    statements += [
        "CREATE OR REPLACE FUNCTION hsds_location_search_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'UPDATE' THEN {at_locations.format(locations=moved)} "
        f"ELSE {at_locations.format(locations='SELECT id FROM old_rows')} END IF; "
        f"{_PG_NOTE_FLUSH} RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS hsds_location_search ON hsds_location",
        "CREATE OR REPLACE TRIGGER hsds_location_search_upd AFTER UPDATE ON hsds_location"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION hsds_location_search_note()",
        "CREATE OR REPLACE TRIGGER hsds_location_search_del AFTER DELETE ON hsds_location"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hsds_location_search_note()",
    ]
    # Functions of the row-level triggers of earlier versions.
    statements += [f"DROP FUNCTION IF EXISTS {t}_search_sync()" for t in _PG_SEARCH_WATCHED]
    return statements


_PG_SEARCH_WATCHED = [t for t, _, _ in _SEARCH_WATCH] + ["hsds_location"]


def search_extras_sql(dialect_name: str) -> list[str]:
    """CREATE statements of the search tables, their indexes and the triggers keeping them current."""
    tables = _search_tables_sql(dialect_name)
    return tables + (_pg_search_triggers() if dialect_name == "postgresql" else _sqlite_search_triggers())


def search_drop_sql(dialect_name: str) -> list[str]:
    if dialect_name == "postgresql":
        drops = [
            f"DROP TRIGGER IF EXISTS {t}_search_{suffix} ON {t}"
            for t in _PG_SEARCH_WATCHED
            for suffix in ("ins", "upd", "del")
        ]
        drops += [f"DROP FUNCTION IF EXISTS {t}_search_note()" for t in _PG_SEARCH_WATCHED]
        # The row-level generation (migration 0009), in case this database never got the statement triggers.
        drops += [f"DROP TRIGGER IF EXISTS {t}_search ON {t}" for t in _PG_SEARCH_WATCHED]
        drops += [f"DROP FUNCTION IF EXISTS {t}_search_sync()" for t in _PG_SEARCH_WATCHED]
        drops.append("DROP FUNCTION IF EXISTS hsds_search_refresh(text[])")
        drops.append(f"DROP TABLE IF EXISTS {SEARCH_DIRTY_TABLE}")
        drops.append(f"DROP TABLE IF EXISTS {SEARCH_FLUSH_TABLE}")
        drops.append("DROP FUNCTION IF EXISTS hsds_search_flush()")
    else:
        drops = [f"DROP TRIGGER IF EXISTS {name}" for name in _sqlite_search_trigger_names()]
    return drops + [
        f"DROP TABLE IF EXISTS {SEARCH_TERM_TABLE}",
        f"DROP TABLE IF EXISTS {SEARCH_LOCATION_TABLE}",
        f"DROP TABLE IF EXISTS {SEARCH_TERM_KEY_TABLE}",
    ]


def rebuild_search_tables(connection: Connection) -> None:
    """Rebuild both search tables from scratch, set-wise and clustered by place (bulk loads, migrations)."""
    dialect = connection.dialect.name
    statements = search_refresh_sql(dialect, "1 = 1", ordered=True)
    cols = ", ".join(SEARCH_COLUMNS)
    # Same statements as a per-service refresh, except the location rows: one grouped query.
    statements[3] = f"INSERT INTO {SEARCH_LOCATION_TABLE}({cols}) {_bulk_search_select_sql(dialect)} ORDER BY 6, 5"
    # Indexes are dropped first and built once at the end: a sorted build beats a million inserts.
    indexes = [sql for sql in _search_tables_sql(dialect) if sql.startswith("CREATE INDEX")]
    for sql in indexes:
        connection.exec_driver_sql("DROP INDEX IF EXISTS " + sql.split()[5])
    for statement in statements:
        connection.exec_driver_sql(statement)
    for sql in indexes:
        connection.exec_driver_sql(sql)
