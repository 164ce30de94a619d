"""The alembic environment of the hub's store: ``env.py`` and the revisions in ``versions/``.

Nothing here is run by the alembic command line: ``hub.store.migrate`` builds the configuration in
code and hands ``env.py`` its connection. A new revision is written by hand in ``versions/`` (next
number, ``down_revision`` the previous one); to see what it must contain, compare a database at the
current head with the tables' metadata::

    with engine.begin() as connection:
        print(migrate.differences(connection, migrate.all_tables()))

A revision that alters a table on SQLite does it in ``op.batch_alter_table`` (SQLite alters little
in place; batch mode copies the table), which ``env.py`` also selects for autogenerate.
"""
