"""The portal's native messages (contract.md, "portal -> hub"), with the contract's value rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from connectors.values import (
    PERSONAL,
    AgencyCode,
    CitizenId,
    ContractModel,
    DossierCode,
    EmailAddress,
    Link,
    Money,
    Name,
    Phone,
    ProcedureCode,
    Text,
    VnTime,
)


class DeliveryAddress(ContractModel):
    """A person and address: where a result is delivered or the paper dossier is collected."""

    hoVaTen: Name = Field(json_schema_extra=PERSONAL)
    soDienThoai: Phone = Field(json_schema_extra=PERSONAL)
    diaChi: Text = Field(json_schema_extra=PERSONAL)
    tinhThanh: Text
    xaPhuong: Text


class SubmittedDocument(ContractModel):
    TenTaiLieu: Text
    DuongDan: Link


class Fee(ContractModel):
    TenPhiLePhi: Text
    MucPhi: Money


class DossierSubmitted(ContractModel):
    """``dossier.submitted``: a citizen filed a dossier online."""

    MaHoSo: DossierCode
    MaTTHC: ProcedureCode
    TenTTHC: Text
    MaCoQuan: AgencyCode
    ChuHoSo: Name = Field(json_schema_extra=PERSONAL)
    LoaiDoiTuong: Literal[1, 2, 3, 4]
    SoGiayToChuHoSo: CitizenId = Field(json_schema_extra=PERSONAL)
    SoDienThoai: Phone = Field(json_schema_extra=PERSONAL)
    Email: EmailAddress | None = Field(default=None, json_schema_extra=PERSONAL)
    DiaChiThuongTru: Text | None = Field(default=None, json_schema_extra=PERSONAL)
    NgayNopHoSo: VnTime
    HinhThucNhanKetQua: Literal[0, 1]
    DiaChiNhanKetQua: DeliveryAddress | None = Field(
        default=None, validate_default=True, json_schema_extra=PERSONAL
    )
    YeuCauThuGom: bool = False
    DiaChiThuGom: DeliveryAddress | None = Field(
        default=None, validate_default=True, json_schema_extra=PERSONAL
    )
    TaiLieuNop: tuple[SubmittedDocument, ...] = ()
    DanhSachLePhi: tuple[Fee, ...] = ()

    @field_validator("DiaChiNhanKetQua", mode="after")
    @classmethod
    def _delivery_address_when_by_post(
        cls, value: DeliveryAddress | None, info: ValidationInfo
    ) -> DeliveryAddress | None:
        if value is None and info.data.get("HinhThucNhanKetQua") == 1:
            raise ValueError("required when HinhThucNhanKetQua is 1 (result by post)")
        return value

    @field_validator("DiaChiThuGom", mode="after")
    @classmethod
    def _collection_address_when_collected(
        cls, value: DeliveryAddress | None, info: ValidationInfo
    ) -> DeliveryAddress | None:
        if value is None and info.data.get("YeuCauThuGom") is True:
            raise ValueError("required when YeuCauThuGom is true (post collects the originals)")
        return value
