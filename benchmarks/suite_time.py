"""Time the stages of ``make test``: per stage, per command, per notebook and per cell.

Each stage runs through ``make`` (so the commands are the Makefile's own), with
``PYTEST_ADDOPTS=--junitxml=...`` so that pytest reports the time of every test. The script
prints measurements and asserts nothing.

Usage:
    python benchmarks/suite_time.py                      # unit notebooks book-strict site
    python benchmarks/suite_time.py notebooks book-strict
    python benchmarks/suite_time.py --repo /tmp/wt DIR   # time another checkout

Options:
    --repo DIR      the checkout to time (default: this one).
    --venv DIR      the virtual environment to use (default: REPO/.venv, else this one's .venv).
    --log DIR       where the stage logs and junit files go (default: a new temporary folder).
    --top N         how many slow notebooks and unit tests to list (default: 15).
    --report-only   run nothing; report what an earlier run left in --log.

The stages run with ``make -o install`` so that timing never reinstalls packages. With --repo,
PYTHONPATH points at that checkout, so its camlib is the one imported.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
STAGES = ("unit", "notebooks", "book-strict", "site")


def run_stage(stage, repo, venv, log_dir):
    """Run one make target; return (seconds, [(command, seconds)], log text)."""
    junit = log_dir / f"{stage}.xml"
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} --junitxml={junit}".strip()
    if repo != HERE:
        env["PYTHONPATH"] = str(repo)
    command = ["make", "-C", str(repo), "-o", "install", stage]
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        errors="replace",
    )
    # make echoes each command before it runs it; the time between two echoes is that command's.
    steps = []
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(f'"{venv}'):
            steps.append([line.strip()[:90], time.perf_counter()])
    process.wait()
    end = time.perf_counter()
    timed = []
    for index, (name, began) in enumerate(steps):
        finished = steps[index + 1][1] if index + 1 < len(steps) else end
        timed.append((name, finished - began))
    text = "".join(lines)
    (log_dir / f"{stage}.log").write_text(text)
    return end - start, timed, text, process.returncode


def read_junit(path):
    """Return [(file, name, seconds, outcome)] for every test case in a junit xml file."""
    if not path.exists():
        return []
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
        name = case.get("classname", "") + "::" + case.get("name", "")
        cases.append(
            (
                case.get("file") or case.get("classname", ""),
                name,
                float(case.get("time", 0)),
                outcome,
            )
        )
    return cases


def cell_sources(notebook):
    """Return the first line of every code cell of a notebook, in order."""
    cells = json.loads(notebook.read_text())["cells"]
    firsts = []
    for cell in cells:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]).strip().splitlines() or [""]
            firsts.append(source[0][:70])
    return firsts


def report_notebooks(cases, repo, top):
    by_notebook = defaultdict(list)
    for _, name, seconds, outcome in cases:
        # nbval names a cell "notebooks.<stem>.ipynb::Cell <index>".
        match = re.search(r"(\w+)\.ipynb::Cell (\d+)$", name)
        if match:
            by_notebook[match.group(1)].append((int(match.group(2)), seconds, outcome))
    totals = sorted(by_notebook.items(), key=lambda item: -sum(s for _, s, _ in item[1]))
    print(f"\nnbval: {len(totals)} notebooks, {sum(len(c) for _, c in totals)} cells")
    print(f"  {'seconds':>8}  {'cells':>5}  notebook (slowest cells: index seconds first line)")
    for stem, cells in totals[:top]:
        total = sum(s for _, s, _ in cells)
        bad = [i for i, _, o in cells if o != "passed"]
        note = f"  NOT PASSED: cells {bad}" if bad else ""
        print(f"  {total:8.1f}  {len(cells):5d}  {stem}{note}")
        sources = cell_sources(repo / "notebooks" / f"{stem}.ipynb")
        for index, seconds, _ in sorted(cells, key=lambda c: -c[1])[:3]:
            first = sources[index] if index < len(sources) else ""
            print(f"  {'':8}  {'':5}    cell {index:2d} {seconds:6.1f} s  {first}")


def report_tests(cases, top, label):
    slow = sorted(cases, key=lambda case: -case[2])[:top]
    print(f"\n{label}: {len(cases)} tests, {sum(c[2] for c in cases):.1f} s in tests; slowest:")
    for _, name, seconds, outcome in slow:
        mark = "" if outcome == "passed" else f"  [{outcome}]"
        print(f"  {seconds:7.2f}  {name}{mark}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # No choices= here: argparse checks a list default against the choices as one value.
    parser.add_argument("stages", nargs="*", metavar="STAGE",
                        help=f"stages to run, of {', '.join(STAGES)} (default: all)")
    parser.add_argument("--repo", type=Path, default=HERE)
    parser.add_argument("--venv", type=Path)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing; report the junit files that an earlier run left in --log",
    )
    args = parser.parse_args(argv)
    unknown = [stage for stage in args.stages if stage not in STAGES]
    if unknown:
        parser.error(f"unknown stage {unknown[0]!r}; choose from {', '.join(STAGES)}")
    args.stages = args.stages or list(STAGES)
    repo = args.repo.resolve()
    venv = args.venv or next(p for p in (repo / ".venv", HERE / ".venv") if p.exists())
    log_dir = args.log or Path(tempfile.mkdtemp(prefix="suite-time-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"repo {repo}, venv {venv}, logs in {log_dir}")

    summary = []
    for stage in args.stages:
        print(f"\n== {stage}", flush=True)
        if args.report_only:
            log = log_dir / f"{stage}.log"
            seconds, steps, code = 0.0, [], None
            text = log.read_text() if log.exists() else ""
        else:
            seconds, steps, text, code = run_stage(stage, repo, venv, log_dir)
        summary.append((stage, seconds, code))
        for name, step_seconds in steps:
            print(f"  {step_seconds:7.1f} s  {name}")
        print(f"  {seconds:7.1f} s  total, exit code {code}")
        cases = read_junit(log_dir / f"{stage}.xml")
        if stage == "unit":
            report_tests(cases, args.top, "unit")
        elif stage == "notebooks":
            report_notebooks(cases, repo, args.top)
        elif stage == "site":
            report_tests(cases, min(args.top, 5), "site")
        elif stage == "book-strict":
            executed = re.findall(r"Executing notebook.*|executing \d+ notebooks.*", text)
            print(f"  notebooks executed by this stage: {len(executed)}")
            for line in executed:
                print(f"    {line.strip()[:100]}")

    print("\nstage         seconds  exit")
    for stage, seconds, code in summary:
        print(f"  {stage:11} {seconds:7.1f}  {code}")
    print(f"  {'total':11} {sum(s for _, s, _ in summary):7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
