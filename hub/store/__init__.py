"""The hub's SQL store (SQLAlchemy): SQLite embedded, PostgreSQL in production."""
