# make install / uninstall, honouring PREFIX and DESTDIR.
install: $(BUILD)/netfence
	install -D -m 0755 $(BUILD)/netfence $(DESTDIR)$(PREFIX)/sbin/netfence

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/netfence
