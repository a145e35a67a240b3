// The PromQL tokenizer: the states and messages of Prometheus 2.42's lex.go, written as one pass
// that produces all tokens up front (the parser reports a lexer error only when it reaches it, as
// Prometheus' lazily driven lexer does).
#include "alerting/promql/lexer.h"

#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/detail/json_escape.h"  // utf8_sequence_length

namespace vigil::alerting::promql::detail_lex {
namespace {

constexpr int kEofChar = -1;

bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_alpha(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(int c) { return is_alpha(c) || is_digit(c); }

struct Keyword {
  std::string_view word;
  Tok tok;
  AggregateOp agg;
};
constexpr Keyword kKeywords[] = {
    {"and", Tok::kLand, AggregateOp::kSum},
    {"or", Tok::kLor, AggregateOp::kSum},
    {"unless", Tok::kLunless, AggregateOp::kSum},
    {"atan2", Tok::kAtan2, AggregateOp::kSum},
    {"sum", Tok::kAggregator, AggregateOp::kSum},
    {"avg", Tok::kAggregator, AggregateOp::kAvg},
    {"count", Tok::kAggregator, AggregateOp::kCount},
    {"min", Tok::kAggregator, AggregateOp::kMin},
    {"max", Tok::kAggregator, AggregateOp::kMax},
    {"group", Tok::kAggregator, AggregateOp::kGroup},
    {"stddev", Tok::kAggregator, AggregateOp::kStddev},
    {"stdvar", Tok::kAggregator, AggregateOp::kStdvar},
    {"topk", Tok::kAggregator, AggregateOp::kTopk},
    {"bottomk", Tok::kAggregator, AggregateOp::kBottomk},
    {"count_values", Tok::kAggregator, AggregateOp::kCountValues},
    {"quantile", Tok::kAggregator, AggregateOp::kQuantile},
    {"offset", Tok::kOffset, AggregateOp::kSum},
    {"by", Tok::kBy, AggregateOp::kSum},
    {"without", Tok::kWithout, AggregateOp::kSum},
    {"on", Tok::kOn, AggregateOp::kSum},
    {"ignoring", Tok::kIgnoring, AggregateOp::kSum},
    {"group_left", Tok::kGroupLeft, AggregateOp::kSum},
    {"group_right", Tok::kGroupRight, AggregateOp::kSum},
    {"bool", Tok::kBool, AggregateOp::kSum},
    {"start", Tok::kStart, AggregateOp::kSum},
    {"end", Tok::kEnd, AggregateOp::kSum},
};

void utf8_append(std::string& out, uint32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

// Go's %q of a single rune (as in lex.go's messages): 'x', or '\x00' style for the rest.
std::string quote_char(int c) {
  char buf[16];
  if (c == kEofChar) return "EOF";
  if (c == '\'') return "'\\''";
  if (c == '\\') return "'\\\\'";
  if (c >= 0x20 && c < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else {
    std::snprintf(buf, sizeof buf, "'\\x%02x'", c & 0xff);
  }
  return buf;
}

// Go's %#U: U+0071 'q'.
std::string sharp_u(int c) {
  char buf[32];
  if (c >= 0x20 && c < 0x7f) {
    std::snprintf(buf, sizeof buf, "U+%04X '%c'", c, c);
  } else {
    std::snprintf(buf, sizeof buf, "U+%04X", c & 0xff);
  }
  return buf;
}

std::string go_quote_short(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  std::vector<Token> run() {
    while (true) {
      start_ = pos_;
      const bool more = brace_open_ ? inside_braces() : statements();
      if (!more) break;
    }
    return std::move(out_);
  }

 private:
  int peek() const { return pos_ < in_.size() ? static_cast<unsigned char>(in_[pos_]) : kEofChar; }
  int next() {
    if (pos_ >= in_.size()) return kEofChar;
    return static_cast<unsigned char>(in_[pos_++]);
  }
  bool accept(std::string_view set) {
    const int c = peek();
    if (c != kEofChar && set.find(static_cast<char>(c)) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  void accept_run(std::string_view set) {
    while (accept(set)) {
    }
  }
  Token& emit(Tok t) {
    Token tok;
    tok.type = t;
    tok.pos = static_cast<int>(start_);
    tok.text = in_.substr(start_, pos_ - start_);
    out_.push_back(std::move(tok));
    start_ = pos_;
    return out_.back();
  }
  bool error(std::string msg) {
    Token tok;
    tok.type = Tok::kError;
    tok.pos = static_cast<int>(start_);
    tok.text = in_.substr(start_, pos_ - start_);
    tok.value = std::move(msg);
    out_.push_back(std::move(tok));
    return false;
  }
  void skip_comment() {
    while (pos_ < in_.size() && in_[pos_] != '\n' && in_[pos_] != '\r') ++pos_;
  }

  bool statements() {
    if (peek() == '#') {
      skip_comment();
      return true;
    }
    const int c = next();
    switch (c) {
      case kEofChar:
        if (paren_depth_ != 0) return error("unclosed left parenthesis");
        if (bracket_open_) return error("unclosed left bracket");
        emit(Tok::kEof);
        return false;
      case ',':
        emit(Tok::kComma);
        return true;
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        while (is_space(peek())) ++pos_;
        return true;
      case '*':
        emit(Tok::kMul);
        return true;
      case '/':
        emit(Tok::kDiv);
        return true;
      case '%':
        emit(Tok::kMod);
        return true;
      case '+':
        emit(Tok::kAdd);
        return true;
      case '-':
        emit(Tok::kSub);
        return true;
      case '^':
        emit(Tok::kPow);
        return true;
      case '=': {
        const int t = peek();
        if (t == '=') {
          ++pos_;
          emit(Tok::kEqlc);
        } else if (t == '~') {
          return error("unexpected character after '=': " + quote_char(t));
        } else {
          emit(Tok::kEql);
        }
        return true;
      }
      case '!': {
        const int t = next();
        if (t != '=') return error("unexpected character after '!': " + quote_char(t));
        emit(Tok::kNeq);
        return true;
      }
      case '<':
        if (peek() == '=') {
          ++pos_;
          emit(Tok::kLte);
        } else {
          emit(Tok::kLss);
        }
        return true;
      case '>':
        if (peek() == '=') {
          ++pos_;
          emit(Tok::kGte);
        } else {
          emit(Tok::kGtr);
        }
        return true;
      case '"':
      case '\'':
        return lex_string(static_cast<char>(c));
      case '`':
        return lex_raw_string();
      case '(':
        emit(Tok::kLeftParen);
        ++paren_depth_;
        return true;
      case ')':
        // lex.go emits the token and then overwrites it with the error, past the ')'.
        if (--paren_depth_ < 0) {
          start_ = pos_;
          return error("unexpected right parenthesis ')'");
        }
        emit(Tok::kRightParen);
        return true;
      case '{':
        emit(Tok::kLeftBrace);
        brace_open_ = true;
        return true;
      case '[':
        if (bracket_open_) return error("unexpected left bracket '['");
        got_colon_ = false;
        emit(Tok::kLeftBracket);
        while (is_space(peek())) ++pos_;
        start_ = pos_;
        bracket_open_ = true;
        return lex_duration();
      case ']':
        if (!bracket_open_) return error("unexpected right bracket ']'");
        emit(Tok::kRightBracket);
        bracket_open_ = false;
        return true;
      case '@':
        emit(Tok::kAt);
        return true;
      default:
        break;
    }
    if (is_digit(c) || (c == '.' && is_digit(peek()))) {
      --pos_;
      return lex_number_or_duration();
    }
    if (is_alpha(c) || c == ':') {
      if (!bracket_open_) {
        --pos_;
        return lex_keyword_or_identifier();
      }
      if (got_colon_) return error("unexpected colon " + quote_char(c));
      emit(Tok::kColon);
      got_colon_ = true;
      return true;
    }
    return error("unexpected character: " + quote_char(c));
  }

  bool inside_braces() {
    if (peek() == '#') {
      skip_comment();
      return true;
    }
    const int c = next();
    if (c == kEofChar) return error("unexpected end of input inside braces");
    if (is_space(c)) {
      while (is_space(peek())) ++pos_;
      return true;
    }
    if (is_alpha(c)) {
      while (is_alnum(peek())) ++pos_;
      emit(Tok::kIdentifier);
      return true;
    }
    switch (c) {
      case ',':
        emit(Tok::kComma);
        return true;
      case '"':
      case '\'':
        return lex_string(static_cast<char>(c));
      case '`':
        return lex_raw_string();
      case '=':
        if (peek() == '~') {
          ++pos_;
          emit(Tok::kEqlRegex);
        } else {
          emit(Tok::kEql);
        }
        return true;
      case '!': {
        const int t = next();
        if (t == '~') {
          emit(Tok::kNeqRegex);
        } else if (t == '=') {
          emit(Tok::kNeq);
        } else {
          return error("unexpected character after '!' inside braces: " + quote_char(t));
        }
        return true;
      }
      case '{':
        return error("unexpected left brace '{'");
      case '}':
        emit(Tok::kRightBrace);
        brace_open_ = false;
        return true;
      default:
        return error("unexpected character inside braces: " + quote_char(c));
    }
  }

  // lex.go's scanNumber: consumes what looks like a number; true when no letter follows.
  bool scan_number() {
    std::string_view digits = "0123456789";
    if (accept("0") && accept("xX")) digits = "0123456789abcdefABCDEF";
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (accept("eE")) {
      accept("+-");
      accept_run("0123456789");
    }
    return !is_alnum(peek());
  }

  bool accept_remaining_duration() {
    if (!accept("smhdwy")) return false;
    accept("s");
    while (accept("0123456789")) {
      accept_run("0123456789");
      if (!accept("smhdw")) return false;
      accept("s");
    }
    if (is_alnum(peek())) {
      ++pos_;  // lex.go's check consumes the character (it shows in the message)
      return false;
    }
    return true;
  }

  bool lex_number_or_duration() {
    if (scan_number()) {
      emit(Tok::kNumber);
      return true;
    }
    if (accept_remaining_duration()) {
      emit(Tok::kDuration);
      return true;
    }
    return error("bad number or duration syntax: " +
                 go_quote_short(in_.substr(start_, pos_ - start_)));
  }

  bool lex_duration() {
    if (scan_number()) return error("missing unit character in duration");
    if (!accept_remaining_duration())
      return error("bad duration syntax: " + go_quote_short(in_.substr(start_, pos_ - start_)));
    emit(Tok::kDuration);
    return true;
  }

  bool lex_keyword_or_identifier() {
    bool colon = false;
    while (pos_ < in_.size() && (is_alnum(peek()) || peek() == ':')) {
      if (in_[pos_] == ':') colon = true;
      ++pos_;
    }
    const std::string_view word = in_.substr(start_, pos_ - start_);
    std::string lower(word);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const Keyword& k : kKeywords) {
      if (k.word == lower) {
        emit(k.tok).agg = k.agg;
        return true;
      }
    }
    if (lower == "inf" || lower == "nan") {
      emit(Tok::kNumber);
    } else {
      emit(colon ? Tok::kMetricIdentifier : Tok::kIdentifier);
    }
    return true;
  }

  // A hex digit's value, or 16 for anything else.
  static unsigned digit_val(int c) {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
    return 16;
  }

  bool lex_escape(char quote, std::string& value) {
    int c = next();
    int n;
    unsigned base;
    uint32_t max;
    bool as_rune = false;
    switch (c) {
      case 'a':
        value += '\a';
        return true;
      case 'b':
        value += '\b';
        return true;
      case 'f':
        value += '\f';
        return true;
      case 'n':
        value += '\n';
        return true;
      case 'r':
        value += '\r';
        return true;
      case 't':
        value += '\t';
        return true;
      case 'v':
        value += '\v';
        return true;
      case '\\':
        value += '\\';
        return true;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        n = 3;
        base = 8;
        max = 255;
        break;
      case 'x':
        c = next();
        n = 2;
        base = 16;
        max = 255;
        break;
      case 'u':
        c = next();
        n = 4;
        base = 16;
        max = 0x10FFFF;
        as_rune = true;
        break;
      case 'U':
        c = next();
        n = 8;
        base = 16;
        max = 0x10FFFF;
        as_rune = true;
        break;
      case kEofChar:
        return error("escape sequence not terminated");
      default:
        if (c == quote) {
          value += quote;
          return true;
        }
        return error("unknown escape sequence " + sharp_u(c));
    }
    uint64_t x = 0;
    while (n > 0) {
      const unsigned d = digit_val(c);
      if (d >= base) {
        if (c == kEofChar) return error("escape sequence not terminated");
        return error("illegal character " + sharp_u(c) + " in escape sequence");
      }
      x = x * base + d;
      --n;
      if (n > 0) c = next();
    }
    if (x > max || (x >= 0xD800 && x < 0xE000))
      return error("escape sequence is an invalid Unicode code point");
    if (as_rune) {
      utf8_append(value, static_cast<uint32_t>(x));
    } else {
      value += static_cast<char>(x);
    }
    return true;
  }

  bool lex_string(char quote) {
    std::string value;
    while (true) {
      if (pos_ >= in_.size()) return error("unterminated quoted string");
      const char c = in_[pos_];
      if (c == '\\') {
        ++pos_;
        if (!lex_escape(quote, value)) return false;
        continue;
      }
      if (c == '\n') return error("unterminated quoted string");
      const size_t n = vigil::detail::utf8_sequence_length(in_, pos_);
      if (n == 0) return error("invalid UTF-8 rune");
      pos_ += n;
      if (c == quote) break;
      value.append(in_.substr(pos_ - n, n));
    }
    emit(Tok::kString).value = std::move(value);
    return true;
  }

  bool lex_raw_string() {
    std::string value;
    while (true) {
      if (pos_ >= in_.size()) return error("unterminated raw string");
      const char c = in_[pos_];
      const size_t n = vigil::detail::utf8_sequence_length(in_, pos_);
      if (n == 0) return error("invalid UTF-8 rune");
      pos_ += n;
      if (c == '`') break;
      if (c != '\r') value.append(in_.substr(pos_ - n, n));  // Go's Unquote drops \r
    }
    emit(Tok::kString).value = std::move(value);
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = 0;
  std::vector<Token> out_;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  int paren_depth_ = 0;
};

}  // namespace

std::vector<Token> lex(std::string_view input) { return Lexer(input).run(); }

std::string describe(const Token& t) {
  const std::string text(t.text);
  switch (t.type) {
    case Tok::kEof:
      return "end of input";
    case Tok::kError:
      return t.value;
    case Tok::kIdentifier:
      return "identifier " + go_quote_short(text);
    case Tok::kMetricIdentifier:
      return "metric identifier " + go_quote_short(text);
    case Tok::kNumber:
      return "number " + go_quote_short(text);
    case Tok::kDuration:
      return "duration " + go_quote_short(text);
    case Tok::kString: {
      // Go's %.10q: at most 10 runes of the source text, quoted.
      size_t cut = 0;
      for (int runes = 0; cut < text.size() && runes < 10; ++runes) {
        const size_t n = vigil::detail::utf8_sequence_length(text, cut);
        cut += n == 0 ? 1 : n;
      }
      return "string " + go_quote_short(text.substr(0, cut)) + (text.size() > 10 ? "..." : "");
    }
    case Tok::kStart:
    case Tok::kEnd:
      return go_quote_short(text);
    case Tok::kComma:
    case Tok::kLeftParen:
    case Tok::kRightParen:
    case Tok::kLeftBrace:
    case Tok::kRightBrace:
    case Tok::kLeftBracket:
    case Tok::kRightBracket:
    case Tok::kColon:
    case Tok::kAt:
    case Tok::kEql:
      return go_quote_short(text);
    case Tok::kEqlRegex:
    case Tok::kNeqRegex:
    case Tok::kAdd:
    case Tok::kSub:
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod:
    case Tok::kPow:
    case Tok::kAtan2:
    case Tok::kEqlc:
    case Tok::kNeq:
    case Tok::kLss:
    case Tok::kLte:
    case Tok::kGtr:
    case Tok::kGte:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
      return "<op:" + text + ">";
    case Tok::kAggregator:
      return "<aggr:" + text + ">";
    default:
      return "<" + text + ">";
  }
}

bool is_label_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!(is_alpha(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

}  // namespace vigil::alerting::promql::detail_lex
