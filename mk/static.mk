# make static: build/netfence-static, one binary that needs no shared library
# at all: libbpf, libelf and zlib from Debian's -dev .a files (and whatever
# else LDLIBS names, libseccomp and libidn2 say, with what their .a files
# need: libidn2.a calls libunistring, from libunistring-dev), glibc too; the BPF object is embedded
# as in the ordinary build. user/linkage.c is built a second time with
# NETFENCE_STATIC: `--version` and `check` say "static", and name and user
# lookups never load an NSS module (linkage.h).
.PHONY: static

STATIC_OBJS := $(filter-out $(BUILD)/user/linkage.o,$(USER_OBJS)) $(BUILD)/static/linkage.o
# pkg-config --static: the libraries a static libidn2 needs (libunistring)
STATIC_LDLIBS := $(LDLIBS) $(shell pkg-config --static --libs-only-l libidn2 2>/dev/null || \
		   echo -lidn2 -lunistring)

static: $(BUILD)/netfence-static

$(BUILD)/static:
	$(Q)mkdir -p $@

$(BUILD)/static/linkage.o: user/linkage.c | $(BUILD)/static
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -DNETFENCE_STATIC -c $< -o $@

# glibc's linker warnings about getaddrinfo/getpwnam in a static binary are
# answered by linkage_init() (files and dns only, no dlopen): filtered out
$(BUILD)/netfence-static: $(STATIC_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -static $^ -o $@ $(LDFLAGS) $(STATIC_LDLIBS) 2>$@.ldlog || \
		{ cat $@.ldlog >&2; rm -f $@.ldlog; exit 1; }
	$(Q)grep -v -e 'in statically linked applications requires at runtime' \
		-e ': in function ' $@.ldlog >&2 || true
	$(Q)rm -f $@.ldlog
