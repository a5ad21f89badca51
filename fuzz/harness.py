"""The atheris entry shared by the harnesses: libFuzzer's arguments, slow inputs noted (not only hangs), a crashing
input saved, and where the executions went (the targets' labels, printed as ``OUTCOMES:`` every 65,536 executions
and at the end of a ``-runs`` run)."""
import collections
import dis
import hashlib
import operator
import os
import sys
import time
from pathlib import Path

SLOW_S = float(os.environ.get("FUZZ_SLOW_S", "1.0"))

# The operand types atheris's comparison hook is given (everything else is compared without it; see below).
HOOKED_TYPES = frozenset({int, bool, float, complex, str, bytes, bytearray, type(None), tuple, list, dict, set,
                          frozenset})


def guard_comparison_leak() -> None:
    """Keep array comparisons away from atheris's comparison hook, which leaks their results.

    Atheris replaces every ``a < b`` (any ``COMPARE_OP``) in instrumented code by ``atheris._trace_cmp(a, b, op, …)``,
    looked up on the module at each call. In atheris 3.0.0 that hook keeps one reference to each result that is not
    a Python bool — a torch tensor's ``a < 0`` in the integer entropy parameters (``models/integer_scales.py``) —
    so every decoded file leaked its comparison tensors: 8–18 KB an execution, 280 MB in 12,000 executions of the
    fsd harness, the fuzzer's memory limit after about 865,000 (measured in session 14; the same inputs through
    the target in a plain loop hold 927 MB flat). Comparisons of Python's own types still go through the hook (they
    guide the fuzzer through headers and lengths); the others are computed directly."""
    import atheris

    native = atheris._trace_cmp
    try:
        from atheris.version_dependent import CMP_OP_SHIFT_AMOUNT as shift
    except ImportError:  # an atheris that keeps it elsewhere: Python 3.11's layout
        shift = 0
    ops = {"<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
           ">=": operator.ge}
    by_id = [ops[name] for name in dis.cmp_op]

    def trace_cmp(a, b, op, counter, is_const):
        if type(a) in HOOKED_TYPES and type(b) in HOOKED_TYPES:
            return native(a, b, op, counter, is_const)
        return by_id[op >> shift](a, b)

    atheris._trace_cmp = trace_cmp


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

    guarded = os.environ.get("FUZZ_NATIVE_CMP") == "1"  # 1: atheris's own hook for every comparison (the leak)

    def first_input(blob: bytes) -> None:
        # atheris.Fuzz() puts libFuzzer's hooks on the atheris module as it starts: the guard goes in after that
        nonlocal guarded
        if not guarded:
            guard_comparison_leak()
            guarded = True
        one_input(blob)

    atheris.Setup(sys.argv, first_input)
    atheris.Fuzz()
