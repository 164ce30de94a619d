"""A fake National Public Service Portal: realistic, synthetic dossiers in the real wire format.

Names, ID numbers, phones and addresses are invented from small lists and a seeded random source,
so runs are reproducible and no real person appears.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hub.envelope import HEADER_CONTRACT_VERSION, Outbound, ingress_message
from hub.errors import Reason

PARTNER = "portal"
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Hoàng")
GIVEN = ("An", "Bình", "Cường", "Dung", "Hà", "Lan", "Phúc", "Tâm", "Thảo", "Vy")
STREETS = ("Trần Hưng Đạo", "Hòa Bình", "Nguyễn Trãi", "30 Tháng 4", "Lê Hồng Phong")
PROCEDURES = (
    ("1.001776", "Đăng ký khai sinh", 8000),
    ("1.000894", "Đăng ký kết hôn", 0),
    ("2.000908", "Chứng thực bản sao từ bản chính", 2000),
)


class FakePortal:
    """Builds the portal's messages; ``user`` is the broker user it publishes as."""

    def __init__(self, seed: int = 45, user: str = "guest", start: datetime | None = None) -> None:
        self._random = random.Random(seed)
        self._user = user
        self._clock = start or datetime(2026, 11, 30, 7, 30)
        self._sequence = 0

    def _person(self) -> dict[str, str]:
        r = self._random
        name = f"{r.choice(FAMILY_NAMES)} {r.choice(MIDDLE)} {r.choice(GIVEN)}"
        return {
            "hoVaTen": name,
            "soDienThoai": "09" + "".join(r.choice("0123456789") for _ in range(8)),
            "diaChi": f"Số {r.randint(1, 200)} đường {r.choice(STREETS)}",
            "tinhThanh": "Thành phố Cần Thơ",
            "xaPhuong": "Phường Vị Thanh",
        }

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
            "SoGiayToChuHoSo": "0931" + "".join(self._random.choice("0123456789") for _ in range(8)),
            "SoDienThoai": person["soDienThoai"],
            "Email": f"congdan{self._sequence}@example.vn",
            "DiaChiThuongTru": f"{person['diaChi']}, {person['xaPhuong']}",
            "NgayNopHoSo": f"{self._clock:%Y%m%d%H%M%S}",
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

    def message(self, kind: str, body: dict[str, Any] | bytes, message_id: str | None = None) -> Outbound:
        """``body`` as the portal publishes it, with every property the contract requires."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return ingress_message(
            PARTNER,
            kind,
            raw,
            message_id=message_id or f"portal-{self._random.getrandbits(64):016x}",
            user_id=self._user,
            timestamp=int(self._clock.timestamp()),
        )

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
            (Reason.UNSUPPORTED_CONTRACT_VERSION, _with_version(self.message(kind, good), "2")),
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
