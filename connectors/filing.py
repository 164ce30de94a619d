"""A filed dossier as the contract describes it, shared by the portal's ``dossier.submitted`` and the
one-stop-shop system's ``dossier.received`` ("all dossier.submitted fields"), and its canonical form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

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
    vn_time_millis,
    vn_time_text,
)
from hub.dossiers.records import Facts, Recipient


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


class DossierFiling(ContractModel):
    """The fields of a filed dossier (contract.md: ``dossier.submitted``)."""

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


def recipient_of(message: DossierFiling) -> Recipient | None:
    """Where the result goes by post, kept on the dossier's record (encrypted) for the order."""
    address = message.DiaChiNhanKetQua if message.HinhThucNhanKetQua == 1 else None
    if address is None:
        return None
    return Recipient(
        address.hoVaTen, address.soDienThoai, address.diaChi, address.tinhThanh, address.xaPhuong
    )


def filing_facts(message: DossierFiling, channel: str) -> Facts:
    """What reports need of a filing (``hub.dossiers.records.Facts``): none of it personal."""
    return Facts(
        procedure=message.MaTTHC,
        channel=channel,
        result_route="BY_POST" if message.HinhThucNhanKetQua == 1 else "AT_COUNTER",
        filed_at=vn_time_millis(message.NgayNopHoSo),
        collection="REQUESTED" if message.YeuCauThuGom else None,
    )


PARTY_KINDS = {1: "CITIZEN", 2: "BUSINESS", 3: "AGENCY", 4: "OTHER"}
PARTY_CODES = {kind: code for code, kind in PARTY_KINDS.items()}


def canonical_address(value: DeliveryAddress | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {
        "full_name": value.hoVaTen,
        "phone": value.soDienThoai,
        "street": value.diaChi,
        "province": value.tinhThanh,
        "commune": value.xaPhuong,
    }


def canonical_filing(message: DossierFiling, owning_unit: str) -> dict[str, Any]:
    """The fields a filed dossier has in the catalogue (``hub.dossier.v1``), header aside."""
    return {
        "dossier_code": message.MaHoSo,
        "procedure_code": message.MaTTHC,
        "procedure_name": message.TenTTHC,
        "receiving_agency": message.MaCoQuan,
        "owning_unit": owning_unit,
        "applicant": {
            "name": message.ChuHoSo,
            "kind": PARTY_KINDS[message.LoaiDoiTuong],
            "id_number": message.SoGiayToChuHoSo,
            "phone": message.SoDienThoai,
            "email": message.Email,
            "permanent_address": message.DiaChiThuongTru,
        },
        "submitted_at": vn_time_millis(message.NgayNopHoSo),
        "result_delivery": "BY_POST" if message.HinhThucNhanKetQua == 1 else "AT_COUNTER",
        "result_address": canonical_address(message.DiaChiNhanKetQua),
        "collection_requested": message.YeuCauThuGom,
        "collection_address": canonical_address(message.DiaChiThuGom),
        "documents": [{"title": d.TenTaiLieu, "url": d.DuongDan} for d in message.TaiLieuNop],
        "fees": [{"name": f.TenPhiLePhi, "amount": f.MucPhi} for f in message.DanhSachLePhi],
    }


def native_address(value: Mapping[str, Any] | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {
        "hoVaTen": value["full_name"],
        "soDienThoai": value["phone"],
        "diaChi": value["street"],
        "tinhThanh": value["province"],
        "xaPhuong": value["commune"],
    }


def native_filing(datum: Mapping[str, Any]) -> dict[str, Any]:
    """The native fields of a canonical filing (the inverse of ``canonical_filing``)."""
    applicant = datum["applicant"]
    native = {
        "MaHoSo": datum["dossier_code"],
        "MaTTHC": datum["procedure_code"],
        "TenTTHC": datum["procedure_name"],
        "MaCoQuan": datum["receiving_agency"],
        "ChuHoSo": applicant["name"],
        "LoaiDoiTuong": PARTY_CODES[applicant["kind"]],
        "SoGiayToChuHoSo": applicant["id_number"],
        "SoDienThoai": applicant["phone"],
        "Email": applicant["email"],
        "DiaChiThuongTru": applicant["permanent_address"],
        "NgayNopHoSo": vn_time_text(datum["submitted_at"]),
        "HinhThucNhanKetQua": 1 if datum["result_delivery"] == "BY_POST" else 0,
        "DiaChiNhanKetQua": native_address(datum["result_address"]),
        "YeuCauThuGom": datum["collection_requested"],
        "DiaChiThuGom": native_address(datum["collection_address"]),
        "TaiLieuNop": [{"TenTaiLieu": d["title"], "DuongDan": d["url"]} for d in datum["documents"]],
        "DanhSachLePhi": [{"TenPhiLePhi": f["name"], "MucPhi": f["amount"]} for f in datum["fees"]],
    }
    return {key: value for key, value in native.items() if value is not None}
