"""The one-stop-shop system's native messages (contract.md, "onestop -> hub")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from connectors.filing import DossierFiling
from connectors.values import PERSONAL, ContractModel, DossierCode, Money, Name, Text, VnTime

Status = Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


class DossierReceived(DossierFiling):
    """``dossier.received``: a dossier was received at a counter and must be synced to the portal."""

    KenhThucHien: Literal[1, 2, 3]
    NgayTiepNhan: VnTime
    NgayHenTra: VnTime
    NguoiTiepNhan: Name = Field(json_schema_extra=PERSONAL)  # a person's name, if at work
    VaiTroTiepNhan: Literal["CONG_CHUC", "NHAN_VIEN_BUU_DIEN"]


class DossierProgress(ContractModel):
    """``dossier.progress``: a processing step."""

    MaHoSo: DossierCode
    TrangThaiHoSo: Status
    ThoiDiemXuLy: VnTime
    NguoiXuLy: Name = Field(json_schema_extra=PERSONAL)
    ChucDanh: Text
    PhongBanXuLy: Text
    NoiDungXuLy: Text = Field(json_schema_extra=PERSONAL)  # free text: may name people
    NgayHenTra: VnTime | None = None


class ResultDocument(ContractModel):
    TenGiayTo: Text
    SoKyHieu: Text


class ResultReady(ContractModel):
    """``result.ready``: the result is ready to hand over."""

    MaHoSo: DossierCode
    NgayCoKetQua: VnTime
    DanhSachGiayToKetQua: tuple[ResultDocument, ...] = ()
    LePhiConThieu: Money = 0


class PickupStatus(ContractModel):
    """``pickup.status`` (hub -> onestop): where the post is with collecting a paper dossier."""

    MaHoSo: DossierCode
    TrangThai: Literal["COLLECTED", "COLLECTION_FAILED", "DELIVERED_TO_AGENCY", "CANCELLED"]
    ThoiDiem: VnTime
    ItemCode: Text


class ResultDelivery(ContractModel):
    """``result.delivery`` (hub -> onestop): where the post is with delivering a result.

    ``SoLanPhat`` is the order's attempt: 1 for the first order, n for the (n-1)-th re-send.
    """

    MaHoSo: DossierCode
    TrangThai: Literal["IN_TRANSIT", "DELIVERED", "DELIVERY_FAILED", "RETURNED_TO_AGENCY"]
    ThoiDiem: VnTime
    ItemCode: Text
    SoLanPhat: Annotated[int, Field(ge=1)]
    CODDaThu: Money
