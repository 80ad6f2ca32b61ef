#include "proxy/binding_reloader.hpp"

#include <atomic>
#include <string_view>

namespace edgelab::proxy {

namespace {

namespace asio = boost::asio;

StoreStamp stampOf(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return {};
    return {st.st_ino, st.st_size, st.st_mtim};
}

}  // namespace

BindingReloader::BindingReloader(const ProxyConfig& cfg, const AccessLog& log,
                                 std::vector<std::unique_ptr<Worker>>& workers,
                                 std::shared_ptr<const TlsSnapshot> current)
    : cfg_(cfg),
      log_(log),
      workers_(workers),
      current_(std::move(current)),
      stamp_(stampOf(cfg.bindingStore)) {}

void BindingReloader::reload(const char* why) {
    stamp_ = stampOf(cfg_.bindingStore);
    BindingStore store;
    try {
        store = loadBindingStore(cfg_.bindingStore);
    } catch (const BindingStoreError& e) {
        logEvent(log_, {{"event", "binding-store-refused"},
                        {"trigger", why},
                        {"reason", e.what()},
                        {"kept", std::to_string(current_->store.bindings.size()) +
                                     " bindings from the last good store"}});
        return;
    }
    nlohmann::json loaded = {{"event", "binding-store-loaded"},
                             {"trigger", why},
                             {"file", cfg_.bindingStore.string()},
                             {"bindings", store.bindings.size()}};
    if (store == current_->store) {
        // Asked for (SIGHUP) it is said even when nothing changed: a writer
        // waiting for its change to be in force learns that it is.
        if (std::string_view(why) == "SIGHUP") {
            loaded["unchanged"] = true;
            logEvent(log_, std::move(loaded));
        }
        return;
    }
    current_ = buildSnapshot(cfg_, std::move(store), current_.get(), log_);
    // Said once every worker holds the new snapshot, so that a handshake
    // that starts after the line is read meets the new bindings.
    auto pending = std::make_shared<std::atomic<std::size_t>>(workers_.size());
    auto said = std::make_shared<nlohmann::json>(std::move(loaded));
    for (auto& w : workers_) {
        asio::post(w->ioc, [worker = w.get(), snap = current_, pending, said, &log = log_] {
            worker->tls = snap;
            if (pending->fetch_sub(1) == 1) logEvent(log, std::move(*said));
        });
    }
}

// A stat poll rather than inotify: it sees a rename over the file (a new
// inode) and an in-place write alike, and costs one stat per interval
// (250 ms unless `bindingStorePollMs` says otherwise).
asio::awaitable<void> BindingReloader::watch() {
    if (cfg_.bindingStorePollMs == 0) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        timer.expires_after(std::chrono::milliseconds(cfg_.bindingStorePollMs));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        if (!(stampOf(cfg_.bindingStore) == stamp_)) reload("file changed");
    }
}

}  // namespace edgelab::proxy
