# Memory and undefined-behaviour checks of the user side.
#
#   make check-asan-unit   unit tests built with ASan+UBSan ($(ASAN_BUILD))
#   make check-asan-root   root suites (tests/run.sh root) with the ASan
#                          netfence (NETFENCE=...; the probes stay as built):
#                          ASAN_SUITES, the suites that drive every command and
#                          parser of the user side (ASAN_SUITES=all: every one)
#   make check-valgrind    the unit tests (normal build) under valgrind
#   make check-memory      all three
#
# The ASan build is a separate build directory made by a recursive make
# with CFLAGS/LDFLAGS in its environment (the Makefile appends its own).
# Every report (ASan, LeakSanitizer, UBSan) goes to a file under
# $(ASAN_BUILD)/logs/; a target fails if one is written, whatever the
# tests said. UBSan is not recoverable here: the first error stops the
# process.

ASAN_BUILD   ?= build/asan
ASAN_LOGS    := $(ASAN_BUILD)/logs
ASAN_CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=all
ASAN_LDFLAGS := -fsanitize=address,undefined
ASAN_ENV      = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$(abspath $(ASAN_LOGS))/asan \
                LSAN_OPTIONS=log_path=$(abspath $(ASAN_LOGS))/lsan \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(abspath $(ASAN_LOGS))/ubsan
ASAN_UNIT    := $(patsubst $(BUILD)/%,$(ASAN_BUILD)/%,$(UNIT_BINS))
VALGRIND     ?= valgrind
VALGRIND_OPTS ?= -q --error-exitcode=1 --leak-check=full \
                 --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect

.PHONY: asan-build check-asan-unit check-asan-root check-valgrind check-memory

asan-build:
	$(Q)CFLAGS='$(ASAN_CFLAGS)' LDFLAGS='$(ASAN_LDFLAGS)' $(MAKE) --no-print-directory \
		BUILD=$(ASAN_BUILD) $(ASAN_BUILD)/netfence $(ASAN_UNIT)

# asan_reports: fail when a sanitizer wrote a report (the files are kept)
define asan_reports
	if ls $(ASAN_LOGS)/* >/dev/null 2>&1; then \
		echo "sanitizer reports in $(ASAN_LOGS):"; \
		head -n 40 $(ASAN_LOGS)/*; exit 1; \
	fi
endef

check-asan-unit: asan-build
	$(Q)rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(Q)fail=0; for t in $(ASAN_UNIT); do \
		if $(ASAN_ENV) $$t >$(ASAN_LOGS)/../$$(basename $$t).out 2>&1; then \
			echo "asan: $$(basename $$t): $$(grep -E '^\[  PASSED  \]' $(ASAN_LOGS)/../$$(basename $$t).out)"; \
		else \
			fail=1; echo "asan: $$(basename $$t) FAILED:"; tail -n 30 $(ASAN_LOGS)/../$$(basename $$t).out; \
		fi; \
	done; $(call asan_reports); exit $$fail

# every command, flag parser, config generator and log reader of the user side runs in these
ASAN_SUITES  ?= enforce badinput squid dns report bump upstream doc_commands adversarial_net

check-asan-root: asan-build all
	$(Q)rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(Q)$(ASAN_ENV) NETFENCE=$(abspath $(ASAN_BUILD))/netfence \
		NFT_SUITES='$(filter-out all,$(ASAN_SUITES))' bash tests/run.sh root; \
		rc=$$?; $(call asan_reports); exit $$rc

check-valgrind: $(UNIT_BINS)
	$(Q)command -v $(VALGRIND) >/dev/null || { \
		echo "valgrind: installing it" >&2; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
	$(Q)fail=0; for t in $(UNIT_BINS); do \
		if $(VALGRIND) $(VALGRIND_OPTS) --log-file=$$t.valgrind $$t >$$t.vgout 2>&1 && \
			[ ! -s $$t.valgrind ]; then \
			echo "valgrind: $$(basename $$t): clean"; \
		else \
			fail=1; echo "valgrind: $$(basename $$t) FAILED:"; \
			tail -n 20 $$t.vgout; head -n 60 $$t.valgrind; \
		fi; \
	done; exit $$fail

check-memory: check-asan-unit check-valgrind check-asan-root
