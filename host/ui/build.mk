# host/ui/build.mk -- the fleet page (GET /ui): host/ui/index.html compiled
# into the daemon as the C string arec__host_ui_html by host/ui/embed.awk,
# served by host/ui/page.c (which is in the host's archive with every other
# host/<dir>/*.c); its tests; and the man pages of the daemon and the
# library with their check.  Included by the Makefile after host/build.mk.
#   build/tests/test_host_ui  the route, its headers and the embedded bytes,
#                             the API's fleet queries (real PostgreSQL from
#                             the harness)
#   build/tests/test_host_ui_takeovers
#                             the takeover recorder (host/takeovers.c) on
#                             the store, the database up and down
#   make test-ui              the page in headless Chromium against a real
#                             2-pod system (tests/ui/fleet.sh; part of make
#                             check): a screenshot in build/ui/fleet.png

UI_HTML    := host/ui/index.html
UI_GEN     := $(BUILD)/gen/host_ui_page.c
# into the host's archives: HOST_AR_GEN for those made after this file
# (the fuzzing build's), an extra prerequisite for the two made by
# host/build.mk (their recipes take every prerequisite, $^)
HOST_AR_GEN += $(UI_GEN:%.c=%.o)
$(HOST_AR): $(UI_GEN:%.c=%.o)
$(HOST_AR_ASAN): $(UI_GEN:$(BUILD)/%.c=$(BUILD)/asan/%.o)

$(UI_GEN): $(UI_HTML) host/ui/embed.awk host/ui/build.mk
	@mkdir -p $(dir $@)
	@LC_ALL=C awk -v sym=arec__host_ui_html -f host/ui/embed.awk $(UI_HTML) > $@.tmp
	@mv $@.tmp $@

# the unit tests link the archive (router, API, service, store, recorder)
override TEST_EXTRA_test_host_ui := $(HOST_AR)
override TEST_EXTRA_test_host_ui_takeovers := $(HOST_AR)

# ------------------------------------------------------------ headless
# Debian's chromium (never a downloaded browser) and puppeteer-core from
# npm, pinned by tests/ui/package-lock.json, installed into build/ui/node.
DEB_TEST += chromium
UI_NODE := $(BUILD)/ui/node

$(UI_NODE)/node_modules/.installed: tests/ui/package.json tests/ui/package-lock.json
	@command -v npm >/dev/null && command -v node >/dev/null || \
	  { echo "test-ui needs node (>= 18) and npm on the PATH"; exit 1; }
	@mkdir -p $(UI_NODE)
	@cp tests/ui/package.json tests/ui/package-lock.json $(UI_NODE)/
	@echo "   npm ci puppeteer-core (no browser download) into $(UI_NODE)"
	@cd $(UI_NODE) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts \
	  --no-audit --no-fund --loglevel=error >npm.log 2>&1 || { tail -20 npm.log; exit 1; }
	@touch $@

.PHONY: test-ui
CHECK_EXTRA += test-ui
test-ui: $(AGENTRECOVERD) $(UI_NODE)/node_modules/.installed
	@$(DEPS) chromium
	@echo "== the fleet page in headless Chromium against a real 2-pod system"
	@BUILD=$(BUILD) UI_NODE=$(UI_NODE) tests/ui/fleet.sh

# ------------------------------------------------------------ man pages
# agentrecoverd(8) and libagentrecover(3), installed by `make install`
# (MAN_PAGES) beside agentrecoverctl(1) (host/ctl/build.mk).
#   make test-man-pages   both format without a warning (groff -ww, man
#                         --warnings), name this version, and the daemon's
#                         page lists exactly the variables of
#                         `agentrecoverd --help` (part of make check)
HOST_MAN := docs/man/agentrecoverd.8 docs/man/libagentrecover.3
MAN_PAGES += $(HOST_MAN)
DEB_TEST  += $(filter-out $(DEB_TEST),man-db groff-base)

.PHONY: test-man-pages
CHECK_EXTRA += test-man-pages
test-man-pages: $(AGENTRECOVERD)
	@$(DEPS) man-db groff-base
	@echo "== $(HOST_MAN): format without warnings, version $(VERSION), the daemon's environment"
	@for m in $(HOST_MAN); do \
	  out=$$(groff -man -ww -z $$m 2>&1); [ -z "$$out" ] || { echo "$$m: $$out"; exit 1; }; \
	  out=$$(MANWIDTH=80 man --warnings -l $$m 2>&1 >/dev/null); [ -z "$$out" ] || { echo "$$m: $$out"; exit 1; }; \
	  grep -q '^\.TH .*"libagentrecover $(VERSION)"' $$m || { echo "$$m: .TH does not name libagentrecover $(VERSION)"; exit 1; }; \
	done
	@$(AGENTRECOVERD) --help | sed -n 's/^  \([A-Z][A-Z0-9_]*\)  *default .*/\1/p' | sort > $(BUILD)/man-help-vars.txt
	@sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' docs/man/agentrecoverd.8 | \
	  sed -n 's/^\.B \([A-Z][A-Z0-9_]*\)$$/\1/p' | sort -u > $(BUILD)/man-page-vars.txt
	@[ -s $(BUILD)/man-help-vars.txt ] || { echo "agentrecoverd --help lists no variable"; exit 1; }
	@diff -u --label "agentrecoverd --help" --label "docs/man/agentrecoverd.8 ENVIRONMENT" \
	  $(BUILD)/man-help-vars.txt $(BUILD)/man-page-vars.txt || \
	  { echo "agentrecoverd(8): its ENVIRONMENT section must list exactly the variables of --help"; exit 1; }
	@echo "   $(HOST_MAN) OK; $$(wc -l < $(BUILD)/man-help-vars.txt) variables, as --help lists them"
