# make install / uninstall, honouring PREFIX (default /usr/local) and DESTDIR.
#
#   $(PREFIX)/sbin/netfence                                the binary
#   $(PREFIX)/share/man/man8/netfence.8                    the manual page
#   $(PREFIX)/share/bash-completion/completions/netfence   bash completion
#   $(PREFIX)/share/doc/netfence/README.md, docs/*         the documentation
#
# The documentation keeps the repository's layout (README.md next to docs/)
# so that its relative links work where it is installed. uninstall removes
# these files and the doc directories (rmdir: never a file it did not put
# there, never a shared directory).
# tests/root/test_install.sh checks the tree both ways.

INSTALL     ?= install
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR      ?= $(PREFIX)/share/doc/netfence

INSTALL_DOCS := $(wildcard docs/*.md docs/*.svg docs/*.png)

install: $(BUILD)/netfence
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -D -m 0755 $(BUILD)/netfence $(DESTDIR)$(SBINDIR)/netfence
	$(Q)$(INSTALL) -D -m 0644 man/netfence.8 $(DESTDIR)$(MANDIR)/man8/netfence.8
	$(Q)$(INSTALL) -D -m 0644 completion/netfence.bash \
		$(DESTDIR)$(BASHCOMPDIR)/netfence
	$(Q)$(INSTALL) -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(DOCDIR)/docs
	$(Q)$(if $(INSTALL_DOCS),$(INSTALL) -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/docs/)

uninstall:
	$(call msg,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/netfence $(DESTDIR)$(MANDIR)/man8/netfence.8 \
		$(DESTDIR)$(BASHCOMPDIR)/netfence
	$(Q)rm -f $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/docs/*.md \
		$(DESTDIR)$(DOCDIR)/docs/*.svg $(DESTDIR)$(DOCDIR)/docs/*.png
	$(Q)for d in $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR); do \
		if [ -d "$$d" ]; then rmdir "$$d" || exit 1; fi; \
	done
