# host/ctl/build.mk -- agentrecoverctl, the command line of agentrecoverd's
# admin API (libcurl + cJSON; it does not link libagentrecover), its man
# page, and its test.  Included by the Makefile.
#   build/agentrecoverctl     built by `make`, installed by `make install`
#   build/tests/test_ctl      spawns a real build/agentrecoverd (PostgreSQL
#                             and Redis from the harness) and the CLI
#   make test-ctl-man         the man page formats without a warning (part
#                             of make check)

CTL_PKGS   := libcurl libcjson
CTL_CFLAGS := $(shell pkg-config --cflags $(CTL_PKGS) 2>/dev/null)
CTL_LIBS   := $(shell pkg-config --libs $(CTL_PKGS) 2>/dev/null)
CTL_SRCS   := $(sort $(wildcard host/ctl/*.c))
CTL_OBJS   := $(CTL_SRCS:%.c=$(BUILD)/obj/%.o)
CTL_HDRS   := $(wildcard host/ctl/*.h)
CTL_MAN    := docs/man/agentrecoverctl.1
AGENTRECOVERCTL := $(BUILD)/agentrecoverctl

ALL_EXTRA    += $(AGENTRECOVERCTL)
INSTALL_BINS += $(AGENTRECOVERCTL)
MAN_PAGES    += $(CTL_MAN)
DEB_TEST     += $(filter-out $(DEB_TEST),man-db groff-base)

$(CTL_OBJS): $(BUILD)/obj/host/ctl/%.o: host/ctl/%.c $(CTL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -D_GNU_SOURCE -MMD -MP \
	  -DAREC_CTL_VERSION='"$(VERSION)"' $(CTL_CFLAGS) -c $< -o $@

$(AGENTRECOVERCTL): $(CTL_OBJS)
	$(CC) $(CFLAGS) -o $@ $(CTL_OBJS) $(CTL_LIBS) -lm

# The test spawns processes (no sanitizer build) and seeds its data over
# HTTP with libcurl.
TEST_NOASAN += test_ctl
$(BUILD)/tests/test_ctl: $(BUILD)/agentrecoverd $(AGENTRECOVERCTL)
$(BUILD)/tests/test_ctl: HOST_LIBS += $(CTL_LIBS)

.PHONY: test-ctl-man
CHECK_EXTRA += test-ctl-man
test-ctl-man:
	@echo "== $(CTL_MAN) formats without warnings (groff -ww, man --warnings)"
	@out=$$(groff -man -ww -z $(CTL_MAN) 2>&1); \
	 [ -z "$$out" ] || { echo "$$out"; exit 1; }
	@out=$$(MANWIDTH=80 man --warnings -l $(CTL_MAN) 2>&1 >/dev/null); \
	 [ -z "$$out" ] || { echo "$$out"; exit 1; }
	@echo "   $(CTL_MAN) OK"
