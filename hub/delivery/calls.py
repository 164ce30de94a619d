"""The calls to a partner in flight, on a pool of ``concurrency`` threads.

The runner's thread submits and collects; the threads only call the adapter and time the call. A
call's outcome comes back as a ``Result`` holding the exception the adapter raised, if any, so the
runner decides everything (ack, retry, dead letter) on its own thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from hub.delivery.contract import Adapter
from hub.delivery.lanes import Held

PROBE = ""  # the dossier of the breaker's probe, which carries no message


@dataclass(frozen=True)
class Result:
    dossier: str
    group: Sequence[Held]  # empty for the probe
    error: Exception | None  # None: accepted (or the probe answered)
    seconds: float

    @property
    def probe(self) -> bool:
        return not self.group


class Calls:
    def __init__(self, adapter: Adapter, concurrency: int, on_done: Callable[[], None]) -> None:
        self._adapter, self.limit = adapter, concurrency
        self._on_done = on_done  # wakes the runner's thread (thread-safe)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix=f"hub-deliver-{adapter.partner}")
        self._running: set[Future[Result]] = set()

    def __len__(self) -> int:
        return len(self._running)

    def free(self) -> int:
        return self.limit - len(self._running)

    def deliver(self, dossier: str, group: Sequence[Held]) -> None:
        messages = [held.message for held in group]
        self._submit(dossier, group, lambda: self._adapter.deliver(messages))

    def probe(self) -> None:
        self._submit(PROBE, (), self._adapter.probe)

    def finished(self) -> list[Result]:
        """The results of the calls that ended, taken out."""
        done = [future for future in self._running if future.done()]
        self._running.difference_update(done)
        return [future.result() for future in done]

    def drain(self) -> list[Result]:
        """Wait for every call in flight; their results."""
        for future in list(self._running):
            future.exception()  # waits; a Result never raises
        return self.finished()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _submit(self, dossier: str, group: Sequence[Held], call: Callable[[], None]) -> None:
        future = self._pool.submit(_timed, dossier, group, call)
        future.add_done_callback(lambda _: self._on_done())
        self._running.add(future)


def _timed(dossier: str, group: Sequence[Held], call: Callable[[], None]) -> Result:
    started = time.perf_counter()
    try:
        call()
        error: Exception | None = None
    except Exception as failure:  # the runner sorts it out: refused, unavailable, or a bug (transient)
        error = failure
    return Result(dossier, group, error, time.perf_counter() - started)
