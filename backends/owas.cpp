#include "backends/owas.hpp"

#include <cctype>

#include "backends/request_target.hpp"
#include "backends/response.hpp"

namespace edgelab::backends {

namespace {

std::string origin(std::string_view host) { return "https://" + std::string(host); }

std::string farmInternalUrl(const SiteConfig& site) {
    return site.owasInternalUrl.empty() ? origin(site.serverFqdn) + "/" : site.owasInternalUrl;
}

// The front end name (X-OfficeFE): the server's short name, upper case.
std::string frontEndName(const SiteConfig& site) {
    return asciiUpper(site.serverFqdn.substr(0, site.serverFqdn.find('.')));
}

// Placeholders as OWAS writes them into urlsrc: <name=VALUE&>, XML-escaped.
constexpr std::string_view kUiPlaceholders = "&lt;ui=UI_LLCC&amp;&gt;&lt;rs=DC_LLCC&amp;&gt;";

std::string action(std::string_view name, std::string_view ext, std::string_view urlsrc,
                   bool isDefault = false) {
    return "      <action name=\"" + std::string(name) + "\" ext=\"" + std::string(ext) + "\"" +
           (isDefault ? " default=\"true\"" : "") + " urlsrc=\"" + std::string(urlsrc) + "\"/>\r\n";
}

std::string netZone(std::string_view zone, const std::string& base) {
    std::string ui(kUiPlaceholders);
    std::string z = "  <net-zone name=\"" + std::string(zone) + "\">\r\n";
    z += "    <app name=\"Word\" favIconUrl=\"" + base +
         "/wv/resources/1033/FavIcon_Word.ico\" checkLicense=\"true\">\r\n";
    z += action("view", "docx", base + "/wv/wordviewerframe.aspx?" + ui, true);
    z += action("edit", "docx", base + "/we/wordeditorframe.aspx?" + ui);
    z += "    </app>\r\n";
    z += "    <app name=\"Excel\" favIconUrl=\"" + base +
         "/x/_layouts/resources/FavIcon_Excel.ico\" checkLicense=\"true\">\r\n";
    z += action("view", "xlsx", base + "/x/_layouts/xlviewerinternal.aspx?" + ui, true);
    z += action("edit", "xlsx", base + "/x/_layouts/xlviewerinternal.aspx?edit=1&amp;" + ui);
    z += "    </app>\r\n";
    z += "    <app name=\"PowerPoint\" favIconUrl=\"" + base +
         "/p/resources/1033/FavIcon_Ppt.ico\" checkLicense=\"true\">\r\n";
    z += action("view", "pptx", base + "/p/PowerPointFrame.aspx?" + ui, true);
    z += action("present", "pptx", base + "/m/Presenter.aspx?" + ui);
    z += action("attend", "pptx", base + "/m/ParticipantFrame.aspx?" + ui);
    z += "    </app>\r\n";
    z += "    <app name=\"WopiTest\" favIconUrl=\"" + base +
         "/wv/resources/1033/FavIcon_Word.ico\" checkLicense=\"false\">\r\n";
    z += action("getinfo", "wopitest", base + "/hosting/WopiTestFrame.aspx?" + ui, true);
    z += "    </app>\r\n";
    z += "  </net-zone>\r\n";
    return z;
}

// WOPI discovery; anonymous by design (hosts fetch it without credentials).
Response discovery(const Request& req, const std::string& host) {
    std::string base = escapeMarkup(origin(host));
    std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<wopi-discovery>\r\n";
    body += netZone("internal-https", base);
    body += netZone("external-https", base);
    body += "</wopi-discovery>\r\n";
    return makeResponse(req, http::status::ok, "text/xml; charset=utf-8", std::move(body));
}

// /m/Presenter.aspx and /m/ParticipantFrame.aspx: every URL in headers and
// body is built from the Host the request arrived with.
Response presentationPage(const SiteConfig& site, const Request& req, const std::string& host,
                          bool presenter) {
    auto query = splitTarget(sv(req.target())).query;
    auto wopiSrc = rawQueryParam(query, "WopiSrc");
    if (!wopiSrc || !wopiSrcIntact(*wopiSrc)) {
        return errorPage(req, http::status::bad_request,
                         "WopiSrc is missing or was decoded on the way; Office Web Apps expects "
                         "it double-encoded.");
    }
    const std::string base = origin(host);
    const std::string page = presenter ? "Presenter.aspx" : "ParticipantFrame.aspx";
    const std::string script = presenter ? "presenter.js" : "participant.js";
    const std::string internalUrl = farmInternalUrl(site);
    std::string body =
        "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\">"
        "<title>PowerPoint Web App</title>\r\n"
        "<link rel=\"stylesheet\" href=\"" +
        escapeMarkup(base) +
        "/m/s/1033/broadcast.css\"/>\r\n"
        "<script src=\"" +
        escapeMarkup(base) +
        "/m/s/1033/MicrosoftAjax.js\"></script>\r\n"
        "<script src=\"" +
        escapeMarkup(base) + "/m/s/1033/" + script +
        "\"></script>\r\n"
        "</head>\r\n<body>\r\n<div id=\"" +
        (presenter ? "presenter" : "participant") + "\" data-frame-url=\"" +
        escapeMarkup(base + "/m/" + page) + "\" data-wopi-src=\"" +
        escapeMarkup(percentDecode(*wopiSrc)) + "\" data-farm-internal-url=\"" +
        escapeMarkup(internalUrl) +
        "\"></div>\r\n"
        "<script>var g_farmInternalUrl = \"" +
        escapeMarkup(internalUrl) +
        "\";</script>\r\n"
        "</body></html>\r\n";
    auto res = makeResponse(req, http::status::ok, "text/html; charset=utf-8", std::move(body));
    res.set("X-OfficeFE", frontEndName(site));
    res.set("X-OfficeVersion", std::string(kOfficeVersion));
    res.set("X-OfficeCluster", host);
    res.set("X-OfficeWebAppsUrl", base + "/m/");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-UA-Compatible", "IE=10");
    return res;
}

// /m/ sends the client on to the presenter page, on the host it asked for.
Response presentationRedirect(const SiteConfig& site, const Request& req, const std::string& host) {
    std::string wopiSrc = "https://" + site.webServices + "/DataCollabWeb/WopiHost/wopi/files/1-1";
    std::string location = origin(host) +
                           "/m/Presenter.aspx?WopiSrc=" + percentEncode(percentEncode(wopiSrc)) +
                           "&ui=en-US&rs=en-US";
    return objectMoved(req, location);
}

}  // namespace

bool wopiSrcIntact(std::string_view raw) {
    // Encoded URLs carry no raw ':' or '/'; once-encoded ones show %3A/%2F.
    return icontains(raw, "%25") && raw.find_first_of(":/") == std::string_view::npos &&
           !icontains(raw, "%3a") && !icontains(raw, "%2f");
}

Reply handleOwas(const SiteConfig& site, const Request& req) {
    // OWAS's IIS site is bound to every host name: it answers whatever Host it
    // is asked for, and writes that name back.
    std::string host = hostOfHostHeader(sv(req[http::field::host]));
    std::string p = asciiLower(splitTarget(sv(req.target())).path);
    if (!isGetOrHead(req) && (p == "/hosting/discovery" || p.starts_with("/m/") || p == "/m")) {
        auto res = errorPage(req, http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        return {std::move(res)};
    }
    if (p == "/hosting/discovery" || p == "/hosting/discovery/") return {discovery(req, host)};
    if (p == "/m/presenter.aspx") return {presentationPage(site, req, host, true)};
    if (p == "/m/participantframe.aspx") return {presentationPage(site, req, host, false)};
    if (p == "/m" || p == "/m/") return {presentationRedirect(site, req, host)};
    return {errorPage(req, http::status::not_found)};
}

}  // namespace edgelab::backends
