# make fuzz: libFuzzer targets for the parsers and the Squid config
# generator (tests/fuzz/fuzz_*.c), built with clang and
# -fsanitize=fuzzer,address,undefined against the user sources they need,
# then each run for FUZZ_SECONDS (default 10: a bounded run for CI).
#
#   make fuzz                      build, run each target FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600     a longer run by hand
#   make fuzz FUZZ_TARGETS=addr    one target
#   make fuzz-build                build only
#
# Seeds: tests/fuzz/corpus/<target>/ (read only). New inputs go to
# $(BUILD)/fuzz/corpus/<target>/, crashes to $(BUILD)/fuzz/artifacts/
# (crash-*, leak-*, timeout-*: reproduce with build/fuzz/fuzz_<target> FILE).
# One line per target: "fuzz_<target>: N runs in S s, corpus C".

FUZZ_SECONDS ?= 10
FUZZ_TARGETS ?= portspec addr domains resolv squidconf report urls
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CC      ?= $(CLANG)
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE \
                -Wall -Wextra -Werror -Iinclude -Iuser -Itests/fuzz

# the user sources each target needs (never main.o, nothing BPF)
FUZZ_SRCS_portspec  := user/parse.c
FUZZ_SRCS_addr      := user/parse.c
FUZZ_SRCS_domains   := user/domains.c user/parse.c
FUZZ_SRCS_resolv    := user/resolve.c user/parse.c
FUZZ_SRCS_squidconf := user/squid_conf.c user/domains.c user/parse.c user/urls.c \
                       user/proc.c user/files.c user/cgroup.c
FUZZ_SRCS_report    := user/report.c user/report_render.c user/jsonread.c user/json.c \
                       user/domains.c user/parse.c
FUZZ_SRCS_urls      := user/urls.c user/domains.c user/parse.c

# domains.c converts internationalised names with libidn2
FUZZ_LDLIBS := $(shell pkg-config --libs libidn2 2>/dev/null || echo -lidn2)

FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-build fuzz-deps

# libFuzzer's runtime is Debian's libclang-rt-<N>-dev (clang itself is a
# build dependency already): installed here when missing.
fuzz-deps:
	$(Q)if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; return (int)n * 0; }' | \
		$(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then \
		v=$$($(FUZZ_CC) -dumpversion | cut -d. -f1); \
		echo "fuzz: installing libclang-rt-$$v-dev (libFuzzer)" >&2; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "libclang-rt-$$v-dev" >/dev/null; \
	fi

fuzz-build: fuzz-deps $(FUZZ_BINS)

define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz_common.h $(FUZZ_SRCS_$(1)) \
		$(wildcard user/*.h include/*.h) | fuzz-deps
	$$(call msg,FUZZ-CC,$$@)
	$$(Q)mkdir -p $(FUZZ_DIR)
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$< $(FUZZ_SRCS_$(1)) -o $$@ $(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz: fuzz-build
	$(Q)mkdir -p $(FUZZ_DIR)/artifacts
	$(Q)fail=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t; \
		$(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
			$(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t \
			>$(FUZZ_DIR)/$$t.log 2>&1; rc=$$?; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/$$t.log); \
		secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $(FUZZ_DIR)/$$t.log); \
		corp=$$(ls $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t | grep -vc ':$$'); \
		if [ $$rc -ne 0 ]; then \
			fail=1; echo "fuzz_$$t: FAILED (exit $$rc) after $${runs:-?} runs:"; \
			grep -E 'ERROR|property failed|SUMMARY|artifact|^    #[0-9]' $(FUZZ_DIR)/$$t.log | head -30; \
		else \
			echo "fuzz_$$t: $${runs:-?} runs in $${secs:-?} s, corpus $$corp"; \
		fi; \
	done; exit $$fail
