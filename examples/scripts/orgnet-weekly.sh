#!/bin/sh
# Weekly orgnet run: import last week's exports, write this week's report, compare with the last one.
#
# Used by examples/cron/orgnet-weekly.cron, examples/systemd/orgnet-report.service and
# examples/ci/github-actions.yml; see docs/automation.md. Exit status is orgnet's:
#   0 report written; 1 user error (nothing written or half written: check the log);
#   2 report written AND a finding new since the previous run has severity >= ORGNET_FAIL_ON_SEVERITY.
set -eu

WS=${ORGNET_WORKSPACE:-/var/lib/orgnet/workspace}      # the workspace (kept between runs)
EXPORTS=${ORGNET_EXPORTS:-/var/lib/orgnet/exports}     # where last week's exports are dropped
REPORTS=${ORGNET_REPORTS:-/var/lib/orgnet/reports}     # one folder per week + latest/previous links
FAIL_ON=${ORGNET_FAIL_ON_SEVERITY:-0.8}
FORMATS=${ORGNET_FORMATS:-html,md,json,csv,gexf}
ORGNET=${ORGNET:-orgnet}

week=$(date -u +%G-W%V)
out="$REPORTS/$week"
mkdir -p "$REPORTS"

# 1. Import. Re-importing a file that was already imported is a no-op, so the whole drop folder
#    can be offered every week. Name the importer and its options where auto-detection is not
#    enough (e.g. git needs --repo-name):
#      $ORGNET import git "$EXPORTS/git.log.gz" --repo-name acme/monorepo -w "$WS"
for f in "$EXPORTS"/*; do
    [ -e "$f" ] || continue
    "$ORGNET" import auto "$f" -w "$WS"
done

# 2. The previous run: "latest" unless that is this week's folder (a re-run), then "previous".
prev=""
if [ -f "$REPORTS/latest/findings.json" ] && [ "$(readlink "$REPORTS/latest")" != "$out" ]; then
    prev="$REPORTS/latest"
elif [ -f "$REPORTS/previous/findings.json" ]; then
    prev="$REPORTS/previous"
fi

# 3. Analyze and report (orgnet report runs every analysis itself).
status=0
if [ -n "$prev" ]; then
    "$ORGNET" report -w "$WS" --out "$out" --format "$FORMATS" --previous "$prev" \
        --fail-on-severity "$FAIL_ON" || status=$?
else
    "$ORGNET" report -w "$WS" --out "$out" --format "$FORMATS" --fail-on-severity "$FAIL_ON" \
        || status=$?
fi

# 4. Keep this run for next week's --previous (only when the report was written).
if [ "$status" -ne 1 ] && [ -f "$out/findings.json" ]; then
    if [ -n "$prev" ] && [ "$prev" = "$REPORTS/latest" ]; then
        ln -sfn "$(readlink "$REPORTS/latest")" "$REPORTS/previous"
    fi
    ln -sfn "$out" "$REPORTS/latest"
fi
exit "$status"
