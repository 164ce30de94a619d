"""What the fake portal holds and how it answers, apart from HTTP (``fake_server`` serves it).

It answers the way the integration service does, as far as open-source callers show it: JSON
``{"error_code", "message"}`` with HTTP 200 for its own refusals, a session per login, "đã tồn tại"
for a dossier created twice. Tests and the demo drive it directly (expire sessions, refuse a
dossier) and read what it received and what it applied. Every collection is bounded.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

CAPACITY = 10_000  # dossiers, requests and applied records kept
SESSIONS_KEPT = 1_000
RECORDS_PER_DOSSIER = 1_000
OK, WRONG_LOGIN, BAD_SESSION, DATA_ERROR, EXISTS = 0, -1, -2, -1, 3
DOSSIER_FIELDS = ("MaHoSo", "MaTTHC", "ChuHoSo", "NgayTiepNhan", "TrangThaiHoSo")
PROGRESS_FIELDS = ("MaHoSo", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")

Answer = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it arrived (a login's password left out)."""

    path: str
    dstcode: str | None
    service: str | None
    body: Any
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Applied:
    """A change the fake made: a dossier created or updated, a progress record added."""

    action: Literal["create", "update", "progress"]
    dossier: str
    record: Mapping[str, Any]


def answer(code: int, message: str, **extra: Any) -> Answer:
    return {"error_code": code, "message": message, **extra}


class _Bounded(OrderedDict[str, Any]):
    """A map that forgets its oldest entries beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.limit:
            self.popitem(last=False)


class PortalState:
    """The fake portal's accounts, sessions, dossiers and progress, and its record of requests."""

    def __init__(
        self,
        dstcode: str = "H30",
        accounts: Mapping[str, str] | None = None,
        max_records: int = 10,
        capacity: int = CAPACITY,
    ) -> None:
        self.dstcode = dstcode
        self.accounts = dict(accounts or {"hub": "hub-password"})
        self.max_records = max_records
        self._lock = threading.Lock()
        self._sessions = _Bounded(SESSIONS_KEPT)  # session -> calls made with it
        self._session_calls: int | None = None
        self._dossiers = _Bounded(capacity)
        self._progress = _Bounded(capacity)
        self._refused: deque[str] = deque(maxlen=SESSIONS_KEPT)
        self._received: deque[Received] = deque(maxlen=capacity)
        self._applied: deque[Applied] = deque(maxlen=capacity)

    # --- driving it --------------------------------------------------------------------------
    def expire_sessions(self) -> None:
        """Every session issued so far is refused from now on."""
        with self._lock:
            self._sessions.clear()

    def expire_sessions_after(self, calls: int | None) -> None:
        """A session is refused once it served ``calls`` calls (None: sessions never expire)."""
        with self._lock:
            self._session_calls = calls

    def refuse(self, dossier_code: str) -> None:
        """Calls naming ``dossier_code`` get a data error that echoes the citizen's name and phone."""
        with self._lock:
            self._refused.append(dossier_code)

    def accept(self, dossier_code: str) -> None:
        """Calls naming ``dossier_code`` are served again (the data was put right at the portal)."""
        with self._lock:
            while dossier_code in self._refused:
                self._refused.remove(dossier_code)

    def add_dossier(self, dossier: Mapping[str, Any]) -> None:
        """A dossier the portal already holds (filed online), without recording it as applied."""
        with self._lock:
            self._dossiers[str(dossier["MaHoSo"])] = dict(dossier)

    # --- reading it --------------------------------------------------------------------------
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def applied(self) -> list[Applied]:
        with self._lock:
            return list(self._applied)

    def dossier(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._dossiers.get(code)
            return None if found is None else dict(found)

    def progress(self, code: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._progress.get(code, []))

    # --- answering ---------------------------------------------------------------------------
    def record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def login(self, body: Any) -> Answer:
        username = body.get("username") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        with self._lock:
            if not isinstance(username, str) or self.accounts.get(username) != password:
                return answer(WRONG_LOGIN, "Sai tên đăng nhập hoặc mật khẩu")
            session = secrets.token_hex(16)
            self._sessions[session] = 0
            return answer(OK, "Đăng nhập thành công", session=session)

    def session_valid(self, session: Any) -> bool:
        """True for a live session, counting the call against it."""
        with self._lock:
            if not isinstance(session, str) or session not in self._sessions:
                return False
            if self._session_calls is not None and self._sessions[session] >= self._session_calls:
                del self._sessions[session]
                return False
            self._sessions[session] += 1
            return True

    def sync(self, dossiers: Any, updating: bool) -> Answer:
        """``DongBoHoSoMC``: all the dossiers applied, or none."""
        if not isinstance(dossiers, list) or not dossiers:
            return answer(DATA_ERROR, "Thiếu trường data")
        with self._lock:
            for dossier in dossiers:
                problem = self._sync_problem(dossier, updating)
                if problem is not None:
                    return problem
            for dossier in dossiers:
                code = dossier["MaHoSo"]
                self._applied.append(Applied("update" if updating else "create", code, dict(dossier)))
                self._dossiers[code] = dict(dossier)
        return answer(OK, "Đồng bộ thành công")

    def add_progress(self, records: Any) -> Answer:
        """``CapNhatTienDoHoSoMC``: all the records appended in order, or none."""
        if not isinstance(records, list) or not records:
            return answer(DATA_ERROR, "Thiếu trường data")
        if len(records) > self.max_records:
            return answer(DATA_ERROR, f"Tối đa {self.max_records} bản ghi mỗi lần gọi")
        with self._lock:
            for record in records:
                problem = self._progress_problem(record)
                if problem is not None:
                    return problem
            for record in records:
                code = record["MaHoSo"]
                kept = self._progress.get(code) or deque(maxlen=RECORDS_PER_DOSSIER)
                kept.append(dict(record))
                self._progress[code] = kept
                self._applied.append(Applied("progress", code, dict(record)))
        return answer(OK, "Cập nhật tiến độ thành công")

    def lookup(self, code: Any) -> Answer:
        if not isinstance(code, str) or not code:
            return answer(DATA_ERROR, "Thiếu trường MaHoSo")
        found = self.dossier(code)
        return answer(OK, "Thành công", result=[] if found is None else [found])

    def _sync_problem(self, dossier: Any, updating: bool) -> Answer | None:
        missing = _missing(dossier, DOSSIER_FIELDS)
        if missing is not None:
            return answer(DATA_ERROR, f"Thiếu trường {missing}")
        code = dossier["MaHoSo"]
        if code in self._refused:
            return answer(DATA_ERROR, _data_error(dossier.get("ChuHoSo"), dossier.get("SoDienThoai")))
        if not updating and code in self._dossiers:
            return answer(EXISTS, f"Hồ sơ {code} đã tồn tại")
        if updating and code not in self._dossiers:
            return answer(DATA_ERROR, f"Hồ sơ {code} chưa tồn tại")
        return None

    def _progress_problem(self, record: Any) -> Answer | None:
        missing = _missing(record, PROGRESS_FIELDS)
        if missing is not None:
            return answer(DATA_ERROR, f"Thiếu trường {missing}")
        if record["MaHoSo"] in self._refused:
            return answer(DATA_ERROR, _data_error(record.get("NguoiXuLy"), None))
        return None


def _missing(item: Any, fields: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict):
        return "data"
    return next((name for name in fields if item.get(name) in (None, "")), None)


def _data_error(name: Any, phone: Any) -> str:
    # Echoes what it was sent, as real services do: the hub must not pass it on as it is.
    return f"Dữ liệu không hợp lệ: chủ hồ sơ {name}, số điện thoại {phone} không khớp CSDL quốc gia"
