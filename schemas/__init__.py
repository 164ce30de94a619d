"""The canonical event catalogue as a package, ``hub.schemas.catalogue`` (see pyproject.toml), so that
an installed hub finds it through its own package and a checkout's editable install finds this folder.
"""
