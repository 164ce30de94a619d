"""Per-event cost of the canonical encoding: encode and decode each record's golden examples.

A benchmark that prints figures, not a test. Decoding is measured twice: with the writer's own
schema as reader, and with schema resolution against another released revision where one exists.

    .venv/bin/python scripts/bench_avro.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry


def per_call_microseconds(action: Callable[[], object], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        action()
    return (time.perf_counter() - started) / rounds * 1e6


def examples(root: Path) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.parent.name, path.stem, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted((root / "examples").glob("*/*.json"))
    ]


def measure(
    registry: Registry, name: str, datum: dict[str, Any], rounds: int
) -> tuple[int, float, float, float]:
    payload, headers = registry.encode(name, datum)
    fingerprint = headers["x-hub-schema-fingerprint"]
    encode = per_call_microseconds(lambda: registry.encode(name, datum), rounds)
    decode = per_call_microseconds(lambda: registry.decode(payload, fingerprint), rounds)
    oldest = registry.released(name)[0]
    resolve = per_call_microseconds(lambda: registry.decode(payload, fingerprint, reader=oldest), rounds)
    return len(payload), encode, decode, resolve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    registry = Registry.load(CATALOGUE)
    print(f"{'record':45} {'example':8} {'bytes':>6} {'encode µs':>10} {'decode µs':>10} {'resolve µs':>11}")
    totals = [0.0, 0.0, 0.0]
    cases = examples(CATALOGUE)
    for name, case, datum in cases:
        size, *costs = measure(registry, name, datum, rounds)
        totals = [t + c for t, c in zip(totals, costs, strict=True)]
        print(f"{name:45} {case:8} {size:6d} {costs[0]:10.1f} {costs[1]:10.1f} {costs[2]:11.1f}")
    mean = [t / len(cases) for t in totals]
    print(
        f"{'mean over ' + str(len(cases)) + ' examples':54} {mean[0]:17.1f} {mean[1]:10.1f} {mean[2]:11.1f}"
    )


if __name__ == "__main__":
    main()
