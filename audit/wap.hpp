// What `Get-WebApplicationProxyApplication | ConvertTo-Json` prints, read
// into values: one object (one application) or an array of them, with the
// fields of the CIM class WebApplicationProxyApplication as PowerShell names
// them (Microsoft docs, "Add method of the CIM_WebApplicationProxyApplication
// class"). Pure: text in, values out.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgelab::audit {

struct WapApplication {
    std::string name;
    std::string id;                                  // the application's GUID, when printed
    std::string externalUrl;                         // as printed
    std::string backendServerUrl;                    // as printed
    std::string externalPreauthentication = "ADFS";  // WAP's default when absent; "" unknown
    std::string adfsRelyingPartyName;                // "" when none
    std::string externalCertificateThumbprint;       // 40 upper-case hex digits, or as printed
    std::string backendServerCertificateValidation = "None";
    bool disableTranslateUrlInRequestHeaders = false;
    bool disableTranslateUrlInResponseHeaders = false;
    int inactiveTransactionsTimeoutSec = 300;
    // Every other property, as JSON text, kept for the report.
    std::vector<std::pair<std::string, std::string>> otherFields;
};

// Bad input: the message names the source and the JSON path.
class WapInputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// What was read, how, and what was assumed.
struct WapCapture {
    std::vector<WapApplication> applications;
    // "ConvertTo-Json (array)", "ConvertTo-Json (one object)", "ConvertTo-Json
    // (Windows PowerShell 5.1 value/Count wrapper)", "Format-List"
    std::string format;
    // A field the audit never judges that could not be read, and the default
    // taken instead: "/0/InactiveTransactionsTimeoutSec: \"abc\" is not a
    // number; WAP's default 300 assumed".
    std::vector<std::string> notes;
};

// `text` is UTF-8, through proxy::normaliseCapture (what Windows saves, as
// pasted). Read: `Get-WebApplicationProxyApplication | ConvertTo-Json` (an
// array, one object, an empty array, Windows PowerShell 5.1's
// `{"value":[...],"Count":N}`), and `| Format-List` (the default formatter's
// long form). Property names are matched ASCII case-insensitively. The
// fields the audit judges (ExternalUrl, BackendServerUrl,
// ExternalCertificateThumbprint) must be strings, the URLs present; every
// other field is read leniently (names or numbers for enums, "True" for
// true, a number in a string) and, when it cannot be, takes WAP's default
// with a note. Format-Table output (values cut to the column) is refused
// with the command that captures it whole. Throws WapInputError naming the
// source and the JSON path (or Format-List record and line).
WapCapture parseWapCapture(std::string_view text, std::string_view source);
std::vector<WapApplication> parseWapApplications(std::string_view text, std::string_view source);

}  // namespace edgelab::audit
