"""The portal's native messages, both ways (contract.md, "portal -> hub" and "hub -> portal")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from connectors.filing import DossierFiling
from connectors.values import PERSONAL, AgencyCode, ContractModel, DossierCode, Money, Name, Text, VnTime

ShortText = Annotated[Text, StringConstraints(max_length=64)]


class DossierSubmitted(DossierFiling):
    """``dossier.submitted``: a citizen filed a dossier online."""


class DossierWithdrawn(ContractModel):
    """``dossier.withdrawn``: the citizen withdrew the dossier."""

    MaHoSo: DossierCode
    ThoiDiem: VnTime
    LyDo: Text


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
    NoiDungXuLy: Text
    TrangThai: Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    NgayBatDau: VnTime
    NgayKetThucTheoQuyDinh: VnTime | None = None
