#!/usr/bin/env bash
# integration.deploy_files: the operations kit of deploy/ is consistent and accepted by the
# real tools.
#   1. every rule file deploy/prometheus/*rules*.yml passes `promtool check rules` and `vigil
#      rules check` with the same rule count, and has a *_test.yml (run by
#      integration.deploy_rules);
#      1b. vigil and promtool report the same alerts minute by minute for every test group;
#   2. `promtool check config` accepts prometheus.yml and prometheus-compose.yml (their rule
#      files included); `amtool check-config` and `vigil routes check` accept
#      deploy/alertmanager/alertmanager.yml;
#   3. every YAML file under deploy/ parses; docker-compose.yml's build context, Dockerfile and
#      bind mounts exist (deploy/grafana/dashboards may be absent: the dashboard generator
#      writes it), the Dockerfile's COPY sources exist, and the ports agree: Prometheus'
#      compose targets are the demo's --listen port and Alertmanager's port, the demo's
#      --alertmanager URL, the Grafana data source and the OTLP endpoint name services of the
#      file, the dashboard provider reads the directory the dashboards are mounted at;
#   4. deploy/kubernetes: the PrometheusRule's groups are exactly the rule files' groups (and
#      scripts/gen-prometheus-rule.py --check agrees), the PodMonitor selects the Deployment's
#      pods on a port they have, and the prometheus.io annotations match that port.
# Compose and the Dockerfile cannot run here (no image pulls): deploy/README.md says so.
#
#   deploy_files_test.sh VIGIL PROMTOOL AMTOOL
set -uo pipefail
log() { echo "deploy_files: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

vigil=$1
promtool=$2
amtool=$3
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
require_executable "$vigil"
require_tools "$promtool" "$amtool" python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  [[ -n "${CI:-}" ]] && fail "python3 has no yaml module (install python3-yaml: scripts/install-deps.sh)"
  log "SKIP: python3 has no yaml module (install python3-yaml: scripts/install-deps.sh)"
  exit 77
fi
checks=0
pass() {
  checks=$((checks + 1))
  log "ok: $*"
}

# 1. Rule files.
cd "$root/deploy/prometheus" || fail "no deploy/prometheus"
shopt -s nullglob
rule_files=()
for f in *rules*.yml; do [[ $f == *_test.yml ]] || rule_files+=("$f"); done
[[ ${#rule_files[@]} -ge 3 ]] || fail "expected at least 3 rule files, found: ${rule_files[*]}"
for f in "${rule_files[@]}"; do
  p=$("$promtool" check rules "$f" 2>&1) || fail "promtool check rules $f: $p"
  v=$("$vigil" rules check "$f" 2>&1) || fail "vigil rules check $f: $v"
  [[ "$(grep SUCCESS <<<"$p")" == "$(grep SUCCESS <<<"$v")" ]] ||
    fail "promtool and vigil count differently for $f: '$p' vs '$v'"
  [[ -f "${f%.yml}_test.yml" ]] || fail "$f has no unit test file ${f%.yml}_test.yml"
  pass "$f: $(grep -o 'SUCCESS.*' <<<"$p") (promtool and vigil), tested by ${f%.yml}_test.yml"
done

# 1b. The two engines agree minute by minute: for every test group of the *_test.yml files, a
# generated test expects no alert at every minute up to 3 minutes past its last eval_time, so
# both tools fail and list every alert they see (labels, annotations with $value, timing); the
# reports must be identical.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp ./*rules*.yml "$tmp/"
python3 - "$tmp" <<'PY' || fail "cannot write the timeline tests"
import copy, glob, os, re, sys
import yaml
out = sys.argv[1]
for path in sorted(glob.glob(os.path.join(out, "*_test.yml"))):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    for t in doc["tests"]:
        t.pop("promql_expr_test", None)
        cases = t.get("alert_rule_test", [])
        names = sorted({c["alertname"] for c in cases})
        last = max(int(re.fullmatch(r"(\d+)m", c["eval_time"]).group(1)) for c in cases)
        t["alert_rule_test"] = [{"eval_time": f"{m}m", "alertname": n, "exp_alerts": []}
                                for n in names for m in range(last + 4)]
    name = os.path.basename(path).replace("_test.yml", "_timeline_test.yml")
    with open(os.path.join(out, name), "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
PY
for f in "$tmp"/*_timeline_test.yml; do
  b=$(basename "$f")
  p=$(cd "$tmp" && "$promtool" test rules "$b" 2>&1)
  v=$(cd "$tmp" && "$vigil" rules test "$b" 2>&1)
  n=$(grep -c 'alertname:' <<<"$p")
  [[ $n -gt 0 ]] || fail "the timeline test $b produced no report: $p"
  if [[ "$(grep -v '^ *$' <<<"$p" | sed 's/^ *//')" != "$(grep -v '^ *$' <<<"$v" | sed 's/^ *//')" ]]; then
    diff <(grep -v '^ *$' <<<"$p" | sed 's/^ *//') <(grep -v '^ *$' <<<"$v" | sed 's/^ *//') >&2
    fail "vigil and promtool disagree on the alert timeline of ${b/_timeline/} (diff above: < promtool, > vigil)"
  fi
  pass "${b/_timeline/}: vigil and promtool report the same alerts minute by minute ($n alert/minute evaluations with alerts)"
done

# 2. Configurations.
for f in prometheus.yml prometheus-compose.yml; do
  out=$("$promtool" check config "$f" 2>&1) || fail "promtool check config $f: $out"
  pass "promtool check config $f: $(grep -c 'SUCCESS' <<<"$out") SUCCESS lines"
done
am="$root/deploy/alertmanager/alertmanager.yml"
out=$("$amtool" check-config "$am" 2>&1) || fail "amtool check-config: $out"
pass "amtool check-config alertmanager.yml"
out=$("$vigil" routes check "$am" 2>&1) || fail "vigil routes check: $out"
pass "vigil routes check alertmanager.yml: $(grep -o 'SUCCESS.*' <<<"$out")"
# The alerts route where the comments say.
route() { "$amtool" config routes test --config.file="$am" "$@" 2>/dev/null; }
[[ "$(route alertname=DependencyDown severity=critical)" == oncall ]] || fail "critical -> oncall"
[[ "$(route alertname=CacheHitRateLow severity=info)" == blackhole ]] || fail "info -> blackhole"
[[ "$(route alertname=LLMSpendHigh severity=warning)" == finops ]] || fail "spend -> finops"
[[ "$(route alertname=ToolFailureRateHigh severity=warning)" == team ]] || fail "default -> team"
for labels in "alertname=DependencyDown severity=critical" "alertname=LLMSpendHigh severity=warning"; do
  # shellcheck disable=SC2086
  [[ "$("$vigil" routes test "$am" $labels 2>/dev/null)" == "$(route $labels)" ]] ||
    fail "vigil routes test and amtool disagree on $labels"
done
pass "alertmanager.yml routes critical/info/spend/other alerts to oncall/blackhole/finops/team (amtool and vigil agree)"

# 3 and 4: the structure, in Python.
python3 - "$root" <<'PY' || fail "deploy/ files are inconsistent (see above)"
import glob, os, re, subprocess, sys
import yaml

root = sys.argv[1]
deploy = os.path.join(root, "deploy")
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)

# Every YAML file parses (Kubernetes files may hold several documents).
n = 0
for path in sorted(glob.glob(os.path.join(deploy, "**", "*.y*ml"), recursive=True)):
    with open(path, encoding="utf-8") as f:
        try:
            docs = [d for d in yaml.safe_load_all(f)]
            check(docs and docs[0] is not None, f"{path}: empty")
            n += 1
        except yaml.YAMLError as e:
            problems.append(f"{path}: {e}")
print(f"deploy_files: ok: {n} YAML files under deploy/ parse", file=sys.stderr)

# docker-compose.yml
compose = load(os.path.join(deploy, "docker-compose.yml"))
services = compose["services"]
check({"demo", "prometheus", "alertmanager", "grafana", "jaeger"} <= set(services),
      f"compose services: {sorted(services)}")
build = services["demo"]["build"]
context = os.path.normpath(os.path.join(deploy, build["context"]))
dockerfile = os.path.join(context, build["dockerfile"])
check(os.path.isfile(dockerfile), f"compose: no Dockerfile {dockerfile}")
mounts = {}
for name, svc in services.items():
    for v in svc.get("volumes", []):
        src, dst = v.split(":")[:2]
        if not src.startswith((".", "/")):
            continue  # a named volume
        path = os.path.normpath(os.path.join(deploy, src))
        mounts[(name, dst)] = path
        if path == os.path.join(deploy, "grafana", "dashboards") and not os.path.exists(path):
            print("deploy_files: note: deploy/grafana/dashboards is absent (the dashboard generator writes it)", file=sys.stderr)
            continue
        check(os.path.exists(path), f"compose: {name} mounts {src}, which does not exist")
for name, svc in services.items():
    for p in svc.get("ports", []):
        check(str(p).startswith("127.0.0.1:"), f"compose: {name} publishes {p} beyond 127.0.0.1")
    for dep in svc.get("depends_on", []):
        check(dep in services, f"compose: {name} depends on unknown {dep}")

def flag(svc, name):
    for a in svc.get("command", []):
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None

# The Dockerfile's COPY sources exist (paths relative to the build context).
with open(dockerfile, encoding="utf-8") as f:
    for line in f:
        m = re.match(r"COPY\s+(?!--from)(\S+)\s+\S+", line)
        if m and m.group(1) != ".":
            check(os.path.exists(os.path.join(context, m.group(1))), f"Dockerfile: COPY {m.group(1)} does not exist")
        check(not line.startswith("FROM") or "debian:12" in line, f"Dockerfile: not Debian 12: {line.strip()}")

# Prometheus in compose: its config file is in the mounted directory, its targets are the
# compose services on their ports, its rule files exist.
prom = services["prometheus"]
config_in_container = flag(prom, "config.file")
prom_dir = mounts.get(("prometheus", "/etc/prometheus"))
check(prom_dir and config_in_container.startswith("/etc/prometheus/"), "compose: prometheus config not in its mount")
pcfg = load(os.path.join(prom_dir, os.path.basename(config_in_container)))
for rf in pcfg["rule_files"]:
    check(os.path.isfile(os.path.join(prom_dir, rf)), f"prometheus-compose.yml: rule file {rf} missing")
demo_listen = flag(services["demo"], "listen")
demo_port = demo_listen.rsplit(":", 1)[1]
targets = {sc["job_name"]: [t for s in sc["static_configs"] for t in s["targets"]] for sc in pcfg["scrape_configs"]}
check(targets.get("vigil-demo") == [f"demo:{demo_port}"], f"compose scrape target {targets.get('vigil-demo')} != demo:{demo_port}")
check(any(p.endswith(f":{demo_port}:{demo_port}") for p in services["demo"]["ports"]), "demo port not published")
am_targets = [t for a in pcfg["alerting"]["alertmanagers"] for s in a["static_configs"] for t in s["targets"]]
am_port = "9093"  # prom/alertmanager's default --web.listen-address
check(flag(services["alertmanager"], "web.listen-address") in (None, f":{am_port}"), "alertmanager listens elsewhere")
check(am_targets == [f"alertmanager:{am_port}"], f"compose alertmanager targets {am_targets}")
check(flag(services["demo"], "alertmanager") == f"http://alertmanager:{am_port}", "demo --alertmanager does not name the alertmanager service")
am_file = mounts.get(("alertmanager", "/etc/alertmanager/alertmanager.yml"))
check(am_file == os.path.join(deploy, "alertmanager", "alertmanager.yml"), "compose alertmanager does not mount deploy/alertmanager/alertmanager.yml")
# The standalone prometheus.yml scrapes the demo's default port and Alertmanager's.
local = load(os.path.join(deploy, "prometheus", "prometheus.yml"))
ltargets = {sc["job_name"]: [t for s in sc["static_configs"] for t in s["targets"]] for sc in local["scrape_configs"]}
check(ltargets.get("vigil-demo") == ["127.0.0.1:9464"], "prometheus.yml does not scrape 127.0.0.1:9464 (the demo's default --listen)")
check(local["rule_files"] == pcfg["rule_files"], "prometheus.yml and prometheus-compose.yml load different rule files")
check([t for a in local["alerting"]["alertmanagers"] for s in a["static_configs"] for t in s["targets"]] == ["127.0.0.1:9093"], "prometheus.yml alerting target")

# Traces: the demo's OTLP endpoint is the jaeger service's OTLP/HTTP port.
otlp = services["demo"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
check(otlp == "http://jaeger:4318", f"OTEL_EXPORTER_OTLP_ENDPOINT {otlp}")
check(str(services["jaeger"]["environment"].get("COLLECTOR_OTLP_ENABLED")).lower() == "true", "jaeger without OTLP")

# Grafana provisioning.
prov = mounts.get(("grafana", "/etc/grafana/provisioning"))
check(prov == os.path.join(deploy, "grafana", "provisioning"), "grafana provisioning mount")
ds = [d for f in glob.glob(os.path.join(prov, "datasources", "*.yml")) for d in load(f)["datasources"]]
promds = [d for d in ds if d["type"] == "prometheus"]
check(len(promds) == 1 and promds[0]["url"] == "http://prometheus:9090", f"Prometheus data source: {promds}")
check(any(d["type"] == "jaeger" and d["url"] == "http://jaeger:16686" for d in ds), "Jaeger data source")
providers = [p for f in glob.glob(os.path.join(prov, "dashboards", "*.yml")) for p in load(f)["providers"]]
check(len(providers) >= 1 and all(p["type"] == "file" for p in providers), f"dashboard providers: {providers}")
dash_mount = [dst for (svc, dst), src in mounts.items() if svc == "grafana" and src == os.path.join(deploy, "grafana", "dashboards")]
check(dash_mount == ["/var/lib/grafana/dashboards"], f"dashboards mounted at {dash_mount}")
check(all(p["options"]["path"] == "/var/lib/grafana/dashboards" for p in providers), "provider path")
print("deploy_files: ok: docker-compose.yml, Dockerfile, prometheus-compose.yml and Grafana provisioning agree", file=sys.stderr)

# Kubernetes.
k8s = os.path.join(deploy, "kubernetes")
rule_groups = []
for rf in local["rule_files"]:
    rule_groups += load(os.path.join(deploy, "prometheus", rf))["groups"]
pr = load(os.path.join(k8s, "prometheus-rule.yaml"))
check(pr["apiVersion"] == "monitoring.coreos.com/v1" and pr["kind"] == "PrometheusRule", "PrometheusRule kind")
check(pr["spec"]["groups"] == rule_groups, "the PrometheusRule's groups differ from the rule files' (python3 scripts/gen-prometheus-rule.py)")
gen = subprocess.run([sys.executable, os.path.join(root, "scripts", "gen-prometheus-rule.py"), "--check"], capture_output=True, text=True)
check(gen.returncode == 0, f"gen-prometheus-rule.py --check: {gen.stdout[-2000:]} {gen.stderr}")
docs = [d for d in yaml.safe_load_all(open(os.path.join(k8s, "deployment.yaml"))) if d]
dep = next(d for d in docs if d["kind"] == "Deployment")
pod = dep["spec"]["template"]
ports = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
ann = pod["metadata"].get("annotations", {})
check(ann.get("prometheus.io/scrape") == "true", "no prometheus.io/scrape annotation")
check(int(ann.get("prometheus.io/port", 0)) in ports.values(), f"prometheus.io/port {ann.get('prometheus.io/port')} not a container port {ports}")
check(ann.get("prometheus.io/path") == "/metrics", "prometheus.io/path")
pm = load(os.path.join(k8s, "pod-monitor.yaml"))
check(pm["kind"] == "PodMonitor" and pm["apiVersion"] == "monitoring.coreos.com/v1", "PodMonitor kind")
sel = pm["spec"]["selector"]["matchLabels"]
check(all(pod["metadata"]["labels"].get(k) == v for k, v in sel.items()), f"PodMonitor selector {sel} does not match the pods")
for ep in pm["spec"]["podMetricsEndpoints"]:
    check(ep["port"] in ports, f"PodMonitor port {ep['port']} not in {ports}")
    check(ep.get("path", "/metrics") == "/metrics", "PodMonitor path")
print(f"deploy_files: ok: PrometheusRule holds the {len(rule_groups)} groups of {', '.join(local['rule_files'])}; PodMonitor and annotations match the Deployment", file=sys.stderr)

for p in problems:
    print(f"deploy_files: PROBLEM: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
pass "compose, Dockerfile, Grafana provisioning and Kubernetes manifests are consistent"

log "PASS ($checks checks)"
