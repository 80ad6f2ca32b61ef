// Storage a client connection holds for its requests, made on first use and
// freed while the connection is idle, so that an idle connection holds a
// pointer instead of the value.
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace edgelab::proxy {

// The body pieces a relay holds between a read and a write: allocated when a
// body is relayed, released while the connection is idle.
class RelayBuffer {
  public:
    static constexpr std::size_t kSize = 16 * 1024;
    char* data() {
        if (!bytes_) bytes_ = std::make_unique_for_overwrite<char[]>(kSize);
        return bytes_.get();
    }
    std::size_t size() const { return kSize; }
    void release() { bytes_.reset(); }

  private:
    std::unique_ptr<char[]> bytes_;
};

// What a relay uses: the body pieces, and a relayed header and small pieces
// with their framing, gathered for one write.
struct RelayMemory {
    RelayBuffer buffer;
    std::string bytes;
    void release() {
        buffer.release();
        std::string().swap(bytes);
    }
};

// One value a request needs (a parser, a local answer) in storage of its own:
// made on first use, kept across the requests of a busy connection (reset
// destroys the value and keeps the storage), freed by release() while it is
// idle.
template <class T>
class RequestSlot {
  public:
    template <class... Args>
    T& emplace(Args&&... args) {
        if (!box_) box_ = std::make_unique<std::optional<T>>();
        return box_->emplace(std::forward<Args>(args)...);
    }
    RequestSlot& operator=(T&& value) {
        emplace(std::move(value));
        return *this;
    }
    void reset() {
        if (box_) box_->reset();
    }
    void release() { box_.reset(); }
    explicit operator bool() const { return box_ && box_->has_value(); }
    T& operator*() { return **box_; }
    T* operator->() { return &**box_; }

  private:
    std::unique_ptr<std::optional<T>> box_;
};

// Memory for an operation of exactly its size from the heap. Asio's default
// reuses the thread's last freed operation block, as large as the largest
// operation that freed it; a wait that lasts as long as an idle connection
// would keep such a block.
template <class T>
struct ExactAllocator {
    using value_type = T;
    ExactAllocator() = default;
    template <class U>
    ExactAllocator(const ExactAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) { std::allocator<T>{}.deallocate(p, n); }
    template <class U>
    bool operator==(const ExactAllocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace edgelab::proxy
