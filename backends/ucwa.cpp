#include "backends/ucwa.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "backends/request_target.hpp"
#include "backends/response.hpp"
#include "common/ascii.hpp"

namespace edgelab::backends {

namespace {

using nlohmann::json;

constexpr std::string_view kUcwaJson = "application/json";

// A UCWA error document ({"code","subcode","message"}) with its status.
Response ucwaError(const Request& req, http::status status, std::string_view code,
                   std::string_view message, std::string_view subcode = {}) {
    json doc = {{"code", code}, {"message", message}};
    if (!subcode.empty()) doc["subcode"] = subcode;
    return makeResponse(req, status, kUcwaJson, doc.dump());
}

bool languageTag(std::string_view s) {
    return !s.empty() && s.size() <= 35 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-';
    });
}

// The parts of a path under the applications resource.
struct UcwaPath {
    std::string base;  // /ucwa/oauth/v1/applications or /ucwa/v1/applications
    std::string id;    // "" for the collection
    std::string rest;  // "", "events", "me", ...
};

std::optional<UcwaPath> splitUcwaPath(std::string_view p) {
    for (std::string_view base : {"/ucwa/oauth/v1/applications", "/ucwa/v1/applications"}) {
        if (!p.starts_with(base)) continue;
        std::string_view tail = p.substr(base.size());
        if (tail.empty()) return UcwaPath{std::string(base), "", ""};
        if (tail.front() != '/') continue;
        tail.remove_prefix(1);
        const auto slash = tail.find('/');
        UcwaPath out{std::string(base), std::string(tail.substr(0, slash)), ""};
        if (slash != std::string_view::npos) out.rest = std::string(tail.substr(slash + 1));
        return out;
    }
    return std::nullopt;
}

json link(const std::string& href) { return {{"href", href}}; }

// The application resource with what a client needs next: its own links and
// the embedded me, people, onlineMeetings and communication resources.
json applicationDocument(const std::string& self, const std::string& id,
                         const UcwaApplication& app) {
    const std::string me = self + "/me";
    const std::string name = app.owner.substr(0, app.owner.find('@'));
    return {{"culture", app.culture},
            {"userAgent", app.userAgent},
            {"type", "Application"},
            {"endpointId", app.endpointId},
            {"id", id},
            {"_links",
             {{"self", link(self)},
              {"policies", link(self + "/policies")},
              {"batch", link(self + "/batch")},
              {"events", link(self + "/events?ack=1")}}},
            {"_embedded",
             {{"me",
               {{"name", name},
                {"uri", "sip:" + app.owner},
                {"_links",
                 {{"self", link(me)},
                  {"makeMeAvailable", link(me + "/makeMeAvailable")},
                  {"callForwardingSettings", link(me + "/callForwardingSettings")},
                  {"phones", link(me + "/phones")},
                  {"photo", link(self + "/photos/" + app.owner)}}},
                {"rel", "me"}}},
              {"people",
               {{"_links",
                 {{"self", link(self + "/people")},
                  {"presenceSubscriptions", link(self + "/people/presenceSubscriptions")},
                  {"search", link(self + "/people/search")},
                  {"myGroups", link(self + "/people/groups")},
                  {"myContacts", link(self + "/people/contacts")}}},
                {"rel", "people"}}},
              {"onlineMeetings",
               {{"_links",
                 {{"self", link(self + "/onlineMeetings")},
                  {"myOnlineMeetings", link(self + "/onlineMeetings/myOnlineMeetings")},
                  {"onlineMeetingPolicies", link(self + "/onlineMeetings/onlineMeetingPolicies")}}},
                {"rel", "onlineMeetings"}}},
              {"communication",
               {{"supportedModalities", json::array()},
                {"supportedMessageFormats", json::array({"Plain"})},
                {"_links",
                 {{"self", link(self + "/communication")},
                  {"conversations", link(self + "/communication/conversations")},
                  {"startMessaging", link(self + "/communication/messaging/startMessaging")},
                  {"startOnlineMeeting", link(self + "/communication/startOnlineMeeting")},
                  {"joinOnlineMeeting", link(self + "/communication/joinOnlineMeeting")}}},
                {"rel", "communication"}}}}},
            {"rel", "application"}};
}

Response createApplication(const SiteConfig& site, const Request& req, const UcwaPath& path,
                           const std::string& user) {
    auto body = parseApplicationRequest(req.body());
    if (!body) return ucwaError(req, http::status::bad_request, "BadRequest", body.error());
    const std::string id = randomHexId("101-", 12);
    UcwaApplication app{user, body->userAgent, body->endpointId, body->culture, 1};
    {
        std::lock_guard lock(site.ucwa->mutex);
        site.ucwa->applications[id] = app;
    }
    const std::string self = path.base + "/" + id;
    auto res = makeResponse(req, http::status::created, kUcwaJson,
                            applicationDocument(self, id, app).dump());
    res.set(http::field::location, self);
    return res;
}

// The events document for one ack: its own link and the next one.
Response eventsDocument(const Request& req, const std::string& events, long ack) {
    json doc = {{"_links",
                 {{"self", link(events + "?ack=" + std::to_string(ack))},
                  {"next", link(events + "?ack=" + std::to_string(ack + 1))}}},
                {"sender", json::array()}};
    return makeResponse(req, http::status::ok, kUcwaJson, doc.dump());
}

std::optional<long> parseAck(std::optional<std::string_view> raw) {
    if (!raw) return std::nullopt;
    long v = 0;
    auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
    if (ec != std::errc{} || end != raw->data() + raw->size() || v < 1) return -1;
    return v;
}

// The event channel: one P-GET answered per ack in order. The first (ack=1)
// has the application's start to report and is answered at once; the next
// ack, or the last one again (the client lost the answer or retries), is held
// for its timeout (scaled), and a later P-GET of the same application
// replaces a held one (409); any other ack gets a resync link to where the
// channel is.
Reply eventChannel(const SiteConfig& site, const Request& req, const UcwaPath& path,
                   std::string_view query) {
    auto timeout = parseEventTimeout(rawQueryParam(query, "timeout"));
    if (!timeout) return {ucwaError(req, http::status::bad_request, "BadRequest", timeout.error())};
    auto ack = parseAck(rawQueryParam(query, "ack"));
    if (ack && *ack < 0)
        return {ucwaError(req, http::status::bad_request, "BadRequest",
                          "ack must be a positive integer")};
    const std::string events = path.base + "/" + path.id + "/events";
    long current = 0, asked = 0;
    {
        std::lock_guard lock(site.ucwa->mutex);
        auto it = site.ucwa->applications.find(path.id);
        if (it == site.ucwa->applications.end())
            return {ucwaError(req, http::status::not_found, "NotFound",
                              "There is no such application for this user.")};
        current = it->second.nextAck;
        asked = ack.value_or(current);
        if (asked == current) ++it->second.nextAck;
    }
    if (asked != current && asked + 1 != current) {
        json doc = {{"_links",
                     {{"self", link(events + "?ack=" + std::to_string(asked))},
                      {"resync", link(events + "?ack=" + std::to_string(current))}}}};
        return {makeResponse(req, http::status::ok, kUcwaJson, doc.dump())};
    }
    Reply reply{eventsDocument(req, events, asked)};
    if (asked > 1) {
        reply.holdFor = scaledHold(site, *timeout);
        reply.holdKey = "ucwa-events:" + path.id;
        reply.ifReplaced =
            ucwaError(req, http::status::conflict, "Conflict",
                      "A newer event channel request replaced this one.", "PGetReplaced");
    }
    return reply;
}

}  // namespace

Parsed<ApplicationRequest> parseApplicationRequest(std::string_view body) {
    using P = Parsed<ApplicationRequest>;
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return P::failure("the body must be a JSON object with UserAgent, EndpointId and Culture");
    ApplicationRequest out;
    const std::pair<const char*, std::string*> fields[] = {
        {"userAgent", &out.userAgent}, {"endpointId", &out.endpointId}, {"culture", &out.culture}};
    for (const auto& [name, target] : fields)
        for (const auto& [key, value] : doc.items())
            if (iequals(key, name) && value.is_string()) *target = value.get<std::string>();
    for (const auto& [name, target] : fields)
        if (target->empty() || target->size() > 256)
            return P::failure(std::string(1, static_cast<char>(name[0] - 'a' + 'A')) + (name + 1) +
                              " is missing, empty or longer than 256 characters");
    if (!languageTag(out.culture)) return P::failure("Culture is not a language tag such as en-US");
    return out;
}

Parsed<int> parseEventTimeout(std::optional<std::string_view> raw) {
    if (!raw) return kDefaultEventTimeoutSec;
    long v = 0;
    auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
    if (raw->empty() || end != raw->data() + raw->size() || raw->front() == '-' ||
        (ec != std::errc{} && ec != std::errc::result_out_of_range))
        return Parsed<int>::failure("timeout must be a whole number of seconds (180 to 1800)");
    // Outside the range the front end serves the nearest it allows.
    if (ec == std::errc::result_out_of_range || v > kMaxEventTimeoutSec) return kMaxEventTimeoutSec;
    return static_cast<int>(std::max<long>(v, kMinEventTimeoutSec));
}

double holdScale(const SiteConfig& site) {
    return std::chrono::duration<double>(site.eventHold).count() / kDefaultEventTimeoutSec;
}

std::chrono::milliseconds scaledHold(const SiteConfig& site, int timeoutSec) {
    return std::chrono::milliseconds(std::llround(holdScale(site) * timeoutSec * 1000.0));
}

Reply handleUcwa(const SiteConfig& site, const Request& req, std::string_view lowerPath,
                 std::string_view query, const std::optional<std::string>& user) {
    auto path = splitUcwaPath(lowerPath);
    if (!path) return {errorPage(req, http::status::not_found)};
    if (path->id.empty()) {
        if (req.method() != http::verb::post) {
            auto res = errorPage(req, http::status::method_not_allowed);
            res.set(http::field::allow, "POST");
            return {std::move(res)};
        }
        return {createApplication(site, req, *path, *user)};
    }
    std::optional<UcwaApplication> app;
    {
        std::lock_guard lock(site.ucwa->mutex);
        auto it = site.ucwa->applications.find(path->id);
        if (it != site.ucwa->applications.end() && iequals(it->second.owner, *user))
            app = it->second;
    }
    if (!app)
        return {ucwaError(req, http::status::not_found, "NotFound",
                          "There is no such application for this user.")};
    if (path->rest == "events" && isGetOrHead(req)) return eventChannel(site, req, *path, query);
    if (!path->rest.empty()) return {errorPage(req, http::status::not_found)};
    if (isGetOrHead(req))
        return {
            makeResponse(req, http::status::ok, kUcwaJson,
                         applicationDocument(path->base + "/" + path->id, path->id, *app).dump())};
    if (req.method() == http::verb::delete_) {
        std::lock_guard lock(site.ucwa->mutex);
        site.ucwa->applications.erase(path->id);
        return {makeResponse(req, http::status::no_content, "", "")};
    }
    auto res = errorPage(req, http::status::method_not_allowed);
    res.set(http::field::allow, "GET, DELETE");
    return {std::move(res)};
}

}  // namespace edgelab::backends
