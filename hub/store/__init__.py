"""The hub's SQL store (SQLAlchemy): SQLite embedded, PostgreSQL in production."""

from sqlalchemy import MetaData

metadata = MetaData()
