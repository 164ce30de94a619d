"""What the fake partners share: synthetic Vietnamese people, a seeded random source, a clock, and
the real wire format. Every name, number and address is invented from the small lists below, so
runs are reproducible and no real person appears."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any, ClassVar

from hub.bus.ingress import ingress_message
from hub.envelope import Outbound

FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Hoàng")
GIVEN = ("An", "Bình", "Cường", "Dung", "Hà", "Lan", "Phúc", "Tâm", "Thảo", "Vy")
STREETS = ("Trần Hưng Đạo", "Hòa Bình", "Nguyễn Trãi", "30 Tháng 4", "Lê Hồng Phong")
PROCEDURES = (
    ("1.001776", "Đăng ký khai sinh", 8000),
    ("1.000894", "Đăng ký kết hôn", 0),
    ("2.000908", "Chứng thực bản sao từ bản chính", 2000),
)


Moment = datetime | None


class SyntheticPartner:
    """Base of the fake partners; ``user`` is the broker user it publishes as."""

    partner: ClassVar[str]

    def __init__(self, seed: int, user: str = "guest", start: datetime | None = None) -> None:
        self._random = random.Random(seed)
        self._user = user
        self._clock = start or datetime(2026, 11, 30, 7, 30)
        self._sequence = 0

    def _full_name(self) -> str:
        r = self._random
        return f"{r.choice(FAMILY_NAMES)} {r.choice(MIDDLE)} {r.choice(GIVEN)}"

    def _digits(self, count: int) -> str:
        return "".join(self._random.choice("0123456789") for _ in range(count))

    def _person(self) -> dict[str, str]:
        """A synthetic person and address, in the contract's address shape."""
        return {
            "hoVaTen": self._full_name(),
            "soDienThoai": "09" + self._digits(8),
            "diaChi": f"Số {self._random.randint(1, 200)} đường {self._random.choice(STREETS)}",
            "tinhThanh": "Thành phố Cần Thơ",
            "xaPhuong": "Phường Vị Thanh",
        }

    def message(
        self,
        kind: str,
        body: dict[str, Any] | bytes,
        message_id: str | None = None,
        at: datetime | None = None,
    ) -> Outbound:
        """``body`` as the partner publishes it, with every property the contract requires;
        ``timestamp`` is ``at``, by default the partner's clock."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return ingress_message(
            self.partner,
            kind,
            raw,
            message_id=message_id or f"{self.partner}-{self._random.getrandbits(64):016x}",
            user_id=self._user,
            timestamp=int((at or self._clock).timestamp()),
        )
