#!/usr/bin/env python3
"""A Lync 2013 desktop sign-in written from the published documents only:
[MS-OCAUTHWS] (Web Ticket Service metadata, WS-Trust 1.3 RequestSecurityToken),
[MS-OCDISCWS] (the user resource and its SIP access points), RFC 4559 and
[MS-NLMP] (HTTP NTLM, done by curl's own implementation: curl --ntlm).

It shares no code with edgelab. Secrets (password, ticket) reach curl on its
standard input (-K -), never on a command line.

usage: lync_signin.py --web-services FQDN --account DOMAIN\\user
                      --password-file FILE [--connect-to H:P:A:P] [--cacert F]
Prints one JSON object: what each step answered; exit 0 when signed in.
"""
import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12_WSDL = "http://schemas.xmlsoap.org/wsdl/soap12/"
TRUST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"


def quoted(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def curl(args, url, config_lines=(), body=None):
    """One request; returns (status, body). Options with secrets go through
    a curl config on stdin."""
    config = "\n".join(config_lines) + "\n"
    command = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", url] + args
    if body is not None:
        command += ["--data-binary", "@" + body]
    done = subprocess.run(command + ["-K", "-"], input=config.encode(),
                          capture_output=True, check=False)
    text = done.stdout.decode("utf-8", "replace")
    payload, _, status = text.rpartition("\n")
    return int(status or 0), payload


def local(tag):
    return tag.rsplit("}", 1)[-1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--web-services", required=True)
    p.add_argument("--account", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--connect-to", action="append", default=[])
    p.add_argument("--cacert")
    p.add_argument("--work", required=True, help="folder for the request body")
    a = p.parse_args()
    with open(a.password_file, encoding="utf-8") as f:
        password = f.readline().rstrip("\r\n")
    common = []
    for c in a.connect_to:
        common += ["--connect-to", c]
    if a.cacert:
        common += ["--cacert", a.cacert]
    out = {}

    # 1. The service's metadata, anonymously ([MS-OCAUTHWS] 1.3.1.1 steps 3-4).
    mex = "https://%s/WebTicket/WebTicketService.svc/mex" % a.web_services
    status, wsdl = curl(common, mex)
    out["mex"] = status
    endpoint = None
    if status == 200:
        for port in ET.fromstring(wsdl).iter("{%s}port" % WSDL):
            if port.get("name") == "WebTicketServiceWinNegotiate":
                address = port.find("{%s}address" % SOAP12_WSDL)
                endpoint = address.get("location") if address is not None else None
    out["endpoint"] = endpoint
    if not endpoint:
        print(json.dumps(out))
        return 1

    # 2. WS-Trust RequestSecurityToken with Integrated Windows authentication.
    rst = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Header>'
        '<wsa:Action s:mustUnderstand="1">'
        'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue</wsa:Action>'
        '<wsa:To s:mustUnderstand="1">%s</wsa:To></s:Header><s:Body>'
        '<wst:RequestSecurityToken xmlns:wst="%s">'
        '<wst:TokenType>urn:component:Microsoft.Rtc.WebAuthentication.2010:user-cwt-1'
        '</wst:TokenType><wst:RequestType>%s/Issue</wst:RequestType>'
        '</wst:RequestSecurityToken></s:Body></s:Envelope>' % (endpoint, TRUST, TRUST))
    body_file = a.work + "/rst.xml"
    with open(body_file, "w", encoding="utf-8") as f:
        f.write(rst)
    status, rstr = curl(common + ["--ntlm", "-H", "Content-Type: application/soap+xml; charset=utf-8"],
                        endpoint, ["user = " + quoted(a.account + ":" + password)], body_file)
    out["rst"] = status
    ticket = None
    if status == 200:
        for token in ET.fromstring(rstr).iter("{%s}RequestedSecurityToken" % TRUST):
            ticket = "".join(token.itertext()).strip()
    out["ticketLength"] = len(ticket) if ticket else 0
    if not ticket:
        print(json.dumps(out))
        return 1

    # 3. The user resource with the ticket ([MS-OCDISCWS]).
    user = "https://%s/Autodiscover/AutodiscoverService.svc/root/user" % a.web_services
    status, resource = curl(common + ["-H", "Accept: application/vnd.microsoft.rtc.autodiscover+xml;v=1"],
                            user, ["header = " + quoted("X-MS-WebTicket: opaque=" + ticket)])
    out["user"] = status
    access = {}
    if status == 200:
        for element in ET.fromstring(resource).iter():
            if local(element.tag).startswith("Sip") and local(element.tag).endswith("Access"):
                access[local(element.tag)] = "%s:%s" % (element.get("fqdn"), element.get("port"))
    out["access"] = access
    print(json.dumps(out))
    return 0 if status == 200 and "SipServerExternalAccess" in access else 1


if __name__ == "__main__":
    sys.exit(main())
