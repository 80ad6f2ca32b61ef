// The lab's addresses on loopback, for both DNS views (docs/design.md, the two DNS
// views): the internal view gives each backend its own address, the external
// view gives the proxy its own. Each lab run takes a /24 of its own inside
// 127.64.0.0/10 so that labs run side by side (`--jobs`, parallel tests)
// without meeting on an address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "provision/lab.hpp"

namespace edgelab::runner {

struct PlannedBackend {
    std::string name;                // Backend::name
    std::string address;             // 127.A.B.(10+i)
    std::uint16_t labPort;           // what the lab says (4443 Lync, 443 OWAS)
    std::uint16_t listenPort;        // what it is asked to bind: labPort, or 0 when privileged
                                     // ports are out of reach
    std::vector<std::string> names;  // its own host first, then the names it serves
};

struct AddressPlan {
    std::string subnet;           // "127.A.B.0/24"
    std::string proxyAddress;     // 127.A.B.1
    std::uint16_t proxyPort = 0;  // 443 when the process may bind it, else 0 (any)
    std::vector<PlannedBackend> backends;
};

// The plan for a lab in 127.A.B.0/24 (A in 64..127). Pure.
AddressPlan planAddresses(const provision::Lab& lab, int octetA, int octetB,
                          bool mayBindPrivileged);

// Whether ADDR:PORT can be bound now (the probe socket is closed again).
bool canBind(const std::string& address, std::uint16_t port);

// Picks a free /24 at random: a candidate is taken when every fixed port it
// needs (the proxy's 443 when privileged, each backend's lab port) binds.
// Whether privileged ports are in reach is found by trying, not by uid: a
// process with CAP_NET_BIND_SERVICE may, root in a restricted container may not.
AddressPlan chooseAddressPlan(const provision::Lab& lab, std::mt19937_64& random);

// The internal DNS view, "host:labPort" -> "addr:realPort", for every name
// each backend answers for, once the backends report their real ports. A
// publishing rule that names a backend's host on another port (the seed's
// Lync rule on 443 instead of 4443) gets "host:port" -> "addr:port": DNS
// resolves names, not ports, so the proxy reaches the right server on a
// port where nothing listens, as it would on Windows.
std::map<std::string, std::string> internalDns(
    const provision::Lab& lab, const AddressPlan& plan,
    const std::map<std::string, std::uint16_t>& realPortByBackend);

}  // namespace edgelab::runner
