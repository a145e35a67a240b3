// vigil: the command-line tool of vigil (docs/alerting.md).
//
//   vigil rules check FILE...   check Prometheus rule files as `promtool check rules` does
//   vigil rules test FILE...    run rule unit tests as `promtool test rules` does
//   vigil routes check FILE...  check alertmanager.yml-style routing files (amtool check-config)
//   vigil routes test FILE label=value...   the receivers an alert goes to (amtool config routes
//                               test)
//   vigil dashboard --metrics FILE [-o DIR] [--title T] [--job J] ...
//                               Grafana dashboards for the families of a /metrics exposition
//   vigil --help                the commands
//   vigil rules --help          the commands under `rules`
//
// Adding a subcommand: write `int my_command(const Args&, Io&)` and add one row to kCommands
// below (its words, argument synopsis, one-line summary, help text, function). Dispatch, the
// --help pages and the "unknown command" errors come from that table.
//
// Exit status: 0 success, 1 a check failed, 2 bad usage (unknown command, missing argument).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/rule_test_runner.h"
#include "vigil/alerting/routing.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/core/error.h"
#include "vigil/ops/grafana.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

using Args = std::vector<std::string_view>;  // the arguments after the command's words

struct Io {
  std::ostream& out;
  std::ostream& err;
};

// ---- commands ------------------------------------------------------------------------------

// `vigil rules check FILE...`: the output of `promtool check rules` (Prometheus 2.42): per file
// "Checking FILE" and "  SUCCESS: N rules found" on stdout, or "  FAILED:" and the errors on
// stderr; warnings (what Prometheus 2.42 would reject or lint) follow on stderr.
int rules_check(const Args& args, Io& io) {
  if (args.empty()) {
    io.err << "vigil rules check: missing FILE (usage: vigil rules check FILE...)\n";
    return kExitUsage;
  }
  bool failed = false;
  for (std::string_view file : args) {
    io.out << "Checking " << file << "\n";
    const vigil::alerting::RuleFileResult r = vigil::alerting::load_rule_file(std::string(file));
    if (r) {
      std::size_t rules = 0;
      for (const auto& g : r.file->groups) rules += g.rules.size();
      io.out << "  SUCCESS: " << rules << " rules found\n";
    } else {
      failed = true;
      io.out.flush();
      io.err << "  FAILED:\n";
      for (const std::string& e : r.errors) io.err << e << "\n";
    }
    if (!r.warnings.empty()) {
      io.out.flush();
      io.err << "  WARNINGS:\n";
      for (const std::string& w : r.warnings) io.err << w << "\n";
    }
    io.err.flush();
    io.out << "\n";
  }
  return failed ? kExitFailed : kExitOk;
}

// `vigil rules test FILE...`: Prometheus' rule unit tests (the format of `promtool test rules`)
// run with vigil's engine; the output and exit status of promtool
// (src/alerting/rule_test_runner.h).
int rules_test(const Args& args, Io& io) {
  if (args.empty()) {
    io.err << "vigil rules test: missing FILE (usage: vigil rules test FILE...)\n";
    return kExitUsage;
  }
  std::vector<std::string> files(args.begin(), args.end());
  return vigil::alerting::run_rule_tests(files, io.out, io.err) == 0 ? kExitOk : kExitFailed;
}

// `vigil routes check FILE...`: per file "Checking FILE" and "  SUCCESS: ..." with what was
// found on stdout, or "  FAILED:" and the errors (file:line: route/receiver/rule: what) on
// stderr; warnings (fields vigil accepts and ignores) follow on stderr.
int routes_check(const Args& args, Io& io) {
  if (args.empty()) {
    io.err << "vigil routes check: missing FILE (usage: vigil routes check FILE...)\n";
    return kExitUsage;
  }
  bool failed = false;
  for (std::string_view file : args) {
    io.out << "Checking " << file << "\n";
    const auto r = vigil::alerting::load_routing_file(std::string(file));
    if (r) {
      const vigil::alerting::Router router(*r.config);
      io.out << "  SUCCESS: " << router.routes().size() << " routes, " << r.config->receivers.size()
             << " receivers, " << r.config->inhibit_rules.size() << " inhibit rules\n";
    } else {
      failed = true;
      io.out.flush();
      io.err << "  FAILED:\n" << r.error << "\n";
    }
    if (!r.warnings.empty()) {
      io.out.flush();
      io.err << "  WARNINGS:\n";
      for (const std::string& w : r.warnings) io.err << w << "\n";
    }
    io.err.flush();
    io.out << "\n";
  }
  return failed ? kExitFailed : kExitOk;
}

// `vigil routes test [--verify.receivers=A,B] FILE label=value...`: the receivers of the routes
// the alert goes to, comma-separated in tree order, as `amtool config routes test` prints them;
// with --verify.receivers, exit status 1 when they differ from the list given.
int routes_test(const Args& args, Io& io) {
  std::string_view file;
  std::optional<std::string_view> verify;
  vigil::alerting::LabelList labels;
  for (std::string_view a : args) {
    constexpr std::string_view kVerify = "--verify.receivers=";
    if (a.substr(0, kVerify.size()) == kVerify) {
      verify = a.substr(kVerify.size());
    } else if (file.empty()) {
      file = a;
    } else {
      std::string err;
      const auto m = vigil::alerting::parse_matcher(a, &err);
      if (!m || m->type != vigil::alerting::MatchType::kEqual) {
        io.err << "vigil routes test: bad label " << a << " (want name=value)"
               << (err.empty() ? "" : ": " + err) << "\n";
        return kExitUsage;
      }
      labels.emplace_back(m->name, m->value);
    }
  }
  if (file.empty()) {
    io.err << "vigil routes test: missing FILE (usage: vigil routes test FILE "
              "label=value...)\n";
    return kExitUsage;
  }
  std::sort(labels.begin(), labels.end());
  const auto r = vigil::alerting::load_routing_file(std::string(file));
  if (!r) {
    io.err << r.error << "\n";
    return kExitFailed;
  }
  const vigil::alerting::Router router(*r.config);
  std::string receivers;
  for (const auto* m : router.match(labels)) {
    if (!receivers.empty()) receivers += ',';
    receivers += m->receiver;
  }
  io.out << receivers << "\n";
  if (verify && *verify != receivers) {
    io.err << "WARNING: Expected receivers did not match resolved receivers.\n";
    return kExitFailed;
  }
  return kExitOk;
}

// ---- the command table ---------------------------------------------------------------------

// `vigil dashboard --metrics FILE [-o DIR] [options]`: the Grafana dashboards of vigil::ops for
// the families of a Prometheus text exposition (a service's /metrics saved to FILE, or - for
// stdin), one JSON file per dashboard in DIR.
int dashboard(const Args& args, Io& io) {
  std::string metrics_file;
  std::string dir = ".";
  vigil::ops::GrafanaOptions options;
  bool tags_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const bool has_value = i + 1 < args.size();
    auto value = [&]() { return std::string(args[++i]); };
    if (!has_value &&
        (a == "--metrics" || a == "-o" || a == "--title" || a == "--job" || a == "--datasource" ||
         a == "--uid-prefix" || a == "--tag" || a == "--refresh")) {
      io.err << "vigil dashboard: " << a << " needs a value\n";
      return kExitUsage;
    }
    if (a == "--metrics") {
      metrics_file = value();
    } else if (a == "-o") {
      dir = value();
    } else if (a == "--title") {
      options.title = value();
    } else if (a == "--job") {
      options.job = value();
    } else if (a == "--datasource") {
      options.datasource = value();
    } else if (a == "--uid-prefix") {
      options.uid_prefix = value();
    } else if (a == "--refresh") {
      options.refresh = value();
    } else if (a == "--tag") {
      if (!tags_given) options.tags.clear();
      tags_given = true;
      options.tags.push_back(value());
    } else {
      io.err << "vigil dashboard: unknown argument '" << a << "' (see vigil dashboard --help)\n";
      return kExitUsage;
    }
  }
  if (metrics_file.empty()) {
    io.err << "vigil dashboard: missing --metrics FILE (a /metrics exposition; - for stdin)\n";
    return kExitUsage;
  }
  std::string text;
  if (metrics_file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(metrics_file, std::ios::binary);
    if (!in) {
      io.err << "vigil dashboard: cannot read " << metrics_file << "\n";
      return kExitFailed;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const vigil::ops::ExpositionFamilies families = vigil::ops::parse_exposition_families(text);
  if (!families) {
    io.err << "vigil dashboard: " << metrics_file << ": " << families.error << "\n";
    return kExitFailed;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const vigil::ops::GrafanaDashboard& d :
       vigil::ops::grafana_dashboards(*families.families, options)) {
    const std::filesystem::path path = std::filesystem::path(dir) / d.file_name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << d.json;
    out.close();
    if (!out) {
      io.err << "vigil dashboard: cannot write " << path.string() << "\n";
      return kExitFailed;
    }
    io.out << "wrote " << path.string() << " (" << d.title << ", uid " << d.uid << ")\n";
  }
  return kExitOk;
}

struct Command {
  std::string_view words;     // "rules check": the words that select the command
  std::string_view synopsis;  // its arguments, for usage lines
  std::string_view summary;   // one line, for the command lists
  std::string_view help;      // the rest of its --help page
  int (*run)(const Args&, Io&);
};

constexpr Command kCommands[] = {
    {"rules check", "FILE...", "Check Prometheus rule files (as `promtool check rules` does)",
     "Reads each rule file (the YAML `groups:` format of Prometheus) and reports every error\n"
     "with its file, line, group and rule. Accepts and rejects what `promtool check rules` of\n"
     "Prometheus 2.42 does, and also rejects what vigil does not evaluate in-process (errors\n"
     "saying \"not supported in-process\"). Group `labels` (Prometheus 2.51+) are accepted with\n"
     "a warning. Exit status: 0 all files valid, 1 a file has errors.\n",
     &rules_check},
    {"rules test", "FILE...", "Run rule unit tests (as `promtool test rules` does)",
     "Runs Prometheus rule unit-test files (rule_files, evaluation_interval, group_eval_order,\n"
     "tests with input_series, alert_rule_test and promql_expr_test) with vigil's own PromQL\n"
     "engine and alert states, as `promtool test rules` of Prometheus 2.42 does, and prints\n"
     "promtool's report: \"  SUCCESS\" or \"  FAILED:\" with the differences. Exit status: 0\n"
     "all tests pass, 1 a test fails or a file cannot be run.\n",
     &rules_test},
    {"routes check", "FILE...", "Check routing files (as `amtool check-config` does)",
     "Reads each alertmanager.yml-style routing file (global, route, receivers, inhibit_rules)\n"
     "and reports every error with its file, line and the route, receiver or rule it breaks.\n"
     "Accepts and rejects what `amtool check-config` of Alertmanager 0.25 does, except that\n"
     "fields vigil does not act on (time intervals, templates, other receiver types) load with\n"
     "a warning without their values being checked. Exit status: 0 all files valid, 1 a file\n"
     "has errors.\n",
     &routes_check},
    {"routes test", "FILE label=value...",
     "Show the receivers an alert is routed to (as `amtool config routes test` does)",
     "Routes an alert with the given labels through the file's route tree and prints the\n"
     "receivers of the matching routes, comma-separated, in tree order. With\n"
     "--verify.receivers, exit status 1 when they differ from the list given. Exit status: 0\n"
     "routed (and verified), 1 the file is invalid or the receivers differ, 2 bad usage.\n",
     &routes_test},
    {"dashboard", "--metrics FILE [-o DIR]...",
     "Write Grafana dashboards for the metrics of a /metrics exposition",
     "Reads a Prometheus text exposition (curl -s http://HOST:PORT/metrics > FILE; - reads\n"
     "stdin), learns its families (names, types, units, label names) and writes one dashboard\n"
     "JSON per kind (overview, llm, health, system; docs/dashboards.md) into DIR (default .).\n"
     "Options: --title T (dashboards \"T / Overview\", ...; default vigil), --job J (the job\n"
     "variable's default), --datasource NAME (default Prometheus), --uid-prefix P, --tag T\n"
     "(repeatable; default vigil), --refresh INTERVAL (default 30s). The demo's dashboards come\n"
     "from `vigil-demo --write-dashboards DIR` instead. Exit status: 0 written, 1 the file\n"
     "cannot be read or parsed, 2 bad usage.\n",
     &dashboard},
};

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t sp = s.find(' ');
    out.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

bool is_help(std::string_view a) { return a == "--help" || a == "-h" || a == "help"; }

// Lists the commands whose words start with `prefix`.
void list_commands(std::ostream& os, const std::vector<std::string_view>& prefix) {
  std::string p;
  for (std::string_view w : prefix) p += std::string(w) + " ";
  os << "usage: vigil " << p << "COMMAND [ARGS...]\n\nCommands:\n";
  for (const Command& c : kCommands) {
    const std::string words(c.words);
    if (words.compare(0, p.size(), p) != 0) continue;
    std::string line = "  vigil " + words + " " + std::string(c.synopsis);
    if (line.size() < 36) line.resize(36, ' ');
    os << line << "  " << c.summary << "\n";
  }
  os << "\nRun `vigil " << p << "COMMAND --help` for a command's help.\n";
}

void command_help(std::ostream& os, const Command& c) {
  os << "usage: vigil " << c.words << " " << c.synopsis << "\n\n" << c.summary << ".\n\n" << c.help;
}

int run(std::span<const std::string_view> argv, Io& io) {
  // Find the command whose words are the longest prefix of the arguments.
  const Command* best = nullptr;
  std::size_t best_len = 0;
  for (const Command& c : kCommands) {
    const auto words = split_words(c.words);
    if (words.size() > argv.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < words.size() && match; ++i) match = argv[i] == words[i];
    if (match && words.size() > best_len) {
      best = &c;
      best_len = words.size();
    }
  }
  if (best != nullptr) {
    Args rest(argv.begin() + static_cast<std::ptrdiff_t>(best_len), argv.end());
    for (std::string_view a : rest) {
      if (is_help(a)) {
        command_help(io.out, *best);
        return kExitOk;
      }
    }
    return best->run(rest, io);
  }
  // Not a full command: a group ("vigil rules"), help, or a mistake.
  std::vector<std::string_view> prefix;
  for (std::string_view a : argv) {
    if (is_help(a)) break;
    prefix.push_back(a);
  }
  bool group_exists = false;
  std::string p;
  for (std::string_view w : prefix) p += std::string(w) + " ";
  for (const Command& c : kCommands) {
    if (std::string(c.words).compare(0, p.size(), p) == 0) group_exists = true;
  }
  const bool asked_help = prefix.size() < argv.size();
  if (group_exists && asked_help) {
    list_commands(io.out, prefix);
    return kExitOk;
  }
  if (group_exists) {
    list_commands(io.err, prefix);
    return kExitUsage;
  }
  io.err << "vigil: unknown command '";
  for (std::size_t i = 0; i < prefix.size(); ++i) io.err << (i ? " " : "") << prefix[i];
  io.err << "'\n\n";
  list_commands(io.err, {});
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  Io io{std::cout, std::cerr};
  try {
    return run(args, io);
  } catch (const std::exception& e) {
    std::cerr << "vigil: " << e.what() << "\n";
    return kExitFailed;
  }
}
