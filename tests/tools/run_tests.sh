#!/bin/sh
# run_tests.sh BIN... -- runs each Check test binary, prints its output,
# and fails (after running all) when any failed.  A binary that fails is
# run once more and reported as FLAKY when the second run passes (the time
# bounds of the integration tests meet a noisy 2-core machine); a binary
# that fails twice fails the run.  Prints a closing "N passed, N failed"
# line counting binaries.
pass=0; fail=0; failed=""; flaky=""
for t in "$@"; do
  echo "-- $t"
  start=$(date +%s)
  if CK_VERBOSITY=${CK_VERBOSITY:-normal} "$t"; then
    pass=$((pass + 1))
  else
    echo "   $t failed; running it once more"
    if CK_VERBOSITY=${CK_VERBOSITY:-normal} "$t"; then
      pass=$((pass + 1)); flaky="$flaky $t"
      echo "   FLAKY: $t passed on the second run (see the failure above)"
    else
      fail=$((fail + 1)); failed="$failed $t"
    fi
  fi
  echo "   ($(( $(date +%s) - start )) s)"
done
[ -n "$flaky" ] && echo "FLAKY (failed once, passed on the second run):$flaky"
[ -n "$failed" ] && echo "FAILED:$failed"
echo "binaries: $pass passed, $fail failed"
[ "$fail" = 0 ]
