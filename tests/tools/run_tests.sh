#!/bin/sh
# run_tests.sh BIN... -- runs each Check test binary once, prints its
# output, and fails (after running all) when any failed.  A failure is a
# failure: nothing is run twice.  Prints a closing "N passed, N failed" line
# counting binaries.
pass=0; fail=0; failed=""
for t in "$@"; do
  echo "-- $t"
  start=$(date +%s)
  if CK_VERBOSITY=${CK_VERBOSITY:-normal} "$t"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); failed="$failed $t"
  fi
  echo "   ($(( $(date +%s) - start )) s)"
done
[ -n "$failed" ] && echo "FAILED:$failed"
echo "binaries: $pass passed, $fail failed"
[ "$fail" = 0 ]
