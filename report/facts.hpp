// What the probes saw, as structured fields beside the one-line evidence of
// each check: the certificates served with and without SNI, the redirect
// targets, the sign-in steps' times, and the lab's backend URLs. `edgelab
// diff` compares them between two reports and `edgelab watch` exports them
// as metrics; the JSON form is in report/README.md ("probes",
// "applications"). Pure: built from gathered evidence, no I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "checks/evidence.hpp"
#include "provision/lab.hpp"

namespace edgelab::report {

struct CertificateFacts {
    std::string thumbprint;  // SHA-1, 40 upper-case hex digits
    std::string subject;
    std::string issuer;
    std::chrono::system_clock::time_point notAfter;
};

// One TLS handshake (probe ids tls.sni.NAME, tls.no-sni.PROFILE, tls.backend.NAME).
struct HandshakeFacts {
    std::string probe;
    std::string address;             // ADDR:PORT connected to: the binding's ipport side
    std::optional<std::string> sni;  // nullopt: sent without SNI
    std::string profile;
    std::string outcome;  // ok, reset, alert, timeout, refused, unresolved, error
    std::optional<CertificateFacts> certificate;  // the leaf, when one was served
    double seconds = 0;
};

// One HTTP exchange (probe ids http.*).
struct ExchangeFacts {
    std::string probe;
    std::string url;
    long status = 0;       // 0: no answer
    std::string location;  // the redirect target, "" when none
};

struct SignInStepFacts {
    std::string name;  // "mex", "rst", "oauthtoken", ...
    long status = 0;
    double seconds = 0;
};

// One sign-in flow (probe ids signin.flow.*), its steps in order.
struct SignInFacts {
    std::string probe;
    std::vector<SignInStepFacts> steps;
};

// A published application as the lab describes it.
struct ApplicationFacts {
    std::string name;
    std::string externalUrl;
    std::string backendUrl;  // "" for a real site's lab
};

struct ReportFacts {
    std::vector<HandshakeFacts> handshakes;
    std::vector<ExchangeFacts> exchanges;
    std::vector<SignInFacts> signins;
    std::vector<ApplicationFacts> applications;
    bool empty() const {
        return handshakes.empty() && exchanges.empty() && signins.empty() && applications.empty();
    }
};

// In probe-id order (the evidence's), applications in the lab's order.
ReportFacts factsOf(const provision::Lab&, const checks::Evidence&);

}  // namespace edgelab::report
