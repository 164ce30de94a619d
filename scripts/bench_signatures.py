"""Prints what signed messages cost: one Ed25519 signature and one check, and the pipeline's time per
online filing with egress signing off and on, and with the partner's signature required.

A benchmark, not a test: ``.venv/bin/python scripts/bench_signatures.py [COUNT]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import connectors
from connectors.portal.fake import FakePortal
from hub.agencies import AgencyRegistry
from hub.connector import Context
from hub.envelope import Delivery, Outbound
from hub.event_seal import KeysInMemory
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings, load_settings
from hub.signatures import Freshness, PartnerKeys, SignatureMode, Signer, Verifier, key_id_of, public_key_text

SAMPLES = Path(connectors.__file__).parent / "samples"
PROVINCE_UNIT = "000.00.30.H30"
PARTNER_KEY = Ed25519PrivateKey.from_private_bytes(bytes([1] * 32))


def per_call(action: Callable[[], object], count: int) -> float:
    """Microseconds per call of ``action``, the best of three rounds (the machine may be shared)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            action()
        best = min(best, (time.perf_counter() - started) / count)
    return best * 1e6


def filings(count: int, now: datetime) -> list[Outbound]:
    portal = FakePortal(seed=1)
    unit = PROVINCE_UNIT
    return [portal.message("dossier.submitted", portal.dossier_submitted(unit), at=now) for _ in range(count)]


def pipeline_cost(settings: Settings, messages: list[Outbound], now: datetime) -> tuple[float, int]:
    """Microseconds per input through the pipeline, and the egress outputs per input."""
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    run = Pipeline(chosen, settings, Context(AgencyRegistry(settings.agencies)), Registry.load(CATALOGUE),
                   keys=KeysInMemory(), clock=lambda: now)  # fmt: skip
    deliveries = [Delivery("portal", m.exchange, m.routing_key, m.body, m.properties) for m in messages]
    outputs = sum(o.exchange.startswith("egress.") for o in run.process(deliveries[0]).outputs)
    items = iter(deliveries * 3)
    return per_call(lambda: run.process(next(items)), len(deliveries)), outputs


def main(count: int) -> None:
    signer = Signer(PARTNER_KEY)
    body = filings(1, datetime.now(UTC))[0].body
    keys = PartnerKeys(SignatureMode.REQUIRED, {signer.key_id: PARTNER_KEY.public_key()})
    verifier = Verifier({"portal": keys}, Freshness(86_400, 300), frozenset())
    message = filings(1, datetime.fromtimestamp(1_800_000_000, UTC))[0]
    signed = replace(message, properties=signer.sign(message.properties, message.body))
    delivery = Delivery("portal", signed.exchange, signed.routing_key, signed.body, signed.properties)
    print(f"body {len(body)} bytes")
    print(f"sign:   {per_call(lambda: signer.headers('portal-1', 1_800_000_000, body), count):6.0f} us")
    print(f"verify: {per_call(lambda: verifier.check(delivery, 1_800_000_000_000), count):6.0f} us")
    now = datetime.now(UTC)
    plain = Settings(agencies=load_settings(SAMPLES / "province.toml").agencies, sign_egress=False)
    signing = plain.model_copy(update={"sign_egress": True})
    public = {key_id_of(PARTNER_KEY.public_key()): public_key_text(PARTNER_KEY.public_key())}
    checking = signing.model_copy(
        update={"signatures": {"portal": "required"}, "signature_public_keys": {"portal": public}}
    )
    messages = filings(count, now)
    signed_messages = [replace(m, properties=signer.sign(m.properties, m.body)) for m in messages]
    for label, settings, inputs in (
        ("egress unsigned", plain, messages),
        ("egress signed", signing, messages),
        ("signed, required", checking, signed_messages),
    ):
        cost, outputs = pipeline_cost(settings, inputs, now)
        print(f"pipeline per online filing ({outputs} egress outputs), {label}: {cost:6.0f} us")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
