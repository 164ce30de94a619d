"""Pure translations of the portal's messages into canonical events, and of canonical events into
what the portal receives. No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from connectors.dossiers import known_dossier, step_of
from connectors.filing import canonical_filing, filing_facts, native_filing, recipient_of
from connectors.portal.models import (
    DossierSubmitted,
    DossierSync,
    DossierWithdrawn,
    PaymentCompleted,
    ProgressRecord,
)
from connectors.units import unit_of_dossier
from connectors.values import vn_time_millis, vn_time_text
from hub.connector import Context, Emit, Event
from hub.dossiers.records import Change, DossierOpened, Facts, FactsNoted
from hub.dossiers.status import FILED
from hub.dossiers.status import WITHDRAWN as WITHDRAWN_STATUS

PORTAL = "portal"
SUBMITTED = "hub.dossier.v1.DossierSubmitted"
WITHDRAWN = "hub.dossier.v1.DossierWithdrawn"
PAID = "hub.payment.v1.PaymentCompleted"
ACCEPTED: Literal[2] = 2
CHANNEL_CODES = {"IN_PERSON": 1, "ONLINE": 2, "POSTAL": 3}
COUNTER_TITLES = {"CIVIL_SERVANT": "Công chức tiếp nhận", "POSTAL_STAFF": "Nhân viên bưu điện tiếp nhận"}


def dossier_submitted(message: DossierSubmitted, context: Context) -> Sequence[Emit | Event | Change]:
    """Flow 1, online filing: the canonical event, for the unit that owns the dossier today; the hub
    records the dossier as filed (status 1). Filing a known dossier again changes nothing."""
    unit = context.agencies.owning_unit(message.MaCoQuan, "MaCoQuan")
    known = context.dossiers.get(message.MaHoSo) is not None
    return [
        Event(
            record=SUBMITTED,
            kind="dossier.submitted",
            datum=canonical_filing(message, unit),
            dossier=message.MaHoSo,
        ),
        DossierOpened(message.MaHoSo, unit, FILED, message.HinhThucNhanKetQua == 1, recipient_of(message)),
        *([] if known else [FactsNoted(message.MaHoSo, filing_facts(message, "ONLINE"))]),
    ]


def dossier_withdrawn(message: DossierWithdrawn, context: Context) -> Sequence[Emit | Event | Change]:
    """Flow 6, withdrawal: the dossier's step to 7 and the canonical event. A withdrawal is a step,
    so it needs a dossier the hub knows (``unknown_dossier``: it waits for the filing) and a status
    the table lets go to 7 (``invalid_transition``: refused at once after the result is ready, say).
    Both are judged before anything is published (no cancelled collection either)."""
    dossier = known_dossier(message.MaHoSo, context)
    withdrawn_at = vn_time_millis(message.ThoiDiem)
    step = step_of(dossier, withdrawn_at, WITHDRAWN_STATUS)
    datum = {"dossier_code": message.MaHoSo, "withdrawn_at": withdrawn_at, "reason": message.LyDo}
    closed = FactsNoted(message.MaHoSo, Facts(closed_at=withdrawn_at))
    return [
        Event(record=WITHDRAWN, kind="dossier.withdrawn", datum=datum, dossier=message.MaHoSo),
        step,
        closed,
    ]


def payment_completed(message: PaymentCompleted, context: Context) -> Sequence[Emit | Event | Change]:
    """Flow 7, an online payment: the canonical event, once the dossier's owner is known: the unit on
    record, or, for a dossier the hub never saw (filed before it went live), told from the code; the
    amount adds to the dossier's payments (reports)."""
    unit_of_dossier(message.MaHoSo, context)
    datum = {
        "dossier_code": message.MaHoSo,
        "transaction_id": message.MaGiaoDich,
        "amount": message.SoTien,
        "paid_at": vn_time_millis(message.ThoiDiemThanhToan),
        "channel": message.KenhThanhToan,
    }
    return [
        Event(record=PAID, kind="payment.completed", datum=datum, dossier=message.MaHoSo),
        FactsNoted(message.MaHoSo, paid_online_vnd=message.SoTien),
    ]


def dossier_submitted_from_canonical(datum: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical ``DossierSubmitted`` as the portal's native body, for partners that publish
    canonical events; the result is validated like any native body."""
    return native_filing(datum)


def dossier_sync(datum: Mapping[str, Any], _context: Context) -> Sequence[Emit]:
    """Flow 2: a dossier received at a counter becomes known to the portal (``DongBoHoSoMC``), then
    its first progress record, accepted at the counter (``CapNhatTienDoHoSoMC``, status 2)."""
    received_at, due_at = vn_time_text(datum["received_at"]), vn_time_text(datum["due_at"])
    sync = DossierSync.model_validate_json(
        json.dumps(
            {
                **native_filing(datum),
                "NgayTiepNhan": received_at,
                "NgayHenTra": due_at,
                "TrangThaiHoSo": ACCEPTED,
                "HinhThuc": 1 if datum["result_delivery"] == "BY_POST" else 0,
                "KenhThucHien": CHANNEL_CODES[datum["channel"]],
                "DonViXuLy": datum["owning_unit"],
            }
        )
    )
    accepted = ProgressRecord(
        MaHoSo=datum["dossier_code"],
        NguoiXuLy=datum["received_by"],
        ChucDanh=COUNTER_TITLES[datum["counter_role"]],
        ThoiDiemXuLy=received_at,
        PhongBanXuLy="Bộ phận Một cửa",
        NoiDungXuLy="Tiếp nhận hồ sơ",
        TrangThai=ACCEPTED,
        NgayBatDau=received_at,
        NgayKetThucTheoQuyDinh=due_at,
    )
    return [_to_portal("DongBoHoSoMC", sync, datum), _to_portal("CapNhatTienDoHoSoMC", accepted, datum)]


def progress_record(datum: Mapping[str, Any], _context: Context) -> Sequence[Emit]:
    """Flow 3: a processing step becomes a progress record on the portal (``CapNhatTienDoHoSoMC``)."""
    processed_at = vn_time_text(datum["processed_at"])
    new_due = datum.get("new_due_at")
    record = ProgressRecord(
        MaHoSo=datum["dossier_code"],
        NguoiXuLy=datum["handler"],
        ChucDanh=datum["handler_title"],
        ThoiDiemXuLy=processed_at,
        PhongBanXuLy=datum["department"],
        NoiDungXuLy=datum["content"],
        TrangThai=datum["status"],
        NgayBatDau=processed_at,
        NgayKetThucTheoQuyDinh=vn_time_text(new_due) if new_due is not None else None,
    )
    return [_to_portal("CapNhatTienDoHoSoMC", record, datum)]


def collected_progress(datum: Mapping[str, Any], context: Context) -> Sequence[Emit]:
    """Flow 5: the post collected the paper originals: a progress record at the dossier's current
    status, so the citizen can follow the collection on the portal."""
    if datum["status"] != "COLLECTED":
        return []
    dossier = context.dossiers.get(datum["dossier_code"])
    collected_at = vn_time_text(datum["at"])
    record = ProgressRecord(
        MaHoSo=datum["dossier_code"],
        NguoiXuLy="Bưu điện",
        ChucDanh="Nhân viên bưu điện",
        ThoiDiemXuLy=collected_at,
        PhongBanXuLy="Dịch vụ bưu chính công ích",
        NoiDungXuLy="Bưu điện đã thu gom hồ sơ giấy",
        TrangThai=FILED if dossier is None else dossier.status,  # type: ignore[arg-type]
        NgayBatDau=collected_at,
    )
    return [_to_portal("CapNhatTienDoHoSoMC", record, datum)]


def _to_portal(kind: str, body: DossierSync | ProgressRecord, datum: Mapping[str, Any]) -> Emit:
    return Emit(partner=PORTAL, kind=kind, body=body, dossier=datum["dossier_code"])
