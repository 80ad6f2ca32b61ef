#include "proxy/binding_reloader.hpp"

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
    if (store == current_->store) return;
    current_ = buildSnapshot(cfg_, std::move(store), current_.get(), log_);
    for (auto& w : workers_) {
        asio::post(w->ioc, [worker = w.get(), snap = current_] { worker->tls = snap; });
    }
    logEvent(log_, {{"event", "binding-store-loaded"},
                    {"trigger", why},
                    {"file", cfg_.bindingStore.string()},
                    {"bindings", current_->store.bindings.size()}});
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
