#include "proxy/backend_sessions.hpp"

#include <ctime>
#include <string>
#include <utility>

namespace edgelab::proxy {

namespace {

int slotIndex() {
    // Asio keeps its verify callback in the SSL's app data (ex_data 0).
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

bool stillResumable(const SSL_SESSION* s) {
    if (!SSL_SESSION_is_resumable(s)) return false;
    const auto expires = SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s);
    return static_cast<long>(std::time(nullptr)) < expires;
}

}  // namespace

BackendSessions::BackendSessions(const std::vector<PublishingRule>& applications) {
    std::vector<std::pair<std::string, bool>> keys;
    for (const auto& app : applications) {
        const std::pair<std::string, bool> key{app.backendServerUrl.hostPort(),
                                               app.backendServerCertificateValidation};
        std::size_t i = 0;
        while (i < keys.size() && keys[i] != key) ++i;
        if (i == keys.size()) keys.push_back(key);
        slotOf_.push_back(i);
    }
    slots_.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) slots_.push_back({this, nullptr});
}

void BackendSessions::enable(SSL_CTX* ctx) {
    // The slots are the store: OpenSSL's internal client cache is not used.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, onNewSession);
}

int BackendSessions::onNewSession(SSL* ssl, SSL_SESSION* session) {
    auto* slot = static_cast<Slot*>(SSL_get_ex_data(ssl, slotIndex()));
    if (!slot || !SSL_SESSION_is_resumable(session)) return 0;
    // `session` stays the connection's own, and OpenSSL marks it not
    // resumable if that connection ends in a fatal alert (an unexpected EOF
    // included): the slot keeps a copy that no connection holds.
    std::unique_ptr<SSL_SESSION, FreeSession> copy(SSL_SESSION_dup(session));
    if (!copy) return 0;
    const std::lock_guard lock(slot->owner->mutex_);
    slot->session = std::move(copy);
    return 0;  // OpenSSL keeps its reference to `session`
}

bool BackendSessions::offer(SSL* ssl, std::size_t index) {
    Slot& slot = slots_.at(slotOf_.at(index));
    SSL_set_ex_data(ssl, slotIndex(), &slot);
    std::unique_ptr<SSL_SESSION, FreeSession> copy;
    {
        const std::lock_guard lock(mutex_);
        if (!slot.session || !stillResumable(slot.session.get())) return false;
        // A copy of its own for each connection, for the same reason.
        copy.reset(SSL_SESSION_dup(slot.session.get()));
    }
    return copy && SSL_set_session(ssl, copy.get()) == 1;
}

}  // namespace edgelab::proxy
