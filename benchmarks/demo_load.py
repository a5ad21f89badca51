"""The launched demo under load, with hostile files uploaded to its decode panel (issue: hostile files).

    python benchmarks/demo_load.py                 # 50 concurrent requests (~2 min on 2 CPU cores)
    python benchmarks/demo_load.py --requests 200  # more
    FASDIFF_FAST=1 python benchmarks/demo_load.py  # 8 requests: a smoke run

Starts ``fasdiff-lite demo`` as its own process on 127.0.0.1 (a free port), warms it up with one compare, and
reads its memory (RSS of the server process). Then sends ``--requests`` requests at once through gradio_client,
one thread each: a quarter are decodes of hostile ``.fsd`` files (the sample faces' files mutated with
``bitstream.mutate``: relabelled sizes, another model's id, cut or flipped bytes, random streams), the rest
compares at random rates. Prints a table: per kind of request, how many came back, how many failed, and the
slowest; then the server's memory before, right after, and after ``--settle`` seconds idle, and whether the server
is still up. A hostile decode must come back as the demo's own one-line message; anything else is counted as an
error.
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fasdiff_lite import bitstream, data, demo, settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def hostile_files(folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` mutated ``.fsd`` files made from the sample faces (none of them unchanged)."""
    from fasdiff_lite.models import zoo

    rng = random.Random(seed)
    codec = zoo.cached("hf-compressor")
    valid = [codec.compress(data.to_tensor(f), r) for f in data.sample_faces(64) for r in (0.0, 0.5, 1.0)]
    out = []
    while len(out) < n:
        src = rng.choice(valid)
        blob = bitstream.mutate(src, rng)
        if blob == src:
            continue
        path = folder / f"hostile_{len(out):03d}.fsd"
        path.write_bytes(blob)
        out.append(path)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=8 if settings.is_fast() else 50)
    p.add_argument("--settle", type=float, default=10.0, help="seconds idle before the last memory reading")
    p.add_argument("--seed", type=int, default=20261130)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for all answers")
    p.add_argument("--rounds", type=int, default=2, help="send the whole load this many times (memory after each)")
    args = p.parse_args(argv)

    from gradio_client import Client, handle_file

    port = free_port()
    tmp = tempfile.TemporaryDirectory(prefix="demo-load-")
    # the server's console goes to a file: an unread pipe fills up (gradio prints a traceback for every refused
    # file) and then blocks the server's event loop on its next write
    log = open(Path(tmp.name) / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "fasdiff_lite.cli", "demo", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        url = f"http://127.0.0.1:{port}/"
        t0 = time.time()
        while True:
            if server.poll() is not None:
                print((Path(tmp.name) / "server.log").read_text(errors="replace")[-2000:])
                raise SystemExit("the demo did not start")
            try:
                client = Client(url, verbose=False, download_files=tmp.name)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.time() - t0 > 120:
                    raise SystemExit("the demo did not answer within 120 s") from None
                time.sleep(1)
        sample = data.sample_names()[0]
        codecs = demo.default_codecs()
        client.predict(None, None, sample, 0.3, "64", 4, 1.0, True, codecs, False, api_name="/compare")  # warm-up: models load
        base = rss_mb(server.pid)
        n_hostile = max(1, args.requests // 4)
        files = hostile_files(Path(tmp.name), n_hostile, args.seed)
        rng = random.Random(args.seed)
        jobs = [("decode", f) for f in files] + [("compare", rng.random()) for _ in range(args.requests - n_hostile)]
        rng.shuffle(jobs)

        def one(job):
            kind, arg = job
            c = Client(url, verbose=False, download_files=tmp.name)
            t = time.perf_counter()
            try:
                if kind == "compare":
                    table = c.predict(None, None, sample, arg, "64", 4, 1.0, True, codecs, False, api_name="/compare")[1]
                    ok = len(table["data"]) >= 2
                    why = "" if ok else "empty table"
                else:
                    c.predict(handle_file(str(arg)), 4, 1.0, api_name="/decode")
                    ok, why = False, "a hostile file decoded"
            except Exception as e:  # noqa: BLE001 - what the client raised is the answer
                msg = str(e)
                ok = kind == "decode" and "Traceback" not in msg and "upstream" not in msg.lower() and len(msg) > 0
                why = "" if ok else msg[:200]
            return kind, ok, why, time.perf_counter() - t

        peak, results, after = base, [], []
        t0 = time.time()
        for _ in range(args.rounds):
            with ThreadPoolExecutor(max_workers=args.requests) as pool:
                futures = [pool.submit(one, j) for j in jobs]
                while not all(f.done() for f in futures):
                    peak = max(peak, rss_mb(server.pid))
                    if time.time() - t0 > args.timeout * args.rounds:
                        raise SystemExit(f"not all answers within {args.timeout} s a round")
                    time.sleep(0.2)
                results += [f.result() for f in futures]
            after.append(rss_mb(server.pid))
            print(f"round {len(after)}: {time.time() - t0:.0f} s, server {after[-1]:.0f} MB", file=sys.stderr, flush=True)
        wall = (time.time() - t0) / args.rounds
        time.sleep(args.settle)
        settled = rss_mb(server.pid)
        alive = server.poll() is None

        print(f"{args.requests} concurrent requests to the demo on 127.0.0.1 ({n_hostile} hostile .fsd uploads), "
              f"{args.rounds} round(s), each answered in {wall:.1f} s on average")
        print("| request | sent | as expected | errors | slowest s |")
        print("|---|---|---|---|---|")
        for kind in ("compare", "decode"):
            rows = [r for r in results if r[0] == kind]
            print(f"| {kind}{' (hostile file)' if kind == 'decode' else ''} | {len(rows)} | {sum(r[1] for r in rows)} | "
                  f"{sum(not r[1] for r in rows)} | {max((r[3] for r in rows), default=0):.1f} |")
        for kind, ok, why, _ in results:
            if not ok:
                print(f"  error ({kind}): {why}")
        print(f"server memory (RSS): {base:.0f} MB after warm-up, peak {peak:.0f} MB, after each round "
              f"{', '.join(f'{a:.0f}' for a in after)} MB, {settled:.0f} MB after {args.settle:.0f} s idle; "
              f"server {'still up' if alive else 'DIED'}")
        return 0 if alive and all(r[1] for r in results) else 1
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
