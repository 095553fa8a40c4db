// Status and Result<T>: the one error type of the code base.
//
// A Status carries a code and a human-readable message that says what was wrong, where, and what
// to do. Result<T> holds either a value or a non-OK Status. Both are [[nodiscard]]: ignoring one
// must be explicit and greppable (`PermitUncheckedError()`).
//
// Thread-safety: values; a const Status/Result may be read from several threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace passerelle {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from a user, a file or a request
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // creating what exists
  kPermissionDenied,    // a policy or a role refuses
  kUnauthenticated,     // no or bad credentials
  kFailedPrecondition,  // the system is not in the state the operation needs
  kOutOfRange,          // a value past a limit
  kResourceExhausted,   // a budget or quota is spent
  kUnavailable,         // a peer or service is away; retrying may help
  kDeadlineExceeded,    // a timeout
  kAborted,             // a conflict; retry the whole operation
  kIoError,             // the file system or a device failed
  kDataLoss,            // stored data is corrupt
  kInternal,            // a bug: an invariant does not hold
};

// Stable lower-case name of a code ("invalid_argument"), used in logs and on the wire.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
  }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: message", or "ok".
  std::string ToString() const;

  // The same status with "context: " put before its message (no-op on OK).
  Status WithContext(std::string_view context) const;

  // Marks a deliberately ignored status; greppable.
  void PermitUncheckedError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or an error. Construct from a T (success) or from a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit
  Result(Status status) : data_(std::in_place_index<1>, std::move(status)) {  // NOLINT: implicit
    // REQUIRES: status is not OK (an OK Result must carry a value).
    if (std::get<1>(data_).ok()) {
      data_.template emplace<1>(StatusCode::kInternal, "Result constructed from an OK status");
    }
  }

  bool ok() const { return data_.index() == 0; }
  // The error; OK when the result holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(data_); }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return std::get<0>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  T value_or(T fallback) const& { return ok() ? std::get<0>(data_) : std::move(fallback); }

  void PermitUncheckedError() const {}

 private:
  std::variant<T, Status> data_;
};

}  // namespace passerelle

#define PASSERELLE_CONCAT_INNER_(a, b) a##b
#define PASSERELLE_CONCAT_(a, b) PASSERELLE_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)          \
  do {                                 \
    ::passerelle::Status _st = (expr); \
    if (!_st.ok()) return _st;         \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` — declares x from a Result, or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(PASSERELLE_CONCAT_(_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
