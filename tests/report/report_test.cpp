#include "report/report.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "provision/lab.hpp"
#include "tests/support/golden.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::report {
namespace {

namespace fs = std::filesystem;
using checks::CheckResult;
using checks::Verdict;

// A fixed report: one result of each verdict, text that needs escaping.
Report sampleReport() {
    provision::Lab lab = test::seedLab();
    Report r;
    r.labName = lab.name;
    r.started = std::chrono::system_clock::from_time_t(1795780800);  // 2026-11-27T12:00:00Z
    r.seconds = 1.25;
    r.results = {
        {"tls.sni.lyncws.kloud.example", "TLS handshake with SNI lyncws.kloud.example",
         "lyncws.kloud.example", Verdict::Pass, "TLSv1.3, CN=lyncws.kloud.example", "", 0.012},
        {"tls.no-sni.lync-mobile", "TLS handshake without SNI as lync-mobile",
         "lyncdiscover.kloud.example", Verdict::Fail,
         "127.5.0.1:443 without SNI: connection reset on the ClientHello <errno=104> & no cert",
         "netsh http add sslcert ipport=0.0.0.0:443 certhash=0a1b "
         "appid={f955c070-e044-456c-ac00-e9e4275b3f04}",
         0.004},
        {"backend.cert-public-names", "Backend certificates hold the public names", "kloud.example",
         Verdict::Skip, "backend addresses not known \"lab mode\"", "", 0},
        {"tls.sni.meet.kloud.example", "TLS handshake with SNI meet.kloud.example",
         "meet.kloud.example", Verdict::Warn, "certificate expires in 10 days", "renew", 0.01},
    };
    r.drawing = drawingOf(lab);
    return r;
}

// Runs a command line, returns its exit status and output.
std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    std::array<char, 4096> buf;
    while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(Report, JsonMatchesTheGoldenFile) {
    std::string text = jsonText(sampleReport());
    test::expectGolden(text, "tests/report/golden/report.json");
}

TEST(Report, ConsoleHasALinePerCheckAndASummaryAndColourOnlyWhenAsked) {
    Report r = sampleReport();
    std::string plain = consoleText(r, false);
    EXPECT_NE(plain.find("FAIL  tls.no-sni.lync-mobile"), std::string::npos) << plain;
    EXPECT_NE(plain.find("      remedy: netsh http add sslcert"), std::string::npos);
    EXPECT_NE(plain.find("seed-lab: 4 checks, 1 passed, 1 failed, 1 skipped, 1 warnings in 1.25 s"),
              std::string::npos)
        << plain;
    EXPECT_EQ(plain.find("\033["), std::string::npos);
    EXPECT_NE(consoleText(r, true).find("\033[1;31mFAIL\033[0m"), std::string::npos);
    setenv("NO_COLOR", "1", 1);
    EXPECT_FALSE(colorWanted(1));
    unsetenv("NO_COLOR");
}

TEST(Report, JUnitValidatesAgainstTheAntSchema) {
    const test::TempDir dir("report");
    writeJUnit(dir / "junit.xml", sampleReport());
    auto [code, out] = run("xmllint --noout --schema " +
                           (test::sourceDir() / "tests/fixtures/junit-ant.xsd").string() + " " +
                           (dir / "junit.xml").string());
    EXPECT_EQ(code, 0) << out;
    std::string xml = readFile(dir / "junit.xml");
    EXPECT_NE(xml.find("classname=\"lyncdiscover.kloud.example\""), std::string::npos);
    EXPECT_NE(xml.find("<failure message=\"127.5.0.1:443 without SNI: connection reset on the "
                       "ClientHello &lt;errno=104&gt; &amp; no cert\""),
              std::string::npos);
    EXPECT_NE(xml.find("remedy: netsh http add sslcert"), std::string::npos);
    EXPECT_NE(xml.find("<skipped message="), std::string::npos);
    EXPECT_NE(xml.find("tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""), std::string::npos);
}

TEST(Report, ManyLabsAreOneJUnitDocumentWithASuiteEach) {
    const test::TempDir dir("report");
    Report second = sampleReport();
    second.labName = "no-default-binding";
    second.results.resize(1);
    writeJUnit(dir / "junit.xml", std::vector<Report>{sampleReport(), second});
    auto [code, out] = run("xmllint --noout --schema " +
                           (test::sourceDir() / "tests/fixtures/junit-ant.xsd").string() + " " +
                           (dir / "junit.xml").string());
    EXPECT_EQ(code, 0) << out;
    const std::string xml = readFile(dir / "junit.xml");
    EXPECT_EQ(xml.rfind("<?xml ", 0), 0u);
    const auto first =
        xml.find("<testsuite name=\"seed-lab\" package=\"edgelab.seed-lab\" id=\"0\"");
    const auto next = xml.find(
        "<testsuite name=\"no-default-binding\" package=\"edgelab.no-default-binding\" id=\"1\" "
        "tests=\"1\"");
    ASSERT_NE(first, std::string::npos) << xml;
    ASSERT_NE(next, std::string::npos) << xml;
    EXPECT_LT(first, next);
    // Each suite's own cases, and one document: one prolog, one root.
    EXPECT_EQ(xml.find("<?xml ", 1), std::string::npos);
    EXPECT_EQ(xml.find("<testsuites>", xml.find("<testsuites>") + 1), std::string::npos);
    EXPECT_NE(xml.find("tls.no-sni.lync-mobile", first), std::string::npos);
    EXPECT_EQ(xml.find("tls.no-sni.lync-mobile", next), std::string::npos);
    // The single-lab document is the one-lab case of the same writer.
    EXPECT_EQ(junitText(sampleReport(), "h"), junitText(std::vector<Report>{sampleReport()}, "h"));
}

// Decodes an 8-bit RGB or RGBA non-interlaced PNG (what Chromium writes) and
// counts distinct colours: a blank page has one.
struct Png {
    unsigned width = 0, height = 0;
    std::size_t colours = 0;
    std::size_t nonWhite = 0;
};

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           p[3];
}

std::optional<Png> decodePng(const std::string& file) {
    std::string data = readFile(file);
    auto* d = reinterpret_cast<const unsigned char*>(data.data());
    if (data.size() < 33 || data.compare(1, 3, "PNG") != 0) return std::nullopt;
    Png png;
    int colorType = 0;
    std::string idat;
    for (std::size_t pos = 8; pos + 12 <= data.size();) {
        std::uint32_t len = be32(d + pos);
        std::string type = data.substr(pos + 4, 4);
        if (type == "IHDR") {
            png.width = be32(d + pos + 8);
            png.height = be32(d + pos + 12);
            if (d[pos + 16] != 8 || d[pos + 20] != 0) return std::nullopt;
            colorType = d[pos + 17];
        } else if (type == "IDAT") {
            idat.append(data, pos + 8, len);
        }
        pos += 12 + len;
    }
    int bpp = colorType == 6 ? 4 : colorType == 2 ? 3 : 0;
    if (!bpp) return std::nullopt;
    std::size_t stride = png.width * bpp;
    std::vector<unsigned char> raw((stride + 1) * png.height);
    uLongf rawLen = raw.size();
    if (uncompress(raw.data(), &rawLen, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
        Z_OK)
        return std::nullopt;
    std::vector<unsigned char> prev(stride, 0), cur(stride);
    std::set<std::uint32_t> colours;
    for (unsigned y = 0; y < png.height; ++y) {
        const unsigned char* row = raw.data() + y * (stride + 1);
        int filter = row[0];
        for (std::size_t x = 0; x < stride; ++x) {
            int a = x >= std::size_t(bpp) ? cur[x - bpp] : 0, b = prev[x],
                c = x >= std::size_t(bpp) ? prev[x - bpp] : 0;
            int v = row[1 + x];
            switch (filter) {
                case 1:
                    v += a;
                    break;
                case 2:
                    v += b;
                    break;
                case 3:
                    v += (a + b) / 2;
                    break;
                case 4: {
                    int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b),
                        pc = std::abs(p - c);
                    v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
                    break;
                }
            }
            cur[x] = static_cast<unsigned char>(v);
        }
        for (std::size_t x = 0; x < stride; x += bpp) {
            std::uint32_t rgb = (cur[x] << 16) | (cur[x + 1] << 8) | cur[x + 2];
            colours.insert(rgb);
            if (rgb != 0xFFFFFF) ++png.nonWhite;
        }
        std::swap(prev, cur);
    }
    png.colours = colours.size();
    return png;
}

std::string chromium(const fs::path& dir, const std::string& what, const fs::path& html) {
    return "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
           "--disable-background-networking --disable-component-update --disable-sync "
           "--user-data-dir=" +
           (dir / "profile").string() + " " + what + " file://" + html.string();
}

TEST(Report, HtmlIsSelfContainedAndRendersInHeadlessChromium) {
    const test::TempDir dir("report");
    Report r = sampleReport();
    writeHtml(dir / "report.html", r);
    std::string html = readFile(dir / "report.html");
    // Self-contained: no external scripts, styles or images.
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("src=\""), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_NE(html.find("&lt;errno=104&gt; &amp; no cert"), std::string::npos);
    // The failing no-SNI check colours the client -> default binding edge red.
    EXPECT_NE(html.find("class=\"edge FAIL\""), std::string::npos);

    auto [code, dom] = run(chromium(dir, "--dump-dom", dir / "report.html"));
    ASSERT_EQ(code, 0) << dom;
    std::size_t rows = 0;  // table rows and failure cards
    for (auto p = dom.find("class=\"check "); p != std::string::npos;
         p = dom.find("class=\"check ", p + 1))
        ++rows;
    EXPECT_EQ(rows, r.results.size()) << dom.substr(0, 2000);
    EXPECT_NE(dom.find("id=\"lab-drawing\""), std::string::npos);

    fs::path png = dir / "report.png";
    auto [code2, out2] = run(chromium(
        dir, "--screenshot=" + png.string() + " --window-size=1400,900", dir / "report.html"));
    ASSERT_EQ(code2, 0) << out2;
    ASSERT_TRUE(fs::exists(png)) << out2;
    auto decoded = decodePng(png.string());
    ASSERT_TRUE(decoded) << "not an 8-bit RGB(A) PNG";
    EXPECT_EQ(decoded->width, 1400u);
    EXPECT_EQ(decoded->height, 900u);
    // Text, table borders, verdict colours and edges: many colours and ink.
    EXPECT_GT(decoded->colours, 20u);
    EXPECT_GT(decoded->nonWhite, 1400u * 900u / 100);
}

// A run with several failures, long unbroken evidence and a blocked check,
// as a wrong port or a missing binding gives.
Report failingReport() {
    Report r = sampleReport();
    const std::string longText = "https://lyncws.kloud.example/" + std::string(400, 'x');
    r.results.push_back({"tls.trust", "The chains sent end at a trusted root", "kloud.example",
                         Verdict::Fail, "chain ends at CN=Other Root " + longText,
                         "trust the root that issued it: " + longText, 0.01});
    r.results.push_back({"webservices.reach-sip-svc", "Web services /Reach/sip.svc",
                         "lyncws.kloud.example", Verdict::Blocked, "no response", "", 0.01});
    r.results.back().blockedBy = "tls.trust";
    for (int i = 0; i < 25; ++i)
        r.results.push_back({"webservices.path-" + std::to_string(i), "Web services path",
                             "lyncws.kloud.example", Verdict::Pass, "200", "", 0.01});
    r.results.push_back({"owas.wopisrc", "A double-encoded WopiSrc reaches OWAS unchanged",
                         "owas.kloud.example", Verdict::Fail, "-> 400 " + longText,
                         "forward request URLs unchanged", 0.01});
    return r;
}

TEST(Report, FailuresComeFirstWithRemediesThenFamilies) {
    Report r = failingReport();
    std::string text = consoleText(r, false);
    auto failures = text.find("Failures");
    auto firstFamily = text.find("\nTLS:");
    ASSERT_NE(failures, std::string::npos) << text;
    ASSERT_NE(firstFamily, std::string::npos) << text;
    EXPECT_EQ(text.rfind("FAIL  ", firstFamily) > failures, true);
    EXPECT_LT(text.find("FAIL  owas.wopisrc"), firstFamily) << text;  // catalogue order is not kept
    EXPECT_EQ(text.find("FAIL  ", firstFamily), std::string::npos)
        << "a failure among the families";
    EXPECT_NE(text.find("BLOCKED  webservices.reach-sip-svc"), std::string::npos);
    EXPECT_NE(text.find("blocked by tls.trust"), std::string::npos);
    // The headline groups the failures under their root causes.
    EXPECT_EQ(text.rfind("seed-lab: FAILED, 3 fixes: ", 0), 0u) << text;
    EXPECT_NE(text.find("tls.trust (1 check follows from it)"), std::string::npos) << text;
    EXPECT_NE(text.find("      1 check follows from it (BLOCKED until this is fixed)"),
              std::string::npos)
        << text;

    std::string quiet = consoleText(r, false, true);
    EXPECT_EQ(quiet.find("PASS  "), std::string::npos) << quiet;
    EXPECT_NE(quiet.find("remedy: forward request URLs unchanged"), std::string::npos);
    EXPECT_NE(quiet.find("checks, 26 passed, 3 failed"), std::string::npos) << quiet;
}

TEST(Report, ExpectedFailuresAreMarkedEverywhere) {
    Report r = sampleReport();
    r.expectFail = {"tls.no-sni.*"};
    r.expectationsMet = true;
    auto doc = nlohmann::json::parse(jsonText(r));
    EXPECT_EQ(doc["outcome"], "failed-as-expected");
    EXPECT_EQ(doc["summary"]["expected"], 1);
    EXPECT_EQ(doc["results"][1]["expected"], true);
    EXPECT_EQ(doc["results"][0]["expected"], false);
    EXPECT_NE(consoleText(r, false).find("seed-lab: PASSED with 1 expected failure"),
              std::string::npos);
    EXPECT_NE(consoleText(r, false).find("(expected) 127.5.0.1:443"), std::string::npos);
    std::string html = htmlText(r);
    EXPECT_NE(html.find("<div id=\"verdict\" class=\"failed-as-expected\">PASSED"),
              std::string::npos);
    EXPECT_NE(html.find("<span class=\"tag\">expected</span>"), std::string::npos);
    r.expectationsMet = false;  // e.g. a glob that names a check that passed
    EXPECT_EQ(nlohmann::json::parse(jsonText(r))["outcome"], "failed");
    r.expectFail.clear();
    r.expectationsMet.reset();
    EXPECT_EQ(nlohmann::json::parse(jsonText(r))["outcome"], "failed");
}

TEST(Report, TheDrawingShowsOnlyBindingsThatExist) {
    auto lab = provision::loadLab(test::labsDir() / "no-default-binding.json");
    ASSERT_FALSE(lab.defaultBinding);
    for (auto& n : drawingOf(lab).nodes) EXPECT_EQ(n.label.find("(default)"), std::string::npos);
    auto seed = test::seedLab();
    int defaults = 0;
    for (auto& n : drawingOf(seed).nodes)
        defaults += n.label.find("(default)") != std::string::npos;
    EXPECT_EQ(defaults, 1);
}

// The first screen (1400x900) shows the verdict and every failure with its
// remedy, and nothing overflows sideways. Measured in the page itself: a
// copy of the report with a script that writes the layout into the DOM,
// which headless Chromium then dumps.
TEST(Report, TheFirstScreenShowsTheVerdictFailuresAndRemedies) {
    const test::TempDir dir("report");
    std::string html = htmlText(failingReport());
    const std::string probe =
        "<script>(function(){var o=[];"
        "function add(k,e){var b=e.getBoundingClientRect();o.push(k+':'+Math.round(b.top)+':'+"
        "Math.round(b.bottom)+':'+Math.round(b.right));}"
        "add('verdict',document.getElementById('verdict'));"
        "document.querySelectorAll('.failure .remedy').forEach(function(e){add('remedy',e);});"
        "o.push('scrollWidth:'+document.documentElement.scrollWidth);"
        "var p=document.createElement('pre');p.id='layout';p.textContent=o.join(';');"
        "document.body.appendChild(p);})();</script>";
    html.insert(html.rfind("</body>"), probe);
    writeFileAtomic(dir / "measured.html", html);
    auto [code, dom] =
        run(chromium(dir, "--window-size=1400,900 --dump-dom", dir / "measured.html"));
    ASSERT_EQ(code, 0) << dom;
    auto start = dom.find("<pre id=\"layout\">");
    ASSERT_NE(start, std::string::npos) << dom.substr(0, 500);
    std::string layout = dom.substr(start + 17, dom.find("</pre>", start) - start - 17);
    int remedies = 0, scrollWidth = 0;
    std::stringstream items(layout);
    for (std::string item; std::getline(items, item, ';');) {
        std::vector<std::string> f;
        std::stringstream parts(item);
        for (std::string p; std::getline(parts, p, ':');) f.push_back(p);
        if (f[0] == "scrollWidth") {
            std::istringstream(f[1]) >> scrollWidth;
            continue;
        }
        ASSERT_EQ(f.size(), 4u) << item;
        int top = 0, right = 0;
        std::istringstream(f[2]) >> top;
        std::istringstream(f[3]) >> right;
        EXPECT_LE(top, 900) << f[0] << " below the first screen: " << layout;
        EXPECT_LE(right, 1400) << f[0] << " wider than the window: " << layout;
        remedies += f[0] == "remedy";
    }
    EXPECT_EQ(remedies, 3) << layout;
    EXPECT_GT(scrollWidth, 0);
    EXPECT_LE(scrollWidth, 1400) << "the page scrolls sideways";
}

TEST(Report, DrawingConnectsClientsBindingsApplicationsAndBackends) {
    Report r = sampleReport();
    std::set<std::string> columns;
    for (auto& n : r.drawing.nodes) columns.insert(n.column);
    EXPECT_EQ(columns, (std::set<std::string>{"client", "binding", "application", "backend"}));
    bool noSniEdge = false;
    for (auto& e : r.drawing.edges)
        if (e.from == "client:lync-mobile") {
            noSniEdge = true;
            EXPECT_EQ(e.to, "binding:0.0.0.0:443");
            EXPECT_EQ(edgeVerdict(r, e), Verdict::Fail);
        }
    EXPECT_TRUE(noSniEdge);
}

// Issue 24: the HTML title said "edgelab check:" for `run` and `audit`.
TEST(Report, TheHtmlTitleNamesTheCommand) {
    Report r = sampleReport();
    EXPECT_NE(htmlText(r).find("<title>edgelab check: seed-lab</title>"), std::string::npos);
    r.command = "run";
    EXPECT_NE(htmlText(r).find("<title>edgelab run: seed-lab</title>"), std::string::npos);
    EXPECT_NE(htmlText(r).find("<h1>edgelab run: seed-lab</h1>"), std::string::npos);
}

// Issue 24: a run whose only problem is its expectations said "FAILED, 0
// failure(s) to fix".
TEST(Report, AFailedRunNeverSaysZeroFailuresToFix) {
    Report r = sampleReport();
    r.results.erase(std::remove_if(r.results.begin(), r.results.end(),
                                   [](const CheckResult& x) { return x.verdict == Verdict::Fail; }),
                    r.results.end());
    r.expectFail = {"tls.chain.*"};
    r.expectationsMet = false;
    const std::string text = consoleText(r, false);
    EXPECT_EQ(text.rfind("seed-lab: FAILED, the lab's expectations are not met", 0), 0u) << text;
    EXPECT_EQ(text.find("0 failure"), std::string::npos) << text;
    EXPECT_EQ(htmlText(r).find("0 failure"), std::string::npos);
}

// Issue 24: multi-line remedies lost their indentation when printed.
TEST(Report, AMultiLineRemedyKeepsItsLinesIndented) {
    Report r = sampleReport();
    r.results.push_back({"lab.data-disk", "The data disk", "lab", Verdict::Fail, "write cache",
                         "on the front end:\n  Install-CsDatabase -LocalDatabases\n  Start-Sleep 1",
                         0.0});
    const std::string text = consoleText(r, false, true);
    EXPECT_NE(text.find("      remedy: on the front end:\n"
                        "                Install-CsDatabase -LocalDatabases\n"
                        "                Start-Sleep 1\n"),
              std::string::npos)
        << text;
}

// A lab that never reached its checks is one JUnit test in error.
TEST(Report, ALabThatDidNotRunIsATestInError) {
    Report r;
    r.labName = "typo";
    r.error = "typo.json: /domain: required";
    const std::string xml = junitText(r, "host");
    EXPECT_NE(xml.find("tests=\"1\" failures=\"0\" errors=\"1\""), std::string::npos) << xml;
    EXPECT_NE(xml.find("<error message=\"typo.json: /domain: required\""), std::string::npos)
        << xml;
}

}  // namespace
}  // namespace edgelab::report
