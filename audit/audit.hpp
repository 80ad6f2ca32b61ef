// `edgelab audit`: what a Web Application Proxy server prints (netsh's TLS
// bindings, the published applications, the certificates) judged offline by
// the seed's lessons, with the exact fix. Pure: the inputs are values, the
// findings are the checks' result values, read by the same report writers.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "audit/wap.hpp"
#include "checks/catalogue.hpp"
#include "provision/lab.hpp"
#include "proxy/netsh_show.hpp"

namespace edgelab::audit {

// What an application publishes, as far as the lessons care.
enum class AppRole { Lync, Owas, Other };
std::string to_string(AppRole);

// From a capture nothing says which server is behind a rule: a backend on
// 4443, a name or host that says Lync / Skype (lyncws, meet, dialin,
// lyncdiscover, webext) is Lync; "Office Web Apps", "Office Online", owas,
// wac, oos is OWAS; anything else is left alone.
AppRole guessRole(const WapApplication&);

// A certificate the audit can read names from (a --cert file, or the lab's).
struct AuditCertificate {
    std::string thumbprint;  // 40 upper-case hex digits (a placeholder for a lab's)
    std::string subjectCn;
    std::vector<std::string> dnsNames;
    std::string source;  // the file, or "the lab certificate"
};

struct AuditInput {
    std::string name = "audit";  // the report's title
    std::string netshSource, wapSource;
    std::optional<proxy::NetshShow> netsh;  // absent: not given
    std::string netshEncoding;  // how the capture was read: bytes, encoding, lines, labels
    std::optional<std::vector<WapApplication>> applications;  // absent: not given
    std::string wapFormat;              // "ConvertTo-Json (array)", "Format-List", ...
    std::vector<std::string> wapNotes;  // fields read with WAP's default, and why
    std::vector<AppRole> roles;         // one per application; guessed when empty
    std::vector<AuditCertificate> certificates;
    // The public web services name: its binding is what the default binding
    // copies (the seed's Set-DefaultCertificate -hostName). Guessed when empty.
    std::string webServicesName;
};

// A capture that gives nothing to audit or cannot be read at all: the
// message names the file and says what was read.
class CaptureError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The captures as saved, through the normalising front
// (proxy::normaliseCapture), into `in`. A netsh capture with no binding (zero
// bytes, a byte order mark only, separators only, or not one block read)
// throws CaptureError ("nothing to audit"); a WAP capture with nothing in it
// is no application (what ConvertTo-Json prints for none); bad WAP input
// throws WapInputError.
void readNetshCapture(AuditInput& in, std::string_view bytes, const std::string& source);
void readWapCapture(AuditInput& in, std::string_view bytes, const std::string& source);

// A lab's intended publishing as the same inputs: the hostname bindings WAP
// would create, the lab's default binding, its applications and certificate.
AuditInput auditInputOf(const provision::Lab&);

// Every finding, in a fixed order (ids in audit/README.md).
std::vector<checks::CheckResult> evaluateAudit(const AuditInput&);

// The placeholder a lab's certificate is known by before the lab PKI issues it.
inline constexpr const char* kLabCertificate = "<thumbprint of the lab certificate>";

// A lab description that reproduces the captured publishing on loopback,
// with `expect.fail` naming what the findings say will fail (the lab files
// in scenarios/labs show each lesson's failures). `labName` names it.
nlohmann::ordered_json emitLab(const AuditInput&, const std::vector<checks::CheckResult>& findings,
                               const std::string& labName);

}  // namespace edgelab::audit
