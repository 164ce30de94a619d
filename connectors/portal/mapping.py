"""Pure translations of the portal's messages: to canonical events and to what other partners receive.

No I/O. Canonical field names and meanings are those of the catalogue in ``schemas/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.portal.models import DeliveryAddress, DossierSubmitted
from connectors.values import vn_time_millis, vn_time_text
from hub.connector import Context, Emit, Event

ONESTOP = "onestop"
PARTY_KINDS = {1: "CITIZEN", 2: "BUSINESS", 3: "AGENCY", 4: "OTHER"}
PARTY_CODES = {kind: code for code, kind in PARTY_KINDS.items()}
SUBMITTED = "hub.dossier.v1.DossierSubmitted"


def address(value: DeliveryAddress | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {
        "full_name": value.hoVaTen,
        "phone": value.soDienThoai,
        "street": value.diaChi,
        "province": value.tinhThanh,
        "commune": value.xaPhuong,
    }


def canonical_filing(message: DossierSubmitted, owning_unit: str) -> dict[str, Any]:
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
        "result_address": address(message.DiaChiNhanKetQua),
        "collection_requested": message.YeuCauThuGom,
        "collection_address": address(message.DiaChiThuGom),
        "documents": [{"title": d.TenTaiLieu, "url": d.DuongDan} for d in message.TaiLieuNop],
        "fees": [{"name": f.TenPhiLePhi, "amount": f.MucPhi} for f in message.DanhSachLePhi],
    }


def dossier_submitted(message: DossierSubmitted, context: Context) -> Sequence[Emit | Event]:
    """Flow 1, online filing: the canonical event, and the dossier for the unit that owns it.

    The one-stop-shop body keeps the portal's field names (the one-stop-shop system already speaks
    them); the owning unit, after following successors, travels in ``x-hub-unit``.
    """
    unit = context.agencies.owning_unit(message.MaCoQuan, "MaCoQuan")
    return [
        Event(
            record=SUBMITTED,
            kind="dossier.submitted",
            datum=canonical_filing(message, unit),
            dossier=message.MaHoSo,
        ),
        Emit(partner=ONESTOP, kind="dossier.submitted", body=message, dossier=message.MaHoSo, unit=unit),
    ]


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


def dossier_submitted_from_canonical(datum: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical ``DossierSubmitted`` as the portal's native body (the inverse of the mapping above).

    For partners that publish canonical events; the result is validated like any native body.
    """
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
