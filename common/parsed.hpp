// What a parser of text returns: the value, or why the text is not one (a
// sentence that names the offending value, for the caller to prefix with
// where it came from: a flag, a JSON path, a file).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace edgelab {

template <class T>
class Parsed {
  public:
    Parsed(T value) : value_(std::move(value)) {}  // NOLINT: a value reads as success
    static Parsed failure(std::string why) {
        Parsed p;
        p.error_ = std::move(why);
        return p;
    }

    explicit operator bool() const { return value_.has_value(); }
    const T& operator*() const { return *value_; }
    const T* operator->() const { return &*value_; }
    // The value; std::logic_error when there is none (a caller's bug: the
    // text was validated before).
    const T& value() const {
        if (!value_) throw std::logic_error("no value: " + error_);
        return *value_;
    }
    const std::string& error() const { return error_; }
    std::optional<T> optional() const { return value_; }

  private:
    Parsed() = default;
    std::optional<T> value_;
    std::string error_;
};

}  // namespace edgelab
