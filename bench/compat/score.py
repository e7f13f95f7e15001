"""Score MLflow's REST tests: labkeep server vs mlflow server on the same selection.

Reads the junit XML files ``run.sh`` writes (``results/<server>-<backend>.xml``). A test counts
when it passes against ``mlflow server`` (one failing or skipped there too does not count);
excluded tests were deselected before the run (``exclusions.txt``). Prints a summary, the
counted tests labkeep fails, and one JSON line.

    .venv/bin/python bench/compat/score.py [--backend sqlite|postgresql] [--reference-backend sqlite]
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


def outcomes(path: Path) -> dict[str, str]:
    """``{test name: passed|failed|skipped}`` from a junit XML file."""
    out: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            out[name] = "failed"
        elif case.find("skipped") is not None:
            out[name] = "skipped"
        else:
            out[name] = "passed"
    return out


def excluded() -> list[tuple[str, str]]:
    rows = []
    for line in (HERE / "exclusions.txt").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        test, _, reason = line.partition("|")
        rows.append((test.strip(), reason.strip()))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--backend", default="sqlite", help="labkeep's backend run to score")
    ap.add_argument("--reference-backend", default="sqlite", help="mlflow's run to compare with")
    args = ap.parse_args(argv)
    lk_path = args.results / f"labkeep-{args.backend}.xml"
    ref_path = args.results / f"mlflow-{args.reference_backend}.xml"
    for p in (lk_path, ref_path):
        if not p.exists():
            print(f"error: {p} is missing; run bench/compat/run.sh first", file=sys.stderr)
            return 2
    lk, ref = outcomes(lk_path), outcomes(ref_path)
    # exclusions added after a run still apply
    left_out = {name for name, _ in excluded()}
    selection = sorted((set(lk) | set(ref)) - left_out)
    # a test the reference did not run (ONLY= runs) counts when labkeep passes it
    assumed = [t for t in selection if t not in ref and lk.get(t) == "passed"]
    counted = [t for t in selection if ref.get(t) == "passed" or t in assumed]
    ref_failed = [t for t in selection if ref.get(t) == "failed"]
    lk_pass = [t for t in counted if lk.get(t) == "passed"]
    lk_fail = [t for t in counted if lk.get(t) != "passed"]
    score = len(lk_pass) / len(counted) if counted else 0.0
    print(f"selection: {len(selection)} tests run ({len(excluded())} excluded before the run)")
    print(
        f"mlflow server ({args.reference_backend}): {len(counted) - len(assumed)} pass, {len(ref_failed)} fail"
        f" (not counted); {len(assumed)} passing on labkeep had no reference run (counted as passing)"
    )
    print(
        f"labkeep server ({args.backend}): {len(lk_pass)} of {len(counted)} counted tests pass = {score:.1%}"
    )
    labkeep_only = [t for t in ref_failed if lk.get(t) == "passed"]
    if labkeep_only:
        print(f"also passing on labkeep only: {len(labkeep_only)}")
    for t in lk_fail:
        print(f"  FAIL {t}")
    print(
        json.dumps(
            {
                "selection": len(selection),
                "excluded": len(excluded()),
                "mlflow_pass": len(counted) - len(assumed),
                "no_reference_run": len(assumed),
                "counted": len(counted),
                "mlflow_fail": len(ref_failed),
                "labkeep_pass": len(lk_pass),
                "labkeep_backend": args.backend,
                "score": round(score, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
