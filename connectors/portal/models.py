"""The portal's native messages (contract.md, "portal -> hub"), with the contract's value rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from connectors.values import (
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

    hoVaTen: Name
    soDienThoai: Phone
    diaChi: Text
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
    ChuHoSo: Name
    LoaiDoiTuong: Literal[1, 2, 3, 4]
    SoGiayToChuHoSo: CitizenId
    SoDienThoai: Phone
    Email: EmailAddress | None = None
    DiaChiThuongTru: Text | None = None
    NgayNopHoSo: VnTime
    HinhThucNhanKetQua: Literal[0, 1]
    DiaChiNhanKetQua: DeliveryAddress | None = Field(default=None, validate_default=True)
    YeuCauThuGom: bool = False
    DiaChiThuGom: DeliveryAddress | None = Field(default=None, validate_default=True)
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
