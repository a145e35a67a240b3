#include "core/detail/kv_list.h"

#include "core/detail/percent.h"
#include "core/detail/text.h"

namespace vigil::detail {

ParseResult<KvList> parse_kv_list(std::string_view text, const KvListOptions& options) {
  KvList list;
  std::string failure;
  const PercentDecodeOptions decode{.reject_nul = options.reject_nul};
  for_each_list_member(text, ',', [&](std::string_view member) {
    std::string problem;
    const SplitPair kv = split_pair(member, '=');
    KvPair pair;
    if (!kv.found) {
      problem = "'" + std::string(member) + "' is not key=value";
    } else if (kv.first.empty()) {
      problem = "'" + std::string(member) + "' has an empty key";
    } else {
      pair.key = std::string(kv.first);
      if (options.decode_keys) {
        ParseResult<std::string> key = percent_decode(kv.first, decode);
        if (key) {
          pair.key = std::move(*key);
        } else {
          problem = "the key of '" + std::string(member) + "': " + key.error;
        }
      }
      if (problem.empty() && options.check_key) {
        const std::string key_problem = options.check_key(pair.key);
        if (!key_problem.empty()) {
          problem = "'" + std::string(member) + "': '" + pair.key + "' " + key_problem;
        }
      }
      if (problem.empty()) {
        ParseResult<std::string> value = percent_decode(kv.second, decode);
        if (value) {
          pair.value = std::move(*value);
          if (options.check_value) {
            const std::string value_problem = options.check_value(pair.value);
            if (!value_problem.empty()) {
              problem = "the value of '" + pair.key + "' " + value_problem;
            }
          }
        } else {
          problem = "the value of '" + std::string(kv.first) + "': " + value.error;
        }
      }
    }
    if (problem.empty()) {
      list.pairs.push_back(std::move(pair));
      return true;
    }
    if (options.skip_bad_members) {
      list.skipped.push_back(std::move(problem));
      return true;
    }
    failure = std::move(problem);
    return false;
  });
  if (!failure.empty()) return ParseResult<KvList>::fail(std::move(failure));
  return ParseResult<KvList>::ok(std::move(list));
}

}  // namespace vigil::detail
