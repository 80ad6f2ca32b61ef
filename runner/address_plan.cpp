#include "runner/address_plan.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace edgelab::runner {

AddressPlan planAddresses(const provision::Lab& lab, int octetA, int octetB,
                          bool mayBindPrivileged) {
    if (octetA < 64 || octetA > 127 || octetB < 0 || octetB > 255)
        throw std::invalid_argument("address plan outside 127.64.0.0/10");
    const std::string prefix = "127." + std::to_string(octetA) + "." + std::to_string(octetB) + ".";
    AddressPlan plan;
    plan.subnet = prefix + "0/24";
    plan.proxyAddress = prefix + "1";
    plan.proxyPort = mayBindPrivileged ? 443 : 0;
    int host = 10;
    for (const auto& b : lab.backends) {
        PlannedBackend pb;
        pb.name = b.name;
        pb.address = prefix + std::to_string(host++);
        pb.labPort = b.port;
        pb.listenPort = (b.port < 1024 && !mayBindPrivileged) ? 0 : b.port;
        pb.names.push_back(b.host);
        for (const auto& n : b.serves) {
            if (std::find(pb.names.begin(), pb.names.end(), n) == pb.names.end())
                pb.names.push_back(n);
        }
        plan.backends.push_back(std::move(pb));
    }
    return plan;
}

namespace {

// 0 when ADDR:PORT binds, else the errno of the failure.
int bindError(const std::string& address, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    // The servers set SO_REUSEADDR too: without it a port in TIME_WAIT from
    // a previous run would look taken when it is free for them.
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    int error = 0;
    if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
        error = EINVAL;
    else if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        error = errno;
    ::close(fd);
    return error;
}

}  // namespace

bool canBind(const std::string& address, std::uint16_t port) {
    return bindError(address, port) == 0;
}

AddressPlan chooseAddressPlan(const provision::Lab& lab, std::mt19937_64& random) {
    std::uniform_int_distribution<int> a(64, 127), b(0, 255);
    std::string busy;
    for (int attempt = 0; attempt < 64; ++attempt) {
        int octetA = a(random), octetB = b(random);
        const std::string proxy =
            "127." + std::to_string(octetA) + "." + std::to_string(octetB) + ".1";
        bool privileged = canBind(proxy, 443);
        AddressPlan plan = planAddresses(lab, octetA, octetB, privileged);
        bool free = true;
        for (const auto& pb : plan.backends) {
            if (pb.listenPort == 0) continue;
            if (int error = bindError(pb.address, pb.listenPort)) {
                free = false;
                busy = "backend " + pb.name + "'s port " + std::to_string(pb.listenPort) + " on " +
                       pb.address + ": " + std::strerror(error);
            }
        }
        if (free) return plan;
    }
    // The same port taken on 64 random addresses: a process holds it on every
    // address (0.0.0.0), which is what to look for.
    throw std::runtime_error("cannot bind " + busy + " (and on 63 other addresses in " +
                             "127.64.0.0/10): a process listens on that port on every address? " +
                             "(see ss -ltnp)");
}

std::map<std::string, std::string> internalDns(
    const provision::Lab& lab, const AddressPlan& plan,
    const std::map<std::string, std::uint16_t>& realPortByBackend) {
    std::map<std::string, std::string> dns;
    for (const auto& pb : plan.backends) {
        auto it = realPortByBackend.find(pb.name);
        if (it == realPortByBackend.end()) continue;
        for (const auto& n : pb.names) {
            dns[n + ":" + std::to_string(pb.labPort)] =
                pb.address + ":" + std::to_string(it->second);
        }
    }
    for (const auto& app : lab.applications) {
        const auto& url = app.backendServerUrl;
        const std::string key = url.host + ":" + std::to_string(url.port);
        if (dns.count(key)) continue;
        for (const auto& pb : plan.backends) {
            if (std::find(pb.names.begin(), pb.names.end(), url.host) != pb.names.end()) {
                dns[key] = pb.address + ":" + std::to_string(url.port);
                break;
            }
        }
    }
    return dns;
}

}  // namespace edgelab::runner
