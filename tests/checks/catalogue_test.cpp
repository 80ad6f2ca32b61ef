#include "checks/catalogue.hpp"

#include <functional>
#include <set>

#include <gtest/gtest.h>

#include "checks/gather.hpp"
#include "provision/lab.hpp"
#include "provision/rules.hpp"
#include "tests/provision/powershell_tokens.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::checks {
namespace {

using namespace std::chrono_literals;
using provision::Lab;

using test::seedLab;

const auto kNow = std::chrono::system_clock::now();

CertificateInfo proxyCert(const Lab& lab) {
    CertificateInfo c;
    c.subjectCn = lab.names.webServices;
    c.subject = "CN=" + lab.names.webServices;
    c.issuer = "CN=edgelab Issuing CA";
    c.dnsNames = publicNames(lab);
    c.thumbprint = "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567";
    c.notBefore = kNow - 24h;
    c.notAfter = kNow + 24h * 300;
    return c;
}

TlsHandshake okHandshake(const CertificateInfo& leaf, std::optional<std::string> sni) {
    TlsHandshake h;
    h.address = "127.5.0.1:443";
    h.sni = std::move(sni);
    h.connected = true;
    h.outcome = HandshakeOutcome::Ok;
    h.protocol = "TLSv1.3";
    h.cipher = "TLS_AES_256_GCM_SHA384";
    CertificateInfo issuing;
    issuing.subjectCn = "edgelab Issuing CA";
    issuing.subject = "CN=edgelab Issuing CA";
    issuing.issuer = "CN=edgelab Root CA";
    h.chain = {leaf, issuing};
    h.chainVerifiedFromSentOnly = true;
    return h;
}

HttpExchange answer(long status, std::string contentType = "text/html", std::string body = "") {
    HttpExchange x;
    x.connected = true;
    x.status = status;
    if (!contentType.empty()) x.responseHeaders.emplace("content-type", contentType);
    x.body = std::move(body);
    x.timings.totalMs = 12;
    return x;
}

// What a correct publishing of the seed lab shows a client.
Evidence goodEvidence(const Lab& lab) {
    Evidence ev;
    const auto& n = lab.names;
    for (auto& name : publicNames(lab))
        ev.tls[probe::tlsSni(name)] = okHandshake(proxyCert(lab), name);
    for (auto& c : lab.clients)
        if (!c.sendsSni)
            ev.tls[probe::tlsNoSni(c.name)] = okHandshake(proxyCert(lab), std::nullopt);
    const std::string ws = "https://" + n.webServices;
    ev.http[ProbeId("http.lyncdiscover.json")] = answer(
        200, "application/vnd.microsoft.rtc.autodiscover+json; v=1",
        R"({"_links":{"self":{"href":")" + ws +
            R"(/Autodiscover/AutodiscoverService.svc/root?originalDomain=x"},"user":{"href":")" +
            ws + R"(/Autodiscover/AutodiscoverService.svc/root/oauth/user"},"xframe":{"href":")" +
            ws + R"(/Autodiscover/XFrame/XFrame.html"}}})");
    ev.http[ProbeId("http.lyncdiscover.xml")] = answer(
        200, "application/vnd.microsoft.rtc.autodiscover+xml; v=1",
        R"(<AutodiscoverResponse xmlns:xsd="http://www.w3.org/2001/XMLSchema" AccessLocation="External"><Root><Link token="Domain" href=")" +
            ws +
            R"(/Autodiscover/AutodiscoverService.svc/root/domain"/><Link token="User" href=")" +
            ws +
            R"(/Autodiscover/AutodiscoverService.svc/root/user"/></Root></AutodiscoverResponse>)");
    for (auto& w : webServicesPaths())
        ev.http[probe::webServices(slug(w.path))] = answer(w.expected.front());
    auto oauth = answer(401);
    oauth.responseHeaders.emplace(
        "www-authenticate",
        R"(Bearer trusted_issuers="", client_id="00000004-0000-0ff1-ce00-000000000000")");
    oauth.responseHeaders.emplace(
        "www-authenticate", "MsRtcOAuth href=\"" + ws +
                                "/WebTicket/oauthtoken\",grant_type=\"urn:microsoft.rtc:windows\"");
    oauth.responseHeaders.emplace("x-ms-server-fqdn", "lyncfe1." + lab.domain);
    ev.http[ProbeId("http.auth.oauth-user")] = oauth;
    ev.http[ProbeId("http.meet.join")] =
        answer(200, "text/html", "<a href=\"" + ws + "/lwa/WebPages/LwaClient.aspx\">join</a>");
    auto redirect = answer(302);
    redirect.responseHeaders.emplace("location", "https://" + n.meet + "/edgelab/ABCDEFGH");
    ev.http[ProbeId("http.meet.user")] = redirect;
    ev.http[ProbeId("http.dialin")] = answer(200, "text/html", "<p>Dial-in numbers</p>");
    const std::string owas = "https://" + n.owas;
    ev.http[ProbeId("http.owas.discovery")] =
        answer(200, "text/xml",
               "<wopi-discovery><net-zone name=\"external-https\"><app name=\"PowerPoint\"><action "
               "name=\"view\" urlsrc=\"" +
                   owas + "/p/PowerPointFrame.aspx?\"/></app></net-zone></wopi-discovery>");
    auto presenter = answer(200, "text/html",
                            "<script src=\"" + owas +
                                "/m/s/1033/presenter.js\"></script>"
                                "<script>var g_farmInternalUrl = \"https://owas1." +
                                lab.domain + "/\";</script>");
    presenter.responseHeaders.emplace("x-officewebappsurl", owas + "/m/");
    ev.http[ProbeId("http.owas.presenter")] = presenter;
    ev.http[ProbeId("http.owas.participant")] = presenter;
    ev.http[ProbeId("http.owas.wopisrc")] = answer(200);
    return ev;
}

std::map<std::string, CheckResult> evaluate(const Lab& lab, const Evidence& ev,
                                            const Target& target = {}) {
    auto defs = catalogue(lab, target);
    CheckContext ctx{lab, target, kNow};
    std::map<std::string, CheckResult> out;
    for (auto& r : evaluateAll(defs, ev, ctx)) out[r.id] = r;
    return out;
}

class Catalogue : public ::testing::Test {
  protected:
    Lab lab = seedLab();
    Evidence ev = goodEvidence(lab);
    std::string ws = lab.names.webServices;
};

TEST_F(Catalogue, HasEveryCheckOfTheIssueWithStableIds) {
    auto r = evaluate(lab, ev);
    for (auto& name : publicNames(lab)) {
        EXPECT_TRUE(r.count("tls.sni." + name)) << name;
        EXPECT_TRUE(r.count("tls.chain." + name)) << name;
    }
    for (const char* id :
         {"reach.resolve", "reach.connect", "reach.answer", "tls.trust", "tls.no-sni.lync-mobile",
          "tls.no-sni.activesync", "lyncdiscover", "auth.passthrough", "meet", "dialin",
          "owas.no-internal-names", "owas.wopisrc", "webservices.long-poll", "headers.translated",
          "backend.cert-public-names", "webservices.autodiscover-autodiscoverservice-svc-root",
          "webservices.reach-sip-svc", "webservices.ucwa-v1-applications",
          "webservices.datacollabweb"})
        EXPECT_TRUE(r.count(id)) << id;
    EXPECT_FALSE(r.count("tls.no-sni.browser"));  // browsers send SNI
    for (const char* id :
         {"signin.discovery", "signin.webticket", "signin.ucwa", "signin.ntlm-affinity",
          "signin.anonymous-after-signin", "signin.anon-meeting"})
        EXPECT_TRUE(r.count(id)) << id;
    EXPECT_TRUE(r.count("backend.up.fe1"));
    EXPECT_TRUE(r.count("backend.up.owas1"));
    EXPECT_TRUE(r.count("tls.no-sni.default-binding"));
    EXPECT_EQ(r.size(), 4u + 5u * 2 + 2 + 1 + webServicesPaths().size() + 14 + 2 + 1);
}

TEST_F(Catalogue, CorrectPublishingPassesEverything) {
    for (auto& [id, res] : evaluate(lab, ev)) {
        // Without backend addresses or a test user these have nothing to read.
        if (id == "backend.cert-public-names" || id.rfind("signin.", 0) == 0) {
            EXPECT_EQ(res.verdict, Verdict::Skip) << res.evidence;
            continue;
        }
        EXPECT_EQ(res.verdict, Verdict::Pass) << id << ": " << res.evidence;
        EXPECT_TRUE(res.remedy.empty()) << id;
        EXPECT_FALSE(res.evidence.empty()) << id;
    }
}

TEST_F(Catalogue, SniFailsOnResetAndOnACertificateWithoutTheName) {
    ev.tls[probe::tlsSni(lab.names.meet)].outcome = HandshakeOutcome::Reset;
    ev.tls[probe::tlsSni(lab.names.meet)].detail = "Connection reset by peer";
    auto& owas = ev.tls[probe::tlsSni(lab.names.owas)];
    owas.chain[0].dnsNames = {ws};
    auto r = evaluate(lab, ev);
    EXPECT_EQ(r[check::tlsSni(lab.names.meet).str()].verdict, Verdict::Fail);
    EXPECT_NE(r[check::tlsSni(lab.names.meet).str()].evidence.find("reset"), std::string::npos);
    EXPECT_EQ(r[check::tlsSni(lab.names.owas).str()].verdict, Verdict::Fail);
    EXPECT_NE(r[check::tlsSni(lab.names.owas).str()].evidence.find("does not cover"),
              std::string::npos);
    EXPECT_NE(r[check::tlsSni(lab.names.owas).str()].remedy.find("hostnameport='" + lab.names.owas +
                                                                 ":443'"),
              std::string::npos);
    // Both forms, as every other netsh fix is printed.
    EXPECT_NE(r[check::tlsSni(lab.names.owas).str()].remedy.find(
                  "\n# in cmd.exe: netsh http add sslcert hostnameport=" + lab.names.owas + ":443"),
              std::string::npos);
    // The chain check only judges completed handshakes.
    EXPECT_EQ(r["tls.chain." + lab.names.meet].verdict, Verdict::Skip);
}

TEST_F(Catalogue, SniWarnsBeforeExpiryAndFailsWhenExpired) {
    ev.tls[probe::tlsSni(ws)].chain[0].notAfter = kNow + 24h * 10;
    ev.tls[probe::tlsSni(lab.names.meet)].chain[0].notAfter = kNow - 1h;
    auto r = evaluate(lab, ev);
    EXPECT_EQ(r[check::tlsSni(ws).str()].verdict, Verdict::Warn);
    EXPECT_NE(r[check::tlsSni(ws).str()].evidence.find("expires in 10 days"), std::string::npos);
    EXPECT_EQ(r[check::tlsSni(lab.names.meet).str()].verdict, Verdict::Fail);
}

TEST_F(Catalogue, WildcardCoversOneLabelOnly) {
    CertificateInfo c;
    c.dnsNames = {"*.kloud.example"};
    EXPECT_TRUE(certificateCovers(c, "meet.kloud.example"));
    EXPECT_TRUE(certificateCovers(c, "MEET.kloud.example"));
    EXPECT_FALSE(certificateCovers(c, "a.meet.kloud.example"));
    EXPECT_FALSE(certificateCovers(c, "kloud.example"));
}

TEST_F(Catalogue, ChainFailsWhenTheLeafIsSentAlone) {
    auto& h = ev.tls[probe::tlsSni(lab.names.dialin)];
    h.chain.resize(1);
    h.chainVerifiedFromSentOnly = false;
    h.verifyError = "unable to get local issuer certificate";
    auto r = evaluate(lab, ev)["tls.chain." + lab.names.dialin];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("1 certificate(s) sent"), std::string::npos);
    EXPECT_NE(r.evidence.find("unable to get local issuer certificate"), std::string::npos);
    EXPECT_NE(r.remedy.find("issuing CA"), std::string::npos);
}

TEST_F(Catalogue, NoSniResetIsTheSeedSymptomWithTheExactNetshRemedy) {
    auto& h = ev.tls[ProbeId("tls.no-sni.lync-mobile")];
    h = TlsHandshake{};
    h.address = "127.5.0.1:443";
    h.connected = true;
    h.outcome = HandshakeOutcome::Reset;
    h.detail = "Connection reset by peer, errno=104";
    auto r = evaluate(lab, ev)["tls.no-sni.lync-mobile"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("connection reset on the ClientHello"), std::string::npos);
    EXPECT_NE(r.remedy.find("\nnetsh http add sslcert ipport='0.0.0.0:443' "
                            "certhash='0a1b2c3d4e5f60718293a4b5c6d7e8f901234567' "
                            "appid='{f955c070-e044-456c-ac00-e9e4275b3f04}'\n"),
              std::string::npos)
        << r.remedy;
    EXPECT_EQ(provision::pstest::netshLineProblems(r.remedy), "") << r.remedy;
    // Issue 24: pasted into PowerShell an unquoted {...} is a script block,
    // and the lab command lacked what names the store.
    EXPECT_NE(r.remedy.find("edgelab bindings set-default --lab " + lab.sourceFile.string() +
                            " --match-host " + ws),
              std::string::npos)
        << r.remedy;
}

// Issue 24: a missing default binding showed a FAIL per client profile, each
// with the same remedy. Every profile reset is one cause.
TEST_F(Catalogue, NoDefaultBindingIsOneFailureForEveryProfile) {
    for (auto& c : lab.clients) {
        if (c.sendsSni) continue;
        auto& h = ev.tls[probe::tlsNoSni(c.name)];
        h = TlsHandshake{};
        h.address = "127.5.0.1:443";
        h.connected = true;
        h.outcome = HandshakeOutcome::Reset;
    }
    auto r = evaluate(lab, ev);
    EXPECT_EQ(r["tls.no-sni.default-binding"].verdict, Verdict::Fail);
    EXPECT_NE(r["tls.no-sni.default-binding"].remedy.find("netsh http add sslcert"),
              std::string::npos);
    for (auto id : {"tls.no-sni.lync-mobile", "tls.no-sni.activesync"}) {
        EXPECT_EQ(r[id].verdict, Verdict::Blocked) << id;
        EXPECT_EQ(r[id].blockedBy, "tls.no-sni.default-binding");
        EXPECT_EQ(r[id].remedy, "");
    }
}

TEST_F(Catalogue, NoSniFailsOnAnAlertAndOnADefaultCertificateMissingNames) {
    auto& a = ev.tls[ProbeId("tls.no-sni.activesync")];
    a.outcome = HandshakeOutcome::Alert;
    a.detail = "handshake failure";
    a.chain.clear();
    auto& m = ev.tls[ProbeId("tls.no-sni.lync-mobile")];
    m.chain[0].dnsNames = {ws};  // lacks lyncdiscover, which the mobile client asks for
    auto r = evaluate(lab, ev);
    EXPECT_EQ(r["tls.no-sni.activesync"].verdict, Verdict::Fail);
    EXPECT_NE(r["tls.no-sni.activesync"].evidence.find("handshake failure"), std::string::npos);
    EXPECT_EQ(r["tls.no-sni.lync-mobile"].verdict, Verdict::Fail);
    EXPECT_NE(r["tls.no-sni.lync-mobile"].evidence.find(lab.names.lyncdiscover), std::string::npos);
}

TEST_F(Catalogue, LyncdiscoverFailsOnInternalLinksWrongTypeAndPort4443) {
    auto& j = ev.http[ProbeId("http.lyncdiscover.json")];
    j.body =
        R"({"_links":{"self":{"href":"https://lyncfe1.kloud.example:4443/Autodiscover/AutodiscoverService.svc/root"}}})";
    auto r = evaluate(lab, ev)["lyncdiscover"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("lyncfe1.kloud.example:4443"), std::string::npos);

    ev = goodEvidence(lab);
    ev.http[ProbeId("http.lyncdiscover.xml")].responseHeaders.clear();
    ev.http[ProbeId("http.lyncdiscover.xml")].responseHeaders.emplace("content-type", "text/xml");
    r = evaluate(lab, ev)["lyncdiscover"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("Content-Type text/xml"), std::string::npos);

    ev = goodEvidence(lab);
    auto& x = ev.http[ProbeId("http.lyncdiscover.xml")];
    x.body.replace(x.body.find("https://" + ws), 8 + ws.size(), "https://" + ws + ":4443");
    r = evaluate(lab, ev)["lyncdiscover"];
    EXPECT_EQ(r.verdict, Verdict::Fail) << r.evidence;
    EXPECT_NE(r.evidence.find("XML: links"), std::string::npos);

    ev = goodEvidence(lab);
    ev.http[ProbeId("http.lyncdiscover.json")] = answer(0, "");
    ev.http[ProbeId("http.lyncdiscover.json")].error = "Connection refused";
    r = evaluate(lab, ev)["lyncdiscover"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("no response (Connection refused)"), std::string::npos);
}

TEST_F(Catalogue, EveryWebServicesPathFailsOnAProxyError) {
    for (auto& w : webServicesPaths()) {
        Evidence bad = goodEvidence(lab);
        bad.http[probe::webServices(slug(w.path))] = answer(503);
        auto r = evaluate(lab, bad)["webservices." + slug(w.path)];
        EXPECT_EQ(r.verdict, Verdict::Fail) << w.path;
        EXPECT_NE(r.evidence.find("503"), std::string::npos);
        EXPECT_FALSE(r.remedy.empty());
    }
    EXPECT_EQ(slug("/Autodiscover/AutodiscoverService.svc/root/user"),
              "autodiscover-autodiscoverservice-svc-root-user");
}

// A 302 is a front end's answer on some paths, but not one that leaves the
// public namespace: that is pre-authentication or an untranslated redirect.
TEST_F(Catalogue, WebServicesRedirectsMustStayInThePublicNamespace) {
    const std::string id = "webservices." + slug("/Scheduler");
    auto inside = answer(302);
    inside.responseHeaders.emplace("location", "https://" + ws + "/Scheduler/");
    ev.http[probe::webServices(slug("/Scheduler"))] = inside;
    EXPECT_EQ(evaluate(lab, ev)[id].verdict, Verdict::Pass);

    for (const std::string& loc : std::vector<std::string>{
             "https://adfs.invalid/adfs/ls/?wa=wsignin1.0", "https://" + ws + ":4443/Scheduler/"}) {
        auto out = answer(302);
        out.responseHeaders.emplace("location", loc);
        ev.http[probe::webServices(slug("/Scheduler"))] = out;
        auto r = evaluate(lab, ev)[id];
        EXPECT_EQ(r.verdict, Verdict::Fail) << loc;
        EXPECT_NE(r.evidence.find("out of the public namespace"), std::string::npos) << r.evidence;
        EXPECT_NE(r.remedy.find("PassThrough"), std::string::npos);
    }
}

TEST_F(Catalogue, AuthFailsOnAFederationRedirectOrAMissingChallenge) {
    auto adfs = answer(302);
    adfs.responseHeaders.emplace("location", "https://sts.kloud.example/adfs/ls/?wa=wsignin1.0");
    ev.http[ProbeId("http.auth.oauth-user")] = adfs;
    auto r = evaluate(lab, ev)["auth.passthrough"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("federation"), std::string::npos);
    EXPECT_NE(r.remedy.find("PassThrough"), std::string::npos);

    ev.http[ProbeId("http.auth.oauth-user")] = answer(401);
    ev.http[ProbeId("http.auth.oauth-user")].responseHeaders.emplace("www-authenticate",
                                                                     "Negotiate");
    EXPECT_EQ(evaluate(lab, ev)["auth.passthrough"].verdict, Verdict::Fail);
}

TEST_F(Catalogue, MeetAndDialinFailOnInternalRedirectsAndErrors) {
    auto& u = ev.http[ProbeId("http.meet.user")];
    u.responseHeaders.clear();
    u.responseHeaders.emplace("location", "https://" + lab.names.meet + ":4443/edgelab/ABCDEFGH");
    ev.http[ProbeId("http.dialin")] = answer(404);
    auto r = evaluate(lab, ev);
    EXPECT_EQ(r["meet"].verdict, Verdict::Fail);
    EXPECT_NE(r["meet"].evidence.find(":4443"), std::string::npos);
    EXPECT_EQ(r["dialin"].verdict, Verdict::Fail);
    // The same redirect is a header translation failure.
    EXPECT_EQ(r["headers.translated"].verdict, Verdict::Fail);
}

// The OWAS URL is judged once, by the static rule lab.owas-url; the catalogue
// has no second check a lab would have to expect as well.
TEST_F(Catalogue, OwasUrlIsJudgedOnlyByTheLabRule) {
    for (auto& a : lab.applications)
        if (a.externalUrl.host == lab.names.owas) a.backendServerUrl.host = "owas1.kloud.example";
    for (auto& d : catalogue(lab, Target{}))
        EXPECT_EQ(d.id.str().find("url"), std::string::npos) << d.id.str();
    auto rules = provision::evaluateRules(lab);
    auto rule = std::find_if(rules.begin(), rules.end(),
                             [](auto& r) { return r.id == check::owasUrlRule().str(); });
    ASSERT_NE(rule, rules.end());
    EXPECT_EQ(rule->verdict, edgelab::Verdict::Fail);
}

TEST_F(Catalogue, OwasLeakNamesTheInternalHostButNotTheFarmInternalUrlOrServerFqdn) {
    auto& p = ev.http[ProbeId("http.owas.presenter")];
    p.url = "https://" + lab.names.owas + "/m/Presenter.aspx";
    p.body +=
        "<script src=\"https:\\/\\/owas1.kloud.example\\/m\\/s\\/1033\\/presenter.js\"></script>";
    auto r = evaluate(lab, ev)["owas.no-internal-names"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("owas1.kloud.example in https://"), std::string::npos) << r.evidence;

    ev = goodEvidence(lab);
    ev.http[ProbeId("http.owas.discovery")].responseHeaders.emplace(
        "x-ms-server-fqdn", "https://lyncfe1.kloud.example/");
    ev.http[ProbeId("http.owas.discovery")].responseHeaders.emplace(
        "x-officewebappsurl", "https://owas1.kloud.example/m/");
    r = evaluate(lab, ev)["owas.no-internal-names"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("header x-officewebappsurl"), std::string::npos);
    EXPECT_EQ(r.evidence.find("lyncfe1"), std::string::npos);
}

TEST_F(Catalogue, OwasLeakCheckNeedsTheRealPagesNotAnErrorPage) {
    ev.http[ProbeId("http.owas.discovery")] = answer(502, "text/html", "<h1>502 Bad Gateway</h1>");
    auto r = evaluate(lab, ev)["owas.no-internal-names"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("pages not served"), std::string::npos) << r.evidence;
}

TEST_F(Catalogue, HeadersCheckSkipsWhenNothingAnswered) {
    for (auto& [id, x] : ev.http) x = answer(0, "");
    EXPECT_EQ(evaluate(lab, ev)["headers.translated"].verdict, Verdict::Skip);
}

TEST_F(Catalogue, WopiSrcFailsWhenOwasRejectsANormalisedUrl) {
    ev.http[ProbeId("http.owas.wopisrc")] = answer(400);
    auto r = evaluate(lab, ev)["owas.wopisrc"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("normalised"), std::string::npos);
}

TEST_F(Catalogue, LongPollFailsWhenAnApplicationTimesOutBeforeTheHold) {
    lab.backends[0].eventChannelHoldSec = 180;  // the front end's default
    lab.applications[0].inactiveTransactionsTimeoutSec = 120;
    auto r = evaluate(lab, ev)["webservices.long-poll"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find(lab.applications[0].name + " 120 s"), std::string::npos);
    EXPECT_NE(r.remedy.find("-InactiveTransactionsTimeoutSec 300"), std::string::npos);
}

TEST_F(Catalogue, HeadersFailOnBackendHostsInLocationAndCookies) {
    auto& j = ev.http[ProbeId("http.ws.scheduler")];
    j.responseHeaders.emplace("set-cookie",
                              "ASP.NET_SessionId=x; domain=lyncfe1.kloud.example; path=/");
    auto r = evaluate(lab, ev)["headers.translated"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("set-cookie domain lyncfe1.kloud.example"), std::string::npos);

    ev = goodEvidence(lab);
    ev.http[ProbeId("http.ws.scheduler")].responseHeaders.emplace(
        "content-location", "https://lyncfe1.kloud.example/Scheduler/");
    EXPECT_EQ(evaluate(lab, ev)["headers.translated"].verdict, Verdict::Fail);

    ev = goodEvidence(lab);
    ev.http[ProbeId("http.ws.scheduler")].responseHeaders.emplace("set-cookie",
                                                                  "a=b; domain=.kloud.example");
    EXPECT_EQ(evaluate(lab, ev)["headers.translated"].verdict, Verdict::Pass);
}

TEST_F(Catalogue, BackendCertificateChecksPublicNamesInLabMode) {
    Target target;
    target.backendAddresses = {{"fe1", "127.5.0.20:4443"}, {"owas1", "127.5.0.21:443"}};
    CertificateInfo fe;
    fe.subjectCn = "lyncfe1.kloud.example";
    fe.dnsNames = {"lyncfe1.kloud.example"};
    CertificateInfo ow = proxyCert(lab);
    ev.tls[ProbeId("tls.backend.fe1")] = okHandshake(fe, "lyncws.kloud.example");
    ev.tls[ProbeId("tls.backend.owas1")] = okHandshake(ow, "owas.kloud.example");
    auto r = evaluate(lab, ev, target)["backend.cert-public-names"];
    // fe1 serves the Lync public names but its certificate holds its own name only (S4).
    EXPECT_EQ(r.verdict, Verdict::Fail) << r.evidence;
    EXPECT_NE(r.evidence.find("fe1 certificate"), std::string::npos);
    EXPECT_EQ(r.evidence.find("owas1 certificate"), std::string::npos);

    ev.tls[ProbeId("tls.backend.fe1")] = okHandshake(proxyCert(lab), "lyncws.kloud.example");
    EXPECT_EQ(evaluate(lab, ev, target)["backend.cert-public-names"].verdict, Verdict::Pass);
}

TEST(CataloguePlan, PlansOnlyTheProbesOfSelectedChecks) {
    Lab lab = seedLab();
    Target target;
    auto only =
        selectChecks(catalogue(lab, target), {"tls.no-sni.*"}, {"*activesync", "*default-binding"});
    ASSERT_EQ(only.size(), 1u);
    EXPECT_EQ(only[0].id, "tls.no-sni.lync-mobile");
    auto plan = planProbes(lab, target, only);
    EXPECT_TRUE(plan.http.empty());
    ASSERT_EQ(plan.tls.size(), 2u);  // the no-SNI handshake, and SNI for the remedy's hash
    EXPECT_FALSE(plan.tls[1].sni.has_value());

    auto all = planProbes(lab, target, catalogue(lab, target));
    EXPECT_EQ(all.http.size(), webServicesPaths().size() + 10);
    EXPECT_EQ(all.tls.size(), 5u + 2u);
}

TEST(CataloguePlan, ConnectTo) {
    auto a = connectToFor({"lyncws.k:443:127.5.0.1:8443", "::127.5.0.9:"}, "LYNCWS.k", 443);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->first, "127.5.0.1");
    EXPECT_EQ(a->second, 8443);
    auto b = connectToFor({"lyncws.k:443:127.5.0.1:8443", "::127.5.0.9:"}, "meet.k", 443);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, "127.5.0.9");
    EXPECT_EQ(b->second, 443);
    EXPECT_FALSE(connectToFor({"lyncws.k:443:127.5.0.1:8443"}, "meet.k", 443));
}

// Found by fuzz/connect_to.cpp: a port that is not a number threw from
// std::stoi on a gathering thread (edgelab check aborted); one over 65535
// wrapped. Such an entry applies to nothing, and the command refuses it.
TEST(CataloguePlan, ConnectToWithABadPortAppliesToNothing) {
    EXPECT_FALSE(connectToFor({"::127.0.0.1:xyz"}, "lyncws.k", 443));
    EXPECT_FALSE(connectToFor({"::127.0.0.1:70000"}, "lyncws.k", 443));
    EXPECT_FALSE(connectToFor({"lyncws.k:x:127.0.0.1:443"}, "lyncws.k", 443));
    auto next = connectToFor({"::127.0.0.1:xyz", "::127.0.0.2:8443"}, "lyncws.k", 443);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->first, "127.0.0.2");
    EXPECT_TRUE(connectToError("::127.0.0.1:xyz"));
    EXPECT_TRUE(connectToError("::127.0.0.1:65536"));
    EXPECT_TRUE(connectToError("lyncws.k:443"));
    EXPECT_FALSE(connectToError("lyncws.k:443:127.0.0.1:8443"));
    EXPECT_FALSE(connectToError("[::1]:443:[::1]:"));
}

}  // namespace
}  // namespace edgelab::checks

namespace edgelab::checks {
namespace {

// What a run shows when one cause breaks every probe: the failures, and the
// root each BLOCKED result names.
struct RootCauseShape {
    std::vector<std::string> failed;
    std::set<std::string> blockedBy;
    std::size_t blocked = 0;
};

RootCauseShape shapeOf(const std::map<std::string, CheckResult>& results) {
    RootCauseShape s;
    for (auto& [id, r] : results) {
        if (r.verdict == Verdict::Fail) s.failed.push_back(id);
        if (r.verdict == Verdict::Blocked) {
            ++s.blocked;
            s.blockedBy.insert(r.blockedBy);
            EXPECT_EQ(r.remedy, "") << id << " is blocked and carries its own remedy";
        }
    }
    return s;
}

void breakEveryProbe(Evidence& ev, const std::function<void(TlsHandshake&)>& tls,
                     const std::function<void(HttpExchange&)>& http) {
    for (auto& [id, h] : ev.tls) tls(h);
    for (auto& [id, x] : ev.http) {
        auto url = x.url;
        x = HttpExchange{};
        x.url = url.empty() ? "https://lyncws.kloud.example/" : url;
        http(x);
    }
}

class RootCauses : public ::testing::Test {
  protected:
    Lab lab = seedLab();
    Evidence ev = goodEvidence(lab);
};

TEST_F(RootCauses, AWrongCacertIsOneTrustFailureAndNotAMissingIntermediate) {
    breakEveryProbe(
        ev,
        [](TlsHandshake& h) {
            h.chainVerifiedFromSentOnly = false;  // two certificates sent, root not trusted
            h.verifyError = "unable to get local issuer certificate";
        },
        [](HttpExchange& x) {
            x.connected = true;
            x.transport = TransportError::CertificateRejected;
            x.error = "SSL certificate problem: unable to get local issuer certificate";
        });
    Target target;
    target.caFile = "/tmp/other-root.pem";
    auto r = evaluate(lab, ev, target);
    auto s = shapeOf(r);
    ASSERT_EQ(s.failed, std::vector<std::string>{"tls.trust"});
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"tls.trust"});
    EXPECT_GE(s.blocked, 5u + 19u);  // every chain and every HTTP check
    EXPECT_NE(r["tls.trust"].evidence.find("2 certificates"), std::string::npos);
    EXPECT_NE(r["tls.trust"].evidence.find("/tmp/other-root.pem"), std::string::npos);
    EXPECT_NE(r["tls.trust"].remedy.find("--cacert"), std::string::npos);
    EXPECT_EQ(r["tls.trust"].remedy.find("intermediate"), std::string::npos);
    EXPECT_EQ(r["tls.chain." + lab.names.meet].verdict, Verdict::Blocked);
    EXPECT_EQ(r["webservices.reach-sip-svc"].verdict, Verdict::Blocked);
    EXPECT_FALSE(unreachable(evaluateAll(catalogue(lab, target), ev, {lab, target, kNow})));
}

TEST_F(RootCauses, AWrongPortIsOneConnectionFailureWithoutNetshAdvice) {
    breakEveryProbe(
        ev,
        [](TlsHandshake& h) {
            h = TlsHandshake{h.address, h.sni, h.profile};
            h.address = "127.0.0.1:1";
            h.outcome = HandshakeOutcome::Refused;
            h.detail = "Connection refused";
        },
        [](HttpExchange& x) {
            x.transport = TransportError::Refused;
            x.error = "Failed to connect to 127.0.0.1 port 1: Connection refused";
        });
    auto r = evaluate(lab, ev);
    auto s = shapeOf(r);
    ASSERT_EQ(s.failed, std::vector<std::string>{"reach.connect"});
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"reach.connect"});
    EXPECT_EQ(r["reach.connect"].remedy.find("netsh"), std::string::npos);
    EXPECT_NE(r["reach.connect"].evidence.find("127.0.0.1:1"), std::string::npos);
    EXPECT_EQ(r["tls.sni." + lab.names.webServices].verdict, Verdict::Blocked);
    EXPECT_EQ(r["tls.no-sni.lync-mobile"].verdict, Verdict::Blocked);
    EXPECT_EQ(r["reach.answer"].verdict, Verdict::Blocked);
    EXPECT_EQ(r["reach.resolve"].verdict, Verdict::Pass);
    std::vector<CheckResult> all;
    for (auto& [id, x] : r) all.push_back(x);
    EXPECT_TRUE(unreachable(all));
}

TEST_F(RootCauses, UnresolvableNamesSuggestConnectTo) {
    breakEveryProbe(
        ev,
        [](TlsHandshake& h) {
            h = TlsHandshake{h.address, h.sni, h.profile};
            h.outcome = HandshakeOutcome::Unresolved;
            h.detail = "cannot resolve: Name or service not known";
        },
        [](HttpExchange& x) { x.transport = TransportError::Unresolved; });
    auto r = evaluate(lab, ev);
    auto s = shapeOf(r);
    ASSERT_EQ(s.failed, std::vector<std::string>{"reach.resolve"});
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"reach.resolve"});
    EXPECT_NE(r["reach.resolve"].remedy.find("--connect-to ::"), std::string::npos);
    EXPECT_NE(r["reach.resolve"].evidence.find("5 of 5"), std::string::npos);
}

TEST_F(RootCauses, ASilentServerIsOneAnswerFailure) {
    breakEveryProbe(
        ev,
        [](TlsHandshake& h) {
            h = TlsHandshake{h.address, h.sni, h.profile};
            h.connected = true;
            h.outcome = HandshakeOutcome::Timeout;
            h.detail = "TLS handshake did not finish in 1000 ms";
        },
        [](HttpExchange& x) {
            x.connected = true;
            x.transport = TransportError::Timeout;
        });
    auto r = evaluate(lab, ev);
    auto s = shapeOf(r);
    ASSERT_EQ(s.failed, std::vector<std::string>{"reach.answer"});
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"reach.answer"});
    EXPECT_NE(r["reach.answer"].remedy.find("--timeout"), std::string::npos);
}

// A failure of one name does not block the checks of another: an HTTP check
// on the web services name that fails on its own keeps its failure and remedy.
TEST_F(RootCauses, OneNameUnresolvedBlocksOnlyItsOwnChecks) {
    auto& meet = ev.tls[probe::tlsSni(lab.names.meet)];
    meet = TlsHandshake{meet.address, meet.sni, meet.profile};
    meet.outcome = HandshakeOutcome::Unresolved;
    for (auto id : {probe::meetJoin(), probe::meetUser()}) {
        ev.http[id] = HttpExchange{};
        ev.http[id].transport = TransportError::Unresolved;
    }
    ev.http[probe::webServices(slug("/Reach/sip.svc"))] = answer(503);
    auto r = evaluate(lab, ev);
    EXPECT_EQ(r["reach.resolve"].verdict, Verdict::Fail);
    EXPECT_EQ(r["meet"].verdict, Verdict::Blocked);
    EXPECT_EQ(r["tls.sni." + lab.names.meet].verdict, Verdict::Blocked);
    EXPECT_EQ(r["webservices.reach-sip-svc"].verdict, Verdict::Fail);
    EXPECT_FALSE(r["webservices.reach-sip-svc"].remedy.empty());
}

// Every HTTP probe's evidence carries the URL the planner gave it, and the
// ones on a name served by `down` are the proxy's `status`.
void backendAnswers(const Lab& lab, const Target& target, Evidence& ev,
                    const std::set<std::string>& down, long status) {
    for (auto& p : planProbes(lab, target, catalogue(lab, target)).http) {
        auto& x = ev.http[p.id];
        x.url = p.url;
        if (down.count(backendKeyFor(lab, x.url.substr(8, x.url.find('/', 8) - 8)))) {
            x = answer(status);
            x.url = p.url;
        }
    }
}

// The Lync front end killed in a running lab: the supervisor's record and a
// direct handshake say fe1 is down; every Lync name answers 502 through the
// proxy. One failure (fe1, start it again), everything that reads it BLOCKED,
// OWAS untouched; never a republishing remedy.
TEST_F(RootCauses, AStoppedBackendIsOneFailureWithAStartRemedy) {
    Target target;
    target.backendAddresses = {{"fe1", "127.5.0.20:4443"}, {"owas1", "127.5.0.21:443"}};
    target.backendsDown["fe1"] = "its process (pid 4242) is not running";
    ev.tls[probe::tlsBackend("owas1")] = okHandshake(proxyCert(lab), lab.names.owas);
    auto& fe = ev.tls[probe::tlsBackend("fe1")];
    fe.address = "127.5.0.20:4443";
    fe.profile = "backend";
    fe.outcome = HandshakeOutcome::Refused;
    fe.detail = "Connection refused";
    backendAnswers(lab, target, ev, {"fe1"}, 502);
    auto r = evaluate(lab, ev, target);
    auto s = shapeOf(r);
    ASSERT_EQ(s.failed, std::vector<std::string>{"backend.up.fe1"});
    EXPECT_EQ(s.blockedBy, std::set<std::string>{"backend.up.fe1"});
    EXPECT_GE(s.blocked, 20u);
    const auto& fe1 = r["backend.up.fe1"];
    EXPECT_NE(fe1.evidence.find("pid 4242"), std::string::npos) << fe1.evidence;
    EXPECT_NE(fe1.remedy.find("edgelab up"), std::string::npos) << fe1.remedy;
    EXPECT_NE(fe1.remedy.find("Start-CsWindowsService"), std::string::npos) << fe1.remedy;
    EXPECT_EQ(fe1.remedy.find("PassThrough"), std::string::npos) << fe1.remedy;
    for (auto id : {"lyncdiscover", "auth.passthrough", "meet", "dialin",
                    "webservices.reach-sip-svc", "backend.cert-public-names"})
        EXPECT_EQ(r[id].verdict, Verdict::Blocked) << id << ": " << r[id].evidence;
    EXPECT_EQ(r["backend.up.owas1"].verdict, Verdict::Pass) << r["backend.up.owas1"].evidence;
    EXPECT_EQ(r["owas.wopisrc"].verdict, Verdict::Pass);
    auto all = evaluateAll(catalogue(lab, target), ev, {lab, target, kNow});
    EXPECT_EQ(backendsDown(all), std::vector<std::string>{"backend.up.fe1"});
    EXPECT_FALSE(unreachable(all));
}

// A real site: no backends known, only the proxy's answers. Every request for
// the web services answered 503: one failure for that application.
TEST_F(RootCauses, ARealSitesBackendDownIsReadFromTheProxysAnswers) {
    Lab site = provision::loadLab(test::sourceDir() / "scenarios/sites/contoso-site.json");
    Evidence siteEv = goodEvidence(site);
    Target target;
    backendAnswers(site, target, siteEv, {site.names.webServices}, 503);
    // The canned OWAS pages name the seed's farm InternalURL, which a site's
    // lab does not know: not this test's matter.
    siteEv.http.erase(probe::owasPresenter());
    siteEv.http.erase(probe::owasParticipant());
    auto r = evaluate(site, siteEv, target);
    auto s = shapeOf(r);
    const std::string id = "backend.up." + site.names.webServices;
    ASSERT_EQ(s.failed, std::vector<std::string>{id});
    EXPECT_EQ(s.blockedBy, std::set<std::string>{id});
    EXPECT_EQ(r["webservices.reach-sip-svc"].verdict, Verdict::Blocked);
    EXPECT_EQ(r["auth.passthrough"].verdict, Verdict::Blocked);
    EXPECT_NE(r[id].evidence.find("503"), std::string::npos) << r[id].evidence;
    EXPECT_NE(r[id].remedy.find("Test-NetConnection"), std::string::npos) << r[id].remedy;
    EXPECT_EQ(r["backend.up." + site.names.meet].verdict, Verdict::Pass);
    // One 503 among answers is that path's failure, not a backend that is down.
    Evidence one = goodEvidence(site);
    backendAnswers(site, target, one, {}, 0);
    one.http[probe::webServices(slug("/Reach/sip.svc"))].status = 503;
    auto r1 = evaluate(site, one, target);
    EXPECT_EQ(r1[id].verdict, Verdict::Pass) << r1[id].evidence;
    EXPECT_EQ(r1["webservices.reach-sip-svc"].verdict, Verdict::Fail);
}

}  // namespace
}  // namespace edgelab::checks

namespace edgelab::checks {
namespace {

class Regressions : public ::testing::Test {
  protected:
    Lab lab = seedLab();
    Evidence ev = goodEvidence(lab);
};

// A cookie named subdomain is not a Domain attribute; a real Domain on a
// backend host still fails.
TEST_F(Regressions, SetCookieAttributesAreParsedNotSearched) {
    auto& x = ev.http[probe::webServices(slug("/Scheduler"))];
    x.responseHeaders.emplace("set-cookie", "subdomain=abc; Path=/; Secure");
    x.responseHeaders.emplace("set-cookie", "note=\"domain=lyncfe1.kloud.example\"; Path=/");
    x.responseHeaders.emplace("set-cookie", "a=1; Path=/; DOMAIN=.kloud.example; HttpOnly");
    EXPECT_EQ(evaluate(lab, ev)["headers.translated"].verdict, Verdict::Pass)
        << evaluate(lab, ev)["headers.translated"].evidence;
    x.responseHeaders.emplace("set-cookie", "b=2; Path=/; Domain = lyncfe1.kloud.example");
    auto r = evaluate(lab, ev)["headers.translated"];
    EXPECT_EQ(r.verdict, Verdict::Fail);
    EXPECT_NE(r.evidence.find("domain lyncfe1.kloud.example"), std::string::npos) << r.evidence;
}

// One rule with the proxy's 421: the subjectAltName names the hosts; a CN
// alone covers nothing (RFC 9525 section 6.3).
TEST_F(Regressions, ACommonNameWithoutSanCoversNothing) {
    CertificateInfo c;
    c.subjectCn = "lyncws.kloud.example";
    EXPECT_FALSE(certificateCovers(c, "lyncws.kloud.example"));
    auto& h = ev.tls[probe::tlsSni(lab.names.webServices)];
    h.chain[0].dnsNames.clear();
    EXPECT_EQ(evaluate(lab, ev)["tls.sni." + lab.names.webServices].verdict, Verdict::Fail);
}

// Without internalUrl the farm's InternalURL is the OWAS server's own name,
// as the simulator writes it into its pages: that is not a leak.
TEST_F(Regressions, OwasInternalUrlDefaultsToTheServersName) {
    for (auto& b : lab.backends) b.internalUrl.reset();
    auto r = evaluate(lab, ev)["owas.no-internal-names"];
    EXPECT_EQ(r.verdict, Verdict::Pass) << r.evidence;
    ev.http[probe::owasPresenter()].body += "<a href=\"https://owas1.kloud.example/x/y\">";
    EXPECT_EQ(evaluate(lab, ev)["owas.no-internal-names"].verdict, Verdict::Fail);
}

}  // namespace
}  // namespace edgelab::checks

namespace edgelab::checks {
namespace {

// A check that throws (a bug: a remedy text missing from the table, say)
// cannot judge: it is a SKIP naming the bug, and the others keep theirs.
TEST(EvaluateAll, ACheckThatThrowsIsASkipAndTheOthersKeepTheirResults) {
    const auto lab = edgelab::test::seedLab();
    std::vector<CheckDefinition> defs = catalogue(lab, {});
    ASSERT_GE(defs.size(), 2u);
    defs[0].evaluate = [](const Evidence&, const CheckContext&) -> CheckResult {
        throw std::logic_error("remedy x.y (z): no text");
    };
    const auto ev = goodEvidence(lab);
    const auto all = evaluateAll(defs, ev, {lab, {}, kNow});
    ASSERT_EQ(all.size(), defs.size());
    EXPECT_EQ(all[0].id, defs[0].id.str());
    EXPECT_EQ(all[0].verdict, Verdict::Skip);
    EXPECT_NE(all[0].evidence.find("a bug in edgelab: remedy x.y (z): no text"), std::string::npos)
        << all[0].evidence;
    const auto normal = evaluateAll(catalogue(lab, {}), ev, {lab, {}, kNow});
    for (std::size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i].verdict, normal[i].verdict);
}

}  // namespace
}  // namespace edgelab::checks
