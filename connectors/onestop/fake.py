"""A fake one-stop-shop system: counter filings, processing steps and ready results in the real wire
format, and what a unit does with what the hub brings it: processes the dossiers filed online, and
sends a result out again when the post brought it back.

Like the portal's fake, every person is invented from small lists and a seeded random source, so
runs are reproducible and no real person appears. Times are Vietnam time; counters are open
7:30-11:30 and 13:30-17:00 on working days (public holidays are not modelled).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from connectors.synthetic import PROCEDURES, SyntheticPartner
from hub.envelope import Outbound
from hub.errors import Reason

PARTNER = "onestop"
UNKNOWN_AGENCY = "000.00.99.H30"  # must stay out of every registry the demo uses
TIME_FORMAT = "%Y%m%d%H%M%S"
OPENING_HOURS = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))

IN_PERSON, POSTAL = 1, 3  # KenhThucHien
CIVIL_SERVANT, POSTAL_STAFF = "CONG_CHUC", "NHAN_VIEN_BUU_DIEN"  # VaiTroTiepNhan
POSTAL_STAFF_SHARE = 0.3  # counters staffed by the post's employees
POSTAL_CHANNEL_SHARE = 0.15  # paper dossiers the post collected and brought to the counter
RESULT_BY_POST_SHARE = 0.3
RETURNED_AT_COUNTER_SHARE = 0.6  # results at the counter that the citizen fetches the same day

FILED, ACCEPTED, RESULT_READY, RESULT_RETURNED = 1, 2, 9, 10
# What happens after acceptance (2) on the day a dossier is received: each a legal path of the
# contract's transitions, with its weight. Steps that would fall on a later day are left out.
PATHS: tuple[tuple[int, ...], ...] = ((), (4,), (4, 9), (4, 5, 4, 9), (4, 5), (7,), (4, 7))
PATH_WEIGHTS = (15, 30, 35, 8, 5, 3, 4)
CONTENT = {
    (1, 2): "Tiếp nhận hồ sơ nộp trực tuyến",
    (2, 4): "Chuyển phòng chuyên môn thẩm định hồ sơ",
    (4, 5): "Đề nghị công dân bổ sung giấy tờ",
    (5, 4): "Đã nhận giấy tờ bổ sung, tiếp tục xử lý",
    (4, 9): "Hoàn thành xử lý, chờ trả kết quả",
    (2, 7): "Công dân yêu cầu rút hồ sơ",
    (4, 7): "Công dân yêu cầu rút hồ sơ",
    (9, 10): "Đã trả kết quả tại Bộ phận Một cửa",
    (9, 4): "Mở lại hồ sơ để xử lý tiếp",  # no path allows it: the hub refuses it
}
TITLES = ("Chuyên viên", "Công chức Tư pháp - Hộ tịch", "Phó Trưởng phòng")
DEPARTMENTS = ("Phòng Tư pháp", "Phòng Văn hóa - Xã hội", "Văn phòng HĐND và UBND")
RESULTS = {
    "1.001776": ("Giấy khai sinh (bản chính)", "GKS"),
    "1.000894": ("Giấy chứng nhận kết hôn", "GCNKH"),
    "2.000908": ("Bản sao được chứng thực từ bản chính", "SCT/BS"),
}


class FakeOnestop(SyntheticPartner):
    """Builds the one-stop-shop system's messages; ``user`` is the broker user it publishes as."""

    partner = PARTNER

    def __init__(self, seed: int = 46, user: str = "guest", start: datetime | None = None) -> None:
        super().__init__(seed, user, start)
        self._results: dict[str, dict[str, Any]] = {}  # the last result.ready of each dossier
        # The due dates of online filings, drawn apart so the rest of the seeded day stays as it was.
        self._due_random = random.Random(seed)

    def _filing(self, agency: str, filed_at: datetime, by_post: bool) -> dict[str, Any]:
        """The ``dossier.submitted`` fields of a counter filing (contract.md: "all fields")."""
        code, title, fee = self._random.choice(PROCEDURES)
        person = self._person()
        body: dict[str, Any] = {
            "MaHoSo": f"{agency}-{self._clock:%Y%m%d}-{self._sequence:05d}",
            "MaTTHC": code,
            "TenTTHC": title,
            "MaCoQuan": agency,
            "ChuHoSo": person["hoVaTen"],
            "LoaiDoiTuong": 1,
            "SoGiayToChuHoSo": "0931" + self._digits(8),
            "SoDienThoai": person["soDienThoai"],
            "DiaChiThuongTru": f"{person['diaChi']}, {person['xaPhuong']}",
            "NgayNopHoSo": _text(filed_at),
            "HinhThucNhanKetQua": 1 if by_post else 0,
            "TaiLieuNop": [
                {"TenTaiLieu": f"Tờ khai {title.lower()}", "DuongDan": "https://motcua.example.vn/scan/1.pdf"}
            ],
            "DanhSachLePhi": [{"TenPhiLePhi": f"Lệ phí {title.lower()}", "MucPhi": fee}] if fee else [],
        }
        if self._random.random() < 0.4:
            body["Email"] = f"nguoidan{self._sequence}@example.vn"
        if by_post:
            body["DiaChiNhanKetQua"] = person
        return body

    def dossier_received(self, agency: str) -> dict[str, Any]:
        """A valid ``dossier.received`` body: the next dossier received at ``agency``'s counter."""
        r = self._random
        self._sequence += 1
        self._clock = _office_time(self._clock, r.randint(40, 300))
        channel = POSTAL if r.random() < POSTAL_CHANNEL_SHARE else IN_PERSON
        filed_at = self._clock - (
            timedelta(days=r.randint(1, 2)) if channel == POSTAL else timedelta(minutes=r.randint(2, 25))
        )
        return {
            **self._filing(agency, filed_at, by_post=r.random() < RESULT_BY_POST_SHARE),
            "KenhThucHien": channel,
            "NgayTiepNhan": _text(self._clock),
            "NgayHenTra": _text(_due(self._clock, r.randint(2, 5))),
            "NguoiTiepNhan": self._full_name(),
            "VaiTroTiepNhan": POSTAL_STAFF if r.random() < POSTAL_STAFF_SHARE else CIVIL_SERVANT,
        }

    def _step(
        self, dossier: str, previous: int, status: int, at: datetime, department: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "MaHoSo": dossier,
            "TrangThaiHoSo": status,
            "ThoiDiemXuLy": _text(at),
            "NguoiXuLy": self._full_name(),
            "ChucDanh": self._random.choice(TITLES),
            "PhongBanXuLy": department,
            "NoiDungXuLy": CONTENT[(previous, status)],
        }
        if (previous, status) == (5, 4):  # the clock restarts once the supplement is in
            body["NgayHenTra"] = _text(_due(at, self._random.randint(2, 4)))
        elif (previous, status) == (FILED, ACCEPTED):  # a dossier filed online gets its due date
            body["NgayHenTra"] = _text(_due(at, self._due_random.randint(2, 5)))
        return body

    def received_with_steps(
        self, agency: str, path: tuple[int, ...] = (4, 5)
    ) -> list[tuple[str, dict[str, Any]]]:
        """A counter filing and its steps along ``path`` from acceptance (2), in time order: a lawful
        history of one dossier, as (kind, body), for load and ordering tests."""
        received = self.dossier_received(agency)
        at, previous = _parse(received["NgayTiepNhan"]), ACCEPTED
        history: list[tuple[str, dict[str, Any]]] = [("dossier.received", received)]
        for status in path:
            at += timedelta(minutes=self._random.randint(5, 60))
            history.append(
                ("dossier.progress", self._step(received["MaHoSo"], previous, status, at, "Phòng Tư pháp"))
            )
            previous = status
        return history

    def progress(self, dossier: str, accepted_at: datetime, department: str) -> list[dict[str, Any]]:
        """The ``dossier.progress`` bodies of ``dossier``'s processing on the day it was accepted
        (status 2, at ``accepted_at``), in time order: a legal path from acceptance."""
        path = self._random.choices(PATHS, weights=PATH_WEIGHTS)[0]
        return self._steps(dossier, (ACCEPTED, *path), accepted_at, department)

    def _steps(
        self, dossier: str, path: tuple[int, ...], at: datetime, department: str
    ) -> list[dict[str, Any]]:
        """The steps along ``path`` (its first status is where the dossier stands at ``at``) that
        fall on the same day."""
        today = at.date()
        steps: list[dict[str, Any]] = []
        for previous, status in itertools.pairwise(path):
            at = _office_time(at, self._random.randint(10 * 60, 150 * 60))
            if at.date() != today:
                break
            steps.append(self._step(dossier, previous, status, at, department))
        return steps

    def result_ready(self, received: Mapping[str, Any], done: Mapping[str, Any]) -> dict[str, Any]:
        """The ``result.ready`` body for ``received`` after its step ``done`` (status 9)."""
        title, series = RESULTS[received["MaTTHC"]]
        ready_at = _parse(done["ThoiDiemXuLy"]) + timedelta(minutes=self._random.randint(5, 30))
        fee = sum(f["MucPhi"] for f in received["DanhSachLePhi"])
        owed = fee if received["HinhThucNhanKetQua"] == 1 and self._random.random() < 0.5 else 0
        ready = {
            "MaHoSo": received["MaHoSo"],
            "NgayCoKetQua": _text(ready_at),
            "DanhSachGiayToKetQua": [
                {"TenGiayTo": title, "SoKyHieu": f"{self._random.randint(1, 999)}/{ready_at:%Y}/{series}"}
            ],
            "LePhiConThieu": owed,
        }
        self._results[ready["MaHoSo"]] = ready
        return ready

    def result_ready_again(self, delivery: Mapping[str, Any]) -> dict[str, Any]:
        """``result.ready`` once more for a result the post brought back (``delivery``: a
        ``result.delivery`` body, RETURNED_TO_AGENCY): the unit sends it out again."""
        again_at = _office_time(_parse(delivery["ThoiDiem"]), self._random.randint(30 * 60, 240 * 60))
        ready = {**self._results[delivery["MaHoSo"]], "NgayCoKetQua": _text(again_at)}
        self._results[ready["MaHoSo"]] = ready
        return ready

    def counter_dossier(self, agency: str) -> list[tuple[str, dict[str, Any]]]:
        """A dossier received at ``agency``'s counter and what became of it that day, as (kind, body)
        in time order: ``dossier.received``, its steps and, when it reached 9, ``result.ready``
        (and, for some results at the counter, their return: 10)."""
        received = self.dossier_received(agency)
        department = self._random.choice(DEPARTMENTS)
        processed = self._processing(received, _parse(received["NgayTiepNhan"]), department)
        return [("dossier.received", received), *processed]

    def online_dossier(
        self, submitted: Mapping[str, Any], fees_paid: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        """What the owning unit does with a dossier filed online (``submitted``: the
        ``dossier.submitted`` the hub brought it), as (kind, body) in time order: it accepts it (1 to
        2) during opening hours after the filing, giving it its due date, then processes it as a
        counter dossier. Fees paid online (``fees_paid``) are not owed again with the result."""
        if fees_paid:
            submitted = {**submitted, "DanhSachLePhi": []}
        department = self._random.choice(DEPARTMENTS)
        filed_at = _parse(submitted["NgayNopHoSo"])
        accepted_at = _office_time(filed_at, self._random.randint(10 * 60, 120 * 60))
        accepted = self._step(submitted["MaHoSo"], FILED, ACCEPTED, accepted_at, department)
        processed = self._processing(submitted, accepted_at, department)
        return [("dossier.progress", accepted), *processed]

    def _processing(
        self, dossier: Mapping[str, Any], accepted_at: datetime, department: str
    ) -> list[tuple[str, dict[str, Any]]]:
        steps = self.progress(dossier["MaHoSo"], accepted_at, department)
        day = [("dossier.progress", step) for step in steps]
        if not steps or steps[-1]["TrangThaiHoSo"] != RESULT_READY:
            return day
        ready = self.result_ready(dossier, steps[-1])
        day.append(("result.ready", ready))
        if dossier["HinhThucNhanKetQua"] == 0 and self._random.random() < RETURNED_AT_COUNTER_SHARE:
            path = (RESULT_READY, RESULT_RETURNED)
            returned = self._steps(dossier["MaHoSo"], path, _parse(ready["NgayCoKetQua"]), department)
            day += [("dossier.progress", step) for step in returned]
        return day

    def message(
        self,
        kind: str,
        body: dict[str, Any] | bytes,
        message_id: str | None = None,
        at: datetime | None = None,
    ) -> Outbound:
        """``body`` as the one-stop-shop system publishes it, stamped with the time of what it reports."""
        reported = _reported_at(body) if isinstance(body, dict) else None
        return super().message(kind, body, message_id, at or reported)

    def bad_messages(self, agency: str, dossier: str | None = None) -> list[tuple[Reason, Outbound]]:
        """One-stop-specific bad inputs, each with the reason the hub gives it; the bad step is for
        ``dossier`` when given."""
        received = self.dossier_received(agency)
        step = self._step(
            dossier or received["MaHoSo"], 4, 9, _parse(received["NgayTiepNhan"]), "Phòng Tư pháp"
        )
        return [
            (
                Reason.VALIDATION_FAILED,
                self.message("dossier.received", {**received, "VaiTroTiepNhan": "BAO_VE"}),
            ),
            (Reason.VALIDATION_FAILED, self.message("dossier.progress", {**step, "TrangThaiHoSo": 11})),
            (
                Reason.UNKNOWN_AGENCY,
                self.message("dossier.received", {**received, "MaCoQuan": UNKNOWN_AGENCY}),
            ),
        ]

    def steps_against_the_rules(self, ready: Mapping[str, Any]) -> list[tuple[Reason, Outbound]]:
        """Steps the dossier rules refuse, each with its reason: processing again (4) the dossier of
        ``ready`` (a ``result.ready`` body, so at 9), and a step of a dossier never filed."""
        at = _office_time(_parse(ready["NgayCoKetQua"]), 3600)
        reopened = self._step(ready["MaHoSo"], RESULT_READY, 4, at, "Phòng Tư pháp")
        unit, _, _ = ready["MaHoSo"].partition("-")
        unknown = self._step(f"{unit}-{at:%Y%m%d}-00000", ACCEPTED, 4, at, "Phòng Tư pháp")
        return [
            (Reason.INVALID_TRANSITION, self.message("dossier.progress", reopened)),
            (Reason.UNKNOWN_DOSSIER, self.message("dossier.progress", unknown)),
        ]


def _text(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _parse(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT)


def _reported_at(body: Mapping[str, Any]) -> datetime | None:
    """The time of the event a body reports: its step, its result or its reception."""
    for field in ("ThoiDiemXuLy", "NgayCoKetQua", "NgayTiepNhan"):
        if isinstance(body.get(field), str):
            return _parse(body[field])
    return None


def _sessions(day: date) -> list[tuple[datetime, datetime]]:
    return [(datetime.combine(day, start), datetime.combine(day, end)) for start, end in OPENING_HOURS]


def _open(moment: datetime) -> datetime:
    """``moment`` if the counters are open then, else the next time they open."""
    while True:
        if moment.weekday() < 5:
            for start, end in _sessions(moment.date()):
                if moment < end:
                    return max(moment, start)
        moment = datetime.combine(moment.date() + timedelta(days=1), time())


def _closing(moment: datetime) -> datetime:
    """When the opening session that ``moment`` falls in ends."""
    return next(end for start, end in _sessions(moment.date()) if start <= moment < end)


def _office_time(moment: datetime, seconds: int) -> datetime:
    """The moment ``seconds`` of opening hours after ``moment``."""
    moment, left = _open(moment), timedelta(seconds=seconds)
    while moment + left > (end := _closing(moment)):
        left -= end - moment
        moment = _open(end)
    return moment + left


def _due(moment: datetime, working_days: int) -> datetime:
    """Closing time ``working_days`` working days after ``moment``."""
    day = moment.date()
    while working_days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            working_days -= 1
    return datetime.combine(day, OPENING_HOURS[-1][1])
