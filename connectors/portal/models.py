"""The portal's native messages, both ways (contract.md, "portal -> hub" and "hub -> portal")."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from connectors.filing import DossierFiling
from connectors.values import (
    PERSONAL,
    AgencyCode,
    CitizenId,
    ContractModel,
    DossierCode,
    Money,
    Name,
    Text,
    VnDate,
    VnTime,
)

ShortText = Annotated[Text, StringConstraints(max_length=64)]


class DossierSubmitted(DossierFiling):
    """``dossier.submitted``: a citizen filed a dossier online."""


RENAMED_FROM = "x-renamed-from"  # in the JSON Schema of a field a later version renamed: its old name

# Identity documents of the portal's newer shape (contract version 2): 1 citizen identity card
# (CCCD, 12 digits), 2 old identity card (CMND, 9 digits), 3 passport (a letter and 7 digits),
# 4 identity card of the 2023 Identity Law (Căn cước, 12 digits).
DOCUMENT_NUMBERS = {1: r"^\d{12}$", 2: r"^\d{9}$", 3: r"^[A-Z]\d{7}$", 4: r"^\d{12}$"}
DOCUMENT_NUMBER_RULES = {1: "12 digits", 2: "9 digits", 3: "a capital letter and 7 digits", 4: "12 digits"}


class IdentityDocument(ContractModel):
    """One of the citizen's identity documents, as the portal checked it (contract version 2)."""

    LoaiGiayTo: Literal[1, 2, 3, 4]
    SoGiayTo: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{7,12}$")] = Field(
        json_schema_extra=PERSONAL
    )
    NoiCap: Text = Field(description="the issuing authority")
    NgayCap: VnDate = Field(json_schema_extra=PERSONAL)

    @field_validator("SoGiayTo", mode="after")
    @classmethod
    def _number_fits_the_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("LoaiGiayTo")
        if kind in DOCUMENT_NUMBERS and re.fullmatch(DOCUMENT_NUMBERS[kind], value) is None:
            raise ValueError(f"must be {DOCUMENT_NUMBER_RULES[kind]} for LoaiGiayTo {kind}")
        return value


class DossierSubmittedV2(DossierSubmitted):
    """``dossier.submitted`` in contract version 2: the portal's newer dossier shape.

    ``SoDinhDanhChuHoSo`` is version 1's ``SoGiayToChuHoSo`` renamed (the personal identification
    number of the 2023 Identity Law): the model keeps the attribute and accepts only the new name on
    the wire (an alias), so the translation reads both versions alike and the JSON Schema shows the
    new name. New and optional: ``KenhNop`` (where the citizen filed), ``DanhSachGiayTo`` (the
    citizen's identity documents) and the identity checks ``DaXacThucCSDLQGDC`` and
    ``DinhDanhDienTuMuc2``. The canonical record has no field for them: the translation drops them
    (``hub.dossier.v1.DossierSubmitted`` is the same for both versions).
    """

    SoGiayToChuHoSo: CitizenId = Field(
        alias="SoDinhDanhChuHoSo",
        description="the personal identification number (12 digits), renamed from SoGiayToChuHoSo",
        json_schema_extra={**PERSONAL, RENAMED_FROM: "SoGiayToChuHoSo"},
    )
    KenhNop: Literal["WEB", "MOBILE", "VNEID"] | None = Field(
        default=None, description="where the citizen filed: the portal's web site, its app, or VNeID"
    )
    DanhSachGiayTo: tuple[IdentityDocument, ...] = Field(default=(), max_length=10)
    DaXacThucCSDLQGDC: bool = Field(
        default=False, description="the portal checked the identity against the national population database"
    )
    DinhDanhDienTuMuc2: bool = Field(
        default=False, description="filed with a level-2 electronic identification account (VNeID)"
    )


class DossierWithdrawn(ContractModel):
    """``dossier.withdrawn``: the citizen withdrew the dossier."""

    MaHoSo: DossierCode
    ThoiDiem: VnTime
    LyDo: Text = Field(json_schema_extra=PERSONAL)  # free text: may name people


class PaymentCompleted(ContractModel):
    """``payment.completed``: a fee of the dossier was paid online."""

    MaHoSo: DossierCode
    MaGiaoDich: ShortText
    SoTien: Money
    ThoiDiemThanhToan: VnTime
    KenhThanhToan: ShortText


class DossierSync(DossierFiling):
    """``DongBoHoSoMC`` (hub -> portal): a dossier received at a counter, in the portal's shape."""

    NgayTiepNhan: VnTime
    NgayHenTra: VnTime
    TrangThaiHoSo: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    HinhThuc: Literal[0, 1]
    KenhThucHien: Literal[1, 2, 3]
    DonViXuLy: AgencyCode


class ProgressRecord(ContractModel):
    """``CapNhatTienDoHoSoMC`` (hub -> portal): one step of the dossier's processing."""

    MaHoSo: DossierCode
    NguoiXuLy: Name = Field(json_schema_extra=PERSONAL)
    ChucDanh: Text
    ThoiDiemXuLy: VnTime
    PhongBanXuLy: Text
    NoiDungXuLy: Text = Field(json_schema_extra=PERSONAL)  # free text: may name people
    TrangThai: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    NgayBatDau: VnTime
    NgayKetThucTheoQuyDinh: VnTime | None = None
