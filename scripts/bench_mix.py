"""Benchmark: a mixed day (the demo's mix of every partner's kinds) through the hub on PostgreSQL,
against the raw relay on the same messages in the same run (issue 12: "a mixed day on PostgreSQL:
report the ratio").

The day is the demo's (``connectors.scenario.Day``, seeded; the post answers the orders in the order
of the hub's egress, so the day varies a little between runs) for ``--dossiers`` dossiers at the
sample province (connectors/samples/province.toml). It is played in
the demo's rounds, because most of it answers what the hub delivered: the one-stop-shop system
processes the online filings the hub brought it, the post answers the orders the hub placed with
its tracking events, the units send again the results the post brought back. Only round 1 (the
portal's filings, withdrawals and payments, the counters' dossiers and steps) could be made up
front; the post would send nothing. So each round is:

1. preloaded: published with confirms to the partners' ingress exchanges, in the scenario's order,
   while no worker runs (not timed);
2. drained: a fresh in-process ``Worker`` (``hub.app``, as ``bench_relay.py``'s in-process phase)
   settles the round's inputs. The clock starts at its first acknowledgement, because connecting
   and claiming the partitions (1.5 to 2.5 s, once per round here) are no input's cost;
3. answered: the script takes what the hub put on the one-stop-shop's and the post's egress queues
   and gives it to the scenario, which writes the next round, until it has nothing to send.

A round's inputs are all on the broker before its worker starts, and each round waits for the one
before, as in the demo: no input arrives before its dossier, except on purpose (a step of a dossier
never filed, tracking events of an order never placed). As in the demo, the park window is 0, so
those are dead-lettered at once (``unknown_dossier``) instead of waiting for their dossier
(``park_window_seconds``, 15 minutes by default). Within a round, a partner's messages about one
dossier stay in order: they share the partner's ingress queue, and the one worker routes them to the
dossier's partition in that order. At the end the ledger must hold exactly the outcomes the scenario
expects (forwarded, duplicate, or dead-lettered with the expected reason), which would fail had any
message overtaken its dossier.

The hub's rate is the inputs timed over the rounds' drain times summed. Then the raw relay
(``bench_relay.py``'s ``RawRelay``) relays every message of the day, preloaded into its input queue,
in the same vhost; the ratio is the hub's inputs/s over its msg/s. The script prints the mix (by
partner and kind, and by outcome), each round, both rates and the ratio; it exits non-zero only on
errors, never because of a figure. The vhost and the database are deleted also on failure.

    python -m scripts.bench_mix [--dossiers 2000] [--timeout 120]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--broker amqp://guest:guest@127.0.0.1:5672]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from connectors.scenario import Day
from hub.app import Hub, build
from hub.bus.topology import egress_queue
from hub.cli_demo import DEMO_COUNT, DEMO_SAMPLE_CONFIG
from hub.demo import MAX_ROUNDS, TAKE_LIMIT
from hub.envelope import Delivery, Outbound
from hub.errors import FatalError, TransientError
from hub.outcomes import Disposition
from hub.settings import Settings, load_settings
from scripts.bench_relay import (
    POSTGRES_SERVER,
    POSTGRESQL,
    BenchError,
    broker_user,
    fresh_store,
    fresh_vhost,
    run_benchmark,
    run_raw,
)

ANSWERING = ("onestop", "postal")  # the partners that answer what the hub delivered to them
Mix = Counter[tuple[str, str]]  # (partner, kind) -> messages


@dataclass(frozen=True)
class RoundRun:
    mix: Mix
    timed: int  # inputs settled after the worker's first acknowledgement
    seconds: float


def partner_of(message: Outbound) -> str:
    return message.exchange.removeprefix("ingress.")


def mix_settings(url: str, database: str, user: str) -> Settings:
    """The demo's settings: the sample province's units, the partners publishing as ``user``, and no
    park window (see the docstring)."""
    return Settings(
        broker_url=SecretStr(url),
        database_url=SecretStr(database),
        agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies,
        default_ingress_users=[user],
        park_window_seconds=0,
    )


def drain(hub: Hub, count: int, timeout: float) -> tuple[int, float]:
    """A fresh worker in a thread until it settled ``count`` inputs: the inputs settled after its first
    acknowledgement, and the seconds they took."""
    worker, stop = hub.worker(), threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            worker.run(stop)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=work, name="bench-worker", daemon=True)
    thread.start()
    try:
        settled = worker.wait_settled(1, timeout)
        first, started = worker.settled, time.perf_counter()
        settled = settled and worker.wait_settled(count, timeout)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        thread.join(timeout)
    if errors or not settled:
        cause = repr(errors[0]) if errors else f"timed out after {timeout:g} s"
        raise BenchError(f"hub worker: {cause} ({worker.settled} of {count} settled)")
    return count - first, seconds


def play_day(hub: Hub, day: Day, timeout: float) -> tuple[list[RoundRun], list[Outbound]]:
    """Every round of ``day``: preloaded, drained, answered. The rounds and every message published."""
    rounds: list[RoundRun] = []
    published: list[Outbound] = []
    answered: dict[str, list[Delivery]] = {}
    for _ in range(MAX_ROUNDS):
        messages = day.next_round(answered)
        if not messages:
            return rounds, published
        hub.transport.publish_confirmed(messages)
        timed, seconds = drain(hub, len(messages), timeout)
        answered = {p: hub.transport.take(egress_queue(p), limit=TAKE_LIMIT, partner=p) for p in ANSWERING}
        rounds.append(RoundRun(Counter((partner_of(m), m.routing_key) for m in messages), timed, seconds))
        published += messages
        print(f"  round {len(rounds)}: {len(messages)} inputs, {timed} timed in {seconds:.2f} s")
    raise BenchError(f"the day did not end within {MAX_ROUNDS} rounds")


def check_outcomes(hub: Hub, day: Day) -> Counter[tuple[str, str]]:
    """The ledger's outcomes must be the scenario's expected ones; (partner, outcome) -> inputs."""
    ledger: Counter[tuple[str, str, str | None]] = Counter()
    for tally in hub.ledger.tally():
        reason = tally.reason if tally.outcome == Disposition.DEAD_LETTERED else None
        ledger[(tally.partner, tally.outcome, reason)] += tally.messages
    expected = Counter(
        {(p, str(o), None if r is None else str(r)): n for (p, o, r), n in day.expected.outcomes.items()}
    )
    if ledger != expected:
        differences = sorted(
            f"{' '.join(filter(None, key))}: expected {expected[key]}, the ledger has {ledger[key]}"
            for key in ledger.keys() | expected.keys()
            if ledger[key] != expected[key]
        )
        raise BenchError("the ledger differs from the scenario: " + "; ".join(differences))
    outcomes: Counter[tuple[str, str]] = Counter()
    for (partner, outcome, _), count in ledger.items():
        outcomes[(partner, outcome)] += count
    return outcomes


def print_mix(rounds: Sequence[RoundRun], outcomes: Counter[tuple[str, str]]) -> None:
    mix: Mix = sum((r.mix for r in rounds), Counter())
    print(f"the mix: {mix.total()} inputs in {len(rounds)} rounds")
    for (partner, kind), count in sorted(mix.items()):
        print(f"  {partner:8} {kind:24} {count:6}")
    print("  outcomes: " + ", ".join(f"{p} {o} {n}" for (p, o), n in sorted(outcomes.items())))


def benchmark(arguments: argparse.Namespace, user: str, workdir: Path) -> None:
    max_body = Settings.model_fields["max_body_bytes"].default
    day = Day(arguments.dossiers, max_body, user=user, user_id_checked=True)
    with (
        fresh_vhost(arguments.broker, f"bench-mix-{uuid.uuid4().hex[:10]}") as url,
        fresh_store(POSTGRESQL, arguments.postgres, workdir, "bench_mix") as database,
    ):
        hub = build(mix_settings(url, database, user))
        hub.transport.apply_topology(hub.topology)
        print(f"hub pipeline (Worker, PostgreSQL), the demo's day of {arguments.dossiers} dossiers:")
        rounds, published = play_day(hub, day, arguments.timeout)
        print_mix(rounds, check_outcomes(hub, day))
        seconds = sum(r.seconds for r in rounds)
        if seconds <= 0:
            raise BenchError("every round settled in its worker's first acknowledgement: raise --dossiers")
        hub_rate = sum(r.timed for r in rounds) / seconds
        print(f"hub pipeline: {hub_rate:.0f} inputs/s")
        print(f"raw pika relay, the same {len(published)} messages:")
        raw_rate = len(published) / run_raw(url, published, arguments.timeout)
        print(f"raw pika relay: {raw_rate:.0f} msg/s")
    print(f"ratio hub/raw, a mixed day on PostgreSQL: {hub_rate / raw_rate:.2f}")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--dossiers", type=int, default=DEMO_COUNT, help=f"the day's dossiers (default {DEMO_COUNT})"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per round and relay")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672", help="base AMQP URL")
    parser.add_argument(
        "--postgres",
        default=POSTGRES_SERVER,
        help=f"PostgreSQL server: a fresh database is created on it and dropped at the end "
        f"(default {POSTGRES_SERVER})",
    )
    arguments = parser.parse_args(argv)
    if arguments.dossiers < 1:
        parser.error("--dossiers must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.getLogger("hub").setLevel(logging.ERROR)  # the day's dead letters are expected
    return run_benchmark(lambda: run(arguments), also=(FatalError, TransientError))


def run(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-mix-") as workdir:
        benchmark(arguments, broker_user(arguments.broker), Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
