"""The score of a mutation run (``mutmut results --all true`` on stdin) over the mutants named by the
globs given as arguments (all when none), and the diff of every survivor (``mutmut show``); with
``--pending`` first, only the names of those mutants not checked yet, one a line (and of those that
survived, when MUTATION_RECHECK=1: after tests were added to kill them)."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

MUTMUT = str(Path(sys.executable).with_name("mutmut"))
KILLED = {"killed", "timeout", "caught by type check"}  # a timeout is a mutant the tests stopped
UNDECIDED = {"not checked", "skipped"}


def main(globs: list[str]) -> int:
    pending = globs[:1] == ["--pending"]
    globs = globs[1:] if pending else globs
    statuses: dict[str, str] = {}
    for line in sys.stdin:
        name, _, status = line.strip().rpartition(": ")
        if name and (not globs or any(fnmatch.fnmatch(name, g) for g in globs)):
            statuses[name] = status
    if pending:
        recheck = os.environ.get("MUTATION_RECHECK") == "1"
        again = UNDECIDED | ({"survived", "suspicious"} if recheck else set())
        print("\n".join(name for name, status in statuses.items() if status in again))
        return 0
    counts = Counter(statuses.values())
    decided = sum(n for status, n in counts.items() if status not in UNDECIDED)
    killed = sum(counts[status] for status in KILLED)
    print(f"{len(statuses)} mutants: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    if decided:
        print(f"score: {killed}/{decided} = {100 * killed / decided:.1f}% of the mutants checked")
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED | UNDECIDED)
    for name in survivors:
        print(f"\n{statuses[name]}: {name}")
        shown = subprocess.run([MUTMUT, "show", name], capture_output=True, text=True, check=False)
        print("\n".join(line for line in shown.stdout.splitlines()[1:] if not line.startswith("#")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
