"""Flask extensions, created unbound here and bound in ``create_app``."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the hub's own tables (constraint names are stable for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: ``expire_on_commit=False``: views commit once and then render what they wrote or read; expiring would reload
#: every row with one SELECT each (measured: 14.7 → 3 statements per search page).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate(compare_type=True)
