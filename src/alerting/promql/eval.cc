// src/alerting/promql/eval.cc: the PromQL evaluator (selectors, operators, aggregations) with
// Prometheus 2.42's semantics (promql/engine.go); functions are in functions.cc.
#include "alerting/promql/eval.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "alerting/promql/eval_internal.h"

namespace vigil::alerting::promql {

namespace eval_detail {

// ---- label helpers ---------------------------------------------------------------------------

void drop_metric_name(Labels& labels) { del_label(labels, "__name__"); }

void del_label(Labels& labels, std::string_view name) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const auto& l, std::string_view n) { return l.first < n; });
  if (it != labels.end() && it->first == name) labels.erase(it);
}

void set_label(Labels& labels, std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const auto& l, std::string_view n) { return l.first < n; });
  if (it != labels.end() && it->first == name) {
    if (value.empty()) {
      labels.erase(it);
    } else {
      it->second.assign(value);
    }
    return;
  }
  if (value.empty()) return;
  labels.emplace(it, std::string(name), std::string(value));
}

void labels_key(const Labels& labels, std::string& out) {
  out.clear();
  for (const auto& [name, value] : labels) {
    out += name;
    out += '\xff';
    out += value;
    out += '\xff';
  }
}

void check_unique_labelsets(const Vector& v) {
  if (v.size() < 2) return;
  // Hash each label set, sort by hash, compare the label sets of equal hashes.
  std::vector<std::pair<size_t, size_t>> hashes;
  hashes.reserve(v.size());
  std::hash<std::string_view> hs;
  for (size_t i = 0; i < v.size(); ++i) {
    size_t h = 0;
    for (const auto& [name, value] : v[i].labels) {
      h = (h ^ hs(name)) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
      h = (h ^ hs(value)) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
    }
    hashes.emplace_back(h, i);
  }
  std::sort(hashes.begin(), hashes.end());
  for (size_t i = 1; i < hashes.size(); ++i) {
    if (hashes[i].first != hashes[i - 1].first) continue;
    for (size_t j = i; j > 0 && hashes[j - 1].first == hashes[i].first; --j) {
      if (v[hashes[j - 1].second].labels == v[hashes[i].second].labels) {
        fail("vector cannot contain metrics with the same labelset");
      }
    }
  }
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

namespace {

// Prometheus' labels.String(): {a="b", c="d"} (Go %q quoting of values).
std::string labels_string(const Labels& labels) {
  std::string s = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) s += ", ";
    first = false;
    s += name;
    s += "=\"";
    for (char c : value) {
      switch (c) {
        case '"':
          s += "\\\"";
          break;
        case '\\':
          s += "\\\\";
          break;
        case '\n':
          s += "\\n";
          break;
        case '\t':
          s += "\\t";
          break;
        default:
          s += c;
      }
    }
    s += '"';
  }
  s += '}';
  return s;
}

// The match signature of a binary operation: the on() labels, or every label but the
// ignoring() ones and __name__.
void signature(const Labels& labels, const VectorMatching& m, std::string& out) {
  out.clear();
  for (const auto& [name, value] : labels) {
    bool listed = std::find(m.labels.begin(), m.labels.end(), name) != m.labels.end();
    if (m.on ? !listed : (listed || name == "__name__")) continue;
    out += name;
    out += '\xff';
    out += value;
    out += '\xff';
  }
}

bool drops_metric_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kPow:
      return true;
    default:  // atan2 keeps the name in 2.42, as do comparisons without bool
      return false;
  }
}

// The value of `l op r`; for comparisons `keep` says whether the comparison holds and the
// value is `l`.
double apply(BinaryOp op, double l, double r, bool& keep) {
  keep = true;
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    case BinaryOp::kEq:
      keep = l == r;
      return l;
    case BinaryOp::kNe:
      keep = l != r;
      return l;
    case BinaryOp::kGt:
      keep = l > r;
      return l;
    case BinaryOp::kLt:
      keep = l < r;
      return l;
    case BinaryOp::kGe:
      keep = l >= r;
      return l;
    case BinaryOp::kLe:
      keep = l <= r;
      return l;
    default:
      fail("operator not allowed between these operands");
  }
}

bool comparison(BinaryOp op) {
  return op == BinaryOp::kEq || op == BinaryOp::kNe || op == BinaryOp::kGt || op == BinaryOp::kLt ||
         op == BinaryOp::kGe || op == BinaryOp::kLe;
}

Value make_vector(Vector v) {
  Value out;
  out.type = ValueType::kVector;
  out.vector = std::move(v);
  return out;
}

Value make_scalar(double d) {
  Value out;
  out.type = ValueType::kScalar;
  out.scalar = d;
  return out;
}

// ---- binary operators ----

Vector vector_scalar(BinaryOp op, Vector lhs, double scalar, bool swap, bool return_bool) {
  Vector out;
  out.reserve(lhs.size());
  bool cmp = comparison(op);
  for (VectorSample& s : lhs) {
    double l = s.v, r = scalar;
    if (swap) std::swap(l, r);
    bool keep;
    double value = apply(op, l, r, keep);
    if (cmp && swap) value = r;
    if (return_bool) {
      value = keep ? 1.0 : 0.0;
      keep = true;
    }
    if (!keep) continue;
    s.v = value;
    if (drops_metric_name(op) || return_bool) drop_metric_name(s.labels);
    out.push_back(std::move(s));
  }
  return out;
}

Labels result_labels(const Labels& lhs, const Labels& rhs, BinaryOp op, const VectorMatching& m) {
  Labels out = lhs;
  if (drops_metric_name(op)) drop_metric_name(out);
  if (m.card == Cardinality::kOneToOne) {
    if (m.on) {
      std::erase_if(out, [&](const auto& l) {
        return std::find(m.labels.begin(), m.labels.end(), l.first) == m.labels.end();
      });
    } else {
      for (const std::string& n : m.labels) del_label(out, n);
    }
  }
  for (const std::string& n : m.include) {
    set_label(out, n, label_value(rhs, n));
  }
  return out;
}

Vector vector_vector(BinaryOp op, Vector lhs, Vector rhs, const VectorMatching& m,
                     bool return_bool) {
  // As Prometheus' VectorBinop: nothing can match, so no matching error either.
  if (lhs.empty() || rhs.empty()) return {};
  if (m.card == Cardinality::kOneToMany) std::swap(lhs, rhs);
  std::unordered_map<std::string, size_t> right;
  right.reserve(rhs.size());
  std::string sig;
  for (size_t i = 0; i < rhs.size(); ++i) {
    signature(rhs[i].labels, m, sig);
    auto [it, inserted] = right.emplace(sig, i);
    if (!inserted) {
      const char* one_side = m.card == Cardinality::kOneToMany ? "left" : "right";
      // The match group as Prometheus' MatchLabels prints it.
      Labels group;
      for (const auto& l : rhs[i].labels) {
        bool listed = std::find(m.labels.begin(), m.labels.end(), l.first) != m.labels.end();
        if (m.on ? listed : (!listed && l.first != "__name__")) group.push_back(l);
      }
      fail("found duplicate series for the match group " + labels_string(group) + " on the " +
           one_side + " hand-side of the operation: [" + labels_string(rhs[i].labels) + ", " +
           labels_string(rhs[it->second].labels) +
           "];many-to-many matching not allowed: matching labels must be unique on one side");
    }
  }
  // one-to-one: matched signatures; many-to-one: result label sets per signature.
  std::unordered_map<std::string, std::unordered_set<std::string>> matched;
  Vector out;
  std::string rkey;
  for (VectorSample& ls : lhs) {
    signature(ls.labels, m, sig);
    auto it = right.find(sig);
    if (it == right.end()) continue;
    const VectorSample& rs = rhs[it->second];
    double vl = ls.v, vr = rs.v;
    if (m.card == Cardinality::kOneToMany) std::swap(vl, vr);
    bool keep;
    double value = apply(op, vl, vr, keep);
    if (return_bool) {
      value = keep ? 1.0 : 0.0;
    } else if (!keep) {
      continue;
    }
    Labels metric = result_labels(ls.labels, rs.labels, op, m);
    if (return_bool) drop_metric_name(metric);
    auto [mit, first] = matched.try_emplace(sig);
    if (m.card == Cardinality::kOneToOne) {
      if (!first) {
        fail(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else {
      labels_key(metric, rkey);
      if (!mit->second.insert(rkey).second) {
        fail("multiple matches for labels: grouping labels must ensure unique matches");
      }
    }
    out.push_back(VectorSample{std::move(metric), value});
  }
  return out;
}

Vector set_operation(BinaryOp op, Vector lhs, Vector rhs, const VectorMatching& m) {
  std::string sig;
  std::unordered_set<std::string> sigs;
  Vector out;
  switch (op) {
    case BinaryOp::kAnd:
      for (const VectorSample& s : rhs) {
        signature(s.labels, m, sig);
        sigs.insert(sig);
      }
      for (VectorSample& s : lhs) {
        signature(s.labels, m, sig);
        if (sigs.count(sig) != 0) out.push_back(std::move(s));
      }
      return out;
    case BinaryOp::kOr:
      for (VectorSample& s : lhs) {
        signature(s.labels, m, sig);
        sigs.insert(sig);
        out.push_back(std::move(s));
      }
      for (VectorSample& s : rhs) {
        signature(s.labels, m, sig);
        if (sigs.count(sig) == 0) out.push_back(std::move(s));
      }
      return out;
    default:  // unless
      for (const VectorSample& s : rhs) {
        signature(s.labels, m, sig);
        sigs.insert(sig);
      }
      for (VectorSample& s : lhs) {
        signature(s.labels, m, sig);
        if (sigs.count(sig) == 0) out.push_back(std::move(s));
      }
      return out;
  }
}

// ---- aggregations ----

// Go's container/heap over a vector with a "less" predicate.
template <class Less>
void heap_up(Vector& h, size_t j, Less less) {
  while (j > 0) {
    size_t i = (j - 1) / 2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}
template <class Less>
bool heap_down(Vector& h, size_t i0, size_t n, Less less) {
  size_t i = i0;
  for (;;) {
    size_t j1 = 2 * i + 1;
    if (j1 >= n) break;
    size_t j = j1;
    if (j1 + 1 < n && less(h[j1 + 1], h[j1])) j = j1 + 1;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
  return i > i0;
}

bool by_value_less(const VectorSample& a, const VectorSample& b) {
  if (std::isnan(a.v)) return true;
  return a.v < b.v;
}
bool by_reverse_value_less(const VectorSample& a, const VectorSample& b) {
  if (std::isnan(a.v)) return true;
  return a.v > b.v;
}

struct Group {
  Labels labels;
  double value = 0;
  double mean = 0;
  double count = 0;
  Vector heap;                 // topk, bottomk
  std::vector<double> values;  // quantile
};

std::string format_go_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that round-trip, written without
  // an exponent (zeros padded: 1e22 is "10000000000000000000000", not its exact expansion).
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);
  const size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  const int exp = std::stoi(sci.substr(epos + 1));
  std::string out;
  if (!mant.empty() && mant[0] == '-') {
    out = "-";
    mant.erase(0, 1);
  }
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  const int n = static_cast<int>(digits.size());
  if (exp >= n - 1) {
    out += digits + std::string(static_cast<size_t>(exp - (n - 1)), '0');
  } else if (exp < 0) {
    out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." +
           digits.substr(static_cast<size_t>(exp) + 1);
  }
  return out;
}

// Go's fmt %v of a float64: the shortest representation, exponent form when the exponent is
// below -4 or at least 6 (1e+06, 1.5e-05, 123456).
std::string format_go_v(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  int exp = std::atoi(sci.c_str() + sci.find('e') + 1);
  if (exp < -4 || exp >= 6) return sci;
  r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

}  // namespace

// ---- Evaluator -------------------------------------------------------------------------------

void Evaluator::select_instant(const Expr& sel, Vector& out, std::vector<int64_t>* times) {
  int64_t ref = sat_sub(t_, sel.offset_ms);
  storage_.visit(sel.matchers, sat_sub(ref, options_.lookback_delta_ms), ref,
                 Storage::Window::kLast, [&](const Labels& labels, std::span<const Sample> w) {
                   const Sample& last = w.back();
                   if (is_stale_nan(last.v)) return;
                   out.push_back(VectorSample{labels, last.v});
                   if (times != nullptr) times->push_back(last.t);
                 });
}

Matrix Evaluator::select_range(const Expr& sel, bool drop_name) {
  int64_t maxt = sat_sub(t_, sel.offset_ms);
  int64_t mint = sat_sub(maxt, sel.range_ms);
  Matrix m;
  if (drop_name) {
    storage_.select_without_name(sel.matchers, mint, maxt, m);
  } else {
    storage_.select(sel.matchers, mint, maxt, m);
  }
  std::erase_if(m, [](Series& s) {
    std::erase_if(s.samples, [](const Sample& x) { return is_stale_nan(x.v); });
    return s.samples.empty();
  });
  return m;
}

double Evaluator::eval_scalar(const Expr& e) {
  Value v = eval(e);
  if (v.type == ValueType::kScalar) return v.scalar;
  fail("expected scalar, got " + std::string(to_string(v.type)));
}

Vector Evaluator::eval_vector(const Expr& e) {
  Value v = eval(e);
  if (v.type == ValueType::kVector) return std::move(v.vector);
  fail("expected instant vector, got " + std::string(to_string(v.type)));
}

Value Evaluator::eval(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNumber:
      return make_scalar(e.number);
    case ExprKind::kString: {
      Value v;
      v.type = ValueType::kString;
      v.string = e.string;
      return v;
    }
    case ExprKind::kVectorSelector: {
      Value v;
      v.type = ValueType::kVector;
      select_instant(e, v.vector, nullptr);
      return v;
    }
    case ExprKind::kMatrixSelector: {
      Value v;
      v.type = ValueType::kMatrix;
      v.matrix = select_range(e);
      return v;
    }
    case ExprKind::kParen:
      if (e.args.empty()) fail("empty parenthesis");
      return eval(*e.args[0]);
    case ExprKind::kUnary: {
      if (e.args.empty()) fail("unary operator without operand");
      Value v = eval(*e.args[0]);
      if (!e.negate) return v;
      if (v.type == ValueType::kScalar) {
        v.scalar = -v.scalar;
        return v;
      }
      if (v.type != ValueType::kVector) fail("unary minus needs a scalar or instant vector");
      for (VectorSample& s : v.vector) {
        drop_metric_name(s.labels);
        s.v = -s.v;
      }
      check_unique_labelsets(v.vector);
      return v;
    }
    case ExprKind::kCall:
      return call_function(*this, e);
    case ExprKind::kAggregate:
      return eval_aggregate(e);
    case ExprKind::kBinary:
      return eval_binary(e);
  }
  fail("unknown expression");
}

Value Evaluator::eval_binary(const Expr& e) {
  if (e.args.size() != 2) fail("binary operator needs two operands");
  Value l = eval(*e.args[0]);
  Value r = eval(*e.args[1]);
  bool lv = l.type == ValueType::kVector, rv = r.type == ValueType::kVector;
  if ((!lv && l.type != ValueType::kScalar) || (!rv && r.type != ValueType::kScalar)) {
    fail("binary expression must contain only scalar and instant vector types");
  }
  if (!lv && !rv) {
    bool keep;
    double v = apply(e.op, l.scalar, r.scalar, keep);
    if (comparison(e.op)) v = keep ? 1.0 : 0.0;
    return make_scalar(v);
  }
  if (is_set_operator(e.op)) {
    if (!lv || !rv)
      fail("set operator " + std::string(to_string(e.op)) +
           " not allowed in binary scalar expression");
    Vector out = set_operation(e.op, std::move(l.vector), std::move(r.vector), e.matching);
    check_unique_labelsets(out);
    return make_vector(std::move(out));
  }
  Vector out;
  if (lv && rv) {
    out = vector_vector(e.op, std::move(l.vector), std::move(r.vector), e.matching, e.return_bool);
  } else if (lv) {
    out = vector_scalar(e.op, std::move(l.vector), r.scalar, false, e.return_bool);
  } else {
    out = vector_scalar(e.op, std::move(r.vector), l.scalar, true, e.return_bool);
  }
  check_unique_labelsets(out);
  return make_vector(std::move(out));
}

namespace {

// An aggregation's groups, fed one element at a time: from a vector, or straight from the
// storage (streamed: the element's labels are the storage's, never copied; only each group's
// labels are).
class Aggregation {
 public:
  Aggregation(const Expr& e, std::vector<std::string> grouping, int64_t k, double param)
      : op_(e.agg), without_(e.without), grouping_(std::move(grouping)), k_(k), param_(param) {}

  // Adds an element with `labels` (__name__ ignored when `skip_name`: the labels of a function
  // result that drops it) and value `v`. `owned`: the element itself, for topk/bottomk, which
  // keep it (null for the other operators).
  void add(const Labels& labels, bool skip_name, double v, VectorSample* owned) {
    key_.clear();
    for (const auto& [name, value] : labels) {
      if (skip_name && name == "__name__") continue;
      if (!keep(name)) continue;
      key_ += name;
      key_ += '\xff';
      key_ += value;
      key_ += '\xff';
    }
    auto [it, inserted] = index_.try_emplace(key_, groups_.size());
    if (inserted) {
      Group& g = groups_.emplace_back();
      g.labels.reserve(without_ ? labels.size() : grouping_.size());
      for (const auto& l : labels) {
        if (l.first == "__name__" && (skip_name || without_)) continue;
        if (keep(l.first)) g.labels.push_back(l);
      }
      first(g, v, owned);
      return;
    }
    next(groups_[it->second], v, owned);
  }

  Vector finish();

 private:
  bool in_grouping(const std::string& name) const {
    return std::find(grouping_.begin(), grouping_.end(), name) != grouping_.end();
  }
  // Whether a label goes into the group's labels (and key).
  bool keep(const std::string& name) const {
    return without_ ? (!in_grouping(name) && name != "__name__") : in_grouping(name);
  }
  void first(Group& g, double v, VectorSample* owned);
  void next(Group& g, double v, VectorSample* owned);

  const AggregateOp op_;
  const bool without_;
  const std::vector<std::string> grouping_;
  const int64_t k_;
  const double param_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<Group> groups_;
  std::string key_;
};

void Aggregation::first(Group& g, double v, VectorSample* owned) {
  g.value = v;
  g.mean = v;
  g.count = 1;
  switch (op_) {
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar:
      g.value = 0;
      break;
    case AggregateOp::kTopk:
    case AggregateOp::kBottomk:
      g.heap.push_back(std::move(*owned));
      break;
    case AggregateOp::kQuantile:
      g.values.push_back(v);
      break;
    case AggregateOp::kGroup:
      g.value = 1;
      break;
    default:
      break;
  }
}

void Aggregation::next(Group& g, double v, VectorSample* owned) {
  switch (op_) {
    case AggregateOp::kSum:
      g.value += v;
      break;
    case AggregateOp::kAvg:
      g.count += 1;
      if (std::isinf(g.mean)) {
        if (std::isinf(v) && (g.mean > 0) == (v > 0)) break;
        if (!std::isinf(v) && !std::isnan(v)) break;
      }
      g.mean += v / g.count - g.mean / g.count;
      break;
    case AggregateOp::kGroup:
      break;
    case AggregateOp::kCount:
    case AggregateOp::kCountValues:
      g.count += 1;
      break;
    case AggregateOp::kMax:
      if (g.value < v || std::isnan(g.value)) g.value = v;
      break;
    case AggregateOp::kMin:
      if (g.value > v || std::isnan(g.value)) g.value = v;
      break;
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar: {
      g.count += 1;
      double delta = v - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (v - g.mean);
      break;
    }
    case AggregateOp::kTopk:
      if (static_cast<int64_t>(g.heap.size()) < k_) {
        g.heap.push_back(std::move(*owned));
        heap_up(g.heap, g.heap.size() - 1, by_value_less);
      } else if (g.heap[0].v < v || (std::isnan(g.heap[0].v) && !std::isnan(v))) {
        g.heap[0] = std::move(*owned);
        if (k_ > 1 && !heap_down(g.heap, 0, g.heap.size(), by_value_less)) {
          heap_up(g.heap, 0, by_value_less);
        }
      }
      break;
    case AggregateOp::kBottomk:
      if (static_cast<int64_t>(g.heap.size()) < k_) {
        g.heap.push_back(std::move(*owned));
        heap_up(g.heap, g.heap.size() - 1, by_reverse_value_less);
      } else if (g.heap[0].v > v || (std::isnan(g.heap[0].v) && !std::isnan(v))) {
        g.heap[0] = std::move(*owned);
        if (k_ > 1 && !heap_down(g.heap, 0, g.heap.size(), by_reverse_value_less)) {
          heap_up(g.heap, 0, by_reverse_value_less);
        }
      }
      break;
    case AggregateOp::kQuantile:
      g.values.push_back(v);
      break;
  }
}

Vector Aggregation::finish() {
  Vector out;
  out.reserve(groups_.size());
  for (Group& g : groups_) {
    double v = g.value;
    switch (op_) {
      case AggregateOp::kAvg:
        v = g.mean;
        break;
      case AggregateOp::kCount:
      case AggregateOp::kCountValues:
        v = g.count;
        break;
      case AggregateOp::kStdvar:
        v = g.value / g.count;
        break;
      case AggregateOp::kStddev:
        v = std::sqrt(g.value / g.count);
        break;
      case AggregateOp::kTopk:
        std::stable_sort(g.heap.begin(), g.heap.end(),
                         [](const auto& a, const auto& b) { return by_value_less(b, a); });
        for (VectorSample& s : g.heap) out.push_back(std::move(s));
        continue;
      case AggregateOp::kBottomk:
        std::stable_sort(g.heap.begin(), g.heap.end(),
                         [](const auto& a, const auto& b) { return by_reverse_value_less(b, a); });
        for (VectorSample& s : g.heap) out.push_back(std::move(s));
        continue;
      case AggregateOp::kQuantile:
        v = quantile(param_, g.values);
        break;
      default:
        break;
    }
    out.push_back(VectorSample{std::move(g.labels), v});
  }
  return out;
}

// Aggregations that keep only a number per group (not the elements: topk, bottomk; not a value
// label: count_values; quantile keeps values but not labels and could, it is rare in rules).
bool streamable(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
    case AggregateOp::kAvg:
    case AggregateOp::kCount:
    case AggregateOp::kGroup:
    case AggregateOp::kMin:
    case AggregateOp::kMax:
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar:
      return true;
    default:
      return false;
  }
}

}  // namespace

Value Evaluator::eval_aggregate(const Expr& e) {
  if (e.args.empty()) fail("aggregation without an expression");
  const AggregateOp op = e.agg;
  const bool has_param = op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
                         op == AggregateOp::kQuantile || op == AggregateOp::kCountValues;
  if (has_param && e.args.size() < 2) fail("aggregation needs a parameter");
  double param = 0;
  std::string value_label;
  if (op == AggregateOp::kCountValues) {
    Value p = eval(*e.args[0]);
    if (p.type != ValueType::kString) fail("count_values needs a string parameter");
    value_label = p.string;
    if (!valid_label_name(value_label)) fail("invalid label name \"" + value_label + "\"");
  } else if (has_param) {
    param = eval_scalar(*e.args[0]);
  }
  std::vector<std::string> grouping = e.grouping;
  if (!e.without) std::sort(grouping.begin(), grouping.end());
  if (op == AggregateOp::kCountValues && !e.without) grouping.push_back(value_label);

  // sum by (x) (rate(m[5m])) and sum by (x) (m): the elements go from the storage into their
  // groups, without a vector of copies in between (the common shape of alerting rules).
  if (streamable(op)) {
    const Expr& arg = unwrap_parens(*e.args.back());
    Aggregation agg(e, grouping, 0, param);
    bool streamed = false;
    if (arg.kind == ExprKind::kVectorSelector) {
      const int64_t ref = sat_sub(t_, arg.offset_ms);
      storage_.visit(arg.matchers, sat_sub(ref, options_.lookback_delta_ms), ref,
                     Storage::Window::kLast, [&](const Labels& labels, std::span<const Sample> w) {
                       if (!is_stale_nan(w.back().v)) agg.add(labels, false, w.back().v, nullptr);
                     });
      streamed = true;
    } else if (arg.kind == ExprKind::kCall) {
      struct Ctx {
        Aggregation* agg;
        bool drops_name;  // set before the first element arrives
      } ctx{&agg, false};
      streamed = range_call_values(
          *this, arg,
          [](void* c, const Labels& labels, double v) {
            auto* x = static_cast<Ctx*>(c);
            x->agg->add(labels, x->drops_name, v, nullptr);
          },
          &ctx, ctx.drops_name);
    }
    if (streamed) {
      Vector out = agg.finish();
      check_unique_labelsets(out);
      return make_vector(std::move(out));
    }
  }

  Vector input = eval_vector(*e.args.back());

  int64_t k = 0;
  if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk) {
    if (!(param >= -9.223372036854775808e18 && param < 9.223372036854775808e18)) {
      fail("Scalar value " + format_go_v(param) + " overflows int64");
    }
    k = static_cast<int64_t>(param);
    if (k < 1) return make_vector({});
  }

  Aggregation agg(e, std::move(grouping), k, param);
  for (VectorSample& s : input) {
    if (op == AggregateOp::kCountValues) set_label(s.labels, value_label, format_go_float(s.v));
    agg.add(s.labels, false, s.v, &s);
  }
  Vector out = agg.finish();
  check_unique_labelsets(out);
  return make_vector(std::move(out));
}

double quantile(double q, std::vector<double>& values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  // NaN first, as Prometheus' vectorByValueHeap orders them.
  std::stable_sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

}  // namespace eval_detail

EvalResult evaluate(const Expr& expr, const Storage& storage, int64_t t,
                    const EvalOptions& options) {
  EvalResult result;
  try {
    eval_detail::Evaluator ev(storage, t, options);
    eval_detail::Value v = ev.eval(expr);
    result.type = v.type;
    result.scalar = v.scalar;
    result.vector = std::move(v.vector);
    result.matrix = std::move(v.matrix);
    result.string = std::move(v.string);
  } catch (const eval_detail::EvalError& e) {
    result = EvalResult{};
    result.error = e.message;
  }
  return result;
}

}  // namespace vigil::alerting::promql
