// Files that are never seen half written.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace edgelab {

// Writes a file atomically: a temporary file beside it, fsync, rename over
// the target, fsync of the folder. A crash leaves the old file or the new
// one, never a torn one; through a symbolic link, the file it names is
// written and the link stays; the temporaries of writers killed before their
// rename are removed by the next write. `mode` applies to the new file. Throws
// std::runtime_error naming the file and the system's reason.
void writeFileAtomic(const std::filesystem::path& file, std::string_view content,
                     std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                   std::filesystem::perms::owner_write |
                                                   std::filesystem::perms::group_read |
                                                   std::filesystem::perms::others_read);

// The file `file` names once every symbolic link on its last component is
// followed, whether that file exists yet or not (a link may name a file to be
// created). Throws std::runtime_error for a loop of links.
std::filesystem::path followSymlinks(const std::filesystem::path& file);

// The whole file; throws std::runtime_error naming the file when unreadable.
std::string readFile(const std::filesystem::path& file);

}  // namespace edgelab
