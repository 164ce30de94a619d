"""The contract's common value rules (contract.md, "Common value rules") as pydantic types.

Every rule fails with a message that names the rule, never the value, because validation messages
become dead-letter details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from hub import VIETNAM
from hub.agency_codes import AGENCY_CODE, DOSSIER_CODE
from hub.agency_codes import MAX_LENGTH as AGENCY_CODE_MAX_LENGTH

# Printable text: no C0 control characters but tab, line feed and carriage return, no DEL.
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _parse_vn_time(value: str) -> datetime:
    # datetime() over the digits the pattern already checked: a tenth of strptime's cost.
    return datetime(
        int(value[0:4]), int(value[4:6]), int(value[6:8]),
        int(value[8:10]), int(value[10:12]), int(value[12:14]), tzinfo=VIETNAM,
    )  # fmt: skip


def _real_time(value: str) -> str:
    try:
        _parse_vn_time(value)
    except ValueError:
        raise ValueError("must be a real date-time yyyyMMddHHmmss (Vietnam time)") from None
    return value


# Marks a model field as personal data (contract.md, "Personal data"), for the generated docs and
# for whatever must keep such values out of logs and encrypt them at rest.
PERSONAL: dict[str, Any] = {"x-personal-data": True}

VnTime = Annotated[str, StringConstraints(pattern=r"^\d{14}$"), AfterValidator(_real_time)]


def _real_date(value: str) -> str:
    try:
        _parse_vn_time(value + "000000")
    except ValueError:
        raise ValueError("must be a real date yyyyMMdd") from None
    return value


VnDate = Annotated[str, StringConstraints(pattern=r"^\d{8}$"), AfterValidator(_real_date)]


def _agency_prefix_fits(value: str) -> str:
    if len(value.partition("-")[0]) > AGENCY_CODE_MAX_LENGTH:
        raise ValueError(
            f"the agency code before the first '-' is at most {AGENCY_CODE_MAX_LENGTH} characters"
        )
    return value


# An agency code of either shape (hub.agency_codes), then the day and the day's sequence number.
DossierCode = Annotated[
    str,
    StringConstraints(max_length=64, pattern=rf"^{DOSSIER_CODE}$"),
    AfterValidator(_agency_prefix_fits),
]
AgencyCode = Annotated[str, StringConstraints(max_length=AGENCY_CODE_MAX_LENGTH, pattern=rf"^{AGENCY_CODE}$")]
# "1.001234", then optionally "." and the agency code: 8 + 1 + 35 characters at most.
ProcedureCode = Annotated[
    str,
    StringConstraints(
        max_length=len("1.001234.") + AGENCY_CODE_MAX_LENGTH,
        pattern=rf"^\d\.\d{{6}}(\.{AGENCY_CODE})?$",
    ),
]
CitizenId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^(0\d{9}|\+84\d{9})$")]
EmailAddress = Annotated[
    str,
    StringConstraints(
        max_length=254,
        pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
    ),
]
Money = Annotated[int, Field(ge=0, le=10**12)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_PRINTABLE)]
Link = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]


class ContractModel(BaseModel):
    """Base of every native message model: strict JSON types, unknown fields refused, immutable.

    Unknown fields are refused rather than ignored so that a misspelt optional field is reported
    (``extra_forbidden`` with its path) instead of silently dropped.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def vn_time_millis(value: str) -> int:
    """A contract time (``yyyyMMddHHmmss``, Vietnam time) as milliseconds since the epoch."""
    return int(_parse_vn_time(value).timestamp() * 1000)


def vn_time_text(moment: datetime | int) -> str:
    """A moment (a datetime, or milliseconds since the epoch as in a canonical datum) as a contract
    time (``yyyyMMddHHmmss``, Vietnam time)."""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment / 1000, VIETNAM)
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")
