// Keeps every worker's binding snapshot in step with the binding store file:
// a stat poll (a rename over the file is a new inode) and SIGHUP. A store
// that does not load is refused and the last good one stays in force.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <vector>

#include "proxy/worker.hpp"

namespace edgelab::proxy {

struct StoreStamp {
    ino_t inode = 0;
    off_t size = -1;
    timespec mtime{};
    bool operator==(const StoreStamp& o) const {
        return inode == o.inode && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
               mtime.tv_nsec == o.mtime.tv_nsec;
    }
};

class BindingReloader {
  public:
    BindingReloader(const ProxyConfig& cfg, const AccessLog& log,
                    std::vector<std::unique_ptr<Worker>>& workers,
                    std::shared_ptr<const TlsSnapshot> current);

    void reload(const char* why);
    // Polls the store's stamp every `bindingStorePollMs` (never when 0) on the
    // calling executor.
    boost::asio::awaitable<void> watch();

  private:
    const ProxyConfig& cfg_;
    const AccessLog& log_;
    std::vector<std::unique_ptr<Worker>>& workers_;
    std::shared_ptr<const TlsSnapshot> current_;
    StoreStamp stamp_;
};

}  // namespace edgelab::proxy
