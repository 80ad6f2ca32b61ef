// The sign-in checks: a test user signs in through the publishing as Lync
// clients do, starting at lyncdiscover and following only what the answers
// name (checks/discovery.hpp), and each way of signing in is its own result.
//
//   signin.discovery      every URL the sign-ins were handed (redirects to a
//                         home pool, the MsRtcOAuth href, X-MS-WebTicketURL,
//                         the metadata's port, UCWA links) is on a published
//                         name on 443; the sign-ins stopped by one are
//                         BLOCKED by this check.
//   signin.webticket      Lync 2013 desktop: lyncdiscover (XML), the user
//                         resource's 401, the web ticket service it names, its
//                         metadata, a WS-Trust RequestSecurityToken with HTTP
//                         NTLM ([MS-OCAUTHWS], [MS-NLMP]), the user resource
//                         with the web ticket and its SipClientExternalAccess.
//   signin.ucwa           Lync mobile 2013: lyncdiscover (JSON), the token
//                         endpoint the 401 names, the user resource with the
//                         token, a UCWA application (201), the first event
//                         channel answer; every link public.
//   signin.ntlm-affinity  the NTLM handshake completes while other clients'
//                         handshakes are under way, on the client's own
//                         connection (one backend connection per client
//                         connection, as WAP keeps it).
//   signin.anonymous-after-signin  anonymous requests on fresh connections
//                         still get 401 once that client signed in.
//   signin.anon-meeting   a guest's urn:microsoft.rtc:anonmeeting grant for the
//                         test user's meeting.
//   webservices.long-poll measured, where a user can sign in: one P-GET asking
//                         timeout= the front end's hold (lab) or --long-poll
//                         seconds completes through the proxy.
//
// Evaluation here is pure; gathering (signin_gather.cpp) is the only I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checks/catalogue.hpp"
#include "checks/evidence.hpp"
#include "checks/gather.hpp"
#include "checks/ids.hpp"

namespace edgelab::checks {

std::vector<CheckDefinition> signInChecks(const provision::Lab& lab, const Target& target);
std::vector<SignInProbe> signInProbes(const provision::Lab& lab, const Target& target);

// The long-poll result measured on the event channel, when the UCWA sign-in
// reached it; nullopt leaves the static comparison of the lab to decide.
std::optional<CheckResult> measuredLongPoll(const CheckDefinition& d, const Evidence& ev,
                                            const CheckContext& ctx);
// How long the event channel must be held: --long-poll, else in a lab the
// longest front-end hold; 0 when not measured.
double longPollTarget(const provision::Lab& lab, const Target& target);

// Runs the sign-in probes (one thread each where they may run together).
std::map<ProbeId, SignInFlow> gatherSignIns(const std::vector<SignInProbe>& probes,
                                            const Target& target, const GatherOptions& options);

// What the documents' answers hold, read with a real XML/JSON parser; exposed
// for the tests and shared by gathering (to go on) and evaluation (to judge).
struct SipAccess {
    std::string element;  // SipServerExternalAccess, ...
    std::string fqdn;
    std::string port;
};
// The WinNegotiate port's address in the Web Ticket Service's WSDL.
std::optional<std::string> webTicketEndpoint(const std::string& wsdl);
struct IssuedTicket {
    std::string ticket;
    std::string expires;
    bool proofKey = false;
};
std::optional<IssuedTicket> issuedTicket(const std::string& rstr);
std::vector<SipAccess> sipAccessOf(const std::string& userResource);  // XML or JSON

}  // namespace edgelab::checks
