#!/usr/bin/env python3
"""The CI examples in docs/ci/ run every lab exactly once over their shards.

For GitLab's `parallel: N` and GitHub's matrix, the documented `edgelab run`
command is run for every shard index the engine would give, with `--list`
(what the shard would run, nothing started); the union of the shards must be
the whole of scenarios/labs/, each lab once, and the JUnit file each job
publishes must be the one its --report-dir gets. The same holds for every N
from 1 to one more than the number of labs.

Usage: ci_examples_test.py BIN_DIR SOURCE_DIR
"""
import collections
import glob
import os
import re
import shlex
import subprocess
import sys

import yaml

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL:", message)


def shard_labs(command, source_dir, bin_dir, env=None):
    """The lab files one shard's command selects (run through bash, so the
    glob and the ${VAR} expansions are the shell's, as on the CI engine)."""
    command = command.replace("build/bin/edgelab", shlex.quote(os.path.join(bin_dir, "edgelab")))
    done = subprocess.run(["bash", "-c", command + " --list"], cwd=source_dir,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True)
    check(done.returncode == 0, f"{command!r} --list exited {done.returncode}: {done.stderr}")
    return [line for line in done.stdout.splitlines() if line]


def check_union(name, shards, all_labs):
    counts = collections.Counter(lab for shard in shards for lab in shard)
    check(sorted(counts) == all_labs,
          f"{name}: the shards hold {sorted(counts)}, not every lab {all_labs}")
    twice = [lab for lab, n in counts.items() if n != 1]
    check(not twice, f"{name}: labs in more than one shard: {twice}")


def report_dir_of(command):
    match = re.search(r"--report-dir\s+(\S+)", command)
    check(match is not None, f"{command!r}: no --report-dir, so no JUnit file to publish")
    return match.group(1).rstrip("/") if match else ""


def gitlab(source_dir, bin_dir, all_labs):
    with open(os.path.join(source_dir, "docs/ci/gitlab-ci.yml")) as f:
        doc = yaml.safe_load(f)
    jobs = [job for job in doc.values() if isinstance(job, dict) and "parallel" in job]
    check(len(jobs) == 1, f"gitlab-ci.yml: {len(jobs)} jobs with parallel, expected 1")
    job = jobs[0]
    total = job["parallel"]
    commands = [line for line in job["script"] if "edgelab run" in line]
    check(len(commands) == 1, "gitlab-ci.yml: expected one `edgelab run` line")
    command = commands[0]
    check("--shard ${CI_NODE_INDEX}/${CI_NODE_TOTAL}" in command,
          "gitlab-ci.yml: the shard is not ${CI_NODE_INDEX}/${CI_NODE_TOTAL}")
    # GitLab numbers the copies of a parallel job from 1 to N.
    shards = [shard_labs(command, source_dir, bin_dir,
                         {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(total)})
              for i in range(1, total + 1)]
    check_union("gitlab-ci.yml", shards, all_labs)
    artifacts = job["artifacts"]
    check(artifacts["reports"]["junit"] == report_dir_of(command) + "/report.xml",
          "gitlab-ci.yml: reports: junit: is not the report --report-dir writes")
    check(artifacts.get("when") == "always", "gitlab-ci.yml: a failing shard keeps no report")
    return len(shards)


def github(source_dir, bin_dir, all_labs):
    with open(os.path.join(source_dir, "docs/ci/github-actions.yml")) as f:
        doc = yaml.safe_load(f)
    job = doc["jobs"]["labs"]
    indexes = job["strategy"]["matrix"]["shard"]
    check(indexes == list(range(1, len(indexes) + 1)),
          f"github-actions.yml: shards {indexes}, expected 1 to {len(indexes)}")
    runs = [s["run"] for s in job["steps"] if "edgelab run" in s.get("run", "")]
    check(len(runs) == 1, "github-actions.yml: expected one `edgelab run` step")
    command = runs[0].strip()
    # What the runner substitutes before the shell sees the line.
    shards = [shard_labs(command.replace("${{ matrix.shard }}", str(i))
                         .replace("${{ strategy.job-total }}", str(len(indexes))),
                         source_dir, bin_dir)
              for i in indexes]
    check_union("github-actions.yml", shards, all_labs)
    published = [s for s in job["steps"] if "action-junit-report" in s.get("uses", "")]
    check(len(published) == 1, "github-actions.yml: the JUnit report is not published")
    if published:
        check(published[0]["with"]["report_paths"] == report_dir_of(command) + "/report.xml",
              "github-actions.yml: report_paths is not the report --report-dir writes")
        check(published[0].get("if") == "always()",
              "github-actions.yml: a failing shard publishes no report")
    return len(shards)


def every_n(source_dir, bin_dir, all_labs):
    for total in range(1, len(all_labs) + 2):
        shards = [shard_labs(f"build/bin/edgelab run scenarios/labs/*.json --shard {i}/{total}",
                             source_dir, bin_dir)
                  for i in range(1, total + 1)]
        check_union(f"--shard I/{total}", shards, all_labs)


def main():
    bin_dir, source_dir = sys.argv[1], sys.argv[2]
    all_labs = sorted(os.path.relpath(p, source_dir)
                      for p in glob.glob(os.path.join(source_dir, "scenarios/labs/*.json")))
    check(len(all_labs) > 3, f"only {len(all_labs)} labs in scenarios/labs/")
    n_gitlab = gitlab(source_dir, bin_dir, all_labs)
    n_github = github(source_dir, bin_dir, all_labs)
    every_n(source_dir, bin_dir, all_labs)
    print(f"{len(all_labs)} labs; gitlab {n_gitlab} shards, github {n_github} shards, "
          f"every N from 1 to {len(all_labs) + 1}: each lab in exactly one shard")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
