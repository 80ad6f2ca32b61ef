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
    std::string externalPreauthentication = "ADFS";  // WAP's default when absent
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

// `text` is UTF-8 (see proxy::decodeCapturedText for what Windows saves).
// Property names are matched ASCII case-insensitively; a property that is
// present with the wrong type is an error, an absent optional one takes
// WAP's default. Throws WapInputError.
std::vector<WapApplication> parseWapApplications(std::string_view text, std::string_view source);

}  // namespace edgelab::audit
