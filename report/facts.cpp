#include "report/facts.hpp"

namespace edgelab::report {

namespace {

HandshakeFacts handshakeFacts(const checks::ProbeId& id, const checks::TlsHandshake& h) {
    HandshakeFacts f;
    f.probe = id.str();
    f.address = h.address;
    f.sni = h.sni;
    f.profile = h.profile;
    f.outcome = checks::to_string(h.outcome);
    f.seconds = h.durationMs / 1000.0;
    if (h.outcome == checks::HandshakeOutcome::Ok && !h.chain.empty()) {
        const auto& leaf = h.chain.front();
        f.certificate = CertificateFacts{leaf.thumbprint, leaf.subject, leaf.issuer, leaf.notAfter};
    }
    return f;
}

ExchangeFacts exchangeFacts(const checks::ProbeId& id, const checks::HttpExchange& x) {
    ExchangeFacts f{id.str(), x.url, x.status, {}};
    if (x.status >= 300 && x.status < 400) f.location = x.header("location").value_or("");
    return f;
}

}  // namespace

ReportFacts factsOf(const provision::Lab& lab, const checks::Evidence& ev) {
    ReportFacts facts;
    for (const auto& [id, h] : ev.tls) facts.handshakes.push_back(handshakeFacts(id, h));
    for (const auto& [id, x] : ev.http) facts.exchanges.push_back(exchangeFacts(id, x));
    for (const auto& [id, flow] : ev.signin) {
        if (!flow.skipped.empty()) continue;
        SignInFacts s{id.str(), {}};
        for (const auto& step : flow.steps)
            s.steps.push_back({step.name, step.exchange.status, step.seconds});
        facts.signins.push_back(std::move(s));
    }
    for (const auto& a : lab.applications)
        facts.applications.push_back(
            {a.name, a.externalUrl.str(), a.hasBackendServerUrl() ? a.backendServerUrl.str() : ""});
    return facts;
}

}  // namespace edgelab::report
