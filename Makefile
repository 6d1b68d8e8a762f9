# libagentrecover -- the one build file.  `make` builds the libraries, the
# host and the examples into build/; `make check` installs missing Debian
# packages, builds with -Werror, runs every test against real servers, runs
# the unit and conformance tests again under ASan+UBSan, and proves the
# installed pkg-config file.  Areas add their own rules in */build.mk
# (included below) by appending to the variables named there.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
BUILD   := build

VERSION_MAJOR := 0
VERSION_MINOR := 2
VERSION_PATCH := 0
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
# The ABI generation (AREC_ABI_VERSION in agentrecover.h): it names the
# SONAME and grows with every release that breaks binary compatibility,
# which the major version cannot say while it is 0.
ABI     := 1
SONAME  := libagentrecover.so.$(ABI)

LIB_PKGS  := libpq hiredis
TEST_PKGS := check
# Debian packages every target needs (installed by tests/tools/deps.sh).
DEB_BUILD := build-essential pkg-config libpq-dev libhiredis-dev libssl-dev \
             libcjson-dev libmicrohttpd-dev libcurl4-openssl-dev
DEB_TEST  := check postgresql-15 redis-server redis-tools python3 curl \
             prometheus
DEPS      := tests/tools/deps.sh

WARN     := -std=c11 -Wall -Wextra -Werror
# -MMD -MP: every object and binary also records the headers it includes
# (internal ones too) in a .d file next to it, read back below.
CPPFLAGS_ALL := -D_GNU_SOURCE -Iinclude -Ilib -MMD -MP
CFLAGS   ?= -O2 -g
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
PKG_CFLAGS = $(shell pkg-config --cflags $(LIB_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

# ---------------------------------------------------------------- library
LIB_SRCS := $(sort $(wildcard lib/*/*.c))
# Generated C sources of the library (build.mk files append, e.g. the
# migrations compiled in from sql/).
LIB_GEN  :=
HEADERS  := $(wildcard include/*.h include/agentrecover/*.h include/agentrecover/sys/*.h)

# ------------------------------------------------------------------ tests
# Every tests/test_*.c is one Check binary, linked with the shared support
# code and the conformance suites.  TEST_BINS_NOASAN lists those that run
# only in the normal build (slow end-to-end tests of real processes).
TEST_SUPPORT := $(sort $(wildcard tests/support/*.c tests/conformance/*.c))
TEST_SRCS    := $(sort $(wildcard tests/test_*.c))
TEST_NAMES   := $(TEST_SRCS:tests/%.c=%)
TEST_NOASAN  :=
# Extra objects some test binaries need (host objects): TEST_EXTRA_<name>.
CHECK_EXTRA  :=
ALL_EXTRA    :=
BENCH_TARGETS :=
# What `make install` puts besides the library (build.mk files append):
# INSTALL_BINS, built programs for $(PREFIX)/bin; MAN_PAGES, roff sources
# named NAME.SECTION (1, 3 or 8) for $(PREFIX)/share/man/manSECTION.
INSTALL_BINS :=
MAN_PAGES    :=

-include $(sort $(wildcard lib/*/build.mk host/build.mk host/*/build.mk tests/*/build.mk examples/build.mk))

LIB_OBJS      := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB_GEN:%.c=%.o)
LIB_OBJS_ASAN := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o) $(LIB_GEN:$(BUILD)/%.c=$(BUILD)/asan/%.o)
SUP_OBJS      := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)
SUP_OBJS_ASAN := $(TEST_SUPPORT:%.c=$(BUILD)/asan/obj/%.o)
TEST_BINS     := $(TEST_NAMES:%=$(BUILD)/tests/%)
ASAN_NAMES    := $(filter-out $(TEST_NOASAN),$(TEST_NAMES))
TEST_BINS_ASAN := $(ASAN_NAMES:%=$(BUILD)/asan/tests/%)

.PHONY: all lib deps check test test-asan test-headers test-install-example \
        bench install uninstall clean demo start stop chaos fuzz
.DEFAULT_GOAL := all
# Never delete objects make considers intermediate (test support objects
# are shared by every test binary); delete a target whose recipe failed.
.SECONDARY:
.DELETE_ON_ERROR:

all: $(BUILD)/libagentrecover.so.$(VERSION) $(BUILD)/libagentrecover.a \
     $(BUILD)/examples/minimal $(BUILD)/examples/embedding $(ALL_EXTRA)
lib: $(BUILD)/libagentrecover.so.$(VERSION) $(BUILD)/libagentrecover.a

deps:
	@$(DEPS) $(DEB_BUILD)

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden $(CPPFLAGS_ALL) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) -fvisibility=hidden $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: $(BUILD)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS_ALL) -c $< -o $@

$(BUILD)/libagentrecover.so.$(VERSION): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $(LIB_OBJS) $(PKG_LIBS) -lpthread
	ln -sf libagentrecover.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libagentrecover.so

$(BUILD)/libagentrecover.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

$(BUILD)/asan/libagentrecover.a: $(LIB_OBJS_ASAN)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJS_ASAN)

$(BUILD)/examples/minimal: examples/minimal.c $(BUILD)/libagentrecover.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -Iinclude $< -o $@ $(BUILD)/libagentrecover.a $(PKG_LIBS) -lpthread

$(BUILD)/examples/embedding: examples/embedding.c $(BUILD)/libagentrecover.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -Iinclude $< -o $@ $(BUILD)/libagentrecover.a $(PKG_LIBS) -lpthread

# Test binaries: the normal build, then the sanitizer build.
.SECONDEXPANSION:
$(BUILD)/tests/%: tests/%.c $(SUP_OBJS) $(BUILD)/libagentrecover.a $$(TEST_EXTRA_$$*) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(TEST_CFLAGS) $(TEST_HOST_CFLAGS) $< $(SUP_OBJS) $(TEST_EXTRA_$*) \
	  -o $@ $(BUILD)/libagentrecover.a $(TEST_HOST_LIBS) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

$(BUILD)/asan/tests/%: tests/%.c $(SUP_OBJS_ASAN) $(BUILD)/asan/libagentrecover.a $$(subst $(BUILD)/obj/,$(BUILD)/asan/obj/,$$(TEST_EXTRA_$$*)) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANFLAGS) $(CPPFLAGS_ALL) -Itests $(PKG_CFLAGS) $(TEST_CFLAGS) $(TEST_HOST_CFLAGS) $< $(SUP_OBJS_ASAN) \
	  $(subst $(BUILD)/obj/,$(BUILD)/asan/obj/,$(TEST_EXTRA_$*)) \
	  -o $@ $(BUILD)/asan/libagentrecover.a $(TEST_HOST_LIBS) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

# ------------------------------------------------------------------- check
check:
	@$(DEPS) $(DEB_BUILD) $(DEB_TEST)
	@$(MAKE) --no-print-directory all $(TEST_BINS) $(TEST_BINS_ASAN)
	@$(MAKE) --no-print-directory test-headers
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-install-example
	@for t in $(CHECK_EXTRA); do $(MAKE) --no-print-directory $$t || exit 1; done
	@echo "== make check: all passed"

test: $(TEST_BINS)
	@echo "== tests (normal build: -O2, real PostgreSQL and Redis)"
	@tests/tools/run_tests.sh $(TEST_BINS)

test-asan: $(TEST_BINS_ASAN)
	@echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer)"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/tools/lsan.supp:print_suppressions=0 \
	 tests/tools/run_tests.sh $(TEST_BINS_ASAN)

# Every public header compiles on its own as C11 -pedantic and as C++.
test-headers:
	@echo "== public headers: standalone C11 -pedantic and C++"
	@mkdir -p $(BUILD)/hdr
	@for h in $(HEADERS); do \
	  n=$$(echo $$h | tr '/.' '__'); \
	  printf '#include "%s"\n#include "%s"\nint arec__hdr_%s;\n' $${h#include/} $${h#include/} $$n > $(BUILD)/hdr/$$n.c; \
	  $(CC) -std=c11 -pedantic -Wall -Wextra -Werror -Iinclude -c $(BUILD)/hdr/$$n.c -o $(BUILD)/hdr/$$n.o || exit 1; \
	  cp $(BUILD)/hdr/$$n.c $(BUILD)/hdr/$$n.cpp; \
	  g++ -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c $(BUILD)/hdr/$$n.cpp -o $(BUILD)/hdr/$$n.cpp.o || exit 1; \
	done; echo "   $(words $(HEADERS)) headers OK"

# Installs into a temporary DESTDIR and builds the example against the
# installed library through pkg-config only; checks the exported symbols.
test-install-example: all
	@echo "== install into a temp DESTDIR; build examples/minimal through pkg-config"
	@SONAME=$(SONAME) VERSION=$(VERSION) tests/tools/check_install.sh

# ----------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/include/agentrecover/sys $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/agentrecover.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(wildcard include/agentrecover/*.h) $(DESTDIR)$(PREFIX)/include/agentrecover/
	install -m 644 $(wildcard include/agentrecover/sys/*.h) $(DESTDIR)$(PREFIX)/include/agentrecover/sys/
	install -m 755 $(BUILD)/libagentrecover.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libagentrecover.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libagentrecover.so
	install -m 644 $(BUILD)/libagentrecover.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@REQUIRES_PRIVATE@|$(LIB_PKGS)|g' \
	    pkgconfig/agentrecover.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/agentrecover.pc
	@if [ -f $(BUILD)/agentrecoverd ]; then install -d $(DESTDIR)$(PREFIX)/bin && install -m 755 $(BUILD)/agentrecoverd $(DESTDIR)$(PREFIX)/bin/; fi
	@# programs and man pages listed by the build.mk files
	@set -e; for b in $(INSTALL_BINS); do \
	  install -d $(DESTDIR)$(PREFIX)/bin; install -m 755 $$b $(DESTDIR)$(PREFIX)/bin/; done; \
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	  install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/agentrecover.h
	rm -rf $(DESTDIR)$(PREFIX)/include/agentrecover
	rm -f $(DESTDIR)$(PREFIX)/lib/libagentrecover.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME) \
	      $(DESTDIR)$(PREFIX)/lib/libagentrecover.so $(DESTDIR)$(PREFIX)/lib/libagentrecover.a \
	      $(DESTDIR)$(PREFIX)/lib/pkgconfig/agentrecover.pc $(DESTDIR)$(PREFIX)/bin/agentrecoverd
	@# programs and man pages listed by the build.mk files
	rm -f $(foreach b,$(INSTALL_BINS),$(DESTDIR)$(PREFIX)/bin/$(notdir $(b))) \
	      $(foreach m,$(MAN_PAGES),$(DESTDIR)$(PREFIX)/share/man/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))

# ------------------------------------------------------------------- bench
# make check builds the benchmark programs (it does not run them), so that
# a change to the test harness they link cannot break `make bench` unseen.
BENCH_BINS := $(BUILD)/bench/bench_pg $(BUILD)/bench/bench_redis
CHECK_EXTRA += bench-build
.PHONY: bench-build
bench-build: $(BENCH_BINS)
	@echo "== benchmark programs build: $(notdir $(BENCH_BINS))"

bench:
	@$(DEPS) $(DEB_BUILD) $(DEB_TEST)
	@for t in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done
	@tests/tools/bench_table.sh $(BUILD)/bench

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
