// The checks (checks.ts) as the verification Job runs them: a POSIX shell
// script for busybox, the Thanos image's shell.
import { Check, GrafanaCheck, GrafanaExpectation, RulesCheck, Timing, grafanaAnswerShown } from "./checks";

/**
 * The same checks as a POSIX shell script for busybox (the Thanos image):
 * wget asks, grep and sed read the JSON (compact, as Thanos writes it), and
 * every check is retried until all pass or the deadline passes. Queries are
 * URL-encoded here so the script never has to.
 */
export function verificationScript(checks: Check[], timing: Timing, grafana: GrafanaCheck[] = [], rules: RulesCheck[] = []): string {
    const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
    const url = (query: string, dedup: boolean) => quote(`api/v1/query?query=${encodeURIComponent(query)}&dedup=${dedup}`);
    // One check in the round: ask, judge, and on failure say what was seen (after `whenFailed` has found it).
    const block = (ask: string, test: string, check: Check | GrafanaCheck | RulesCheck, whenFailed: string[], saw: string) =>
        [
            `  if ${ask}; then`,
            `    if ${test}; then`,
            `      echo ${quote(`ok: ${check.passes}`)}`,
            "    else",
            ...whenFailed,
            `      failures="$failures\n- "${quote(check.fails)}"; saw: ${saw}"`,
            "    fi",
            "  else",
            `    failures="$failures\n- "${quote(check.fails)}"; $body"`,
            "  fi",
        ].join("\n");
    const blocks = checks.map((check) => {
        const test =
            check.expect.kind === "everyValue"
                ? `every_value ${check.expect.value}${check.expect.samples === undefined ? "" : ` ${check.expect.samples}`}`
                : `label_absent ${quote(check.expect.label)}`;
        const seen = check.expect.kind === "everyValue" ? "values" : `label_values ${quote(check.expect.label)}`;
        const diagnose =
            check.diagnosis === undefined
                ? []
                : [
                      `      if ask ${url(check.diagnosis.query, check.diagnosis.dedup)}; then present=$(label_values ${quote(check.diagnosis.label)}); diagnosed="; ${check.diagnosis.label} values present: \${present:-none}"; fi`,
                  ];
        return block(
            `ask ${url(check.query, check.dedup)}`,
            test,
            check,
            [`      seen=$(${seen})`, '      diagnosed=""', ...diagnose],
            "${seen:-nothing}$diagnosed",
        );
    });
    const rulesBlocks = rules.map((check) =>
        block(`ask ${quote(check.path)}`, `has_groups ${check.expect.groups.map(quote).join(" ")}`, check, ["      seen=$(group_names)"], "${seen:-no group}"),
    );
    const rulesFunctions =
        rules.length === 0
            ? ""
            : `
# The rules API's groups: each group's name comes first, then its file (rulespb.RuleGroup's
# fields in order, pkg/rules/rulespb/rpc.pb.go:280-282 at v0.42.4); a rule's name is never followed by one.
group_names() { printf '%s' "$body" | grep -o '"name":"[^"]*","file"' | sed 's/^"name":"\\([^"]*\\)".*/\\1/' | sort -u | tr '\\n' ' ' | sed 's/ $//'; }
has_groups() {
  listed=" $(group_names) "
  for group in "$@"; do case "$listed" in *" $group "*) ;; *) return 1 ;; esac; done
}
`;
    const grafanaBlocks = grafana.map((check) => {
        const ask = check.body === undefined ? `ask_grafana ${quote(check.path)}` : `ask_grafana ${quote(check.path)} ${quote(check.body)}`;
        const [test, seen] = shellJudgement(check.expect, quote);
        return block(ask, test, check, [], seen);
    });
    const grafanaFunctions =
        grafana.length === 0
            ? ""
            : `
# Grafana, with the admin's basic auth. busybox wget has --header and
# --post-data, and there is nc (docker-library/busybox builds it from defconfig,
# latest-1/glibc/Dockerfile.builder:87; the Thanos image's busybox is that one).
grafana="\${GRAFANA_URL%/}"
auth=$(printf '%s:%s' "$GRAFANA_USER" "$GRAFANA_PASSWORD" | base64 -w 0)
# ask_grafana PATH [JSON]: GET, or POST the JSON; Grafana's answer into $body; fails unless it
# answered 2xx, with what it said.
ask_grafana() {
  if [ $# -gt 1 ]; then
    body=$(timeout ${timing.requestTimeoutSeconds} wget -q -O - --header "Authorization: Basic $auth" --header 'Content-Type: application/json' --post-data "$2" "$grafana/$1" 2>&1)
  else
    body=$(timeout ${timing.requestTimeoutSeconds} wget -q -O - --header "Authorization: Basic $auth" "$grafana/$1" 2>&1)
  fi || {
    case "$body" in
      *'server returned error: '*) body="Grafana answered $1 with $(printf '%s' "\${body##*server returned error: }" | tr -d '\\n'): $(grafana_said "$@")" ;;
      *) body="no answer from $grafana/$1: $(printf '%s' "$body" | tr '\\n' ' ')" ;;
    esac
    return 1
  }
}
# grafana_said PATH [JSON]: the body of Grafana's answer, asked again over nc. busybox wget stops
# at a status other than 2xx or 3xx before it reads headers or body, so -S shows the status line
# alone (networking/wget.c:1305-1383 at 1_35_0, 1_36_1 and on master as of July 2024). nc
# half-closes when its input ends (nc_bloaty.c:677 at 1_36_1), and Grafana (Go's net/http)
# cancels a request whose client stopped sending: the input stays open a second, long enough
# for an error.
grafana_said() {
  address=\${grafana#*://}; address=\${address%%/*}
  host=\${address%:*}; port=\${address##*:}; [ "$port" = "$address" ] && port=80
  {
    if [ $# -gt 1 ]; then
      printf 'POST /%s HTTP/1.0\\r\\nHost: %s\\r\\nAuthorization: Basic %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "$1" "$address" "$auth" "$(printf '%s' "$2" | wc -c)" "$2"
    else
      printf 'GET /%s HTTP/1.0\\r\\nHost: %s\\r\\nAuthorization: Basic %s\\r\\n\\r\\n' "$1" "$address" "$auth"
    fi
    sleep 1
  } | timeout ${timing.requestTimeoutSeconds} nc "$host" "$port" 2>/dev/null | tr -d '\\r' | sed '1,/^$/d' | tr '\\n' ' ' | cut -c 1-${grafanaAnswerShown}
}
# Grafana writes JSON compact or indented: a space may follow the colon.
json_has() { printf '%s' "$body" | grep -q "\\"$1\\": *\\"$2\\""; }
json_values() { printf '%s' "$body" | grep -o "\\"$1\\": *\\"[^\\"]*\\"" | sed 's/.*"\\([^"]*\\)"$/\\1/' | sort -u | tr '\\n' ' ' | sed 's/ $//'; }
has_every() {
  label=$1; shift
  for value in "$@"; do json_has "$label" "$value" || return 1; done
}
`;
    return `set -u
base="\${FRONTEND_URL%/}"
deadline=$(( $(date +%s) + ${timing.deadlineSeconds} ))
${grafanaFunctions}
# ask URL: GET base/URL into $body; fails unless Thanos answered with success.
ask() {
  body=$(timeout ${timing.requestTimeoutSeconds} wget -q -O - "$base/$1" 2>&1) || { body="no answer from $base: $(printf '%s' "$body" | tr '\\n' ' ')"; return 1; }
  case "$body" in *'"status":"success"'*) return 0 ;; *) return 1 ;; esac
}
# The sample values of the answer, and the distinct values of one label: space-separated.
values() { printf '%s' "$body" | grep -o '"value":\\[[^]]*\\]' | sed 's/.*,"\\([^"]*\\)"\\]$/\\1/' | tr '\\n' ' ' | sed 's/ $//'; }
label_values() { printf '%s' "$body" | grep -o "\\"$1\\":\\"[^\\"]*\\"" | sed 's/.*:"\\(.*\\)"$/\\1/' | sort -u | tr '\\n' ' ' | sed 's/ $//'; }
# every_value VALUE [COUNT]: a non-empty answer (of exactly COUNT samples, if given), every sample VALUE.
every_value() {
  found=$(values)
  [ -n "$found" ] || return 1
  if [ $# -gt 1 ]; then [ "$(echo $found | wc -w)" -eq "$2" ] || return 1; fi
  for value in $found; do [ "$value" = "$1" ] || return 1; done
}
label_absent() { ! printf '%s' "$body" | grep -q "\\"$1\\":"; }
${rulesFunctions}
round() {
  failures=""
${[...blocks, ...rulesBlocks, ...grafanaBlocks].join("\n")}
  [ -z "$failures" ]
}

attempt=1
while :; do
  echo "attempt $attempt against $base"
  if round; then
    echo "the global view is complete: every region present, every HA pair deduplicated"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    printf 'FAILED after %s attempts:%b\\n' "$attempt" "$failures" >&2
    exit 1
  fi
  printf 'not yet:%b\\n' "$failures"
  attempt=$((attempt + 1))
  sleep ${timing.intervalSeconds}
done
`;
}

/** The shell's test of a Grafana answer, and what it reports seeing. */
function shellJudgement(expect: GrafanaExpectation, quote: (text: string) => string): [string, string] {
    switch (expect.kind) {
        case "healthy":
            return ["json_has database ok", "database $(json_values database)"];
        case "datasourceOk":
            return ["json_has status OK", "$(json_values status) $(json_values message)"];
        case "labelValues":
            return [`has_every ${quote(expect.label)} ${expect.values.map(quote).join(" ")}`, `$(json_values ${quote(expect.label)})`];
        case "everyQueryHasData":
            // Data frames need a JSON reader; the Job proves the probe panel, `npm run verify -- --dashboards` every panel.
            throw new Error("every panel's data is checked by npm run verify -- --dashboards, not by the Job");
    }
}
