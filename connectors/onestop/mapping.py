"""Pure translations between the one-stop-shop system's messages and canonical events. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.filing import canonical_filing, native_filing
from connectors.onestop.models import DossierProgress, DossierReceived, ResultReady
from connectors.units import unit_of_dossier
from connectors.values import vn_time_millis, vn_time_text
from hub.connector import Context, Emit, Event

ONESTOP = "onestop"
RECEIVED = "hub.dossier.v1.DossierReceived"
PROGRESSED = "hub.dossier.v1.DossierProgressed"
READY = "hub.dossier.v1.ResultReady"
CHANNELS = {1: "IN_PERSON", 2: "ONLINE", 3: "POSTAL"}
COUNTER_ROLES = {"CONG_CHUC": "CIVIL_SERVANT", "NHAN_VIEN_BUU_DIEN": "POSTAL_STAFF"}


def dossier_submitted_for_unit(datum: Mapping[str, Any], _context: Context) -> Sequence[Emit]:
    """Flow 1: a dossier filed online reaches the unit that owns it, in the portal's field names
    (the one-stop-shop system already speaks them); the unit travels in ``x-hub-unit``."""
    return [
        Emit(
            partner=ONESTOP,
            kind="dossier.submitted",
            body=native_filing(datum),
            dossier=datum["dossier_code"],
            unit=datum["owning_unit"],
        )
    ]


def dossier_withdrawn_for_unit(datum: Mapping[str, Any], context: Context) -> Sequence[Emit]:
    """Flow 6: a withdrawal reaches the unit that owns the dossier, as the portal's message (field
    names and values); the unit, told from the dossier code, travels in ``x-hub-unit``."""
    body = {
        "MaHoSo": datum["dossier_code"],
        "ThoiDiem": vn_time_text(datum["withdrawn_at"]),
        "LyDo": datum["reason"],
    }
    return [_for_unit("dossier.withdrawn", body, context)]


def payment_completed_for_unit(datum: Mapping[str, Any], context: Context) -> Sequence[Emit]:
    """Flow 7: an online payment reaches the unit that owns the dossier, as the portal's message;
    the unit, told from the dossier code, travels in ``x-hub-unit``."""
    body = {
        "MaHoSo": datum["dossier_code"],
        "MaGiaoDich": datum["transaction_id"],
        "SoTien": datum["amount"],
        "ThoiDiemThanhToan": vn_time_text(datum["paid_at"]),
        "KenhThanhToan": datum["channel"],
    }
    return [_for_unit("payment.completed", body, context)]


def _for_unit(kind: str, body: Mapping[str, Any], context: Context) -> Emit:
    dossier = str(body["MaHoSo"])
    return Emit(
        partner=ONESTOP, kind=kind, body=body, dossier=dossier, unit=unit_of_dossier(dossier, context)
    )


def dossier_received(message: DossierReceived, context: Context) -> Sequence[Emit | Event]:
    """Flow 2, counter filing: the canonical event, for the unit that owns the dossier today."""
    unit = context.agencies.owning_unit(message.MaCoQuan, "MaCoQuan")
    datum = {
        **canonical_filing(message, unit),
        "channel": CHANNELS[message.KenhThucHien],
        "received_at": vn_time_millis(message.NgayTiepNhan),
        "due_at": vn_time_millis(message.NgayHenTra),
        "received_by": message.NguoiTiepNhan,
        "counter_role": COUNTER_ROLES[message.VaiTroTiepNhan],
    }
    return [Event(record=RECEIVED, kind="dossier.received", datum=datum, dossier=message.MaHoSo)]


def dossier_progress(message: DossierProgress, _context: Context) -> Sequence[Emit | Event]:
    """Flow 3, a processing step, as its canonical event."""
    datum = {
        "dossier_code": message.MaHoSo,
        "status": message.TrangThaiHoSo,
        "processed_at": vn_time_millis(message.ThoiDiemXuLy),
        "handler": message.NguoiXuLy,
        "handler_title": message.ChucDanh,
        "department": message.PhongBanXuLy,
        "content": message.NoiDungXuLy,
        "new_due_at": vn_time_millis(message.NgayHenTra) if message.NgayHenTra else None,
    }
    return [Event(record=PROGRESSED, kind="dossier.progress", datum=datum, dossier=message.MaHoSo)]


def result_ready(message: ResultReady, _context: Context) -> Sequence[Emit | Event]:
    """The result is ready: its canonical event (delivery by post follows with the dossier store)."""
    datum = {
        "dossier_code": message.MaHoSo,
        "ready_at": vn_time_millis(message.NgayCoKetQua),
        "documents": [{"title": d.TenGiayTo, "reference": d.SoKyHieu} for d in message.DanhSachGiayToKetQua],
        "amount_due": message.LePhiConThieu,
    }
    return [Event(record=READY, kind="result.ready", datum=datum, dossier=message.MaHoSo)]
