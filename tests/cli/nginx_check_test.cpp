// `edgelab check` against a deployment edgelab did not write: Debian's nginx
// as the reverse proxy in front of real edgelab-backend processes, with the
// lab PKI. nginx plays first a proxy without a fallback certificate and with
// OWAS forwarded to the farm server's own name (the seed's two faults), then
// the fixed publishing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <boost/process.hpp>
#include <nlohmann/json.hpp>

#include "checks/run_checks.hpp"
#include "cli/check_command.hpp"
#include "common/atomic_file.hpp"
#include "common/exit_code.hpp"
#include "provision/lab.hpp"
#include "provision/pki.hpp"
#include "tests/support/dies_with_test.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/seed_lab.hpp"

namespace edgelab::checks {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// This test's own loopback addresses (127.5.1.0/24 of the checks' range).
constexpr const char* kFrontEndAddr = "127.5.1.2";
constexpr const char* kOwasAddr = "127.5.1.3";
constexpr const char* kNginxBrokenAddr = "127.5.1.10";
constexpr const char* kNginxFixedAddr = "127.5.1.11";
constexpr const char* kNobodyAddr = "127.5.1.99";

// A port the kernel says is free on addr: nginx cannot report a port-0 bind.
int freePort(const char* addr) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, addr, &sa.sin_addr);
    bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    close(fd);
    return ntohs(sa.sin_port);
}

bool accepts(const char* addr, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, addr, &sa.sin_addr);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    close(fd);
    return ok;
}

struct Backend {
    bp::ipstream out;
    bp::child process;
    std::string address;  // ADDR:PORT from its READY line
};

void stop(bp::child& c) {
    if (!c.valid() || !c.running()) return;
    ::kill(c.id(), SIGTERM);
    if (!test::eventually([&] { return !c.running(); }, "the process ends on SIGTERM", 5s)) {
        c.terminate();
    }
    c.wait();
}

class NginxCheck : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        lab_ = std::make_unique<provision::Lab>(test::seedLab());
        seed_ = std::make_unique<test::TestPki>(*lab_, "nginx-check");
        dir_ = seed_->dir.path();
        pki_ = &seed_->pki;
        fe_ = startBackend("fe1", "lync-frontend", kFrontEndAddr, "lyncfe1.kloud.example");
        owas_ = startBackend("owas1", "owas", kOwasAddr, "owas1.kloud.example");
    }
    static void TearDownTestSuite() {
        for (auto* b : {fe_.get(), owas_.get()})
            if (b) stop(b->process);
        fe_.reset();
        owas_.reset();
        seed_.reset();
    }

    static std::unique_ptr<Backend> startBackend(const std::string& name, const std::string& role,
                                                 const char* addr, const std::string& fqdn) {
        const auto& n = lab_->names;
        auto b = std::make_unique<Backend>();
        const auto& cert = pki_->backends.at(name);
        std::vector<std::string> args{"--role",         role,
                                      "--listen",       std::string(addr) + ":0",
                                      "--cert",         cert.certFile.string(),
                                      "--key",          cert.keyFile.string(),
                                      "--server-fqdn",  fqdn,
                                      "--domain",       lab_->domain,
                                      "--web-services", n.webServices,
                                      "--meet",         n.meet,
                                      "--dialin",       n.dialin,
                                      "--lyncdiscover", n.lyncdiscover,
                                      "--owas",         n.owas};
        if (role == "owas") {
            args.push_back("--owas-internal-url");
            args.push_back("https://" + fqdn + "/");
        }
        b->process = bp::child(
            std::string(EDGELAB_BIN_DIR) + "/edgelab-backend", bp::args(args), bp::std_out > b->out,
            bp::std_err > (dir_ / (name + ".err")).string(), edgelab::test::diesWithTest());
        std::string line;
        while (std::getline(b->out, line)) {
            if (line.rfind("READY https://", 0) == 0) {
                b->address = line.substr(14);
                break;
            }
        }
        if (b->address.empty())
            throw std::runtime_error(name +
                                     " did not print READY: " + readFile(dir_ / (name + ".err")));
        return b;
    }

    // nginx as a reverse proxy for the lab. broken: no fallback certificate
    // (ssl_reject_handshake) and OWAS forwarded under the farm server's name.
    struct Nginx {
        bp::child process;
        std::string addr;
        int port = 0;
        ~Nginx() { stop(process); }
    };

    std::unique_ptr<Nginx> startNginx(const char* addr, bool broken) {
        auto ng = std::make_unique<Nginx>();
        ng->addr = addr;
        ng->port = freePort(addr);
        fs::path prefix = dir_ / (broken ? "nginx-broken" : "nginx-fixed");
        fs::create_directories(prefix / "tmp");
        const std::string listen =
            "listen " + std::string(addr) + ":" + std::to_string(ng->port) + " ssl";
        const std::string cert = "ssl_certificate " + pki_->proxy.certFile.string() +
                                 ";\n    ssl_certificate_key " + pki_->proxy.keyFile.string() +
                                 ";\n";
        std::string conf = "daemon off;\nworker_processes 1;\nerror_log stderr;\npid " +
                           (prefix / "nginx.pid").string() +
                           ";\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n"
                           "  client_body_temp_path " +
                           (prefix / "tmp/body").string() +
                           ";\n"
                           "  proxy_temp_path " +
                           (prefix / "tmp/proxy").string() +
                           ";\n"
                           "  fastcgi_temp_path " +
                           (prefix / "tmp/fastcgi").string() +
                           ";\n"
                           "  uwsgi_temp_path " +
                           (prefix / "tmp/uwsgi").string() +
                           ";\n"
                           "  scgi_temp_path " +
                           (prefix / "tmp/scgi").string() + ";\n";
        if (broken)
            conf += "  server { " + listen + " default_server; ssl_reject_handshake on; }\n";
        else
            conf +=
                "  server { " + listen + " default_server;\n    " + cert + "    return 404; }\n";
        const auto& n = lab_->names;
        for (auto& name : {n.webServices, n.meet, n.dialin, n.lyncdiscover, n.owas}) {
            bool owas = name == n.owas;
            std::string backendHost = owas && broken ? std::string("owas1.kloud.example") : name;
            std::string backend = owas ? owas_->address : fe_->address;
            conf += "  server {\n    " + listen + ";\n    server_name " + name + ";\n    " + cert +
                    "    location / {\n"
                    "      proxy_pass https://" +
                    backend +
                    ";\n"
                    "      proxy_http_version 1.1;\n"
                    "      proxy_set_header Host " +
                    backendHost +
                    ";\n"
                    "      proxy_ssl_server_name on;\n"
                    "      proxy_ssl_name " +
                    backendHost +
                    ";\n"
                    // Header translation as a publishing proxy does it: the
                    // backend's host:port in Location becomes the public URL.
                    "      proxy_redirect ~^https://([^/:]+):[0-9]+/(.*)$ https://$1/$2;\n"
                    "    }\n  }\n";
        }
        conf += "}\n";
        writeFileAtomic(prefix / "nginx.conf", conf);
        ng->process =
            bp::child("/usr/sbin/nginx", "-c", (prefix / "nginx.conf").string(), "-p",
                      prefix.string(), bp::std_out > bp::null,
                      bp::std_err > (prefix / "error.log").string(), edgelab::test::diesWithTest());
        if (!test::eventually([&] { return accepts(addr, ng->port); }, "nginx listens"))
            throw std::runtime_error("nginx did not listen: " + readFile(prefix / "error.log"));
        return ng;
    }

    Target targetFor(const Nginx& ng) {
        Target t;
        for (auto& name : publicNames(*lab_))
            t.connectTo.push_back(name + ":443:" + ng.addr + ":" + std::to_string(ng.port));
        t.caFile = pki_->rootCert;
        t.backendAddresses = {{"fe1", fe_->address}, {"owas1", owas_->address}};
        return t;
    }

    static std::set<std::string> failed(const CheckRun& run) {
        std::set<std::string> ids;
        for (auto& r : run.results)
            if (r.verdict == Verdict::Fail) ids.insert(r.id);
        return ids;
    }

    static std::string describe(const CheckRun& run) {
        std::string s;
        for (auto& r : run.results)
            s += to_string(r.verdict) + " " + r.id + ": " + r.evidence + "\n";
        return s;
    }

    // `edgelab check` through its command line, in process.
    int checkCommand(const std::string& args) {
        CLI::App app("edgelab");
        cli::addCheckCommand(app);
        try {
            app.parse("check " + args, false);
        } catch (const CLI::ParseError& e) {
            return e.get_exit_code();
        }
        return kExitOk;
    }

    static inline std::unique_ptr<provision::Lab> lab_;
    static inline std::unique_ptr<test::TestPki> seed_;
    static inline fs::path dir_;
    static inline const provision::LabPki* pki_ = nullptr;
    static inline std::unique_ptr<Backend> fe_, owas_;
};

TEST_F(NginxCheck, WithoutFallbackCertificateAndOwasUnderItsOwnNameFailsExactlyThoseChecks) {
    auto ng = startNginx(kNginxBrokenAddr, true);
    CheckRun run = runChecks(*lab_, targetFor(*ng));
    EXPECT_FALSE(run.targetUnreachable);
    EXPECT_EQ(failed(run), (std::set<std::string>{"tls.no-sni.lync-mobile", "tls.no-sni.activesync",
                                                  "owas.no-internal-names"}))
        << describe(run);
    std::string thumbprint = pki_->proxy.thumbprint;
    for (auto& c : thumbprint) c = static_cast<char>(std::tolower(c));
    for (auto& r : run.results) {
        if (r.id == "owas.no-internal-names") {
            EXPECT_NE(r.evidence.find("owas1.kloud.example"), std::string::npos) << r.evidence;
        }
        if (r.id == "tls.no-sni.lync-mobile") {
            EXPECT_NE(r.remedy.find("netsh http add sslcert ipport='0.0.0.0:443' certhash='" +
                                    thumbprint + "'"),
                      std::string::npos)
                << r.remedy;
        }
        if (r.id == "backend.cert-public-names" || r.id.rfind("tls.chain.", 0) == 0 ||
            r.id == "headers.translated") {
            EXPECT_EQ(r.verdict, Verdict::Pass) << r.id << ": " << r.evidence;
        }
    }

    // The command: exit 1, and the three report files.
    std::string args = test::seedLabFile().string() + " --cacert " + pki_->rootCert.string();
    for (auto& c : targetFor(*ng).connectTo) args += " --connect-to " + c;
    fs::path reports = dir_ / "reports";
    fs::create_directories(reports);
    args += " --report-json " + (reports / "r.json").string() + " --report-junit " +
            (reports / "r.xml").string() + " --report-html " + (reports / "r.html").string();
    EXPECT_EQ(checkCommand(args + " --format json"), kExitCheckFailed);
    auto json = nlohmann::json::parse(readFile(reports / "r.json"));
    EXPECT_EQ(json["schemaVersion"], 1);
    EXPECT_EQ(json["summary"]["failed"], 3);
    EXPECT_TRUE(fs::exists(reports / "r.xml"));
    EXPECT_TRUE(fs::exists(reports / "r.html"));
    // --only narrows the run to what passes.
    EXPECT_EQ(checkCommand(args + " --only tls.sni.* --only lyncdiscover"), kExitOk);
}

TEST_F(NginxCheck, WithADefaultCertificateAndTheSameOwasNameEverythingPasses) {
    auto ng = startNginx(kNginxFixedAddr, false);
    CheckRun run = runChecks(*lab_, targetFor(*ng));
    EXPECT_TRUE(failed(run).empty()) << describe(run);
    std::size_t passed = 0;
    for (auto& r : run.results) {
        // Without a test user the sign-ins do not run (and say why).
        if (r.id.rfind("signin.", 0) == 0) {
            EXPECT_EQ(r.verdict, Verdict::Skip) << r.id;
            ++passed;
            continue;
        }
        passed += r.verdict == Verdict::Pass;
    }
    EXPECT_EQ(passed, run.results.size()) << describe(run);
}

TEST_F(NginxCheck, SignInCredentialsAreRefusedBeforeAnythingRuns) {
    const std::string lab = test::seedLabFile().string() + " --connect-to ::" + kNobodyAddr + ":1";
    EXPECT_EQ(checkCommand(lab + " --password-file /nonexistent/pw"), kExitBadInput);
    EXPECT_EQ(checkCommand(lab + " --user carol@kloud.example"), kExitBadInput);
    EXPECT_EQ(checkCommand(lab + " --user carol@kloud.example --password-file /nonexistent/pw"),
              kExitBadInput);
    EXPECT_EQ(checkCommand(lab + " --user carol --password-file /dev/null"), kExitBadInput);
}

TEST_F(NginxCheck, UnreachableTargetExitsThree) {
    std::string args = test::seedLabFile().string() + " --cacert " + pki_->rootCert.string() +
                       " --connect-to ::" + kNobodyAddr + ":" +
                       std::to_string(freePort(kNobodyAddr));
    EXPECT_EQ(checkCommand(args), kExitLabDown);
    EXPECT_EQ(checkCommand(test::seedLabFile().string() +
                           " --cacert /nonexistent.pem --connect-to ::127.5.1.99:1"),
              kExitBadInput);
}

}  // namespace
}  // namespace edgelab::checks
