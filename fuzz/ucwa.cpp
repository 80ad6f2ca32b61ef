// UCWA's input: any bytes as the body of POST applications
// (parseApplicationRequest) and as the query of the event channel, through
// the front end's handler with a valid token. Never a crash; an application
// is created only from a body that parses.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "backends/signin.hpp"
#include "backends/site.hpp"
#include "backends/ucwa.hpp"

using namespace edgelab::backends;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = parseApplicationRequest(text);
    (void)parseEventTimeout(text);

    SiteConfig site;
    site.domain = "contoso.com";
    site.webServices = "lyncws.contoso.com";
    site.serverFqdn = "lyncfe1.contoso.com";
    site.tokenKey = "fuzz-key";
    site.eventHold = std::chrono::milliseconds(300);
    const std::string bearer = "Bearer " + mintToken(site, "alice@contoso.com", kOAuthAudience,
                                                     std::chrono::system_clock::now());
    Request post{http::verb::post, "/ucwa/oauth/v1/applications", 11};
    post.set(http::field::host, "lyncws.contoso.com");
    post.set(http::field::authorization, bearer);
    post.body() = text;
    post.prepare_payload();
    auto created = handle(edgelab::provision::BackendRole::LyncFrontEnd, site, post).response;
    if ((created.result() == http::status::created) != static_cast<bool>(parsed)) std::abort();
    if (!parsed) return 0;

    // The bytes as the event channel's query, on the application just made.
    std::string target = "/ucwa/oauth/v1/applications/";
    target += site.ucwa->applications.begin()->first + "/events?" + text;
    if (target.find_first_of(" \r\n") != std::string::npos) return 0;
    Request events{http::verb::get, target, 11};
    events.set(http::field::host, "lyncws.contoso.com");
    events.set(http::field::authorization, bearer);
    (void)handle(edgelab::provision::BackendRole::LyncFrontEnd, site, events);
    return 0;
}
