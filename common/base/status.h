#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rl::common {

// Outcome of an operation that can fail. Cheap to copy; no exceptions cross the request path.
class Status {
 public:
  // kDataError: a dependency answered, but about bad data (a Redis key of the wrong type, a
  // malformed stored value or reply): an error of one request, not an outage.
  // kErrorReply: Redis answered the call with an error reply; the message is the reply verbatim
  // (WRONGTYPE ..., OOM ..., MOVED 3999 host:port, ...).
  enum class Code {
    kOk,
    kInvalidArgument,
    kUnavailable,
    kTimeout,
    kInternal,
    kDataError,
    kErrorReply
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Timeout(std::string m) { return Status(Code::kTimeout, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  static Status DataError(std::string m) { return Status(Code::kDataError, std::move(m)); }
  static Status ErrorReply(std::string reply) {
    return Status(Code::kErrorReply, std::move(reply));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // True for an error reply (kErrorReply) that starts with `prefix` ("NOSCRIPT", "MOVED ", ...).
  bool IsErrorReply(std::string_view prefix) const {
    return code_ == Code::kErrorReply && message_.compare(0, prefix.size(), prefix) == 0;
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // A failure. An ok Status here is a bug of the caller (a Result with neither value nor error):
  // it becomes an Internal error saying so, never a Result that claims a value it lacks.
  Result(Status status)  // NOLINT: implicit by design
      : status_(status.ok() ? Status::Internal("a Result was made of an ok Status, without a value")
                            : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // The value; calling these on a failed Result is a bug: it stops the process with the error
  // rather than reading an empty optional.
  T& value() { return CheckedValue(); }
  const T& value() const { return const_cast<Result*>(this)->CheckedValue(); }
  T* operator->() { return &CheckedValue(); }
  const T* operator->() const { return &const_cast<Result*>(this)->CheckedValue(); }

 private:
  T& CheckedValue() {
    if (!value_) {
      std::fprintf(stderr, "fatal: value() of a failed Result: %s\n", status_.message().c_str());
      std::abort();
    }
    return *value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace rl::common
