"""Peak memory of running notebooks the way Binder does (full size, FASDIFF_FAST unset, CPU): does each fit
Binder's ~2 GB?

    python benchmarks/binder_memory.py                       # notebooks 00 and 01, full size
    python benchmarks/binder_memory.py 00 01 04 --fast       # others, or in FAST mode

Each notebook runs in its own Python process (nbclient, the ``python3`` kernel of this environment); after the
kernel has exited, ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` of that process is the peak resident memory of
its largest child, the kernel (the Python and torch runtime included). Binder counts the whole container, the
Jupyter server too (about 100 MB more). Prints one line per notebook and the machine it ran on.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNER = """
import resource, sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
t = time.perf_counter()
NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
print(f"{time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", default=["00", "01"], help="notebook numbers (default 00 01)")
    ap.add_argument("--fast", action="store_true", help="FAST mode (what CI runs) instead of full size")
    args = ap.parse_args(argv)
    env = dict(os.environ, FASDIFF_FAST="1" if args.fast else "0", MPLBACKEND="Agg")
    print(f"# {platform.machine()}, {os.cpu_count()} CPU threads, Python {platform.python_version()}, "
          f"{'FAST mode' if args.fast else 'full size'}")
    for num in args.notebooks:
        (path,) = sorted((ROOT / "notebooks").glob(f"{num}_*.ipynb"))
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", RUNNER, str(path), str(path.parent)], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            print(f"{path.name}: failed after {time.perf_counter() - t0:.0f} s\n{r.stderr[-2000:]}")
            return 1
        seconds, peak_mb = r.stdout.strip().splitlines()[-1].split()
        print(f"{path.name}: peak kernel memory {peak_mb} MB, {seconds} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
