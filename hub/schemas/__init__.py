"""Canonical events: the Avro catalogue in ``schemas/``, its registry, lock and compatibility gate.

The catalogue is found through the package ``hub.schemas.catalogue``: in a checkout (an editable
install) that is the folder ``schemas/`` itself, so ``hub schemas release`` writes there; installed from
a wheel it is the copy the wheel carries.
"""

from importlib.resources import files
from pathlib import Path

# A package installed as files (never zipped), so its Traversable is a real directory.
CATALOGUE = Path(str(files("hub.schemas.catalogue")))
# A checkout's catalogue is the folder schemas/ (the package name maps onto it); installed from a wheel
# it is hub/schemas/catalogue inside the package, a copy to read, never to release into.
EDITABLE_CATALOGUE = "schemas"
