#!/usr/bin/env bash
# Mutation probe, not part of CI: applies each breakage below, one at a time, to a scratch copy
# of this repository, rebuilds, runs the tests that should catch it, and prints what survived.
#
#   scripts/mutants.sh [NAME_REGEX]   only the mutants whose name matches (default: all)
#
# Uses the server named by PG* when PGHOST is set, else starts a throwaway one. The scratch copy
# (tracked and untracked-but-not-ignored files of the working tree) and its Debug build stay in
# CHATLEDGER_MUTANTS_DIR (default /tmp/chatledger-mutants) so a second run rebuilds little.
# A mutant is "killed" when at least one of its tests fails, "survived" when all pass; a
# mutation whose text no longer matches, or that does not build, is reported as an error so a
# stale line never passes for a survivor. docs/guarantees.md gives the latest result.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${CHATLEDGER_MUTANTS_DIR:-/tmp/chatledger-mutants}
src=$work/src
build=$work/build
jobs=${CHATLEDGER_MUTANTS_JOBS:-2}
only=${1:-.}

# mutant NAME FILE PERL_SUBSTITUTION TESTS
# TESTS: space-separated BINARY:GTEST_FILTER (binaries under the build's tests/ folder, named as
# their CMake target) or `unit_check` for tests/systemd/unit_check.sh.
names=() files=() edits=() tests=()
mutant() { names+=("$1"); files+=("$2"); edits+=("$3"); tests+=("$4"); }

# -- the append-only ledger (guarantees.md row 1)
mutant "0001: the statement trigger no longer fires in replica mode" schema/sql/0001_ledger.sql \
    's/^ALTER TABLE \{\{ledger\}\}\.chat_messages ENABLE ALWAYS TRIGGER chat_messages_append_only_statement;\n//m' \
    "schema/schema_apply_pgtest:*update_delete_and_truncate* schema/schema_append_only_pgtest:*"
mutant "0001: the row trigger no longer fires in replica mode" schema/sql/0001_ledger.sql \
    's/^ALTER TABLE \{\{ledger\}\}\.chat_messages ENABLE ALWAYS TRIGGER chat_messages_append_only_row;\n//m' \
    "schema/schema_apply_pgtest:*update_delete_and_truncate* schema/schema_append_only_pgtest:*"
# -- provenance and least privilege (rows 2 and 3)
mutant "0001: the writer may set source" schema/sql/0001_ledger.sql \
    's/GRANT INSERT \(zoho_id, author, body, sent_at, payload\) ON/GRANT INSERT (zoho_id, author, body, sent_at, payload, source) ON/' \
    "schema/schema_apply_pgtest:*a_plain_insert* schema/schema_privileges_pgtest:*"
mutant "0001: the daemon may not delete queue rows" schema/sql/0001_ledger.sql \
    's/GRANT SELECT, UPDATE, DELETE ON \{\{ledger\}\}\.sync_queue TO/GRANT SELECT, UPDATE ON {{ledger}}.sync_queue TO/' \
    "schema/schema_privileges_pgtest:*"
# -- capture (row 4, and the comment-only writes of row 11)
mutant "capture: the daemon's own rewrites are captured" schema/sql/legacy_capture.sql \
    "s/current_setting\('chatledger.origin', true\) = 'syncd'/current_setting('chatledger.origin', true) = 'nobody'/" \
    "schema/schema_apply_pgtest:*captured*"
mutant "capture: a comment-only UPDATE is not queued" schema/sql/legacy_capture.sql \
    's/UPDATE OF \{\{key\}\}, \{\{history\}\}, \{\{comment\}\}, \{\{comment_author\}\} ON/UPDATE OF {{key}}, {{history}} ON/' \
    "schema/schema_apply_pgtest:*captured* daemon/daemon_sync_pgtest:*comment_only* daemon/daemon_guarantees_pgtest:*comment_only*"
# -- what a legacy value holds (row 5) and message identity (row 6)
mutant "ingest: an unparseable value adds no row" ledger/ingest.cpp \
    's/if \(options\.skip_unparseable\)/if (true)/' \
    "migrator/migrator_run_pgtest:*empty_values*"
mutant "json: a number keeps its text instead of its shortest form" core/json.cpp \
    's/out\.append\(buf, std::to_chars\(buf, buf \+ sizeof buf, v\)\.ptr\);/out.append(start, p);/' \
    "core/core_json_test:* migrator/migrator_run_pgtest:*reserialized*"
# -- run, verify, recover (rows 7 to 9)
# shellcheck disable=SC2016 # $1 is perl's
mutant "run: the checkpoint commits after its batch, on its own" migrator/run.cpp \
    's/(        )repo\.mark_migrated\(counts, unparseable\);\n        tx->commit\(\);/$1tx->commit();\n$1repo.mark_migrated(counts, unparseable);/' \
    "migrator/migrator_run_pgtest:*kill_9*:*losing_the_database* migrator/migrator_guarantees_pgtest:*checkpoint*"
mutant "run: writes captured during the walk are not ingested" migrator/run.cpp \
    's/^    ingest_captured_writes\(conn, ledger, repo, ctx, t\);\n//m' \
    "migrator/migrator_run_pgtest:*legacy_writes_during_run* migrator/migrator_guarantees_pgtest:*after_its_conversation_was_read*"
mutant "verify: extra ledger messages are not counted" migrator/verify.cpp \
    's/if \(h > n\)/if (false \&\& h > n)/' \
    "migrator/migrator_run_pgtest:*verify_catches*"
mutant "recover: a corrupt snapshot becomes a message" migrator/recover.cpp \
    's/\.skip_unparseable = true/.skip_unparseable = false/' \
    "migrator/migrator_run_pgtest:*recover*"
# -- the daemon (rows 10 to 12 and 17)
mutant "0001: an application's append is not queued" schema/sql/0001_ledger.sql \
    "s/WHEN \(NEW\.source IN \('app', 'backup'\)\)/WHEN (NEW.source IN ('backup'))/" \
    "daemon/daemon_sync_pgtest:*an_application_append*:*burst*"
mutant "ingest rule: a repeat of a message the ledger holds is dropped" core/message.cpp \
    's/if \(k > \(it == ledger\.end\(\) \? 0 : it->second\)\)/if ((void)k, it == ledger.end())/' \
    "daemon/daemon_sync_pgtest:*racing* migrator/migrator_guarantees_pgtest:*repeat* daemon/daemon_guarantees_pgtest:*repeat*"
mutant "signals: SIGTERM no longer stops the daemon" daemon/signals.cpp \
    's/if \(info\.ssi_signo == SIGTERM \|\| info\.ssi_signo == SIGINT\)/if (info.ssi_signo == SIGINT)/' \
    "daemon/daemon_sync_pgtest:*sigterm*"
mutant "syncer: a legacy row inserted after the row read is not read again" daemon/syncer.cpp \
    's/if \(!row && std::any_of\(/if (false \&\& !row \&\& std::any_of(/' \
    "daemon/daemon_sync_pgtest:*a_legacy_row_inserted_while*"
# -- identifiers, secrets, the unit file (rows 13, 14, 16)
mutant "identifier: an embedded double quote is not doubled" config/identifier.cpp \
    "s/        if \(c == '\"'\)\n            out \+= '\"';\n//" \
    "config/config_config_test:* schema/schema_apply_pgtest:*crafted*"
mutant "config: a key=value password is not redacted" config/config.cpp \
    's/        result \+= "\*\*\*";/        result.append(out, j, end - j);/' \
    "config/config_config_test:*"
# (Dropping ProtectSystem= or NoNewPrivileges= is no breakage: DynamicUser=yes implies both.)
mutant "unit: the capability bounding set is no longer emptied" systemd/chatledger-syncd.service \
    's/^CapabilityBoundingSet=\n//m' \
    "unit_check"

log=$work/mutants.log
mkdir -p "$work"
: >"$log"
say() { printf '%s\n' "$*" | tee -a "$log"; }

# The scratch copy: the working tree as it is, without build directories or anything ignored.
rm -rf "$src"
mkdir -p "$src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
    tar -C "$src" -xf -
# tar keeps the working tree's timestamps, older than objects an earlier run built from mutated
# text: every file a mutant edits is touched so the unmutated build recompiles it.
for f in "${files[@]}"; do touch "$src/$f"; done

cluster=""
if [ -z "${PGHOST:-}" ]; then
    cluster=$work/pg
    "$root/scripts/pg-cluster.sh" stop "$cluster"
    eval "$("$root/scripts/pg-cluster.sh" start "$cluster")"
    export PGHOST PGPORT PGUSER PGDATABASE
fi
cleanup() { [ -z "$cluster" ] || "$root/scripts/pg-cluster.sh" stop "$cluster"; }
trap cleanup EXIT

selected=()
for i in "${!names[@]}"; do
    [[ ${names[$i]} =~ $only ]] && selected+=("$i")
done
targets() {
    local t
    for t in $1; do
        if [ "$t" = unit_check ]; then echo chatledger-syncd; else t=${t%%:*}; echo "${t#*/}"; fi
    done
}
# Runs one test token; returns its status.
run_test() {
    local t=$1
    if [ "$t" = unit_check ]; then
        "$src/tests/systemd/unit_check.sh" "$src/systemd/chatledger-syncd.service" \
            "$build/daemon/chatledger-syncd" >>"$log" 2>&1
    else
        timeout 600 "$build/tests/${t%%:*}" --gtest_filter="${t#*:}" >>"$log" 2>&1
    fi
}

say "== building the scratch copy in $build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCHATLEDGER_WERROR=OFF >>"$log" 2>&1
all_targets=$(for i in "${selected[@]}"; do targets "${tests[$i]}"; done | sort -u)
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $all_targets >>"$log" 2>&1 ||
    { say "mutants: the unmutated copy does not build (see $log)"; exit 1; }
say "== the tests pass unmutated"
for i in "${selected[@]}"; do
    for t in ${tests[$i]}; do
        run_test "$t" || { say "mutants: $t fails without any mutation (see $log)"; exit 1; }
    done
done

killed=0 survived=0 errors=0
results=()
for i in "${selected[@]}"; do
    name=${names[$i]} file=$src/${files[$i]}
    say "== mutant: $name"
    cp -p "$file" "$work/original"
    perl -0pi -e "${edits[$i]}" "$file"
    if cmp -s "$file" "$work/original"; then
        results+=("ERROR    $name: the substitution matched nothing in ${files[$i]}")
        errors=$((errors + 1))
        continue
    fi
    # shellcheck disable=SC2046
    if ! cmake --build "$build" -j "$jobs" --target $(targets "${tests[$i]}") >>"$log" 2>&1; then
        results+=("ERROR    $name: does not build")
        errors=$((errors + 1))
    else
        by=()
        for t in ${tests[$i]}; do
            run_test "$t" || by+=("${t%%:*}")
        done
        if [ ${#by[@]} -gt 0 ]; then
            results+=("killed   $name (by ${by[*]##*/})")
            killed=$((killed + 1))
        else
            results+=("SURVIVED $name (ran ${tests[$i]})")
            survived=$((survived + 1))
        fi
    fi
    # Restored with a new timestamp, so the next build recompiles what the mutant changed.
    cp "$work/original" "$file"
    touch "$file"
done

say ""
for r in "${results[@]}"; do say "$r"; done
say "$killed killed, $survived survived$([ "$errors" -eq 0 ] || echo ", $errors errors")"
[ "$survived" -eq 0 ] && [ "$errors" -eq 0 ]
