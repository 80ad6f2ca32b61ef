#!/usr/bin/env python3
"""A Lync 2013 desktop sign-in written from the published documents only:
[MS-OCAUTHWS] (Web Ticket Service metadata, WS-Trust 1.3 RequestSecurityToken),
[MS-OCDISCWS] (the user resource and its SIP access points), RFC 4559 and
[MS-NLMP] (HTTP NTLM, done by curl's own implementation: curl --ntlm).
Both token types: Lync's compact web ticket (SOAP 1.2, user-cwt-1) and a SAML
1.1 assertion (SOAP 1.1, text/xml, Claims and Entropy, as pidgin-sipe asks),
the user resource read with each in X-MS-WebTicket. With --ucwa, UCWA 2.0 as
Microsoft's documentation describes it: lyncdiscover, the 401's MsRtcOAuth
href, the password grant, the user resource with the token, an application
(_embedded.me), its event channel (refused without the token), delete.

It shares no code with edgelab. Secrets (password, ticket, token) reach curl
on its standard input (-K -), never on a command line.

usage: lync_signin.py --web-services FQDN --account DOMAIN\\user
                      --password-file FILE [--connect-to H:P:A:P] [--cacert F]
                      [--ucwa --domain D --sip-uri U]
Prints one JSON object: what each step answered; exit 0 when signed in.
"""
import argparse
import base64
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP12_WSDL = "http://schemas.xmlsoap.org/wsdl/soap12/"
TRUST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"


def quoted(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def curl(args, url, config_lines=(), body=None, headers=None):
    """One request; returns (status, body). Options with secrets go through
    a curl config on stdin. With a dict as headers, the response's headers
    are put in it (lower-case names, each a list of values)."""
    config = "\n".join(config_lines) + "\n"
    command = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", url] + args
    if body is not None:
        command += ["--data-binary", "@" + body]
    if headers is not None:
        command += ["-D", "-"]
    done = subprocess.run(command + ["-K", "-"], input=config.encode(),
                          capture_output=True, check=False)
    text = done.stdout.decode("utf-8", "replace")
    payload, _, status = text.rpartition("\n")
    if headers is not None:
        # Every response head (a 401 leg, then the answer) before the body.
        while payload.startswith("HTTP/"):
            head, _, payload = payload.partition("\r\n\r\n")
            headers.clear()
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers.setdefault(name.strip().lower(), []).append(value.strip())
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
    p.add_argument("--ucwa", action="store_true", help="also UCWA's flow from lyncdiscover")
    p.add_argument("--domain", help="the SIP domain (for lyncdiscover), with --ucwa")
    p.add_argument("--sip-uri", help="the user's SIP URI, with --ucwa")
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
    status, access = user_resource(common, user, "opaque=" + ticket)
    out["user"] = status
    out["access"] = access
    ok = status == 200 and "SipServerExternalAccess" in access

    # 4. The same with a SAML 1.1 assertion, asked for as pidgin-sipe does.
    out["saml"] = saml_ticket(a, common, password, endpoint, user)
    ok = ok and out["saml"].get("user") == 200

    # 5. SPNEGO: the same request with a GSS-API stack's Negotiate (curl
    # --negotiate with gss-ntlmssp, NTLM inside SPNEGO, a MIC).
    out["spnego"] = spnego_ticket(a, common, password, endpoint)
    ok = ok and out["spnego"].get("rst") == 200
    if a.ucwa:
        out["ucwa"] = ucwa_flow(a, common, password)
        ok = ok and out["ucwa"].get("done", False)
    print(json.dumps(out))
    return 0 if ok else 1


def user_resource(common, url, webticket):
    status, resource = curl(common + ["-H", "Accept: application/vnd.microsoft.rtc.autodiscover+xml;v=1"],
                            url, ["header = " + quoted("X-MS-WebTicket: " + webticket)])
    access = {}
    if status == 200:
        for element in ET.fromstring(resource).iter():
            if local(element.tag).startswith("Sip") and local(element.tag).endswith("Access"):
                access[local(element.tag)] = "%s:%s" % (element.get("fqdn"), element.get("port"))
    return status, access


def saml_ticket(a, common, password, endpoint, user_url):
    """SOAP 1.1 (text/xml, SOAPAction), TokenType SAMLV1.1, AppliesTo the
    user resource, the user's URI as a claim, 256 bits of entropy."""
    out = {}
    entropy = base64.b64encode(os.urandom(32)).decode()
    sip = "sip:" + (a.sip_uri or "")
    claims = ""
    if a.sip_uri:
        claims = ('<wst:Claims Dialect="urn:component:Microsoft.Rtc.WebAuthentication.2010:authclaims">'
                  '<auth:ClaimType Uri="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri" '
                  'Optional="false"><auth:Value>%s</auth:Value></auth:ClaimType></wst:Claims>' % sip)
    rst = ('<?xml version="1.0"?>'
           '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
           'xmlns:wst="%s" xmlns:wsa="http://www.w3.org/2005/08/addressing" '
           'xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" '
           'xmlns:auth="http://schemas.xmlsoap.org/ws/2006/12/authorization"><soap:Body>'
           '<wst:RequestSecurityToken Context="edgelab-independent-client">'
           '<wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1'
           '</wst:TokenType><wst:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue'
           '</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>%s</wsa:Address>'
           '</wsa:EndpointReference></wsp:AppliesTo>%s<wst:Entropy><wst:BinarySecret>%s'
           '</wst:BinarySecret></wst:Entropy><wst:KeyType>%s/SymmetricKey</wst:KeyType>'
           '</wst:RequestSecurityToken></soap:Body></soap:Envelope>'
           % (TRUST, user_url, claims, entropy, TRUST))
    body_file = a.work + "/rst-saml.xml"
    with open(body_file, "w", encoding="utf-8") as f:
        f.write(rst)
    headers = {}
    status, rstr = curl(common + ["--ntlm", "-H", "Content-Type: text/xml; charset=utf-8",
                                  "-H", 'SOAPAction: "%s/RST/Issue"' % TRUST],
                        endpoint, ["user = " + quoted(a.account + ":" + password)], body_file,
                        headers)
    out["rst"] = status
    out["contentType"] = headers.get("content-type", [""])[0]
    if status != 200:
        return out
    doc = ET.fromstring(rstr)
    out["soap11"] = doc.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
    out["lifetime"] = any(local(e.tag) == "Lifetime" for e in doc.iter())
    out["serverEntropy"] = any(local(e.tag) == "Entropy" for e in doc.iter())
    # The assertion as the client received it, cut out of the text.
    match = re.search(r"<(\w+:)?Assertion\b.*?</\1Assertion>", rstr, re.S)
    if not match:
        return out
    assertion = match.group(0)
    out["assertionId"] = bool(re.search(r'AssertionID="[^"]+"', assertion))
    status, access = user_resource(common, user_url,
                                   "opaque=" + base64.b64encode(assertion.encode()).decode())
    out["user"] = status
    out["access"] = access
    # A ticket that is not the service's is refused.
    forged = assertion.replace(sip, "sip:mallory@" + sip.partition("@")[2]) if a.sip_uri else assertion + " "
    out["forgedUser"], _ = user_resource(common, user_url,
                                         "opaque=" + base64.b64encode(forged.encode()).decode())
    return out


def spnego_ticket(a, common, password, endpoint):
    """gss-ntlmssp reads its credential from NTLM_USER_FILE (DOMAIN:USER:PASSWORD)."""
    domain, _, user = a.account.rpartition("\\")
    cred = a.work + "/ntlm-user"
    with os.fdopen(os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("%s:%s:%s\n" % (domain, user, password))
    headers = {}
    try:
        env = dict(os.environ, NTLM_USER_FILE=cred)
        command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-D", "-",
                   "--negotiate", "-u", ":", "-H", "Content-Type: application/soap+xml; charset=utf-8",
                   "--data-binary", "@" + a.work + "/rst.xml", endpoint] + common
        done = subprocess.run(command, capture_output=True, env=env, check=False)
    finally:
        os.unlink(cred)
    text = done.stdout.decode("utf-8", "replace")
    heads, _, status = text.rpartition("\r\n\r\n")
    offered = [l.split(":", 1)[1].strip() for l in heads.split("\r\n")
               if l.lower().startswith("www-authenticate:")]
    # The last answer's Negotiate token: SPNEGO accept-completed.
    return {"rst": int(status or 0), "final": offered[-1][:10] if offered else "",
            "acceptCompleted": bool(offered) and offered[-1] == "Negotiate oQcwBaADCgEA"}


def ucwa_flow(a, common, password):
    """UCWA 2.0 from lyncdiscover, as Microsoft's documentation lays it out."""
    out = {}
    accept = ["-H", "Accept: application/json"]
    status, body = curl(common + accept, "https://lyncdiscover.%s/?sipuri=%s" % (a.domain, a.sip_uri))
    out["discover"] = status
    if status != 200:
        return out
    user_url = json.loads(body)["_links"]["user"]["href"]
    headers = {}
    status, _ = curl(common + accept, user_url, headers=headers)
    out["anonymousUser"] = status
    challenge = next((c for c in headers.get("www-authenticate", []) if c.startswith("MsRtcOAuth")), "")
    href = re.search(r'href="([^"]+)"', challenge)
    if status != 401 or not href:
        return out
    token_file = a.work + "/token-request"
    with os.fdopen(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("grant_type=password&username=%s&password=%s"
                % (quote(a.sip_uri), quote(password)))
    headers = {}
    status, body = curl(common + ["-H", "Content-Type: application/x-www-form-urlencoded"],
                        href.group(1), body=token_file, headers=headers)
    os.unlink(token_file)
    out["token"] = status
    out["tokenNoStore"] = headers.get("cache-control", [""])[0] == "no-store"
    if status != 200:
        return out
    grant = json.loads(body)
    bearer = ["header = " + quoted("Authorization: Bearer " + grant["access_token"])]
    out["expiresIn"] = grant.get("expires_in")
    status, body = curl(common + accept, user_url, bearer)
    out["user"] = status
    if status != 200:
        return out
    apps = json.loads(body)["_links"]["applications"]["href"]
    origin = "/".join(apps.split("/")[:3])
    app_file = a.work + "/application.json"
    with open(app_file, "w", encoding="utf-8") as f:
        json.dump({"UserAgent": "edgelab-independent-client", "EndpointId": "b1e6d2f0-7c1a-4e5b",
                   "Culture": "en-US"}, f)
    status, body = curl(common + accept + ["-H", "Content-Type: application/json"], apps, bearer,
                        app_file)
    out["application"] = status
    if status != 201:
        return out
    app = json.loads(body)
    out["me"] = app.get("_embedded", {}).get("me", {}).get("uri")
    self_url = origin + app["_links"]["self"]["href"]
    events = origin + app["_links"]["events"]["href"]
    out["eventsWithoutToken"], _ = curl(common + accept, events)
    status, body = curl(common + accept, events, bearer)
    out["events"] = status
    if status == 200:
        status, _ = curl(common + accept, origin + json.loads(body)["_links"]["next"]["href"], bearer)
        out["nextEvents"] = status
    out["delete"], _ = curl(common + ["-X", "DELETE"], self_url, bearer)
    out["afterDelete"], _ = curl(common + accept, self_url, bearer)
    out["done"] = (out["eventsWithoutToken"] == 401 and out["events"] == 200 and out["delete"] == 204
                   and out["afterDelete"] == 404 and out["me"] == "sip:" + a.sip_uri)
    return out


def quote(text):
    from urllib.parse import quote as q
    return q(text, safe="")


if __name__ == "__main__":
    sys.exit(main())
