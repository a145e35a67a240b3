// Function-named spans, the instrumentation tracer.
#include "vigil/trace/instrument.h"

#include <atomic>
#include <memory>
#include <mutex>

namespace vigil::trace {
namespace {

bool identifier_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool operator_symbol(char c) noexcept {
  switch (c) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '^':
    case '&':
    case '|':  // NOLINT
    case '~':
    case '!':
    case '=':
    case '<':
    case '>':
    case ',':
    case '[':
    case ']':  // NOLINT
      return true;
    default:
      return false;
  }
}

// Whether the keyword "operator" starts at `i` (as a whole word).
bool operator_at(std::string_view s, std::size_t i) noexcept {
  constexpr std::string_view kOperator = "operator";
  if (s.compare(i, kOperator.size(), kOperator) != 0) return false;
  if (i > 0 && identifier_char(s[i - 1])) return false;
  const std::size_t after = i + kOperator.size();
  return after >= s.size() || !identifier_char(s[after]);
}

// Skips "operator" and the operator's symbol (so that '<', '>', '(' of "operator<", "operator()"
// are not taken for brackets). Returns the index after them.
std::size_t skip_operator(std::string_view s, std::size_t i) noexcept {
  i += 8;
  if (s.compare(i, 2, "()") == 0) return i + 2;
  while (i < s.size() && operator_symbol(s[i])) ++i;
  return i;
}

// The index of the ')' matching the '(' at `open`, or npos.
std::size_t matching_paren(std::string_view s, std::size_t open) noexcept {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

// Strips GCC's " [with T = int]" and clang's " [T = int]".
std::string_view strip_template_suffix(std::string_view s) noexcept {
  if (s.empty() || s.back() != ']') return s;
  int depth = 0;
  for (std::size_t i = s.size(); i-- > 0;) {
    if (s[i] == ']') {
      ++depth;
    } else if (s[i] == '[') {
      if (--depth == 0) {
        if (i > 0 && s[i - 1] == ' ') return s.substr(0, i - 1);
        return s;
      }
    }
  }
  return s;
}

}  // namespace

std::string_view function_span_name(std::string_view pretty) noexcept {
  std::string_view s = strip_template_suffix(pretty);
  // The end of the name: the top-level '(' of the parameter list, after which only qualifiers
  // (const, volatile, &, noexcept) follow.
  std::size_t end = s.size();
  int depth = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (operator_at(s, i)) {
      i = skip_operator(s, i);
      continue;
    }
    const char c = s[i];
    if (c == '(' && depth == 0) {
      const std::size_t close = matching_paren(s, i);
      if (close == std::string_view::npos) break;
      std::string_view rest = s.substr(close + 1);
      if (rest.find("::") == std::string_view::npos && rest.find('(') == std::string_view::npos) {
        end = i;
        break;
      }
      i = close + 1;
      continue;
    }
    if (c == '(' || c == '<' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == '>' || c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    ++i;
  }
  s = s.substr(0, end);
  // The start: after the last top-level space (the return type and specifiers before it).
  std::size_t from = s.size();
  for (std::size_t i = s.size(); i-- > 0;) {
    if (operator_at(s, i)) {
      from = i;  // scan backwards from the operator keyword: its symbol is not a bracket
      break;
    }
  }
  depth = 0;
  std::size_t start = 0;
  for (std::size_t i = from; i-- > 0;) {
    const char c = s[i];
    if (c == ')' || c == '>' || c == ']' || c == '}') {
      ++depth;
    } else if (c == '(' || c == '<' || c == '[' || c == '{') {
      if (depth > 0) --depth;
    } else if (c == ' ' && depth == 0) {
      start = i + 1;
      break;
    }
  }
  s = s.substr(start);
  while (!s.empty() && (s.front() == '*' || s.front() == '&' || s.front() == ' ')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s.empty() ? pretty : s;
}

Tracer& instrumentation_tracer() noexcept {
  struct Cached {
    TracerProvider* provider;
    Tracer* tracer;
  };
  static std::atomic<Cached*> cached{nullptr};
  static std::mutex mutex;
  TracerProvider& provider = global_provider();
  Cached* c = cached.load(std::memory_order_acquire);
  if (c != nullptr && c->provider == &provider) [[likely]] {
    return *c->tracer;
  }
  std::lock_guard lock(mutex);
  c = cached.load(std::memory_order_acquire);
  if (c == nullptr || c->provider != &provider) {
    // One small allocation per global provider (at most two in a process), never freed: a
    // reader may still hold the previous one.
    try {
      c = new Cached{&provider, &provider.tracer("vigil.instrument", VIGIL_VERSION)};
    } catch (...) {
      static const std::unique_ptr<TracerProvider> noop = TracerProvider::noop();
      return noop->tracer("vigil.instrument");
    }
    cached.store(c, std::memory_order_release);
  }
  return *c->tracer;
}

Span start_code_span(Tracer& tracer, const CodeLocation& where, std::string_view name,
                     const SpanOptions& options) noexcept {
  Span span = tracer.start_span(name.empty() ? where.function : name, options);
  if (span.recording()) {
    span.set_attribute("code.function.name", where.function)
        .set_attribute("code.file.path", where.file)
        .set_attribute("code.line.number", static_cast<int64_t>(where.line));
  }
  return span;
}

}  // namespace vigil::trace
