"""Artifacts through the server's proxy, side by side: labkeep client + ``labkeep server`` vs mlflow
client + ``mlflow server`` (each server on a free loopback port with its default local destination).

Per round, for each library: a fresh server in a fresh temporary directory, then a fresh client
process that logs and downloads through ``mlflow-artifacts:`` URIs with the library's own fluent API:

* ``upload_tree``: ``log_artifacts`` of a folder of ``--files`` files of 4 KiB
* ``upload_big``: ``log_artifact`` of one ``--big-mb`` MiB file
* ``download_tree`` / ``download_big``: ``artifacts.download_artifacts`` of the same, into a new folder

Progress bars are switched off on both sides. Rounds alternate between the libraries; figures are
medians over ``--rounds``. Usage: ``python bench/bench_artifacts.py [--rounds 3] [--files 200] [--big-mb 64]
[--sides labkeep]`` (run with another checkout's interpreter to compare two labkeep versions).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Measure, clean_env, report, run_json, temp_dir  # noqa: E402
from bench_server import Server  # noqa: E402

WORKER = r"""
import os, sys, tempfile, time, json
lib, url, data = sys.argv[1:4]
if lib == "labkeep":
    import labkeep as m
    from labkeep.artifacts import download_artifacts
else:
    import mlflow as m
    from mlflow.artifacts import download_artifacts
m.set_tracking_uri(url)
m.set_experiment("bench-artifacts")
out = {}
with m.start_run() as run:
    t = time.perf_counter(); m.log_artifacts(os.path.join(data, "tree"), "tree"); out["upload_tree"] = time.perf_counter() - t
    t = time.perf_counter(); m.log_artifact(os.path.join(data, "big.bin"), "big"); out["upload_big"] = time.perf_counter() - t
rid = run.info.run_id
local = {}
for name, path in (("download_tree", "tree"), ("download_big", "big/big.bin")):
    dst = tempfile.mkdtemp(dir=data)
    t = time.perf_counter(); local[name] = download_artifacts(run_id=rid, artifact_path=path, dst_path=dst); out[name] = time.perf_counter() - t
count = lambda d: sum(len(fs) for _, _, fs in os.walk(d))
assert count(local["download_tree"]) == count(os.path.join(data, "tree"))
assert os.path.getsize(local["download_big"]) == os.path.getsize(os.path.join(data, "big.bin"))
print(json.dumps(out))
"""


def make_data(root: Path, files: int, big_mb: int) -> None:
    tree = root / "tree"
    for i in range(files):
        sub = tree / f"d{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i}.bin").write_bytes(os.urandom(4096))
    with open(root / "big.bin", "wb") as fh:
        for _ in range(big_mb):
            fh.write(os.urandom(1 << 20))


def one_round(kind: str, data: Path) -> dict:
    with temp_dir(f"art-{kind}") as cwd:
        server = Server(kind, cwd)
        try:
            server.wait_healthy()
            env = clean_env(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false", MLFLOW_DISABLE_TELEMETRY="true")
            return run_json(["-c", WORKER, kind, server.url, str(data)], cwd, env)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--big-mb", type=int, default=64)
    parser.add_argument("--sides", default="labkeep,mlflow", help="comma list; one side prints no ratio")
    args = parser.parse_args()
    sides = [s for s in ("labkeep", "mlflow") if s in args.sides.split(",")]
    results: dict[str, list[dict]] = {"labkeep": [], "mlflow": []}
    with temp_dir("art-data") as data:
        make_data(data, args.files, args.big_mb)
        for r in range(args.rounds):
            for kind in sides if r % 2 == 0 else sides[::-1]:
                results[kind].append(one_round(kind, data))
                print(f"round {r + 1} {kind}: {results[kind][-1]}", file=sys.stderr, flush=True)

    def med(kind: str, key: str) -> float | None:
        return statistics.median(x[key] for x in results[kind]) if results[kind] else None

    names = {
        "upload_tree": f"log_artifacts, {args.files} x 4 KiB",
        "upload_big": f"log_artifact, {args.big_mb} MiB",
        "download_tree": f"download {args.files} files",
        "download_big": f"download {args.big_mb} MiB",
    }
    measures = [Measure(label, "s", med("labkeep", key), med("mlflow", key)) for key, label in names.items()]
    report("artifacts", measures, {"rounds": args.rounds, "raw": results})


if __name__ == "__main__":
    main()
