// Lyncdiscover: the autodiscover root a client reads first, in JSON and in
// XML, and the links it hands out.
#include "checks/families.hpp"
#include "checks/ids.hpp"
#include "checks/support.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <nlohmann/json.hpp>

namespace edgelab::checks::family {

using namespace support;
using provision::Lab;

namespace {

std::vector<std::string> badLinks(const std::vector<std::string>& hrefs, const std::string& ws) {
    std::vector<std::string> bad;
    for (auto& href : hrefs) {
        auto u = parseUrl(href);
        if (!u || u->scheme != "https" || !iequals(u->host, ws) || u->port != 443)
            bad.push_back(href);
    }
    return bad;
}

std::string checkDiscoverJson(const HttpExchange& x, const std::string& ws) {
    if (x.status != 200) return "JSON: " + describeExchange(x);
    auto ct = asciiLower(x.header("content-type").value_or(""));
    if (!istartsWith(ct, "application/json") &&
        !istartsWith(ct, "application/vnd.microsoft.rtc.autodiscover+json"))
        return "JSON: Content-Type " + (ct.empty() ? std::string("missing") : ct);
    auto doc = nlohmann::json::parse(x.body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("_links") || !doc["_links"].is_object())
        return "JSON: body has no _links object";
    std::vector<std::string> hrefs;
    for (auto& [k, v] : doc["_links"].items())
        if (v.is_object() && v.contains("href") && v["href"].is_string())
            hrefs.push_back(v["href"].get<std::string>());
    if (hrefs.empty()) return "JSON: no links";
    if (auto bad = badLinks(hrefs, ws); !bad.empty())
        return "JSON: links not on https://" + ws + "/: " + join(bad, " ");
    return {};
}

std::string checkDiscoverXml(const HttpExchange& x, const std::string& ws) {
    if (x.status != 200) return "XML: " + describeExchange(x);
    auto ct = asciiLower(x.header("content-type").value_or(""));
    if (!istartsWith(ct, "application/vnd.microsoft.rtc.autodiscover+xml"))
        return "XML: Content-Type " + (ct.empty() ? std::string("missing") : ct) +
               " (clients accept only application/vnd.microsoft.rtc.autodiscover+xml)";
    xmlDocPtr doc =
        xmlReadMemory(x.body.data(), static_cast<int>(x.body.size()), "root.xml", nullptr,
                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) return "XML: body is not well-formed XML";
    std::vector<std::string> hrefs;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    auto named = [](xmlNodePtr n, const char* name) {
        return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
    };
    bool shape = root && named(root, "AutodiscoverResponse");
    if (shape)
        for (xmlNodePtr r = root->children; r; r = r->next)
            if (named(r, "Root"))
                for (xmlNodePtr l = r->children; l; l = l->next)
                    if (named(l, "Link")) {
                        xmlChar* h = xmlGetProp(l, BAD_CAST "href");
                        if (h) hrefs.push_back(reinterpret_cast<char*>(h)), xmlFree(h);
                    }
    xmlFreeDoc(doc);
    if (!shape) return "XML: root element is not AutodiscoverResponse";
    if (hrefs.empty()) return "XML: no AutodiscoverResponse/Root/Link";
    if (auto bad = badLinks(hrefs, ws); !bad.empty())
        return "XML: links not on https://" + ws + "/: " + join(bad, " ");
    return {};
}

}  // namespace

CheckDefinition lyncdiscoverCheck(const provision::Lab& lab) {
    CheckDefinition d{check::lyncdiscover(),
                      "Lyncdiscover root answers in JSON and XML with external links",
                      lab.names.lyncdiscover,
                      {probe::lyncdiscoverJson(), probe::lyncdiscoverXml()},
                      {}};
    d.evaluate = [d](const Evidence& ev, const CheckContext& ctx) {
        auto* j = ev.exchange(d.probes[0]);
        auto* x = ev.exchange(d.probes[1]);
        if (!j || !x) return result(d, Verdict::Skip, "lyncdiscover not probed");
        const auto& ws = ctx.lab.names.webServices;
        std::vector<std::string> problems;
        if (auto p = checkDiscoverJson(*j, ws); !p.empty()) problems.push_back(p);
        if (auto p = checkDiscoverXml(*x, ws); !p.empty()) problems.push_back(p);
        if (!problems.empty())
            return result(
                d, Verdict::Fail, join(problems, "; "),
                remedyText(d.id.str(), "",
                           {{"lyncdiscover", ctx.lab.names.lyncdiscover}, {"webServices", ws}}));
        return result(d, Verdict::Pass, "JSON and XML roots link to https://" + ws + "/ only");
    };
    return d;
}
}  // namespace edgelab::checks::family
