"""The demo's day, round by round (a ``hub.demo.Script``).

Round 1: the portal files dossiers online (some with the result by post, some of those with the
paper originals collected by the post) and withdraws a few; the one-stop-shop system receives
dossiers at its counters (in person or brought by the post, by civil servants or postal staff) and
reports their steps that day (supplement requests, withdrawals, results ready, results returned at
the counter); both slip in malformed messages. Then each round answers what the hub delivered in
the last: the units process the dossiers filed online and send out again the results the post
brought back; the post answers every order with its tracking events. Each round after the first
also carries a few exact copies of the last round's messages (a partner that lost its confirms
publishes again), and round 2 one copy with a changed body and the steps and tracking events the
dossier rules refuse. The day ends when no partner has anything more to send.

The units are those of connectors/samples/province.toml: codes of 2019 (the older shape,
000.00.00.H30), which ended on 30 June 2025 and which some filings still name, and the units of
July 2025 that took over their work (the newer shape of Decision 20/2020/QĐ-TTg, H13.41). All are
sample codes. Filings, payments and withdrawals name both shapes, so routing across shapes runs in
every demo.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from connectors.onestop.fake import IN_PERSON, FakeOnestop
from connectors.onestop.mapping import ONESTOP
from connectors.portal.fake import FakePortal
from connectors.postal.fake import FakePostal
from connectors.postal.mapping import POSTAL as POST
from connectors.postal_codes import DeliveryState
from hub.demo import Expected
from hub.envelope import Delivery, Outbound
from hub.errors import Reason
from hub.outcomes import Disposition

LEGACY_UNITS = ("000.00.30.H30", "000.00.31.H30", "000.31.01.H30", "000.32.02.H30", "000.34.01.H30")
CURRENT_UNITS = ("H13.60", "H13.41", "H13.42", "H13.44", "H13.46")
NEVER_FILED = f"{CURRENT_UNITS[1]}-261130-0000"  # a well-formed dossier code no partner uses
LEGACY_SHARE = 0.25  # filings that still name a unit of 2019
ONLINE_SHARE = 0.6  # of the day's dossiers, those filed online; the rest at the counters
RESULT_BY_POST_SHARE = 0.35  # of the online filings
COLLECTION_SHARE = 0.5  # of the online filings with the result by post, the originals collected too
WITHDRAWAL_SHARE = 0.04  # of the online filings, withdrawn within hours
PAYMENT_SHARE = 0.5  # of the online filings with fees (and not withdrawn), paid online
DUPLICATE_SHARE = 0.01  # of a round's valid messages, published again in the next round

Planned = tuple[Outbound, str, Reason | None]  # a message, and what the hub should make of it


@dataclass
class DayFigures:
    """What the fake partners did, to hold against what the hub delivered."""

    filed_online: int = 0
    collections_requested: int = 0
    withdrawn_online: int = 0
    paid_online: int = 0
    received_in_person: int = 0
    brought_by_post: int = 0
    results_by_post: int = 0  # results ready of dossiers whose result goes by post, first time
    resent: int = 0  # results ready again after the post brought them back
    duplicates: int = 0  # exact copies of messages published before
    bad: int = 0  # messages the hub must dead-letter, a conflicting copy included


class Day:
    """``count`` dossiers at the sample province and everything that follows from them.

    The partners publish as ``user``; where the broker checks ``user_id`` against the connection's
    user (RabbitMQ: ``user_id_checked``), a spoofed user cannot be published, so that bad message is
    left out.
    """

    def __init__(
        self,
        count: int,
        max_body_bytes: int,
        seed: int = 45,
        user: str = "guest",
        user_id_checked: bool = False,
    ) -> None:
        self._count = count
        self._max_body_bytes = max_body_bytes
        self._spoofable = not user_id_checked
        self._chooser = random.Random(seed)
        self._portal = FakePortal(seed=seed, user=user)
        self._onestop = FakeOnestop(seed=seed + 1, user=user)
        self._postal = FakePostal(seed=seed + 2, user=user)
        self._expected = Expected()
        self.figures = DayFigures()
        self._round = 0
        self._last: list[Outbound] = []  # the last round's valid messages
        self._latest = 0  # the latest timestamp published: the post works after it
        self._first_ready: dict[str, Any] | None = None  # a result of round 1, to step back from

    @property
    def expected(self) -> Expected:
        flags = Counter({(POST, flag): n for flag, n in self._postal.flagged.items()})
        return Expected(self._expected.outcomes, flags)

    @property
    def journeys(self) -> Counter[str]:
        """The post's orders by how they went (``connectors.postal.fake`` journeys)."""
        return self._postal.journeys

    def next_round(self, delivered: Mapping[str, Sequence[Delivery]]) -> list[Outbound]:
        self._round += 1
        valid = self._opening() if self._round == 1 else self._answers(delivered)
        if not valid:
            return []
        planned: list[Planned] = [(m, Disposition.FORWARDED, None) for m in valid]
        extra = [*self._bad(), *self._copies()]
        for item in extra:
            planned.insert(self._chooser.randrange(len(planned) + 1), item)
        for message, outcome, reason in planned:
            self._expected.outcomes[(_partner(message), outcome, reason)] += 1
        self._last = valid
        messages = [message for message, _, _ in planned]
        self._latest = max(self._latest, *(m.properties.timestamp or 0 for m in messages))
        return messages

    # -- round 1 ------------------------------------------------------------------------------------

    def _opening(self) -> list[Outbound]:
        """The day's filings and the counters' work, in time order."""
        online = round(self._count * ONLINE_SHARE)
        filings = [self._online_filing() for _ in range(online)]
        withdrawn = [body for body, _ in filings if self._chooser.random() < WITHDRAWAL_SHARE]
        payments = [self._payment(body) for body, _ in filings if body not in withdrawn]
        paid = [message for message in payments if message is not None]
        counter = [self._counter_dossier() for _ in range(self._count - online)]
        self.figures.filed_online = len(filings)
        self.figures.withdrawn_online = len(withdrawn)
        self.figures.paid_online = len(paid)
        messages = [
            *(message for _, message in filings),
            *(self._portal.withdrawal(body) for body in withdrawn),
            *paid,
            *(self._onestop.message(kind, body) for dossier in counter for kind, body in dossier),
        ]
        return sorted(messages, key=lambda message: message.properties.timestamp or 0)

    def _payment(self, body: dict[str, Any]) -> Outbound | None:
        """Some citizens pay the fees online right after filing (flow 7)."""
        return self._portal.payment(body) if self._chooser.random() < PAYMENT_SHARE else None

    def _online_filing(self) -> tuple[dict[str, Any], Outbound]:
        """A filing, published as it is filed (the portal stamps it with its clock)."""
        by_post = self._chooser.random() < RESULT_BY_POST_SHARE
        collect = by_post and self._chooser.random() < COLLECTION_SHARE
        self.figures.collections_requested += collect
        body = self._portal.dossier_submitted(self._unit(), by_post=by_post, collect=collect)
        return body, self._portal.message("dossier.submitted", body)

    def _counter_dossier(self) -> list[tuple[str, dict[str, Any]]]:
        dossier = self._onestop.counter_dossier(self._unit())
        received = dossier[0][1]
        if received["KenhThucHien"] == IN_PERSON:
            self.figures.received_in_person += 1
        else:
            self.figures.brought_by_post += 1
        self._count_results(received, dossier)
        ready = [body for kind, body in dossier if kind == "result.ready"]
        self._first_ready = self._first_ready or next(iter(ready), None)
        return dossier

    def _count_results(self, filing: Mapping[str, Any], dossier: list[tuple[str, dict[str, Any]]]) -> None:
        if filing["HinhThucNhanKetQua"] == 1:
            self.figures.results_by_post += sum(kind == "result.ready" for kind, _ in dossier)

    def _unit(self) -> str:
        legacy = self._chooser.random() < LEGACY_SHARE
        return self._chooser.choice(LEGACY_UNITS if legacy else CURRENT_UNITS)

    # -- later rounds -------------------------------------------------------------------------------

    def _answers(self, delivered: Mapping[str, Sequence[Delivery]]) -> list[Outbound]:
        units = sorted(
            self._units_answer(delivered.get(ONESTOP, ())), key=lambda m: m.properties.timestamp or 0
        )
        return [*units, *self._post_answers(delivered.get(POST, ()))]

    def _units_answer(self, delivered: Sequence[Delivery]) -> list[Outbound]:
        """The units process the dossiers filed online (unless withdrawn) and send out again the
        results the post brought back."""
        received = [(d.routing_key, json.loads(d.body)) for d in delivered]
        withdrawn = {body["MaHoSo"] for kind, body in received if kind == "dossier.withdrawn"}
        paid = {body["MaHoSo"] for kind, body in received if kind == "payment.completed"}
        messages: list[Outbound] = []
        for kind, body in received:
            if kind == "dossier.submitted" and body["MaHoSo"] not in withdrawn:
                dossier = self._onestop.online_dossier(body, fees_paid=body["MaHoSo"] in paid)
                self._count_results(body, dossier)
                messages += [self._onestop.message(*kind_and_body) for kind_and_body in dossier]
            elif kind == "result.delivery" and body["TrangThai"] == DeliveryState.RETURNED_TO_AGENCY:
                self.figures.resent += 1
                messages.append(self._onestop.message("result.ready", self._onestop.result_ready_again(body)))
        return messages

    def _post_answers(self, delivered: Sequence[Delivery]) -> list[Outbound]:
        orders = [json.loads(d.body) for d in delivered if d.routing_key == "order.create"]
        cancels = [json.loads(d.body) for d in delivered if d.routing_key == "order.cancel"]
        return self._postal.answer(orders, cancels, after=datetime.fromtimestamp(self._latest))

    # -- what the hub must refuse or recognise ------------------------------------------------------

    def _bad(self) -> list[Planned]:
        """Round 1: the malformed messages; round 2: what the dossier rules refuse."""
        bad: list[tuple[Reason, Outbound]] = []
        if self._round == 1:
            bad = self._malformed()
        elif self._round == 2:
            bad = self._against_the_rules()
        self.figures.bad += len(bad)
        return [(message, Disposition.DEAD_LETTERED, reason) for reason, message in bad]

    def _malformed(self) -> list[tuple[Reason, Outbound]]:
        step_of = self._first_ready["MaHoSo"] if self._first_ready else None
        bad = [
            *self._portal.bad_messages(self._unit(), self._max_body_bytes),
            *self._onestop.bad_messages(self._unit(), step_of),
        ]
        return [(reason, m) for reason, m in bad if self._spoofable or reason is not Reason.WRONG_INGRESS]

    def _against_the_rules(self) -> list[tuple[Reason, Outbound]]:
        """A step back from a result of round 1 (committed by now, so refused whatever the order
        of delivery), a step of a dossier never filed, tracking events of an order never placed."""
        steps = self._onestop.steps_against_the_rules(self._first_ready) if self._first_ready else []
        return [*steps, *self._postal.bad_messages(NEVER_FILED)]

    def _copies(self) -> list[Planned]:
        """Exact copies of a few of the last round's messages (deduplicated), and in round 2 one
        copy of a processing step with the same id and another body (``conflicting_duplicate``)."""
        if self._round == 1 or not self._last:
            return []
        last = self._last
        step = next((i for i, m in enumerate(last) if m.routing_key == "dossier.progress"), None)
        edited: list[Planned] = []
        if self._round == 2 and step is not None:
            edited = [(_edited(last[step]), Disposition.DEAD_LETTERED, Reason.CONFLICTING_DUPLICATE)]
            last = [*last[:step], *last[step + 1 :]]  # not also copied exactly
        exact = self._chooser.sample(last, max(1, round(len(last) * DUPLICATE_SHARE)))
        self.figures.duplicates += len(exact)
        self.figures.bad += len(edited)
        return [*((message, Disposition.DUPLICATE, None) for message in exact), *edited]


def _edited(message: Outbound) -> Outbound:
    """``message`` with the same properties (its id) and a corrected text in its body."""
    body = json.loads(message.body)
    body["NoiDungXuLy"] += " (đính chính)"
    return replace(message, body=json.dumps(body, ensure_ascii=False).encode())


def _partner(message: Outbound) -> str:
    return message.exchange.removeprefix("ingress.")
