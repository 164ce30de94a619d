"""Pure translations between the one-stop-shop system's messages and canonical events. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from connectors.dossiers import known_dossier, step_of
from connectors.filing import canonical_filing, filing_facts, native_filing, recipient_of
from connectors.onestop.models import (
    DossierProgress,
    DossierReceived,
    PickupStatus,
    ResultDelivery,
    ResultReady,
)
from connectors.units import unit_of_dossier
from connectors.values import vn_time_millis, vn_time_text
from hub.connector import Context, Emit, Event
from hub.dossiers.records import Change, Dossier, DossierOpened, Facts, FactsNoted
from hub.dossiers.status import ACCEPTED, RESULT_READY, RESULT_RETURNED

ONESTOP = "onestop"
RECEIVED = "hub.dossier.v1.DossierReceived"
PROGRESSED = "hub.dossier.v1.DossierProgressed"
READY = "hub.dossier.v1.ResultReady"
CHANNELS = {1: "IN_PERSON", 2: "ONLINE", 3: "POSTAL"}
COUNTER_ROLES = {"CONG_CHUC": "CIVIL_SERVANT", "NHAN_VIEN_BUU_DIEN": "POSTAL_STAFF"}
ONE_STOP_DESK = "Bộ phận Một cửa"
CLOSED_WITHOUT_RESULT = frozenset({3, 7, 8})  # refused, withdrawn, not processed


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
    return [_for_unit("dossier.withdrawn", body, datum["dossier_code"], context)]


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
    return [_for_unit("payment.completed", body, datum["dossier_code"], context)]


def _for_unit(kind: str, body: Mapping[str, Any] | BaseModel, dossier: str, context: Context) -> Emit:
    return Emit(
        partner=ONESTOP, kind=kind, body=body, dossier=dossier, unit=unit_of_dossier(dossier, context)
    )


def dossier_received(message: DossierReceived, context: Context) -> Sequence[Emit | Event | Change]:
    """Flow 2, counter filing: the canonical event, for the unit that owns the dossier today. A new
    dossier is recorded as accepted (status 2); one the portal filed before (status 1) is accepted
    now, a step the status policy must admit."""
    unit = context.agencies.owning_unit(message.MaCoQuan, "MaCoQuan")
    received_at = vn_time_millis(message.NgayTiepNhan)
    known = context.dossiers.get(message.MaHoSo)
    change: Change = (
        DossierOpened(message.MaHoSo, unit, ACCEPTED, message.HinhThucNhanKetQua == 1, recipient_of(message))
        if known is None
        else step_of(known, received_at, ACCEPTED)
    )
    datum = {
        **canonical_filing(message, unit),
        "channel": CHANNELS[message.KenhThucHien],
        "received_at": received_at,
        "due_at": vn_time_millis(message.NgayHenTra),
        "received_by": message.NguoiTiepNhan,
        "counter_role": COUNTER_ROLES[message.VaiTroTiepNhan],
    }
    # Filed here: the filing's facts too. Filed online: the portal's (channel, filing time) stay.
    filing = filing_facts(message, CHANNELS[message.KenhThucHien]) if known is None else Facts()
    accepted = replace(
        filing,
        counter_role=COUNTER_ROLES[message.VaiTroTiepNhan],
        accepted_at=received_at,
        due_at=vn_time_millis(message.NgayHenTra),
    )
    return [
        Event(record=RECEIVED, kind="dossier.received", datum=datum, dossier=message.MaHoSo),
        change,
        FactsNoted(message.MaHoSo, accepted),
    ]


def dossier_progress(message: DossierProgress, context: Context) -> Sequence[Emit | Event | Change]:
    """Flow 3, a processing step of a known dossier (``unknown_dossier`` otherwise), admitted by the
    status policy (``invalid_transition`` otherwise; either may wait for steps still to come), as its
    canonical event."""
    processed_at = vn_time_millis(message.ThoiDiemXuLy)
    new_due = vn_time_millis(message.NgayHenTra) if message.NgayHenTra else None
    dossier = known_dossier(message.MaHoSo, context)
    step = step_of(dossier, processed_at, message.TrangThaiHoSo)
    # The due date as last moved: a step older than the latest (it arrived late) moves nothing.
    latest = all(earlier.at <= processed_at for earlier in dossier.steps)
    datum = {
        "dossier_code": message.MaHoSo,
        "status": message.TrangThaiHoSo,
        "processed_at": processed_at,
        "handler": message.NguoiXuLy,
        "handler_title": message.ChucDanh,
        "department": message.PhongBanXuLy,
        "content": message.NoiDungXuLy,
        "new_due_at": new_due,
    }
    due = new_due if latest else None
    facts = FactsNoted(message.MaHoSo, _progress_facts(message.TrangThaiHoSo, processed_at, due))
    return [
        Event(record=PROGRESSED, kind="dossier.progress", datum=datum, dossier=message.MaHoSo),
        step,
        facts,
    ]


def _progress_facts(status: int, at: int, new_due: int | None) -> Facts:
    """A step's facts: the acceptance of a dossier filed online, the due date it sets or moves, the
    result it makes ready or hands over at the counter, the end of a dossier without a result
    (refused 3, withdrawn 7, not processed 8)."""
    return Facts(
        accepted_at=at if status == ACCEPTED else None,
        due_at=new_due,
        result_ready_at=at if status == RESULT_READY else None,
        handed_over_at=at if status == RESULT_RETURNED else None,
        closed_at=at if status in CLOSED_WITHOUT_RESULT else None,
    )


def result_ready(message: ResultReady, context: Context) -> Sequence[Emit | Event | Change]:
    """Flow 4: the result of a known dossier (``unknown_dossier`` otherwise) is ready: its canonical
    event, which the postal connector turns into the order of a result by post.

    At 9 (a processing step recorded it, or the result is sent again after a delivery failed) it
    records nothing. Elsewhere it is the dossier's step to 9 at ``NgayCoKetQua``, judged by the
    status policy: admitted from 4 (the portal receives it as progress); waiting at 1, 2, 5 and 6,
    where 4 may still arrive; refused at once at 3, 7, 8 and 10. A refusal is raised before the event
    exists, so no order reaches the post.
    """
    dossier = known_dossier(message.MaHoSo, context)
    ready_at = vn_time_millis(message.NgayCoKetQua)
    step = [] if dossier.status == RESULT_READY else _result_ready_step(dossier, ready_at)
    datum = {
        "dossier_code": message.MaHoSo,
        "ready_at": ready_at,
        "documents": [{"title": d.TenGiayTo, "reference": d.SoKyHieu} for d in message.DanhSachGiayToKetQua],
        "amount_due": message.LePhiConThieu,
    }
    return [Event(record=READY, kind="result.ready", datum=datum, dossier=message.MaHoSo), *step]


def _result_ready_step(dossier: Dossier, ready_at: int) -> list[Event | Change]:
    """The step to 9 and its progress event: the portal hears of it as of any processing step, so
    what it receives stays a path of the status table (a delivery's 10 follows a 9 it was told)."""
    step = step_of(dossier, ready_at, RESULT_READY)
    datum = {
        "dossier_code": dossier.code,
        "status": RESULT_READY,
        "processed_at": ready_at,
        "handler": ONE_STOP_DESK,  # result.ready names no person
        "handler_title": "Công chức tiếp nhận và trả kết quả",
        "department": ONE_STOP_DESK,
        "content": "Đã có kết quả giải quyết, chờ trả kết quả",
        "new_due_at": None,
    }
    return [
        step,
        FactsNoted(dossier.code, Facts(result_ready_at=ready_at)),
        Event(record=PROGRESSED, kind="dossier.progress", datum=datum, dossier=dossier.code),
    ]


def pickup_status(datum: Mapping[str, Any], context: Context) -> Sequence[Emit]:
    """Flow 5: the post moved a collection forward; the owning unit hears of it."""
    body = PickupStatus(
        MaHoSo=datum["dossier_code"],
        TrangThai=datum["status"],
        ThoiDiem=vn_time_text(datum["at"]),
        ItemCode=datum["item_code"],
    )
    return [_for_unit("pickup.status", body, datum["dossier_code"], context)]


def result_delivery(datum: Mapping[str, Any], context: Context) -> Sequence[Emit]:
    """Flows 4 and 7: the post moved a result's delivery forward, with the COD it collected."""
    body = ResultDelivery(
        MaHoSo=datum["dossier_code"],
        TrangThai=datum["status"],
        ThoiDiem=vn_time_text(datum["at"]),
        ItemCode=datum["item_code"],
        SoLanPhat=datum["attempt"],
        CODDaThu=datum["cod_collected"],
    )
    return [_for_unit("result.delivery", body, datum["dossier_code"], context)]
