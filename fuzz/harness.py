"""The atheris entry shared by the harnesses: libFuzzer's arguments, slow inputs noted (not only hangs), a crashing
input saved, and where the executions went (the targets' labels, printed as ``OUTCOMES:`` every 65,536 executions
and at the end of a ``-runs`` run)."""
import collections
import hashlib
import os
import sys
import time
from pathlib import Path

SLOW_S = float(os.environ.get("FUZZ_SLOW_S", "1.0"))


def main(target) -> None:
    import atheris

    slow_dir = os.environ.get("FUZZ_SLOW_DIR")
    prefix = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("-artifact_prefix=")), "./")

    def keep(blob: bytes, kind: str) -> str:
        path = f"{prefix}{kind}-{hashlib.sha1(blob).hexdigest()}"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(blob)
        return path

    outcomes = collections.Counter()
    runs = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("-runs=")), -1)

    def one_input(blob: bytes) -> None:
        t0 = time.perf_counter()
        try:
            outcomes[target(blob)] += 1
            n = sum(outcomes.values())
            if n % 65536 == 0 or n == runs:
                print(f"OUTCOMES: {n} {dict(outcomes.most_common())}", file=sys.stderr, flush=True)
        except BaseException:  # saved here too: libFuzzer's own crash file is not always written (a pending alarm)
            print(f"INPUT SAVED: {keep(blob, 'crash')}", file=sys.stderr, flush=True)
            raise
        finally:
            took = time.perf_counter() - t0
            if took > SLOW_S:
                name = "slow-" + hashlib.sha1(blob).hexdigest()[:16]
                print(f"SLOW INPUT: {took:.2f} s ({len(blob)} bytes) {name}", file=sys.stderr, flush=True)
                if slow_dir:
                    Path(slow_dir).mkdir(parents=True, exist_ok=True)
                    (Path(slow_dir) / name).write_bytes(blob)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
