#!/bin/sh
# run.sh FUZZ_DIR SECONDS TARGET... -- runs each libFuzzer target for
# SECONDS (one after the other), from its committed corpus
# tests/fuzz/corpus/<t>/ plus the working corpus FUZZ_DIR/work/<t>/ (where
# new inputs go); crash/leak/timeout inputs are written into
# tests/fuzz/corpus/<t>/ so they become regression cases.  Prints one line
# per target (executions, exec/s, corpus, coverage, result) and writes the
# same table to FUZZ_DIR/report.txt.  Fails when any target failed.
dir=$1; secs=$2; shift 2
report=$dir/report.txt
mkdir -p "$dir"
printf '%-12s %12s %9s %8s %8s  %s\n' target executions exec/s corpus cov result > "$report"
fail=0
for t in "$@"; do
  corpus=tests/fuzz/corpus/$t
  work=$dir/work/$t
  mkdir -p "$work" "$corpus"
  dict=""
  [ -f tests/fuzz/$t.dict ] && dict="-dict=tests/fuzz/$t.dict"
  log=$dir/$t.log
  before=$(ls "$corpus" | grep -c -E '^(crash|leak|timeout|oom|slow-unit)-' )
  echo "== fuzz $t for ${secs}s (log: $log)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$(pwd)/tests/tools/lsan.supp:print_suppressions=0 \
    "$dir/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$corpus/" $dict \
      "$work" "$corpus" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ncorp=$(ls "$work" "$corpus" | grep -c -v -E '^(crash|leak|timeout|oom|slow-unit)-|^$|:$')
  after=$(ls "$corpus" | grep -c -E '^(crash|leak|timeout|oom|slow-unit)-' )
  if [ "$rc" = 0 ] && [ "$after" = "$before" ]; then
    res=clean
  else
    res="FAILED (rc $rc; new inputs in $corpus: $((after - before)))"
    fail=1
    grep -E 'ERROR|SUMMARY|fuzz_[a-z_]*: ' "$log" | head -5
  fi
  line=$(printf '%-12s %12s %9s %8s %8s  %s' "$t" "${execs:-?}" "${rate:-?}" "$ncorp" "${cov:-?}" "$res")
  echo "$line"
  echo "$line" >> "$report"
done
echo "== fuzz report ($report)"
cat "$report"
[ "$fail" = 0 ]
