// Files that are never seen half written.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace edgelab {

// What a write must survive. Every write is atomic (a reader sees the old
// file or the new one, never a torn one, whatever happens to the writer);
// the choice is only whether it must also outlive a power cut or a kernel
// crash once writeFileAtomic has returned.
enum class Durability {
    // fsync of the file before the rename and of the folder after: on
    // stable storage when the call returns. For what a person or another
    // program keeps: lab files, binding stores, certificates, reports.
    Durable,
    // The rename alone: a power cut soon after may leave the old file (or,
    // for a new one, an empty one). For a file that only describes a run of
    // processes that a power cut ends anyway and that the next run writes
    // again (a running lab's proxy.json, state.json, the users file its
    // front end reads once): its two fsyncs are most of what writing it costs.
    ProcessLifetime,
};

// rw-r--r--, the default mode of a written file.
inline constexpr std::filesystem::perms kPublicFile =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
    std::filesystem::perms::group_read | std::filesystem::perms::others_read;

// Writes a file atomically: a temporary file beside it, fsync (Durable),
// rename over the target, fsync of the folder (Durable). A crash of the
// writer leaves the old file or the new one, never a torn one; through a
// symbolic link, the file it names is written and the link stays; the
// temporaries of writers killed before their rename are removed by the next
// write. `mode` applies to the new file. Throws std::runtime_error naming the
// file and the system's reason.
void writeFileAtomic(const std::filesystem::path& file, std::string_view content,
                     std::filesystem::perms mode = kPublicFile,
                     Durability durability = Durability::Durable);

// The file `file` names once every symbolic link on its last component is
// followed, whether that file exists yet or not (a link may name a file to be
// created). Throws std::runtime_error for a loop of links.
std::filesystem::path followSymlinks(const std::filesystem::path& file);

// The whole file; throws std::runtime_error naming the file when unreadable.
std::string readFile(const std::filesystem::path& file);

}  // namespace edgelab
