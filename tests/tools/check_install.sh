#!/bin/sh
# check_install.sh -- installs into a temp DESTDIR, builds examples/minimal.c
# and examples/embedding.c against the installed library through pkg-config
# only (static and shared),
# runs it, and checks that the shared library exports only arec_* symbols
# and carries the SONAME the Makefile names (SONAME, VERSION in the
# environment; the make target passes them).
set -eu
: "${SONAME:?SONAME (e.g. libagentrecover.so.1) not set: run make test-install-example}"
: "${VERSION:?VERSION not set: run make test-install-example}"
D=$(mktemp -d /tmp/arec-install.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
make --no-print-directory install DESTDIR="$D" PREFIX=/usr/local >/dev/null
export PKG_CONFIG_PATH="$D/usr/local/lib/pkgconfig"
PC="pkg-config --define-variable=prefix=$D/usr/local"
CFL=$($PC --cflags agentrecover)
LIBS=$($PC --libs agentrecover)
# libagentrecover.a needs its dependencies' shared libraries (Debian ships
# no static libpq dependencies, so `pkg-config --static` cannot link here).
SLIBS="$($PC --libs-only-L agentrecover) $(pkg-config --libs libpq hiredis) -lpthread"
echo "   pkg-config --cflags --libs agentrecover: $CFL $LIBS"
cc -std=c11 -Wall -Wextra -Werror $CFL examples/minimal.c -o "$D/minimal-shared" $LIBS
cc -std=c11 -Wall -Wextra -Werror $CFL examples/minimal.c -o "$D/minimal-static" \
   "$D/usr/local/lib/libagentrecover.a" $SLIBS
cc -std=c11 -Wall -Wextra -Werror $CFL examples/embedding.c -o "$D/embedding-shared" $LIBS
cc -std=c11 -Wall -Wextra -Werror $CFL examples/embedding.c -o "$D/embedding-static" \
   "$D/usr/local/lib/libagentrecover.a" $SLIBS
LD_LIBRARY_PATH="$D/usr/local/lib" "$D/minimal-shared" >"$D/out.txt" 2>&1 || { cat "$D/out.txt"; exit 1; }
"$D/minimal-static" >/dev/null 2>&1
so="$D/usr/local/lib/libagentrecover.so.$VERSION"
[ -f "$so" ] || { echo "missing $so"; exit 1; }
soname=$(objdump -p "$so" | awk '/SONAME/ {print $2}')
[ "$soname" = "$SONAME" ] || { echo "bad SONAME: $soname (want $SONAME)"; exit 1; }
[ "$(readlink "$D/usr/local/lib/$SONAME")" = "libagentrecover.so.$VERSION" ] || { echo "no $SONAME link"; exit 1; }
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^arec_' || true)
[ -z "$bad" ] || { echo "exported symbols without arec_ prefix:"; echo "$bad"; exit 1; }
echo "   installed library OK: SONAME $soname, $(nm -D --defined-only "$so" | wc -l) symbols, all arec_*; example ran (shared and static)"
