#!/usr/bin/env bash
# Validates the deployment files under deploy/ with whatever tools this machine has; a missing tool is
# skipped with a note, never installed. Exit status: 0 when every check that ran passed.
#
#   deploy/validate.sh                 # static checks
#   deploy/validate.sh --smoke         # also start a built binary and probe it (directly and via nginx)
#   AIPRISM_BIN=path/to/aiprism deploy/validate.sh --smoke
#
# Tools used when present: python3 (+ PyYAML, botocore), cfn-lint, systemd-analyze, nginx, shellcheck,
# hadolint, curl.
set -uo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DEPLOY/.." && pwd)"
TMP="$(mktemp -d)"
SMOKE=false
[ "${1:-}" = "--smoke" ] && SMOKE=true
FAILED=0
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

pass() { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; FAILED=$((FAILED + 1)); }
skip() { printf '  skip  %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
section() { printf '\n== %s\n' "$*"; }

cd "$ROOT" || exit 2

section "JSON (python3 -m json.tool)"
if have python3; then
    while IFS= read -r f; do
        if python3 -m json.tool "$f" >/dev/null 2>"$TMP/err"; then pass "$f"; else fail "$f: $(cat "$TMP/err")"; fi
    done < <(find deploy -name '*.json' | sort)
else
    skip "python3 not found"
fi

section "YAML (PyYAML, CloudFormation tags accepted) and dashboard bodies"
if have python3 && python3 -c 'import yaml' 2>/dev/null; then
    while IFS= read -r f; do
        if python3 - "$f" >"$TMP/out" 2>&1 <<'PY'
import json, re, sys, yaml

class Loader(yaml.SafeLoader):
    pass

def tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix if suffix in ("Ref", "Condition") else "Fn::" + suffix: value}

Loader.add_multi_constructor("!", tag)
doc = yaml.load(open(sys.argv[1]), Loader=Loader)
notes = []
if isinstance(doc, dict) and "Resources" in doc:
    for name, res in doc["Resources"].items():
        if res.get("Type") == "AWS::CloudWatch::Dashboard":
            body = res["Properties"]["DashboardBody"]
            text = body["Fn::Sub"] if isinstance(body, dict) else body
            json.loads(re.sub(r"\$\{[^}]+\}", "X", text))
            notes.append(f"dashboard {name} body is JSON")
print("; ".join(notes))
PY
        then pass "$f $(cat "$TMP/out")"; else fail "$f: $(cat "$TMP/out")"; fi
    done < <(find deploy -name '*.yaml' -o -name '*.yml' | sort)
else
    skip "python3 with PyYAML not found (pip install pyyaml)"
fi

section "CloudFormation (cfn-lint)"
if have cfn-lint; then
    for f in deploy/aws/*.yaml deploy/apprunner/apprunner.yaml; do
        if cfn-lint "$f" >"$TMP/out" 2>&1; then pass "$f"; else fail "$f"; sed 's/^/        /' "$TMP/out"; fi
    done
    # The IAM policy files, each wrapped in a managed-policy template so cfn-lint checks their grammar.
    for f in deploy/aws/*policy*.json; do
        case "$f" in *trust-policy*) continue ;; esac
        python3 - "$f" >"$TMP/policy.yaml" <<'PY'
import json, sys
# Placeholders become sample values so the ARN grammar can be checked.
text = open(sys.argv[1]).read()
for k, v in {"<REGION>": "us-east-1", "<ACCOUNT_ID>": "1" * 12, "<BUCKET_NAME>": "example-bucket",
             "<KMS_KEY_ID>": "abcdef00-0000-4000-8000-abcdefabcdef"}.items():
    text = text.replace(k, v)
doc = json.loads(text)
print(json.dumps({"AWSTemplateFormatVersion": "2010-09-09",
                  "Resources": {"Policy": {"Type": "AWS::IAM::ManagedPolicy",
                                           "Properties": {"PolicyDocument": doc}}}}))
PY
        if cfn-lint "$TMP/policy.yaml" >"$TMP/out" 2>&1; then pass "$f (as AWS::IAM::ManagedPolicy)"; else fail "$f"; sed 's/^/        /' "$TMP/out"; fi
    done
else
    skip "cfn-lint not found (pip install cfn-lint)"
fi

section "AWS API shapes (botocore, offline)"
if have python3 && python3 -c 'import botocore' 2>/dev/null; then
    if python3 - >"$TMP/out" 2>&1 <<'PY'
import json, sys
import botocore.session
from botocore.validate import ParamValidator

session = botocore.session.get_session()
checks = [("ecs", "RegisterTaskDefinition", f) for f in
          ("deploy/ecs/task-definition.json", "deploy/ecs/web-task-definition.json",
           "deploy/ecs/worker-task-definition.json")]
checks.append(("apprunner", "CreateService", "deploy/apprunner/service.json"))
bad = 0
for service, op, path in checks:
    shape = session.get_service_model(service).operation_model(op).input_shape
    report = ParamValidator().validate(json.load(open(path)), shape)
    if report.has_errors():
        bad += 1
        print(f"FAIL {path}: {report.generate_report()}")
    else:
        print(f"ok {path} is a valid {service} {op} input")
sys.exit(1 if bad else 0)
PY
    then sed 's/^ok /  ok    /' "$TMP/out"; else sed 's/^/        /' "$TMP/out"; fail "AWS API shapes"; fi
else
    skip "botocore not found (pip install botocore)"
fi

section "Configuration coverage (env.example and docs against crates/aiprism/src/config.rs)"
if have python3; then
    if python3 - >"$TMP/out" 2>&1 <<'PY'
import re, sys
src = open("crates/aiprism/src/config.rs").read()
table = src[src.index("const VARIABLES"):src.index("];", src.index("const VARIABLES"))]
names = re.findall(r'\b(var|secret)\("([A-Z0-9_]+)"', table)
env = open("deploy/env.example").read()
listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", env, re.M))
doc = open("docs/deploy.md").read()
bad = []
for kind, name in names:
    if name not in listed:
        bad.append(f"{name} is read by config.rs but missing from deploy/env.example")
    if kind == "secret":
        if not re.search(rf"^{name}=$", env, re.M):
            bad.append(f"secret {name} must appear empty in env.example")
        if f"{name}_FILE" not in doc:
            bad.append(f"{name}_FILE is not documented in docs/deploy.md")
known = {n for _, n in names} | {"AIPRISM_CONFIG"} | {n for n in listed if n.startswith("AIPRISM_SQS_")}
for name in sorted(listed - known):
    bad.append(f"env.example lists {name}, which the binary does not read")
print(f"{len(names)} variables in VARIABLES, {sum(k == 'secret' for k, _ in names)} secrets")
for line in bad:
    print("FAIL", line)
sys.exit(1 if bad else 0)
PY
    then pass "$(cat "$TMP/out")"; else sed 's/^/        /' "$TMP/out"; fail "configuration coverage"; fi
else
    skip "python3 not found"
fi

section "No secrets or account data in deploy/ and docs/"
# Placeholders look like <ACCOUNT_ID>; anything that looks like a real key, account id or password is an error.
if grep -rnE 'AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|\b[0-9]{12}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|(postgres(ql)?|redis|rediss)://[^:/@<> ]+:[^@<> ]+@' \
    deploy docs .dockerignore 2>/dev/null | grep -vE 'PASSWORD@|:\*\*\*@|<[A-Z_]+>@' >"$TMP/out"; then
    fail "possible secret or account id:"; sed 's/^/        /' "$TMP/out"
else
    pass "no access keys, 12-digit account ids, private keys or passwords in URLs"
fi

section "systemd units (systemd-analyze verify)"
if have systemd-analyze; then
    units=(deploy/ec2/aiprism.service deploy/ec2/aiprism-worker.service)
    if [ -x /usr/local/bin/aiprism ]; then
        if systemd-analyze verify "${units[@]}" >"$TMP/out" 2>&1; then pass "${units[*]}"; else fail "units"; sed 's/^/        /' "$TMP/out"; fi
    else
        echo "  note  /usr/local/bin/aiprism is absent here; verifying copies whose ExecStart points at a stub"
        mkdir -p "$TMP/units"
        printf '#!/bin/sh\nexit 0\n' >"$TMP/units/aiprism" && chmod +x "$TMP/units/aiprism"
        for u in "${units[@]}"; do sed "s|/usr/local/bin/aiprism|$TMP/units/aiprism|" "$u" >"$TMP/units/$(basename "$u")"; done
        if systemd-analyze verify "$TMP"/units/*.service >"$TMP/out" 2>&1; then pass "${units[*]}"; else fail "units"; sed 's/^/        /' "$TMP/out"; fi
    fi
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        for u in "${units[@]}"; do
            f="$TMP/units/$(basename "$u")"; [ -f "$f" ] || f="$u"
            level="$(systemd-analyze security --offline=yes "$f" 2>/dev/null | grep -o 'Overall exposure level.*' || true)"
            [ -n "$level" ] && echo "  info  $(basename "$u"): $level"
        done
    fi
else
    skip "systemd-analyze not found"
fi

section "nginx site (nginx -t on a wrapper config)"
if have nginx; then
    cat >"$TMP/nginx.conf" <<EOF
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events {}
http {
    access_log off;
    client_body_temp_path $TMP/nginx-body;
    proxy_temp_path $TMP/nginx-proxy;
    include $DEPLOY/ec2/nginx.conf;
}
EOF
    if nginx -t -q -c "$TMP/nginx.conf" -p "$TMP/" >"$TMP/out" 2>&1; then pass "deploy/ec2/nginx.conf"; else fail "nginx.conf"; sed 's/^/        /' "$TMP/out"; fi
else
    skip "nginx not found (apt-get install nginx-light)"
fi

section "Shell scripts (shellcheck)"
if have shellcheck; then
    for f in deploy/*.sh; do
        if shellcheck "$f" >"$TMP/out" 2>&1; then pass "$f"; else fail "$f"; sed 's/^/        /' "$TMP/out"; fi
    done
else
    skip "shellcheck not found"
fi

section "Dockerfile"
if have hadolint; then
    if hadolint deploy/Dockerfile >"$TMP/out" 2>&1; then pass "hadolint deploy/Dockerfile"; else fail "hadolint"; sed 's/^/        /' "$TMP/out"; fi
else
    skip "hadolint not found; structural checks only (the image is not built here)"
fi
if have python3; then
    if python3 - >"$TMP/out" 2>&1 <<'PY'
import re, sys
text = open("deploy/Dockerfile").read()
joined = re.sub(r"\\\n", " ", text)
lines = [l.strip() for l in joined.splitlines() if l.strip() and not l.strip().startswith("#")]
ins = [l.split(None, 1) for l in lines]
def values(word):
    return [p[1] if len(p) > 1 else "" for p in ins if p[0].upper() == word]
need = {
    "builder is rust:1.95-bookworm": any("rust:1.95-bookworm" in l for l in lines),
    "runtime is debian:bookworm-slim": any("debian:bookworm-slim" in l for l in lines),
    "cargo build --release --locked -p aiprism": "cargo build --release --locked -p aiprism" in joined,
    "ca-certificates installed": "ca-certificates" in joined,
    "non-root USER": any(v and not v.startswith(("root", "0")) for v in values("USER")),
    "HEALTHCHECK present": bool(values("HEALTHCHECK")),
    'ENTRYPOINT ["aiprism"]': values("ENTRYPOINT") == ['["aiprism"]'],
    'CMD ["serve", "--bind", "0.0.0.0:8080"]': [v.replace(" ", "") for v in values("CMD")] == ['["serve","--bind","0.0.0.0:8080"]'],
}
import os
for src in re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)\s", joined, re.M):
    if src != "." and not src.startswith("/"):
        need[f"COPY source {src} exists"] = os.path.exists(src)
bad = [k for k, ok in need.items() if not ok]
for k, ok in need.items():
    print(("ok   " if ok else "FAIL ") + k)
sys.exit(1 if bad else 0)
PY
    then sed 's/^ok   /  ok    /' "$TMP/out"; else sed 's/^/        /' "$TMP/out"; fail "Dockerfile structure"; fi
fi
# The build context must keep what the build needs.
if have python3; then
    for needed in Cargo.toml Cargo.lock crates frameworks bench/queue/queue_bench.rs deploy/healthcheck.sh; do
        if python3 - "$needed" <<'PY'
import fnmatch, sys
path = sys.argv[1]
excluded = False
for raw in open(".dockerignore"):
    rule = raw.strip()
    if not rule or rule.startswith("#"):
        continue
    neg = rule.startswith("!")
    pat = rule[1:] if neg else rule
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, pat.replace("**/", "")) for p in prefixes):
        excluded = not neg
sys.exit(1 if excluded else 0)
PY
        then pass ".dockerignore keeps $needed"; else fail ".dockerignore excludes $needed, which the build needs"; fi
    done
fi

if $SMOKE; then
    section "Smoke test (a built binary, directly and through nginx)"
    BIN="${AIPRISM_BIN:-}"
    [ -z "$BIN" ] && [ -x target/release/aiprism ] && BIN=target/release/aiprism
    [ -z "$BIN" ] && [ -x target/debug/aiprism ] && BIN=target/debug/aiprism
    if [ -z "$BIN" ] || ! have curl; then
        skip "no binary (set AIPRISM_BIN or build target/release/aiprism) or no curl"
    else
        BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
        mkdir -p "$TMP/run"
        # shellcheck source=/dev/null
        if (cd "$TMP/run" && set -a && . "$DEPLOY/env.example" && set +a && "$BIN" check) >"$TMP/out" 2>&1; then
            pass "aiprism check accepts every value in deploy/env.example"
        else
            fail "aiprism check with deploy/env.example"; tail -5 "$TMP/out" | sed 's/^/        /'
        fi
        port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        (cd "$TMP/run" && exec env AIPRISM_DATA_DIR="$TMP/run/data" "$BIN" serve --bind "127.0.0.1:$port") >"$TMP/serve.log" 2>&1 &
        serve_pid=$!; PIDS+=("$serve_pid")
        for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.2; done
        if HEALTHCHECK_PID=$serve_pid sh "$DEPLOY/healthcheck.sh"; then pass "healthcheck.sh passes against serve on port $port"; else fail "healthcheck.sh against serve"; fi
        code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")"
        if [ "$code" = 200 ]; then pass "GET /ready answers 200"; else fail "GET /ready answered $code"; fi
        wport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        (cd "$TMP/run" && exec env AIPRISM_DATA_DIR="$TMP/run/data" AIPRISM_WORKER_LISTEN="127.0.0.1:$wport" "$BIN" worker) >"$TMP/worker.log" 2>&1 &
        worker_pid=$!; PIDS+=("$worker_pid")
        for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$wport/health" >/dev/null 2>&1 && break; sleep 0.2; done
        if HEALTHCHECK_PID=$worker_pid sh "$DEPLOY/healthcheck.sh"; then pass "healthcheck.sh passes against a worker listening on port $wport"; else fail "healthcheck.sh against the worker"; fi
        if curl -fs "http://127.0.0.1:$wport/metrics" | grep -q '^aiprism_queue_jobs'; then
            pass "the worker serves /metrics (AIPRISM_WORKER_LISTEN)"
        else
            fail "worker GET /metrics"
        fi
        if have nginx; then
            nport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
            sed -e "s/server 127.0.0.1:8080;/server 127.0.0.1:$port;/" -e "s/listen 80;/listen 127.0.0.1:$nport;/" \
                -e '/listen \[::\]:80;/d' "$DEPLOY/ec2/nginx.conf" >"$TMP/site.conf"
            sed -e "s|include $DEPLOY/ec2/nginx.conf;|include $TMP/site.conf;|" "$TMP/nginx.conf" >"$TMP/nginx-run.conf"
            # nginx started as root runs its workers as nobody: they must be able to write the temp paths.
            chmod 0755 "$TMP" && mkdir -p "$TMP/nginx-body" "$TMP/nginx-proxy" && chmod 0777 "$TMP/nginx-body" "$TMP/nginx-proxy"
            nginx -c "$TMP/nginx-run.conf" -p "$TMP/" -g 'daemon off;' >"$TMP/nginx.log" 2>&1 &
            PIDS+=("$!")
            sleep 1
            base="http://127.0.0.1:$nport"
            if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ]; then
                pass "nginx proxies GET /health"
            else
                fail "nginx GET /health"
            fi
            asset="$(curl -s "$base/" | grep -oE '/static/[^"]+\.[0-9a-f]{10}\.[a-z]+' | head -1)"
            if [ -n "$asset" ] && curl -s -D - -o /dev/null "$base$asset" | grep -qi 'cache-control: public, max-age=31536000, immutable'; then
                pass "hashed asset $asset cached for a year"
            else
                fail "hashed asset cache header"
            fi
            python3 -c "open('$TMP/big.md','w').write('# T\n\n' + 'word ' * int(16.5 * 1024 * 1024 / 5))"
            body="$(curl -s -F "file=@$TMP/big.md" "$base/api/v1/documents")"
            case "$body" in
                *'"too_large"'*) pass "16.5 MiB upload reaches aiprism and gets its JSON 413" ;;
                *) fail "16.5 MiB upload: $(printf '%s' "$body" | head -c 200)"; tail -3 "$TMP/nginx-error.log" 2>/dev/null | sed 's/^/        /' ;;
            esac
            printf '# Report\n\n## Summary\n\nIt failed at 10:00.\n\n## Cause\n\nUnknown.\n' >"$TMP/small.md"
            rid="$(curl -s -F "file=@$TMP/small.md" "$base/api/v1/documents" | python3 -c 'import json,sys; print((json.load(sys.stdin).get("review") or {}).get("id",""))')"
            if [ -n "$rid" ] && timeout 5 curl -s -N "$base/api/v1/reviews/$rid/events" | grep -q '^event:'; then
                pass "review events stream through nginx (SSE)"
            else
                fail "SSE through nginx"
            fi
        else
            skip "nginx not found: proxy checks skipped"
        fi
    fi
fi

printf '\n'
if [ "$FAILED" -gt 0 ]; then
    echo "validate.sh: $FAILED check(s) failed"
    exit 1
fi
echo "validate.sh: all checks that ran passed"
