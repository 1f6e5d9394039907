# make docs: the data-path diagram (docs/datapath.dot -> .svg and .png, with
# graphviz's dot; scripts/install-deps.sh installs graphviz). Both renderings
# are committed, so that readers and `make install` need nothing.
DOT ?= dot

.PHONY: docs
docs: docs/datapath.svg docs/datapath.png

docs/datapath.svg: docs/datapath.dot
	$(call msg,DOT,$@)
	$(Q)$(DOT) -Tsvg $< -o $@

docs/datapath.png: docs/datapath.dot
	$(call msg,DOT,$@)
	$(Q)$(DOT) -Tpng -Gdpi=96 $< -o $@
