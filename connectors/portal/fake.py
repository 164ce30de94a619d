"""A fake National Public Service Portal: realistic, synthetic dossiers in the real wire format."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from connectors.synthetic import PROCEDURES, SyntheticPartner
from hub.envelope import HEADER_CONTRACT_VERSION, Outbound
from hub.errors import Reason

PARTNER = "portal"
TIME_FORMAT = "%Y%m%d%H%M%S"
WITHDRAWAL_REASONS = ("Công dân không còn nhu cầu", "Nộp nhầm thủ tục", "Bổ sung hồ sơ khác thay thế")
PAYMENT_CHANNELS = ("PAYGOV", "VNPAY", "VIETTELPAY")  # the portal's payment platform and its banks


class FakePortal(SyntheticPartner):
    """Builds the portal's messages; ``user`` is the broker user it publishes as."""

    partner = PARTNER

    def __init__(self, seed: int = 45, user: str = "guest", start: datetime | None = None) -> None:
        super().__init__(seed, user, start)

    def dossier_submitted(self, agency: str, by_post: bool = False, collect: bool = False) -> dict[str, Any]:
        """A valid ``dossier.submitted`` body for a dossier received by ``agency``."""
        self._sequence += 1
        self._clock += timedelta(seconds=self._random.randint(20, 400))
        code, title, fee = self._random.choice(PROCEDURES)
        person = self._person()
        body: dict[str, Any] = {
            "MaHoSo": f"{agency}-{self._clock:%y%m%d}-{self._sequence:04d}",
            "MaTTHC": code,
            "TenTTHC": title,
            "MaCoQuan": agency,
            "ChuHoSo": person["hoVaTen"],
            "LoaiDoiTuong": 1,
            "SoGiayToChuHoSo": "0931" + self._digits(8),
            "SoDienThoai": person["soDienThoai"],
            "Email": f"congdan{self._sequence}@example.vn",
            "DiaChiThuongTru": f"{person['diaChi']}, {person['xaPhuong']}",
            "NgayNopHoSo": f"{self._clock:{TIME_FORMAT}}",
            "HinhThucNhanKetQua": 1 if by_post else 0,
            "YeuCauThuGom": collect,
            "TaiLieuNop": [
                {
                    "TenTaiLieu": f"Tờ khai {title.lower()}",
                    "DuongDan": "https://dichvucong.example.vn/f/1.pdf",
                }
            ],
            "DanhSachLePhi": [{"TenPhiLePhi": f"Lệ phí {title.lower()}", "MucPhi": fee}] if fee else [],
        }
        if by_post:
            body["DiaChiNhanKetQua"] = person
        if collect:
            body["DiaChiThuGom"] = person
        return body

    def in_version_2(self, submitted: Mapping[str, Any]) -> dict[str, Any]:
        """A ``dossier.submitted`` body (version 1) in the portal's newer shape, contract version 2:
        the ID number under its new name, the channel, the identity card and the identity checks."""
        body = {("SoDinhDanhChuHoSo" if k == "SoGiayToChuHoSo" else k): v for k, v in submitted.items()}
        issued = self._clock - timedelta(days=self._random.randint(30, 3000))
        card = {"LoaiGiayTo": 4, "SoGiayTo": submitted["SoGiayToChuHoSo"], "NoiCap": "Bộ Công an"}
        body["DanhSachGiayTo"] = [{**card, "NgayCap": f"{issued:%Y%m%d}"}]
        body["KenhNop"] = self._random.choice(("WEB", "MOBILE", "VNEID"))
        body["DaXacThucCSDLQGDC"] = body["DinhDanhDienTuMuc2"] = body["KenhNop"] == "VNEID"
        return body

    def withdrawal(self, submitted: Mapping[str, Any]) -> Outbound:
        """The ``dossier.withdrawn`` of the dossier ``submitted`` (a ``dossier.submitted`` body): the
        citizen changes their mind within hours of filing."""
        filed_at = datetime.strptime(submitted["NgayNopHoSo"], TIME_FORMAT)
        withdrawn_at = filed_at + timedelta(minutes=self._random.randint(5, 240))
        body = {
            "MaHoSo": submitted["MaHoSo"],
            "ThoiDiem": f"{withdrawn_at:{TIME_FORMAT}}",
            "LyDo": self._random.choice(WITHDRAWAL_REASONS),
        }
        return self.message("dossier.withdrawn", body, at=withdrawn_at)

    def payment(self, submitted: Mapping[str, Any]) -> Outbound | None:
        """The ``payment.completed`` of the fees of the dossier ``submitted``, paid online within the
        hour; None for a dossier without fees."""
        amount = sum(fee["MucPhi"] for fee in submitted.get("DanhSachLePhi", ()))
        if not amount:
            return None
        filed_at = datetime.strptime(submitted["NgayNopHoSo"], TIME_FORMAT)
        paid_at = filed_at + timedelta(minutes=self._random.randint(1, 60))
        body = {
            "MaHoSo": submitted["MaHoSo"],
            "MaGiaoDich": f"PG{paid_at:%Y%m%d}{self._digits(6)}",
            "SoTien": amount,
            "ThoiDiemThanhToan": f"{paid_at:{TIME_FORMAT}}",
            "KenhThanhToan": self._random.choice(PAYMENT_CHANNELS),
        }
        return self.message("payment.completed", body, at=paid_at)

    def bad_messages(self, agency: str, max_body_bytes: int) -> list[tuple[Reason, Outbound]]:
        """One message per reason this hub can give a portal message, each with that reason."""
        kind = "dossier.submitted"
        good = self.dossier_submitted(agency)
        return [
            (Reason.MALFORMED_JSON, self.message(kind, json.dumps(good).encode()[:-40])),
            (Reason.INVALID_UTF8, self.message(kind, b'{"MaHoSo": "\xff\xfe"}')),
            (Reason.TOO_LARGE, self.message(kind, {**good, "TenTTHC": "x" * max_body_bytes})),
            (Reason.MISSING_PROPERTY, _without_message_id(self.message(kind, good))),
            (Reason.WRONG_INGRESS, _as_user(self.message(kind, good), "intruder")),
            (Reason.UNKNOWN_KIND, self.message("dossier.teleported", good)),
            (Reason.UNSUPPORTED_CONTRACT_VERSION, _with_version(self.message(kind, good), "9")),
            (Reason.VALIDATION_FAILED, self.message(kind, {**good, "SoGiayToChuHoSo": "09318700"})),
            (Reason.VALIDATION_FAILED, self.message(kind, {**good, "NgayNopHoSo": "20261131250000"})),
            (Reason.UNKNOWN_AGENCY, self.message(kind, {**good, "MaCoQuan": "000.00.99.H30"})),
        ]


def _without_message_id(message: Outbound) -> Outbound:
    return replace(message, properties=replace(message.properties, message_id=None))


def _as_user(message: Outbound, user: str) -> Outbound:
    return replace(message, properties=replace(message.properties, user_id=user))


def _with_version(message: Outbound, version: str) -> Outbound:
    headers = {**message.properties.headers, HEADER_CONTRACT_VERSION: version}
    return replace(message, properties=replace(message.properties, headers=headers))
