#!/usr/bin/env python3
"""edgelab watch end to end, with tools edgelab did not write.

  rules       promtool checks the documented scrape config and alerting rules,
              and runs their unit tests (docs/prometheus/).
  binding     a lab brought up by the test is watched; Debian's prometheus
              scrapes the watch with the documented config (templated with
              the port the watch was given) and its HTTP API is queried;
              promtool checks /metrics; the lab's default binding is deleted
              and restored while watched (one state-change line per no-SNI
              check each way, /healthz 503 then 200, the no-SNI alert fires);
              `edgelab diff` of the reports before and after names exactly
              that regression; the lab goes down and comes back and the watch
              goes on; the test user's password is nowhere it must not be.
  bad-input   a bad --every, a --timeout not below the period, a bad --listen
              (exit 2), a port in use and an unreachable target (exit 3).

Every wait is for an event (a log line, an answer), with a hang guard only.

usage: watch_prometheus_test.py MODE EDGELAB_BIN_DIR SOURCE_DIR WORK
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HANG_GUARD = 120  # seconds; ends a test that would hang, says nothing about speed
NO_SNI = {"tls.no-sni.lync-mobile", "tls.no-sni.activesync"}
# A missing default binding is one root cause; each profile's reset is
# BLOCKED by it (checks/README.md).
NO_SNI_ROOT = "tls.no-sni.default-binding"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(*command, **kw):
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **kw)


def eventually(predicate, what, guard=HANG_GUARD):
    deadline = time.monotonic() + guard
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    fail("never happened: " + what)


def get(url):
    """(status, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Watch:
    """edgelab watch, its stdout read line by line as it comes."""

    def __init__(self, args, cwd=None):
        self.proc = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=cwd)
        self.lines = []
        self.err = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(json.loads(line))

    def _read_err(self):
        self.err = self.proc.stderr.read()

    def events(self, kind):
        with self.lock:
            return [e for e in self.lines if e["event"] == kind]

    def runs(self):
        return len(self.events("run"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=HANG_GUARD)


def metric(text, name, **labels):
    """The value of one sample of /metrics (a promtool-checked text), or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        if all('%s="%s"' % kv in head for kv in labels.items()) and head.split("{")[0] == name:
            return float(value)
    return None


def rules(edgelab, source, work):
    docs = source / "docs/prometheus"
    for command in (["check", "rules", docs / "edgelab-rules.yml"],
                    ["check", "config", docs / "prometheus.yml"],
                    ["test", "rules", docs / "edgelab-rules.test.yml"]):
        done = run("promtool", *command, cwd=docs)
        print(done.stdout, done.stderr)
        if done.returncode != 0:
            fail("promtool %s failed" % " ".join(map(str, command)))


class Prometheus:
    """Debian's prometheus with the documented config, aimed at `target`."""

    def __init__(self, source, work, target):
        docs = source / "docs/prometheus"
        conf = work / "prometheus"
        conf.mkdir()
        text = (docs / "prometheus.yml").read_text()
        if "127.0.0.1:9464" not in text:
            fail("the documented scrape config no longer names 127.0.0.1:9464")
        (conf / "prometheus.yml").write_text(text.replace("127.0.0.1:9464", target))
        shutil.copy(docs / "edgelab-rules.yml", conf / "edgelab-rules.yml")
        self.url = "http://127.0.0.1:%d" % free_port()
        self.log = open(work / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file", str(conf / "prometheus.yml"),
             "--storage.tsdb.path", str(work / "tsdb"),
             "--web.listen-address", self.url[len("http://"):]],
            stdout=self.log, stderr=subprocess.STDOUT)
        eventually(lambda: get(self.url + "/-/ready")[0] == 200, "prometheus is ready")

    def query(self, promql):
        status, body = get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        if status != 200:
            return []
        return json.loads(body)["data"]["result"]

    def value(self, promql):
        result = self.query(promql)
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=HANG_GUARD)
        self.log.close()


def reload_bindings(edgelab, lab_file, work, state, change):
    """Changes the running lab's binding store, has the proxy reload it at
    once (SIGHUP), and waits until a client without SNI sees the change."""
    done = run(edgelab, "bindings", *change, "--store", state["bindingStore"])
    if done.returncode != 0:
        fail("bindings %s: %s" % (change, done.stderr))
    proxy = next(p["pid"] for p in state["processes"] if p["name"] == "proxy")
    os.kill(proxy, signal.SIGHUP)
    expected = 1 if change[0] == "delete" else 0

    def seen():
        c = run(edgelab, "check", lab_file, "--work-dir", work, "--only", "tls.no-sni.*", "-q")
        return c.returncode == expected
    eventually(seen, "the proxy serves clients without SNI as the store now says")


def state_changes_since(watch, first_run):
    return [e for e in watch.events("state-change") if e["run"] > first_run]


def binding(edgelab, source, work):
    lab_file = source / "scenarios/labs/seed-lab.json"
    lab_dir = work / "lab"
    again_dir = work / "lab-again"
    # A registry of running labs of this test's own: the watch finds the lab
    # through it, as from any directory.
    os.environ["EDGELAB_RUNTIME_DIR"] = str(work / "runtime")
    lab = json.loads(lab_file.read_text())
    password = lab["users"][0]["password"]
    up = run(edgelab, "up", lab_file, "--work-dir", lab_dir, "--disk-sample-mib", "1")
    if up.returncode != 0:
        fail("edgelab up: %s %s" % (up.stdout, up.stderr))
    watch = prometheus = None
    try:
        state = json.loads((lab_dir / "state.json").read_text())
        password_file = work / "alice.pw"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        # No --work-dir, and run from a folder of its own: the lab is found
        # through the registry, and followed there when it comes up again.
        watch = Watch([edgelab, "watch", lab_file, "--every", "4s",
                       "--timeout", "3.5", "--listen", "127.0.0.1:0", "--history", "5",
                       "--user", lab["users"][0]["sipUri"], "--password-file", password_file],
                      cwd=work)
        address = eventually(lambda: watch.events("listening"), "the watch listens")[0]["address"]
        base = "http://" + address
        first = eventually(lambda: watch.events("run"), "a first run")[0]
        if first["outcome"] != "passed":
            fail("the seed lab did not pass its first watched run: %s" % first)
        # /metrics as Prometheus reads it, checked by promtool.
        status, metrics = get(base + "/metrics")
        lint = subprocess.run(["promtool", "check", "metrics"], input=metrics, text=True,
                              capture_output=True)
        if status != 200 or lint.returncode != 0:
            fail("promtool check metrics: %s %s" % (lint.stdout, lint.stderr))
        for name in ("edgelab_check_success", "edgelab_certificate_expiry_timestamp_seconds",
                     "edgelab_signin_step_duration_seconds", "edgelab_root_cause_blocked_checks",
                     "edgelab_watch_last_run_start_timestamp_seconds"):
            if "# TYPE " + name not in metrics:
                fail("/metrics has no %s" % name)
        if metric(metrics, "edgelab_signin_step_duration_seconds",
                  flow="signin.flow.webticket", step="rst") is None:
            fail("no sign-in step latency: the test user did not sign in\n" + metrics)
        if get(base + "/healthz")[0] != 200:
            fail("/healthz is not 200 with every check passing")
        if get(base + "/nothing")[0] != 404:
            fail("an unknown path is not 404")
        post = urllib.request.Request(base + "/metrics", data=b"x", method="POST")
        try:
            urllib.request.urlopen(post, timeout=30)
            fail("POST /metrics was answered")
        except urllib.error.HTTPError as e:
            if e.code != 405:
                fail("POST /metrics: %d, expected 405" % e.code)

        # A real scrape: prometheus with the documented config, queried.
        prometheus = Prometheus(source, work, address)
        eventually(lambda: prometheus.value(
            'edgelab_check_success{check="tls.no-sni.lync-mobile"}') == 1,
            "prometheus scraped edgelab_check_success of tls.no-sni.lync-mobile as 1")
        if prometheus.value('up{job="edgelab"}') != 1:
            fail("the edgelab target is not up in prometheus")
        expiry = prometheus.query('edgelab_certificate_expiry_timestamp_seconds{sni="false"}')
        if len(expiry) != 2 or float(expiry[0]["value"][1]) < time.time():
            fail("prometheus does not have the no-SNI certificates' expiry: %s" % expiry)
        if not prometheus.query("edgelab_watch_runs_total > 0"):
            fail("prometheus has no edgelab_watch_runs_total")

        status, report = get(base + "/report")
        (work / "base.json").write_text(report)
        # The default binding goes: within a period the no-SNI checks fail.
        runs_before = watch.runs()
        reload_bindings(edgelab, lab_file, lab_dir, state, ["delete", "ipport=0.0.0.0:443"])
        runs_at_reload = watch.runs()
        changed = eventually(
            lambda: {e["check"] for e in state_changes_since(watch, runs_before)}
            >= NO_SNI | {NO_SNI_ROOT} and state_changes_since(watch, runs_before),
            "a state-change line for each no-SNI check")
        eventually(lambda: watch.runs() >= changed[-1]["run"], "the run with the changes ends")
        lines = state_changes_since(watch, runs_before)
        if sorted(e["check"] for e in lines) != sorted(NO_SNI | {NO_SNI_ROOT}):
            fail("not exactly one state change per no-SNI check: %s" % lines)
        # The root cause fails, the profiles' resets follow from it.
        expected_to = {c: "BLOCKED" for c in NO_SNI}
        expected_to[NO_SNI_ROOT] = "FAIL"
        # The run in progress when the proxy reloaded may have missed it;
        # the next one may not.
        if any(e["to"] != expected_to[e["check"]] or e["run"] > runs_at_reload + 2
               for e in lines):
            fail("the change was not seen within a period of the reload: %s" % lines)
        status, metrics = get(base + "/metrics")
        for check in NO_SNI | {NO_SNI_ROOT}:
            if metric(metrics, "edgelab_check_success", check=check) != 0:
                fail("%s's success is not 0 after the binding went" % check)
        status, health = get(base + "/healthz")
        if status != 503 or NO_SNI_ROOT not in health:
            fail("/healthz %d does not list the no-SNI root cause: %s" % (status, health))
        status, report = get(base + "/report")
        (work / "new.json").write_text(report)
        eventually(lambda: prometheus.value(
            'edgelab_check_success{check="tls.no-sni.activesync"}') == 0,
            "prometheus scraped the no-SNI failure")
        eventually(lambda: prometheus.query('ALERTS{alertname="EdgelabNoSniFailing"}'),
                   "prometheus evaluates the documented no-SNI alert")

        # edgelab diff of the two reports names exactly that regression.
        d = run(edgelab, "diff", work / "base.json", work / "new.json", "--format", "json")
        if d.returncode != 1:
            fail("edgelab diff exit %d, expected 1: %s" % (d.returncode, d.stderr))
        diff = json.loads(d.stdout)
        if ({c["id"] for c in diff["newlyFailing"]} != {NO_SNI_ROOT} or diff["fixed"]
                or {c["id"] for c in diff["changed"]} != NO_SNI):
            fail("the diff is not exactly the no-SNI regression: %s" % d.stdout)
        if {e["subject"] for e in diff["evidenceChanges"]} != NO_SNI:
            fail("the evidence changes are not the no-SNI handshakes': %s" % d.stdout)

        # check --baseline: exit 1 only on checks newly failing since it.
        for baseline, code in (("base.json", 1), ("new.json", 0)):
            c = run(edgelab, "check", lab_file, "--work-dir", lab_dir, "--only", "tls.*", "-q",
                    "--baseline", work / baseline)
            if c.returncode != code or "Since " not in c.stdout:
                fail("check --baseline %s: exit %d, expected %d: %s"
                     % (baseline, c.returncode, code, c.stdout))

        # Restored: the checks come back, one line each.
        runs_before = watch.runs()
        reload_bindings(edgelab, lab_file, lab_dir, state,
                        ["set-default", "--match-host", "lyncws." + lab["domain"]])
        eventually(lambda: {e["check"] for e in state_changes_since(watch, runs_before)
                            if e["to"] == "PASS"} >= NO_SNI | {NO_SNI_ROOT},
                   "the no-SNI checks pass again")
        eventually(lambda: get(base + "/healthz")[0] == 200, "/healthz is 200 again")

        # The target goes away and comes back; the watch goes on.
        down = run(edgelab, "down", lab_file, "--work-dir", lab_dir)
        if down.returncode != 0:
            fail("edgelab down: %s" % down.stderr)
        eventually(lambda: any(not e["reachable"] for e in watch.events("run")),
                   "a run that finds the target gone")
        if watch.proc.poll() is not None:
            fail("the watch ended when the target went away: %s" % watch.err)
        status, metrics = get(base + "/metrics")
        if metric(metrics, "edgelab_watch_target_reachable") != 0:
            fail("edgelab_watch_target_reachable is not 0 with the lab down")
        # Up again in another folder: a PKI of its own (another CA), so only
        # a watch that follows the lab there passes.
        up = run(edgelab, "up", lab_file, "--work-dir", again_dir, "--disk-sample-mib", "1")
        if up.returncode != 0:
            fail("edgelab up again: %s %s" % (up.stdout, up.stderr))
        seen = watch.runs()
        eventually(lambda: any(e["reachable"] and e["outcome"] == "passed"
                               for e in watch.events("run")[seen:]),
                   "a passing run once the lab is back")

        # The password: never in argv, environment, log lines or pages.
        pid = watch.proc.pid
        for what, blob in (("argv", Path("/proc/%d/cmdline" % pid).read_bytes().decode()),
                           ("environment", Path("/proc/%d/environ" % pid).read_bytes().decode()),
                           ("/report", get(base + "/report")[1]),
                           ("/history", get(base + "/history")[1]),
                           ("/metrics", get(base + "/metrics")[1])):
            if password in blob:
                fail("the password is in the watch's %s" % what)
        history = json.loads(get(base + "/history")[1])
        if len(history["runs"]) > 5:
            fail("/history holds more than --history 5 runs")
        if watch.stop() != 0:
            fail("SIGTERM: the watch did not stop with exit 0: %s" % watch.err)
        if watch.lines[-1]["event"] != "stopped":
            fail("no 'stopped' line at the end")
        log = json.dumps(watch.lines) + watch.err
        if password in log:
            fail("the password is in the watch's log")
        print("ok: %d runs watched" % watch.runs())
    finally:
        if watch:
            watch.stop()
        if prometheus:
            prometheus.stop()
        run(edgelab, "down", lab_file, "--work-dir", lab_dir)
        run(edgelab, "down", lab_file, "--work-dir", again_dir)


def bad_input(edgelab, source, work):
    site = source / "scenarios/sites/contoso-site.json"
    closed = free_port()  # nothing listens there
    target = [site, "--connect-to", "::127.0.0.1:%d" % closed]
    cases = [
        (["--every", "5x"], 2, "--every 5x: expected a whole number and a unit"),
        (["--every", "10s", "--timeout", "10"], 2, "--timeout 10: must be below the period"),
        (["--listen", "127.0.0.1:99999"], 2, "--listen 127.0.0.1:99999"),
    ]
    for extra, code, message in cases:
        done = run(edgelab, "watch", *target, *extra)
        if done.returncode != code or message not in done.stderr:
            fail("%s: exit %d, %r" % (extra, done.returncode, done.stderr))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run(edgelab, "watch", *target, "--listen", "127.0.0.1:%d" % port)
        if done.returncode != 3 or "Address already in use" not in done.stderr:
            fail("port in use: exit %d, %r" % (done.returncode, done.stderr))
    done = run(edgelab, "watch", *target, "--listen", "127.0.0.1:0", "--every", "10s",
               "--timeout", "2")
    if done.returncode != 3 or "could not be reached" not in done.stderr:
        fail("unreachable target: exit %d, %r" % (done.returncode, done.stderr))
    print("ok")


def main():
    mode, bin_dir, source, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    {"rules": rules, "binding": binding, "bad-input": bad_input}[mode](
        bin_dir / "edgelab", source, work)


if __name__ == "__main__":
    main()
