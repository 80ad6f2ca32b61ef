#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace edgelab {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& file) {
    throw std::runtime_error(what + " " + file.string() + ": " + std::strerror(errno));
}

std::string temporaryName(const std::filesystem::path& file) {
    std::random_device rd;
    std::ostringstream name;
    name << "." << file.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << rd();
    return (file.parent_path() / name.str()).string();
}

// A writer killed between creating its temporary file and the rename leaves
// `.NAME.tmp-PID-...` behind. The next writer removes those whose process is
// gone; a live writer's file is never touched (a reused PID only delays the
// removal to a later write).
void removeAbandonedTemporaries(const std::filesystem::path& dir, const std::string& name) {
    const std::string prefix = "." + name + ".tmp-";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string entry = it->path().filename().string();
        if (entry.rfind(prefix, 0) != 0) continue;
        const std::string rest = entry.substr(prefix.size());
        const auto dash = rest.find('-');
        const std::string_view pidText = std::string_view(rest).substr(0, dash);
        pid_t pid = 0;
        const auto read = std::from_chars(pidText.data(), pidText.data() + pidText.size(), pid);
        if (read.ec != std::errc() || read.ptr != pidText.data() + pidText.size()) continue;
        if (pid <= 0 || pid == ::getpid()) continue;
        if (::kill(pid, 0) != 0 && errno == ESRCH) {
            std::error_code ignored;
            std::filesystem::remove(it->path(), ignored);
        }
    }
}

}  // namespace

std::filesystem::path followSymlinks(const std::filesystem::path& file) {
    // Linux's own bound on the links one lookup follows (ELOOP).
    constexpr int kMaxLinks = 40;
    std::filesystem::path target = file;
    for (int links = 0;; ++links) {
        std::error_code ec;
        if (!std::filesystem::is_symlink(target, ec)) return target;
        if (links == kMaxLinks) {
            errno = ELOOP;
            fail("cannot follow the links of", file);
        }
        const auto next = std::filesystem::read_symlink(target, ec);
        if (ec) {
            errno = ec.value();
            fail("cannot read the link", target);
        }
        target = next.is_absolute() ? next : target.parent_path() / next;
    }
}

void writeFileAtomic(const std::filesystem::path& link, std::string_view content,
                     std::filesystem::perms mode, Durability durability) {
    const bool durable = durability == Durability::Durable;
    // A rename over a symbolic link would replace the link, not the file it
    // names: the file behind it is the one written.
    const auto file = followSymlinks(link);
    const auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
    removeAbandonedTemporaries(dir, file.filename().string());
    const std::string tmp = temporaryName(dir / file.filename());
    int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) fail("cannot create", tmp);
    // The mode is what was asked, whatever the umask.
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail("cannot set the mode of", tmp);
    }
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            ::unlink(tmp.c_str());
            fail("cannot write", tmp);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        fail("cannot flush", tmp);
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        ::unlink(tmp.c_str());
        fail("cannot replace", file);
    }
    if (!durable) return;
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::string readFile(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace edgelab
