"""What the hub knows of a dossier, and the changes translations ask for. No personal data."""

from __future__ import annotations

from dataclasses import dataclass

from hub.dossiers.status import Step, fold


@dataclass(frozen=True)
class Dossier:
    """A dossier the hub has seen: its owning unit, how it started, and its accepted steps."""

    code: str
    unit: str
    initial_status: int
    result_by_post: bool
    steps: tuple[Step, ...] = ()

    @property
    def status(self) -> int:
        return fold(self.initial_status, self.steps)[0]


@dataclass(frozen=True)
class DossierOpened:
    """A dossier becomes known: filed online (status 1) or received at a counter (status 2)."""

    code: str
    unit: str
    initial_status: int
    result_by_post: bool


@dataclass(frozen=True)
class StepRecorded:
    """A status step of a known dossier, already admitted by the status policy."""

    code: str
    step: Step


Change = DossierOpened | StepRecorded


def with_changes(dossier: Dossier | None, changes: list[Change]) -> Dossier | None:
    """``dossier`` as it will be once ``changes`` (its own, in order) are committed."""
    for change in changes:
        if isinstance(change, DossierOpened):
            if dossier is None:
                dossier = Dossier(change.code, change.unit, change.initial_status, change.result_by_post)
        elif dossier is not None and change.step not in dossier.steps:
            dossier = Dossier(
                dossier.code, dossier.unit, dossier.initial_status, dossier.result_by_post,
                (*dossier.steps, change.step),
            )  # fmt: skip
    return dossier
