"""Canonical events: the Avro catalogue in ``schemas/``, its registry, lock and compatibility gate.

The catalogue is found through the package ``hub.schemas.catalogue``: in a checkout (an editable
install) that is the folder ``schemas/`` itself, so ``hub schemas release`` writes there; installed from
a wheel it is the copy the wheel carries.
"""

from importlib.resources import files
from pathlib import Path

# A package installed as files (never zipped), so its Traversable is a real directory.
CATALOGUE = Path(str(files("hub.schemas.catalogue")))
