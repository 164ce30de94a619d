"""The portal's native messages (contract.md, "portal -> hub"), with the contract's value rules."""

from __future__ import annotations

from connectors.filing import DossierFiling


class DossierSubmitted(DossierFiling):
    """``dossier.submitted``: a citizen filed a dossier online."""
