#!/usr/bin/env python3
"""End-to-end sign-in tests against a lab that the test starts itself
(edgelab up) and stops (edgelab down), whatever happens.

  independent-client      lync_signin.py, written from the protocol documents
                          only, signs in through the bundled proxy: web tickets
                          (compact and SAML 1.1) with NTLM, the user resource
                          with each; UCWA from lyncdiscover to delete.
  password-never-written  edgelab check signs the lab's user in; the password
                          is then in no report, log, state file or process
                          argument, and the front end's users file is gone.

usage: signin_through_proxy_test.py MODE EDGELAB_BIN_DIR SOURCE_DIR WORK
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys


def run(*command, **kw):
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **kw)


LOGS = []  # the lab's log folder, once the lab is up


def fail(message):
    print("FAIL: " + message)
    # What the lab's processes said: a failure under load is read from here.
    for folder in LOGS:
        for log in sorted(folder.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            print("---- last lines of %s" % log)
            print("\n".join(lines[-40:]))
    sys.exit(1)


def independent_client(lab, state, work, source):
    user = lab["users"][0]
    password_file = work / "alice.pw"
    password_file.write_text(user["password"] + "\n")
    password_file.chmod(0o600)
    client = [sys.executable, source / "tests/clients/lync_signin.py",
              "--web-services", "lyncws." + lab["domain"], "--account", user["account"],
              "--password-file", password_file, "--cacert", state["caBundle"], "--work", work,
              "--ucwa", "--domain", lab["domain"], "--sip-uri", user["sipUri"]]
    for c in state["connectTo"]:
        client += ["--connect-to", c]
    done = run(*client)
    print(done.stdout, done.stderr)
    if done.returncode != 0:
        fail("the independent client did not sign in (exit %d)" % done.returncode)
    out = json.loads(done.stdout)
    if out["mex"] != 200 or out["rst"] != 200 or out["user"] != 200:
        fail("a step did not answer 200: %s" % out)
    if out["ticketLength"] <= 0:
        fail("no web ticket")
    if not out["access"].get("SipServerExternalAccess", "").startswith("sip." + lab["domain"]):
        fail("the external SIP access is not the public name: %s" % out["access"])
    saml = out["saml"]
    if not (saml.get("soap11") and saml.get("contentType", "").startswith("text/xml")
            and saml.get("lifetime") and saml.get("serverEntropy") and saml.get("assertionId")):
        fail("the SAML 1.1 answer is not what a SOAP 1.1 client reads: %s" % saml)
    if saml.get("user") != 200 or saml.get("forgedUser") != 401:
        fail("the user resource did not take the assertion, or took a forged one: %s" % saml)
    if out["spnego"].get("rst") != 200 or not out["spnego"].get("acceptCompleted"):
        fail("SPNEGO-wrapped NTLM (curl --negotiate, gss-ntlmssp) did not sign in: %s" % out["spnego"])
    ucwa = out["ucwa"]
    if not ucwa.get("done") or not ucwa.get("tokenNoStore") or ucwa.get("expiresIn") != 28800:
        fail("UCWA's flow did not complete as documented: %s" % ucwa)


def password_never_written(lab, state, work, edgelab, lab_file):
    password = lab["users"][0]["password"]
    report = work / "check-report.json"
    done = run(edgelab, "check", lab_file, "--work-dir", work / "lab", "--report-json", report)
    print(done.stdout[-3000:], done.stderr[-2000:])
    results = {r["id"]: r for r in json.loads(report.read_text())["results"]}
    for check in ("signin.discovery", "signin.webticket", "signin.ucwa", "signin.ntlm-affinity",
                  "signin.anonymous-after-signin", "webservices.long-poll"):
        if results.get(check, {}).get("verdict") != "PASS":
            fail("%s did not pass: %s" % (check, results.get(check)))
    if password in done.stdout or password in done.stderr:
        fail("the password was printed")

    # The same against the lab as against any deployment: --user, a password
    # file, --long-poll.
    password_file = work / "given.pw"
    password_file.write_text(password + "\n")
    given = ["check", lab_file, "--cacert", state["caBundle"], "--user", lab["users"][0]["sipUri"],
             "--password-file", password_file, "--long-poll", "0.3", "--only", "signin.*",
             "--only", "webservices.long-poll", "--format", "json"]
    for c in state["connectTo"]:
        given += ["--connect-to", c]
    done = run(edgelab, *given)
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        fail("edgelab check --user --password-file exited %d" % done.returncode)
    measured = [r for r in json.loads(done.stdout)["results"] if r["id"] == "webservices.long-poll"]
    if not measured or "P-GET asking timeout=" not in measured[0]["evidence"] \
            or "waited" not in measured[0]["evidence"]:
        fail("--long-poll did not measure the event channel: %s" % measured)
    for path in work.rglob("*"):
        # The data disk's sparse image is gigabytes of nothing edgelab writes text into.
        # given.pw is the password file handed to --password-file.
        if not path.is_file() or path.suffix == ".img" or path.name == "given.pw":
            continue
        if password.encode() in path.read_bytes():
            fail("the password is in " + str(path))
    if list((work / "lab").glob("*users*")):
        fail("the front end's users file was left on disk")
    for p in state["processes"]:
        cmdline = pathlib.Path("/proc/%d/cmdline" % p["pid"]).read_bytes()
        if password.encode() in cmdline:
            fail("the password is in the arguments of " + p["name"])
        if p["name"].startswith("backend-fe") and b"--users-file" not in cmdline:
            fail("the front end was not given its users by file")


def main():
    mode, bin_dir, source, work = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4])
    edgelab = bin_dir / "edgelab"
    lab_file = source / "scenarios/labs/seed-lab.json"
    lab = json.loads(lab_file.read_text())
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    up = run(edgelab, "up", lab_file, "--work-dir", work / "lab", "--disk-sample-mib", "1")
    if up.returncode != 0:
        print(up.stdout, up.stderr)
        fail("edgelab up exited %d" % up.returncode)
    LOGS.append(work / "lab/logs")
    try:
        state = json.loads((work / "lab/state.json").read_text())
        if mode == "independent-client":
            independent_client(lab, state, work, source)
        else:
            password_never_written(lab, state, work, edgelab, lab_file)
    except (OSError, ValueError, KeyError) as e:  # a file missing, JSON that does not read
        fail("%s: %s" % (type(e).__name__, e))
    finally:
        run(edgelab, "down", lab_file, "--work-dir", work / "lab")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
