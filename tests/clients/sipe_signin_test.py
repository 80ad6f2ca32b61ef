#!/usr/bin/env python3
"""A real third-party Lync client, Debian's pidgin-sipe run by finch, signs in
through the seed lab's proxy.

The test re-runs itself in new mount and network namespaces (unshare, as
root): a loopback of its own, so the lab's proxy can stand on port 443 where
sipe looks, and nothing but loopback exists; /etc/hosts, /etc/resolv.conf and
/etc/ssl/certs replaced by bind mounts seen by this test only (the lab's names
on the proxy's address, no name server, the lab's root CA as the only trusted
one: libpurple's CA pool reads /etc/ssl/certs). sipe then does what it does
against a real site, with auto-discovery: lyncdiscover, the user resource's
401 and X-MS-WebTicketURL, the Web Ticket Service's mex, a SOAP 1.1
RequestSecurityToken for a SAML 1.1 token with NTLM, and the user resource
again with X-MS-WebTicket: opaque=<assertion>. The test waits for those steps
in sipe's debug log (finch --debug) and in the front end's access log.

There is no SIP server in the lab: sipe's attempt to register at the SIP
access point the user resource named (sip.DOMAIN:443) is where it ends.

finch runs with SAX1_SHIM preloaded (libxml2_sax1_shim.cpp): Debian 12's
libxml2 reads sipe's SAX1 handler as SAX2 and gives it no elements, so without
it sipe cannot read any document from any server. The test first shows that
the shim is needed (sipe's own parser, loaded from the plugin, reads a small
document as empty without it and as a tree with it) so the report says so.

AUTH is sipe's authentication setting: ntlm (the NTLM scheme), or auto (the
Negotiate scheme: Kerberos first, which finds no KDC, then sipe's NTLM inside
Negotiate, as a Windows client outside the domain does).

usage: sipe_signin_test.py ntlm|auto SAX1_SHIM EDGELAB_BIN_DIR SOURCE_DIR WORK
Exit 0 pass, 1 fail, 77 skipped (no namespaces: not root).
"""
import json
import os
import pathlib
import pty
import shutil
import signal
import subprocess
import sys
import threading
import time

SIPE_PLUGIN = pathlib.Path("/usr/lib/purple-2/libsipe.so")
TIMEOUT_S = 120  # generous: only a failure waits this long


def run(*command, **kw):
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **kw)


def fail(message, logs=()):
    print("FAIL: " + message)
    for log in logs:
        if not log.exists():
            continue
        # Tickets and NTLM tokens are left out of what is printed.
        lines = [l for l in log.read_text(errors="replace").splitlines()
                 if "opaque=" not in l and "Authorization:" not in l and "token '" not in l]
        print("---- last lines of %s" % log)
        print("\n".join(lines[-60:]))
    sys.exit(1)


def accounts_xml(user, lab, auth):
    """libpurple's accounts.xml: one sipe account, auto-discovery (no server
    given), the authentication scheme asked, enabled for finch. The name is
    sipe's "SIP URI,login"."""
    from xml.sax.saxutils import escape
    name = escape(user["sipUri"] + "," + user["account"])
    return ("<?xml version='1.0' encoding='UTF-8' ?>\n<account version='1.0'>\n <account>\n"
            "  <protocol>prpl-sipe</protocol>\n  <name>%s</name>\n  <password>%s</password>\n"
            "  <settings>\n"
            "   <setting name='server' type='string'></setting>\n"
            "   <setting name='transport' type='string'>tls</setting>\n"
            "   <setting name='authentication' type='string'>%s</setting>\n"
            "  </settings>\n"
            "  <settings ui='gnt-purple'>\n"
            "   <setting name='auto-login' type='bool'>1</setting>\n"
            "  </settings>\n </account>\n</account>\n") % (name, escape(user["password"]), auth)


SIPE_PARSES = """
import ctypes, sys
ctypes.CDLL("libpurple.so.0", mode=ctypes.RTLD_GLOBAL)
sipe = ctypes.CDLL("%s", mode=ctypes.RTLD_GLOBAL)
sipe.sipe_xml_parse.restype = ctypes.c_void_p
doc = b"<a><b x='1'/></a>"
sys.exit(0 if sipe.sipe_xml_parse(doc, len(doc)) else 1)
""" % SIPE_PLUGIN


def sipe_reads_xml(shim=None):
    """Whether sipe's own XML parser, from the plugin, reads a small document."""
    env = dict(os.environ)
    if shim:
        env["LD_PRELOAD"] = str(shim)
    return subprocess.run([sys.executable, "-c", SIPE_PARSES], env=env).returncode == 0


def bind_mount(source, target):
    done = run("mount", "--bind", source, target)
    if done.returncode != 0:
        fail("mount --bind %s %s: %s" % (source, target, done.stderr.strip()))


class Finch:
    """finch on a pseudo-terminal of its own (it is a curses program), its
    debug output (stderr) to a file."""

    def __init__(self, home, purple_dir, debug_log, shim):
        master, slave = pty.openpty()
        env = dict(os.environ, HOME=str(home), TERM="xterm", LANG="C.UTF-8", LD_PRELOAD=str(shim))
        env.pop("PURPLE_UNSAFE_DEBUG", None)  # it would log tickets and NTLM tokens
        self.log = open(debug_log, "wb")
        self.process = subprocess.Popen(["finch", "--config", str(purple_dir), "--debug"],
                                        stdin=slave, stdout=slave, stderr=self.log, env=env,
                                        start_new_session=True)
        os.close(slave)
        self.master = master
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            while os.read(self.master, 65536):
                pass
        except OSError:
            pass

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self.master)
        self.log.close()


def wait_for(predicate, finch, what, logs):
    """Waits until predicate() holds: the events come from sipe's log, read
    as it grows; gives up after TIMEOUT_S or when finch has exited."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        if finch.process.poll() is not None:
            fail("finch exited (%s) before %s" % (finch.process.returncode, what), logs)
        time.sleep(0.1)
    fail("no %s within %d s" % (what, TIMEOUT_S), logs)


def inside(auth, shim, bin_dir, source, work):
    edgelab = bin_dir / "edgelab"
    lab_file = source / "scenarios/labs/seed-lab.json"
    lab = json.loads(lab_file.read_text())
    user = lab["users"][0]
    if run("ip", "link", "set", "lo", "up").returncode != 0:
        fail("cannot bring the namespace's loopback up")
    resolv = work / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")  # nothing answers: names come from hosts
    bind_mount(resolv, "/etc/resolv.conf")

    up = run(edgelab, "up", lab_file, "--work-dir", work / "lab", "--disk-sample-mib", "1")
    logs = [work / "finch-debug.log"] + sorted((work / "lab/logs").glob("*.log"))
    if up.returncode != 0:
        print(up.stdout, up.stderr)
        fail("edgelab up exited %d" % up.returncode, logs)
    finch = None
    purple = work / "purple"
    try:
        state = json.loads((work / "lab/state.json").read_text())
        if not state["proxyAddress"].endswith(":443"):
            fail("the proxy does not stand on 443 (%s): sipe only looks there" % state["proxyAddress"])
        hosts = work / "hosts"
        hosts.write_text("127.0.0.1 localhost\n" + "\n".join(state["hostsLines"]) + "\n")
        bind_mount(hosts, "/etc/hosts")
        certs = work / "certs"
        certs.mkdir()
        shutil.copy(state["caBundle"], certs / "edgelab-lab-root.pem")
        bind_mount(certs, "/etc/ssl/certs")

        purple.mkdir(mode=0o700)
        accounts = purple / "accounts.xml"
        accounts.touch(mode=0o600)
        accounts.write_text(accounts_xml(user, lab, auth))
        finch = Finch(work, purple, work / "finch-debug.log", shim)
        debug = work / "finch-debug.log"

        def said(text):
            return lambda: text in debug.read_text(errors="replace")

        wait_for(said("sipe_lync_autodiscover_parse: user https://lyncws." + lab["domain"]),
                 finch, "user link from lyncdiscover", logs)
        wait_for(said("webticket_metadata: WebTicket Windows Negotiate Auth URI"),
                 finch, "Web Ticket Service metadata", logs)
        if auth == "auto":
            wait_for(said("sip_sec_acquire_cred__negotiate: fallback to NTLM"), finch,
                     "the Negotiate scheme (Kerberos, then NTLM)", logs)
        wait_for(said("sipe_lync_autodiscover_webticket: got ticket for Auth URI"),
                 finch, "web ticket", logs)
        wait_for(said("lync_autodiscover_cb: got server list"), finch,
                 "SIP server list from the user resource", logs)
        wait_for(said("transport_connect - hostname: sip.%s port: 443" % lab["domain"]),
                 finch, "connection to the external SIP access point", logs)

        # The front end's side: the user resource answered 200 to the ticket.
        access = []
        for log in (work / "lab/logs").glob("*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("{") and "/root/user" in line:
                    access.append(json.loads(line))
        statuses = [a["status"] for a in access if a.get("target", "").lower().endswith("/root/user")]
        if 200 not in statuses:
            fail("the front end never answered the user resource with 200: %s" % statuses, logs)
        text = debug.read_text(errors="replace")
        if user["password"] in text:
            fail("the password is in sipe's debug log")
        print("sipe: user link, mex, web ticket (SAML), user resource %s, SIP server list" % statuses)
    finally:
        if finch:
            finch.stop()
        shutil.rmtree(purple, ignore_errors=True)  # the password
        run(edgelab, "down", lab_file, "--work-dir", work / "lab")
    (work / "finch-debug.log").unlink(missing_ok=True)  # holds tickets; kept only on failure
    print("PASS")
    return 0


def main():
    auth = sys.argv[-5]
    shim, bin_dir, source, work = (pathlib.Path(a).resolve() for a in sys.argv[-4:])
    if auth not in ("ntlm", "auto"):
        print("usage: sipe_signin_test.py ntlm|auto SAX1_SHIM EDGELAB_BIN_DIR SOURCE_DIR WORK")
        return 2
    if "--inside" in sys.argv:
        return inside(auth, shim, bin_dir, source, work)
    for need in ("finch", "unshare", "ip"):
        if not shutil.which(need):
            fail("%s is not installed (tools/install-deps.sh installs it)" % need)
    if not SIPE_PLUGIN.exists():
        fail("pidgin-sipe is not installed (tools/install-deps.sh installs it)")
    if run("unshare", "--mount", "--net", "true").returncode != 0:
        print("SKIP: needs mount and network namespaces (run as root)")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if not shim.exists():
        fail("the SAX1 shim %s was not built" % shim)
    if not sipe_reads_xml(shim):
        fail("sipe's XML parser reads nothing even with the SAX1 shim")
    print("sipe reads XML without the shim: %s" % ("yes" if sipe_reads_xml() else
          "no (libxml2 reads its SAX1 handler as SAX2): finch runs with the shim"))
    done = subprocess.run(["unshare", "--mount", "--net", "--fork", sys.executable,
                           os.path.abspath(__file__), "--inside", auth, str(shim),
                           str(bin_dir), str(source), str(work)])
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
