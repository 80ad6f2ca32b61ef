// edgelab-backend as the lab runs it: the real program on loopback
// (127.3.0.0/16, port 0), certificates from the lab PKI, libcurl over TLS
// with the lab root as the only trust anchor, and raw TLS for malformed input.
#include "backends/server.hpp"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "provision/pki.hpp"
#include "tests/support/dies_with_test.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::backends {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;
namespace beast = boost::beast;
using namespace std::chrono_literals;
using namespace edgelab::provision;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kBackendExe = std::string(EDGELAB_BIN_DIR) + "/edgelab-backend";
constexpr auto kStartDeadline = 20s;

// ---- the lab: names and certificates from provisionPki --------------------

Lab testLab() {
    Lab lab;
    lab.name = "backend-test";
    lab.domain = "example.test";
    lab.names = {"lyncws.example.test", "meet.example.test", "dialin.example.test",
                 "lyncdiscover.example.test", "owas.example.test"};
    Backend fe{"fe1", provision::BackendRole::LyncFrontEnd, "lyncfe1.example.test", 4443};
    fe.serves = {"lyncws.example.test", "meet.example.test", "dialin.example.test",
                 "lyncdiscover.example.test"};
    Backend owas{"owas1", provision::BackendRole::Owas, "owas1.example.test", 443};
    owas.serves = {"owas.example.test"};
    owas.internalUrl = "https://owas1.example.test/";
    // S4: a front end whose certificate holds only its own name.
    Backend bare{"fe2", provision::BackendRole::LyncFrontEnd, "lyncfe2.example.test", 4443};
    bare.serves = fe.serves;
    bare.publicNamesInCertificate = false;
    lab.backends = {fe, owas, bare};
    return lab;
}

class BackendProcessTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        pki_ = std::make_unique<test::TestPki>(testLab(), "backend-test");
    }
    static void TearDownTestSuite() { pki_.reset(); }

    static const StoredCertificate& cert(const std::string& backend) {
        return pki_->pki.backends.at(backend);
    }
    static std::string rootCa() { return pki_->pki.rootCert.string(); }
    static fs::path workDir() { return pki_->dir.path(); }

  public:
    // The front end's users file (the lab's shape), one per test.
    static fs::path usersFile(const std::string& name) {
        const fs::path file = workDir() / ("users-" + name + ".json");
        std::ofstream(file) << R"({"users":[{"sipUri":"alice@example.test",)"
                            << R"("account":"EXAMPLE\\alice","password":"Pa55w.rd"}]})";
        return file;
    }

  protected:
    static inline std::unique_ptr<test::TestPki> pki_;
};

// ---- the process ---------------------------------------------------------

// Boost 1.74's child::wait_for leaves an exited child a zombie until the
// timeout; running() reaps it, so ask that until it says so.
bool waitForExit(bp::child& child, std::chrono::milliseconds hangGuard = test::kHangGuard) {
    return test::eventually([&] { return !child.running(); }, "the process exits", hangGuard);
}

// One running edgelab-backend; stopped (SIGTERM) when it goes out of scope.
class RunningBackend {
  public:
    RunningBackend(std::vector<std::string> args, bool withControl) {
        child_ = bp::child(kBackendExe, bp::args(args), bp::std_out > out_, bp::std_err > bp::null,
                           edgelab::test::diesWithTest());
        ready_ = readLine();
        if (withControl) controlLine_ = readLine();
    }
    ~RunningBackend() {
        if (child_.running()) {
            ::kill(child_.id(), SIGTERM);
            if (!waitForExit(child_, 5s)) child_.terminate();
        }
    }

    bool ready() const { return ready_.rfind("READY https://", 0) == 0; }
    std::string readyLine() const { return ready_; }
    // "127.3.0.1:PORT"
    std::string address() const { return ready_.substr(std::string("READY https://").size()); }
    std::string control() const {
        return controlLine_.substr(std::string("CONTROL http://").size());
    }
    // curl --connect-to: every name and port goes to this backend.
    std::string connectTo() const { return "::" + address(); }
    tcp::endpoint endpoint() const { return *parseEndpoint(address()); }
    bool running() { return child_.running(); }

  private:
    // A line from stdout, or "" when none comes within the deadline (the
    // child is then killed, which also ends the blocked read).
    std::string readLine() {
        auto line = std::async(std::launch::async, [this] {
            std::string l;
            std::getline(out_, l);
            return l;
        });
        if (line.wait_for(kStartDeadline) != std::future_status::ready) {
            child_.terminate();
            return "";
        }
        return line.get();
    }

    bp::ipstream out_;
    bp::child child_;
    std::string ready_;
    std::string controlLine_;
};

struct Exit {
    int code = -1;
    std::string stderrText;
};

// Runs edgelab-backend to its end (it must end: bad input, not a server).
Exit runToExit(const std::vector<std::string>& args) {
    bp::ipstream err;
    bp::child child(kBackendExe, bp::args(args), bp::std_out > bp::null, bp::std_err > err,
                    edgelab::test::diesWithTest());
    auto text = std::async(std::launch::async, [&err] {
        std::string all, line;
        while (std::getline(err, line)) all += line + "\n";
        return all;
    });
    if (!waitForExit(child)) {
        child.terminate();
        return {-1, "did not exit"};
    }
    return {child.exit_code(), text.get()};
}

std::vector<std::string> lyncArgs(const StoredCertificate& c, const std::string& serverFqdn,
                                  const std::string& listen) {
    return {"--role",         "lync-frontend",
            "--listen",       listen,
            "--cert",         c.certFile.string(),
            "--key",          c.keyFile.string(),
            "--server-fqdn",  serverFqdn,
            "--domain",       "example.test",
            "--web-services", "lyncws.example.test",
            "--meet",         "meet.example.test",
            "--dialin",       "dialin.example.test",
            "--lyncdiscover", "lyncdiscover.example.test",
            "--owas",         "owas.example.test"};
}

// ---- libcurl --------------------------------------------------------------

struct Fetched {
    CURLcode code = CURLE_OK;
    long status = 0;
    std::multimap<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::chrono::milliseconds elapsed{0};  // a lower bound to check, never an upper one
    std::string error;

    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
    std::vector<std::string> all(const std::string& name) const {
        std::vector<std::string> out;
        for (auto [it, end] = headers.equal_range(name); it != end; ++it) out.push_back(it->second);
        return out;
    }
};

size_t onBody(char* data, size_t size, size_t n, void* user) {
    static_cast<Fetched*>(user)->body.append(data, size * n);
    return size * n;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
    std::string line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        value.erase(value.find_last_not_of("\r\n \t") + 1);
        static_cast<Fetched*>(user)->headers.emplace(name, value);
    }
    return size * n;
}

Fetched fetch(const std::string& url, const std::string& connectTo, const std::string& caFile,
              const std::vector<std::string>& requestHeaders = {},
              const std::string& method = "GET", const std::string& body = {}) {
    Fetched f;
    CURL* curl = curl_easy_init();
    curl_slist* connect = curl_slist_append(nullptr, connectTo.c_str());
    curl_slist* hdrs = nullptr;
    for (const auto& h : requestHeaders) hdrs = curl_slist_append(hdrs, h.c_str());
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_CAINFO, caFile.c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    auto start = std::chrono::steady_clock::now();
    f.code = curl_easy_perform(curl);
    f.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f.status);
    f.error = error;
    curl_slist_free_all(connect);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return f;
}

// Plain HTTP to the control listener.
Fetched control(const RunningBackend& b, const std::string& method, const std::string& path,
                const std::string& body = {}) {
    Fetched f;
    CURL* curl = curl_easy_init();
    std::string url = "http://" + b.control() + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f);
    f.code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f.status);
    curl_easy_cleanup(curl);
    return f;
}

// ---- raw TLS, for what libcurl would never send ---------------------------

// Sends bytes over TLS, `piece` bytes per TLS record (0 = all at once), and
// returns everything the server sends back until it closes (or 10 s pass).
// Async with a deadline so a wedged server fails the test instead of hanging.
std::string rawExchange(const tcp::endpoint& ep, const std::string& bytes, std::size_t piece = 0) {
    asio::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    ctx.set_verify_mode(ssl::verify_none);  // this test is about HTTP parsing
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), "lyncws.example.test");
    beast::get_lowest_layer(stream).expires_after(10s);
    std::string got;
    std::array<char, 4096> buf;
    std::function<void(beast::error_code, std::size_t)> onRead = [&](beast::error_code ec,
                                                                     std::size_t n) {
        got.append(buf.data(), n);
        if (ec) return;
        stream.async_read_some(asio::buffer(buf), onRead);
    };
    std::size_t sent = 0;
    std::function<void(beast::error_code, std::size_t)> onWrite = [&](beast::error_code ec,
                                                                      std::size_t n) {
        sent += n;
        if (ec || sent == bytes.size()) return stream.async_read_some(asio::buffer(buf), onRead);
        std::size_t size = piece == 0 ? bytes.size() - sent : std::min(piece, bytes.size() - sent);
        asio::async_write(stream, asio::buffer(bytes.data() + sent, size), onWrite);
    };
    beast::get_lowest_layer(stream).async_connect(ep, [&](beast::error_code ec) {
        if (ec) return;
        stream.async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
            if (ec) return;
            onWrite({}, 0);
        });
    });
    ioc.run();
    return got;
}

// Lines of the access log, waiting until `want` are there: the server
// writes a line after the client already has its answer.
std::vector<nlohmann::json> accessLog(const fs::path& file, std::size_t want) {
    std::vector<nlohmann::json> lines;
    test::eventually(
        [&] {
            lines.clear();
            std::ifstream in(file);
            for (std::string line; std::getline(in, line);) {
                lines.push_back(nlohmann::json::parse(line));
            }
            return lines.size() >= want;
        },
        "the access log has every line");
    return lines;
}

// ---- the tests -------------------------------------------------------------

TEST_F(BackendProcessTest, LyncFrontEndAnswersEachServiceOverTls) {
    fs::path log = workDir() / "fe1-access.log";
    auto args = lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.1:0");
    args.insert(args.end(), {"--access-log", log.string()});
    RunningBackend fe(args, false);
    ASSERT_TRUE(fe.ready()) << fe.readyLine();
    EXPECT_THAT(fe.address(), StartsWith("127.3.0.1:"));
    const auto to = fe.connectTo();

    auto root = fetch("https://lyncdiscover.example.test/?sipuri=alice@example.test", to, rootCa());
    ASSERT_EQ(root.code, CURLE_OK) << root.error;
    EXPECT_EQ(root.status, 200);
    auto doc = nlohmann::json::parse(root.body);
    EXPECT_EQ(doc["_links"]["user"]["href"],
              "https://lyncws.example.test/Autodiscover/AutodiscoverService.svc/root/oauth/"
              "user?originalDomain=example.test");

    auto xml = fetch("https://lyncdiscover.example.test/", to, rootCa(),
                     {"Accept: application/vnd.microsoft.rtc.autodiscover+xml;v=1"});
    EXPECT_EQ(xml.status, 200);
    EXPECT_EQ(xml.header("content-type"), "application/vnd.microsoft.rtc.autodiscover+xml;v=1");
    EXPECT_THAT(xml.body, HasSubstr("<Link token=\"User\" href=\"https://lyncws.example.test/"));

    auto oauth = fetch(
        "https://lyncws.example.test/Autodiscover/AutodiscoverService.svc/root/"
        "oauth/user",
        to, rootCa());
    EXPECT_EQ(oauth.status, 401);
    EXPECT_THAT(oauth.all("www-authenticate"),
                ::testing::ElementsAre(StartsWith("Bearer trusted_issuers="),
                                       "MsRtcOAuth href=\"https://lyncws.example.test/WebTicket/"
                                       "oauthtoken\",grant_type=\"urn:microsoft.rtc:windows,"
                                       "urn:microsoft.rtc:anonmeeting,password\""));
    EXPECT_EQ(oauth.header("x-ms-server-fqdn"), "lyncfe1.example.test");

    auto user = fetch("https://lyncws.example.test/Autodiscover/AutodiscoverService.svc/root/user",
                      to, rootCa());
    EXPECT_EQ(user.status, 401);
    EXPECT_EQ(user.header("x-ms-webticketurl"),
              "https://lyncws.example.test/WebTicket/WebTicketService.svc");

    auto abs = fetch("https://lyncws.example.test/abs/handler", to, rootCa());
    EXPECT_EQ(abs.status, 401);
    EXPECT_THAT(abs.all("www-authenticate"), ::testing::ElementsAre("Negotiate", "NTLM"));

    auto withToken = fetch(
        "https://lyncws.example.test/Autodiscover/AutodiscoverService.svc/root/"
        "oauth/user",
        to, rootCa(), {"Authorization: Bearer cwt=x"});
    // A token this front end did not issue is refused with its challenges.
    EXPECT_EQ(withToken.status, 401);

    auto join = fetch("https://meet.example.test/alice/K7QP2X", to, rootCa());
    EXPECT_EQ(join.status, 200);
    EXPECT_THAT(join.body, HasSubstr("K7QP2X"));
    EXPECT_THAT(join.body, HasSubstr("https://lyncws.example.test/lwa/WebPages/LwaClient.aspx?"));

    // The redirect a proxy must translate: Host as asked, port as listening.
    auto moved = fetch("https://meet.example.test/alice", to, rootCa());
    EXPECT_EQ(moved.status, 302);
    EXPECT_THAT(
        moved.header("location"),
        ::testing::MatchesRegex("https://meet\\.example\\.test:" +
                                std::to_string(fe.endpoint().port()) + "/alice/[A-Z0-9]{8}"));

    auto dialin = fetch("https://dialin.example.test/", to, rootCa());
    EXPECT_EQ(dialin.status, 200);
    EXPECT_THAT(dialin.body, HasSubstr("+1 (425) 555-0100"));

    auto missing = fetch("https://lyncws.example.test/no/such%2fthing?x=%41", to, rootCa());
    EXPECT_EQ(missing.status, 404);

    // Every answer is logged, the target byte for byte as it was sent.
    auto lines = accessLog(log, 10);
    ASSERT_EQ(lines.size(), 10u);
    EXPECT_EQ(lines.back()["target"], "/no/such%2fthing?x=%41");
    EXPECT_EQ(lines.back()["status"], 404);
    EXPECT_EQ(lines.back()["host"], "lyncws.example.test");
    EXPECT_EQ(lines.back()["method"], "GET");
    EXPECT_THAT(std::string(lines.back()["remote"]), StartsWith("127."));
    EXPECT_FALSE(std::string(lines.back()["time"]).empty());
}

// The lab's test user, handed to the front end by file as the lab runner does.
std::vector<std::string> withUser(std::vector<std::string> args, const std::string& name) {
    const auto file = BackendProcessTest::usersFile(name);
    args.insert(args.end(), {"--users-file", file.string()});
    return args;
}

// A signed-in UCWA client: its token (password grant) and one application's
// events URL, as the application POST gave it.
struct UcwaClient {
    std::string token;
    std::string events;  // absolute, ack=1
};

UcwaClient ucwaClient(const std::string& connectTo, const std::string& ca) {
    UcwaClient c;
    auto token = fetch("https://lyncws.example.test/WebTicket/oauthtoken", connectTo, ca,
                       {"Content-Type: application/x-www-form-urlencoded"}, "POST",
                       "grant_type=password&username=alice%40example.test&password=Pa55w.rd");
    EXPECT_EQ(token.status, 200) << token.body;
    EXPECT_EQ(token.header("cache-control"), "no-store");
    if (token.status != 200) return c;
    c.token = nlohmann::json::parse(token.body)["access_token"];
    auto app = fetch("https://lyncws.example.test/ucwa/oauth/v1/applications", connectTo, ca,
                     {"Authorization: Bearer " + c.token, "Content-Type: application/json"}, "POST",
                     R"({"UserAgent":"edgelab-test","EndpointId":"e1","Culture":"en-US"})");
    EXPECT_EQ(app.status, 201) << app.body;
    if (app.status != 201) return c;
    c.events = "https://lyncws.example.test" +
               nlohmann::json::parse(app.body)["_links"]["events"]["href"].get<std::string>();
    return c;
}

std::string ack(const std::string& events, int n) {
    return events.substr(0, events.find("?ack=")) + "?ack=" + std::to_string(n);
}

TEST_F(BackendProcessTest, EventChannelIsHeldThenAnswered) {
    auto args = withUser(lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.1:0"), "held");
    args.insert(args.end(), {"--event-hold-sec", "1"});
    RunningBackend fe(args, false);
    ASSERT_TRUE(fe.ready()) << fe.readyLine();
    auto c = ucwaClient(fe.connectTo(), rootCa());
    ASSERT_FALSE(c.events.empty());
    const std::string bearer = "Authorization: Bearer " + c.token;
    EXPECT_EQ(fetch(c.events, fe.connectTo(), rootCa()).status, 401);  // no token
    auto first = fetch(c.events, fe.connectTo(), rootCa(), {bearer});
    EXPECT_EQ(first.status, 200);
    auto held = fetch(ack(c.events, 2), fe.connectTo(), rootCa(), {bearer});
    ASSERT_EQ(held.code, CURLE_OK) << held.error;
    EXPECT_EQ(held.status, 200);
    EXPECT_GE(held.elapsed, 950ms);  // held for the hold, however slow the machine
    EXPECT_THAT(held.body, HasSubstr("events?ack=3"));
    // timeout=360 is twice the default 180: held twice as long at the same scale.
    auto longer = fetch(ack(c.events, 3) + "&timeout=360", fe.connectTo(), rootCa(), {bearer});
    EXPECT_EQ(longer.status, 200);
    EXPECT_GE(longer.elapsed, 1950ms);
    EXPECT_EQ(fetch(ack(c.events, 4) + "&timeout=soon", fe.connectTo(), rootCa(), {bearer}).status,
              400);
}

TEST_F(BackendProcessTest, ANewerEventRequestReplacesTheHeldOne) {
    auto args = withUser(lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.8:0"), "replaced");
    args.insert(args.end(), {"--event-hold-sec", "600", "--control", "127.3.0.8:0"});
    auto fe = std::make_unique<RunningBackend>(args, true);
    ASSERT_TRUE(fe->ready()) << fe->readyLine();
    auto c = ucwaClient(fe->connectTo(), rootCa());
    ASSERT_FALSE(c.events.empty());
    const std::string bearer = "Authorization: Bearer " + c.token;
    ASSERT_EQ(fetch(c.events, fe->connectTo(), rootCa(), {bearer}).status, 200);
    auto heldNow = [&] {
        auto health = control(*fe, "GET", "/healthz");
        return health.status == 200 ? nlohmann::json::parse(health.body)["held"].get<int>() : -1;
    };
    auto first = std::async(std::launch::async, [&] {
        return fetch(ack(c.events, 2), fe->connectTo(), rootCa(), {bearer});
    });
    ASSERT_TRUE(test::eventually([&] { return heldNow() == 1; }, "the first P-GET held"));
    auto second = std::async(std::launch::async, [&] {
        return fetch(ack(c.events, 2), fe->connectTo(), rootCa(), {bearer});
    });
    auto replaced = first.get();
    EXPECT_EQ(replaced.status, 409);
    EXPECT_THAT(replaced.body, HasSubstr("PGetReplaced"));
    fe.reset();
    EXPECT_NE(second.get().code, CURLE_OK);
}

TEST_F(BackendProcessTest, HeldEventChannelsBlockNoThread) {
    // A hold no test outlives: the four requests are still held when the
    // backend stops.
    auto args = withUser(lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.4:0"), "threads");
    args.insert(args.end(),
                {"--event-hold-sec", "600", "--threads", "1", "--control", "127.3.0.4:0"});
    auto fe = std::make_unique<RunningBackend>(args, true);
    ASSERT_TRUE(fe->ready()) << fe->readyLine();
    auto heldNow = [&] {
        auto health = control(*fe, "GET", "/healthz");
        return health.status == 200 ? nlohmann::json::parse(health.body)["held"].get<int>() : -1;
    };
    // Four applications, each with its event channel held.
    std::vector<UcwaClient> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(ucwaClient(fe->connectTo(), rootCa()));
        ASSERT_EQ(fetch(clients.back().events, fe->connectTo(), rootCa(),
                        {"Authorization: Bearer " + clients.back().token})
                      .status,
                  200);
    }
    std::vector<std::future<Fetched>> held;
    for (const auto& c : clients) {
        held.push_back(std::async(std::launch::async, [&] {
            return fetch(ack(c.events, 2), fe->connectTo(), rootCa(),
                         {"Authorization: Bearer " + c.token});
        }));
    }
    ASSERT_TRUE(test::eventually([&] { return heldNow() == 4; }, "four requests held at once"));
    // One thread, four requests held on it: another is answered all the same,
    // and the four are still held afterwards.
    auto quick = fetch("https://lyncws.example.test/Reach/sip.svc", fe->connectTo(), rootCa());
    EXPECT_EQ(quick.status, 200);
    EXPECT_EQ(heldNow(), 4);
    fe.reset();
    for (auto& f : held) EXPECT_NE(f.get().code, CURLE_OK);
}

TEST_F(BackendProcessTest, OwasNamesTheHostTheRequestUsed) {
    std::vector<std::string> args = {"--role",
                                     "owas",
                                     "--listen",
                                     "127.3.0.2:0",
                                     "--cert",
                                     cert("owas1").certFile.string(),
                                     "--key",
                                     cert("owas1").keyFile.string(),
                                     "--server-fqdn",
                                     "owas1.example.test",
                                     "--domain",
                                     "example.test",
                                     "--web-services",
                                     "lyncws.example.test",
                                     "--meet",
                                     "meet.example.test",
                                     "--dialin",
                                     "dialin.example.test",
                                     "--lyncdiscover",
                                     "lyncdiscover.example.test",
                                     "--owas",
                                     "owas.example.test",
                                     "--owas-internal-url",
                                     "https://owas1.example.test/"};
    RunningBackend owas(args, false);
    ASSERT_TRUE(owas.ready()) << owas.readyLine();
    const std::string wopiSrc =
        "WopiSrc=https%253A%252F%252Flyncws.example.test%252Fwopi%252Ffiles%252F1";

    for (std::string host : {"owas.example.test", "owas1.example.test"}) {
        std::string other =
            host == "owas.example.test" ? "owas1.example.test" : "owas.example.test";
        auto discovery =
            fetch("https://" + host + "/hosting/discovery", owas.connectTo(), rootCa());
        ASSERT_EQ(discovery.code, CURLE_OK) << discovery.error;
        EXPECT_EQ(discovery.status, 200);
        EXPECT_TRUE(discovery.all("www-authenticate").empty());
        EXPECT_THAT(discovery.body, HasSubstr("urlsrc=\"https://" + host + "/m/Presenter.aspx?"));
        EXPECT_THAT(discovery.body, Not(HasSubstr("https://" + other + "/")));

        auto presenter =
            fetch("https://" + host + "/m/Presenter.aspx?" + wopiSrc, owas.connectTo(), rootCa());
        EXPECT_EQ(presenter.status, 200) << host;
        EXPECT_THAT(presenter.body, HasSubstr("<script src=\"https://" + host + "/m/"));
        EXPECT_EQ(presenter.header("x-officewebappsurl"), "https://" + host + "/m/");
        EXPECT_FALSE(presenter.header("x-officefe").empty());
        // The farm InternalURL is in the page either way, as in the seed.
        EXPECT_THAT(presenter.body, HasSubstr("https://owas1.example.test/"));

        auto frame = fetch("https://" + host + "/m/ParticipantFrame.aspx?" + wopiSrc,
                           owas.connectTo(), rootCa());
        EXPECT_EQ(frame.status, 200);
        EXPECT_THAT(frame.body, HasSubstr("<script src=\"https://" + host + "/m/"));

        auto moved = fetch("https://" + host + "/m/", owas.connectTo(), rootCa());
        EXPECT_EQ(moved.status, 302);
        EXPECT_THAT(moved.header("location"), StartsWith("https://" + host + "/m/Presenter.aspx?"));
    }
    auto normalised = fetch(
        "https://owas.example.test/m/Presenter.aspx?WopiSrc=https%3A%2F%2Flyncws.example.test%2Fx",
        owas.connectTo(), rootCa());
    EXPECT_EQ(normalised.status, 400);
}

TEST_F(BackendProcessTest, MalformedRequestsGet400AndTheServerKeepsServing) {
    RunningBackend fe(lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.4:0"), false);
    ASSERT_TRUE(fe.ready()) << fe.readyLine();
    auto good = [&] {
        return fetch("https://lyncdiscover.example.test/", fe.connectTo(), rootCa()).status;
    };

    EXPECT_THAT(rawExchange(fe.endpoint(), std::string("\x01\x02GARBAGE \xff\xfe\r\n\r\n", 16)),
                StartsWith("HTTP/1.1 400 "));
    EXPECT_EQ(good(), 200);

    EXPECT_THAT(rawExchange(fe.endpoint(),
                            "POST /abs/handler HTTP/1.1\r\nHost: lyncws.example.test\r\n"
                            "Transfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n\r\n"),
                StartsWith("HTTP/1.1 400 "));
    EXPECT_EQ(good(), 200);

    // Over the header limit (16 KiB): 400, or the connection closed before
    // the client reads it; never an answer to the request.
    std::string huge =
        "GET / HTTP/1.1\r\nHost: lyncdiscover.example.test\r\nX-Big: " + std::string(40000, 'a') +
        "\r\n\r\n";
    auto answer = rawExchange(fe.endpoint(), huge);
    EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 400 ", 0) == 0) << answer.substr(0, 80);
    EXPECT_EQ(good(), 200);

    // A request line without the version, and a request with no Host.
    EXPECT_THAT(rawExchange(fe.endpoint(), "GET /\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
    EXPECT_THAT(rawExchange(fe.endpoint(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
                StartsWith("HTTP/1.1 400 "));
    EXPECT_EQ(good(), 200);
    EXPECT_TRUE(fe.running());
}

TEST_F(BackendProcessTest, RequestsSplitAtEveryByteAndPipelinedAreAnswered) {
    RunningBackend fe(lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.7:0"), false);
    ASSERT_TRUE(fe.ready()) << fe.readyLine();
    const std::string request =
        "GET /Autodiscover/AutodiscoverService.svc/root HTTP/1.1\r\n"
        "Host: lyncws.example.test\r\nConnection: close\r\n\r\n";
    auto split = rawExchange(fe.endpoint(), request, 1);
    EXPECT_THAT(split, StartsWith("HTTP/1.1 200 "));
    EXPECT_THAT(split, HasSubstr("\"xframe\""));

    // Two requests in one write on a kept-alive connection: two answers, in order.
    auto pipelined = rawExchange(
        fe.endpoint(), "GET /abs/handler HTTP/1.1\r\nHost: lyncws.example.test\r\n\r\n" + request);
    auto second = pipelined.find("HTTP/1.1 200 ");
    EXPECT_THAT(pipelined, StartsWith("HTTP/1.1 401 "));
    ASSERT_NE(second, std::string::npos);
    EXPECT_GT(second, 0u);
}

TEST_F(BackendProcessTest, FaultsOnDemandFromTheControlListener) {
    auto args = lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.3:0");
    args.insert(args.end(), {"--control", "127.3.0.3:0"});
    RunningBackend fe(args, true);
    ASSERT_TRUE(fe.ready()) << fe.readyLine();
    ASSERT_THAT(fe.control(), StartsWith("127.3.0.3:"));
    const std::string url = "https://lyncws.example.test/Reach/sip.svc";

    auto health = control(fe, "GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(nlohmann::json::parse(health.body)["listening"], true);

    ASSERT_EQ(control(fe, "POST", "/fault", R"({"mode":"slow","delayMs":400})").status, 200);
    auto slow = fetch(url, fe.connectTo(), rootCa());
    EXPECT_EQ(slow.status, 200);
    EXPECT_GE(slow.elapsed, 380ms);

    ASSERT_EQ(control(fe, "POST", "/fault", R"({"mode":"reset"})").status, 200);
    auto reset = fetch(url, fe.connectTo(), rootCa());
    EXPECT_NE(reset.code, CURLE_OK);
    EXPECT_EQ(reset.status, 0);

    ASSERT_EQ(control(fe, "POST", "/fault", R"({"mode":"stop"})").status, 200);
    auto refused = fetch(url, fe.connectTo(), rootCa());
    EXPECT_EQ(refused.code, CURLE_COULDNT_CONNECT) << refused.error;
    EXPECT_EQ(nlohmann::json::parse(control(fe, "GET", "/healthz").body)["listening"], false);

    ASSERT_EQ(control(fe, "POST", "/fault", R"({"mode":"none"})").status, 200);
    auto back = fetch(url, fe.connectTo(), rootCa());
    EXPECT_EQ(back.code, CURLE_OK) << back.error;
    EXPECT_EQ(back.status, 200);

    EXPECT_EQ(control(fe, "POST", "/fault", R"({"mode":"explode"})").status, 400);
    EXPECT_EQ(control(fe, "POST", "/fault", "not json").status, 400);
    EXPECT_TRUE(fe.running());
}

TEST_F(BackendProcessTest, CertificateWithoutPublicNamesFailsValidationForThem) {
    // S4: the backend presents what the lab gave it; a client (or a proxy)
    // validating the public name against it fails, its own name passes.
    RunningBackend fe(lyncArgs(cert("fe2"), "lyncfe2.example.test", "127.3.0.5:0"), false);
    ASSERT_TRUE(fe.ready()) << fe.readyLine();
    auto publicName = fetch("https://lyncws.example.test/Reach/sip.svc", fe.connectTo(), rootCa());
    EXPECT_EQ(publicName.code, CURLE_PEER_FAILED_VERIFICATION) << publicName.error;
    auto ownName = fetch("https://lyncfe2.example.test/Reach/sip.svc", fe.connectTo(), rootCa());
    EXPECT_EQ(ownName.code, CURLE_OK) << ownName.error;
    EXPECT_EQ(ownName.status, 200);
}

TEST_F(BackendProcessTest, BadInputExitsTwoNamingTheProblem) {
    auto args = lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.6:0");
    auto with = [&](const std::string& flag, const std::string& value) {
        auto a = args;
        for (std::size_t i = 0; i + 1 < a.size(); ++i)
            if (a[i] == flag) a[i + 1] = value;
        return a;
    };
    auto role = runToExit(with("--role", "exchange"));
    EXPECT_EQ(role.code, 2);
    EXPECT_THAT(role.stderrText, HasSubstr("--role"));

    auto listen = runToExit(with("--listen", "nowhere"));
    EXPECT_EQ(listen.code, 2);
    EXPECT_THAT(listen.stderrText, HasSubstr("--listen"));

    std::string missing = (workDir() / "missing.pem").string();
    auto certFile = runToExit(with("--cert", missing));
    EXPECT_EQ(certFile.code, 2);
    EXPECT_THAT(certFile.stderrText, HasSubstr(missing));

    auto wrongKey = runToExit(with("--key", cert("owas1").keyFile.string()));
    EXPECT_EQ(wrongKey.code, 2);
    EXPECT_THAT(wrongKey.stderrText, HasSubstr("--key"));

    auto unknown = runToExit([&] {
        auto a = args;
        a.push_back("--no-such-flag");
        return a;
    }());
    EXPECT_EQ(unknown.code, 2);
    EXPECT_THAT(unknown.stderrText, HasSubstr("--no-such-flag"));
}

TEST_F(BackendProcessTest, AddressInUseExitsThree) {
    RunningBackend first(lyncArgs(cert("fe1"), "lyncfe1.example.test", "127.3.0.6:0"), false);
    ASSERT_TRUE(first.ready()) << first.readyLine();
    auto second = runToExit(lyncArgs(cert("fe1"), "lyncfe1.example.test", first.address()));
    EXPECT_EQ(second.code, 3);
    EXPECT_THAT(second.stderrText, HasSubstr(first.address()));
}

}  // namespace
}  // namespace edgelab::backends
