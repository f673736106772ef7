# bcachefs offline checker: build, tests, demo, install.
# `make check` and `make demo` first run the deps step (apt-get on Debian).

PREFIX		?= /usr/local
DESTDIR		?=
IMAGES		?= ../shared/images
# the format 1.37-1.39 images (tests/run.sh, t_v139.sh, t_format.sh)
IMAGES139	?= $(IMAGES)/../images-v139
CC		?= cc
PKG_CONFIG	?= pkg-config

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Werror=implicit-function-declaration \
		   -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -MMD -MP -Ilibbcachefs
PKG_CFLAGS	= $(shell $(PKG_CONFIG) --cflags blkid libisal libxxhash libsodium libzstd json-c 2>/dev/null)
LDLIBS		+= $(shell $(PKG_CONFIG) --libs blkid libisal libxxhash libsodium libzstd json-c 2>/dev/null) -laio -luring -lurcu -lpthread

LIB_SRCS	:= $(sort $(wildcard libbcachefs/*.c))
CMD_SRCS	:= $(sort $(wildcard c_src/*.c))
UNIT_SRCS	:= $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRCS	:= $(sort $(wildcard tests/tools/*.c))

BUILD		:= build
LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS	:= $(CMD_SRCS:%.c=$(BUILD)/%.o)
LIB		:= $(BUILD)/libbcachefs.a

# sanitizer build of the library and unit tests
SAN_FLAGS	:= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
SAN_CMD_OBJS	:= $(CMD_SRCS:%.c=$(BUILD)/san/%.o)
SAN_LIB		:= $(BUILD)/san/libbcachefs.a
# the test build of the command: test hooks (power cuts) compiled in
TEST_CMD_OBJS	:= $(CMD_SRCS:%.c=$(BUILD)/test/%.o)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
SAN_UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/san/unit/%)
TOOL_BINS	:= $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all deps check demo install uninstall deb clean unit unit-san bench

all: bcachefs fsck.bcachefs

bcachefs: $(CMD_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIB) $(LDLIBS)

# the same binary: invoked as fsck.bcachefs it takes fsck(8)'s options
fsck.bcachefs: bcachefs
	ln -sf bcachefs $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DBCH_TEST_HOOKS $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/test/bcachefs: $(TEST_CMD_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(TEST_CMD_OBJS) $(LIB) $(LDLIBS)

$(SAN_LIB): $(SAN_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -c -o $@ $<

# the sanitizer build of the command, used by the bad-input tests
$(BUILD)/san/bcachefs: $(SAN_CMD_OBJS) $(SAN_LIB)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(SAN_CMD_OBJS) $(SAN_LIB) $(LDLIBS)

$(BUILD)/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/san/unit/%: tests/unit/%.c $(SAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -o $@ $< $(SAN_LIB) $(LDLIBS) -lcmocka

# test tools: bch_corrupt damages image copies, bch_inject commits keys to them
$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

deps:
	@sh tests/deps.sh

unit: $(UNIT_BINS) $(SAN_UNIT_BINS)

check: deps
	@$(MAKE) --no-print-directory bcachefs fsck.bcachefs $(BUILD)/san/bcachefs $(BUILD)/test/bcachefs $(UNIT_BINS) $(SAN_UNIT_BINS) $(TOOL_BINS) $(BUILD)/bench/mkimage
	@IMAGES139="$(IMAGES139)" sh tests/run.sh --images "$(IMAGES)" --build "$(BUILD)"

# demo: needs nothing outside the repository (format --source, bch_inject)
demo: deps
	@$(MAKE) --no-print-directory bcachefs fsck.bcachefs $(BUILD)/tools/bch_inject
	@sh tests/demo.sh "$(BUILD)"

bench: bcachefs $(BUILD)/tools/bch_inject
	@sh bench/list.sh "$(IMAGES)"
	@sh bench/fsck.sh "$(IMAGES)"
	@sh bench/repair.sh "$(IMAGES)"

# fuzz-inject: random damage injected into copies of the corpus images,
# repaired, judged by our fsck -n and upstream's (tests/fuzz_inject.sh);
# failing seeds are kept in $(BUILD)/fuzz-inject. Not part of check.
# e.g. make fuzz-inject SEEDS="1 100" JOBS=4 FUZZ_OPTS="--kinds bp-delete"
SEEDS		?= 1 500
JOBS		?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_OPTS	?=
.PHONY: fuzz-inject
fuzz-inject: bcachefs $(BUILD)/tools/bch_inject
	@bash tests/fuzz_inject.sh -j $(JOBS) --images-dir "$(IMAGES)" --out $(BUILD)/fuzz-inject $(FUZZ_OPTS) $(SEEDS)

# bench/mkimage: consistent images at scale, made on the library (bench/README.md)
.PHONY: mkimage
mkimage: $(BUILD)/bench/mkimage
$(BUILD)/bench/mkimage: bench/mkimage.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# bench/scale.sh: fsck -n at 1e5..1e7 buckets beside the read floor
# (bench/readfloor), e.g. make scale SCALE_OPTS="--sizes 1e5,1e6"
.PHONY: scale
scale: bcachefs $(BUILD)/bench/mkimage $(BUILD)/bench/readfloor
	@sh bench/scale.sh --build "$(BUILD)" $(SCALE_OPTS)
$(BUILD)/bench/readfloor: bench/readfloor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -laio -luring

# make campaign: the corruption campaign (tests/campaign/campaign.mk)
include tests/campaign/campaign.mk

# make fuzz: the libFuzzer targets (tests/fuzz/fuzz.mk, tests/fuzz/README.md)
include tests/fuzz/fuzz.mk

# install: the command, fsck.bcachefs (a relative symlink to it), the
# bcachefs-repair script, the manual pages and the bash completion (one
# file; bash-completion loads completions by command name, so the other two
# commands get symlinks to it). Builds nothing that is already built.
SBINDIR		= $(PREFIX)/sbin
MAN8DIR		= $(PREFIX)/share/man/man8
BASHCOMPDIR	= $(PREFIX)/share/bash-completion/completions
MAN8PAGES	= bcachefs.8 fsck.bcachefs.8 bcachefs-repair.8

install: bcachefs
	install -D -m 0755 bcachefs $(DESTDIR)$(SBINDIR)/bcachefs
	ln -sfn bcachefs $(DESTDIR)$(SBINDIR)/fsck.bcachefs
	install -m 0755 c_src/bcachefs-repair.sh $(DESTDIR)$(SBINDIR)/bcachefs-repair
	install -d $(DESTDIR)$(MAN8DIR)
	install -m 0644 $(MAN8PAGES) $(DESTDIR)$(MAN8DIR)/
	install -D -m 0644 c_src/bcachefs-completion.bash $(DESTDIR)$(BASHCOMPDIR)/bcachefs
	ln -sfn bcachefs $(DESTDIR)$(BASHCOMPDIR)/fsck.bcachefs
	ln -sfn bcachefs $(DESTDIR)$(BASHCOMPDIR)/bcachefs-repair

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/bcachefs $(DESTDIR)$(SBINDIR)/fsck.bcachefs \
		$(DESTDIR)$(SBINDIR)/bcachefs-repair \
		$(MAN8PAGES:%=$(DESTDIR)$(MAN8DIR)/%) \
		$(DESTDIR)$(BASHCOMPDIR)/bcachefs $(DESTDIR)$(BASHCOMPDIR)/fsck.bcachefs \
		$(DESTDIR)$(BASHCOMPDIR)/bcachefs-repair

# deb: the Debian package (debian/), built with dpkg-buildpackage in a copy
# of the working tree in a temporary directory (DEB_TMP), so that the build
# (which starts with `make clean`) never touches this tree. The .deb, the
# .buildinfo/.changes, the build log and lintian's report of the .deb land
# in DEB_OUT; fails if the build fails or lintian reports an error.
DEB_TMP		?= $(or $(TMPDIR),/tmp)
DEB_OUT		?= $(BUILD)/deb
deb:
	@set -e; \
	for t in dpkg-buildpackage dpkg-parsechangelog dh lintian; do \
		command -v $$t >/dev/null || { echo "deb: $$t not found (sh tests/deps.sh installs it)" >&2; exit 1; }; \
	done; \
	tmp=$$(mktemp -d "$(DEB_TMP)/bcachefs-deb.XXXXXX"); \
	trap 'rm -rf "$$tmp"' EXIT; \
	ver=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	src=$$tmp/bcachefs-offline-fsck-$$ver; \
	mkdir "$$src"; \
	tar -C . --anchored --exclude=./.git --exclude=./build \
		--exclude=./bcachefs --exclude=./fsck.bcachefs --exclude=./tests/out \
		--exclude='./*.undo' --exclude=./debian/bcachefs-offline-fsck \
		--exclude=./debian/.debhelper --exclude=./debian/files \
		--exclude='./debian/*.substvars' --exclude='./debian/*.log' \
		--exclude=./debian/debhelper-build-stamp -cf - . | tar -C "$$src" -xf -; \
	echo "deb: building in $$src"; \
	(cd "$$src" && dpkg-buildpackage -us -uc -b -jauto) >"$$tmp/build.log" 2>&1 || \
		{ tail -n 40 "$$tmp/build.log" >&2; echo "deb: dpkg-buildpackage failed" >&2; exit 1; }; \
	mkdir -p "$(DEB_OUT)"; \
	rm -f "$(DEB_OUT)"/*; \
	cp "$$tmp/build.log" "$$tmp"/*.deb "$$tmp"/*.buildinfo "$$tmp"/*.changes "$(DEB_OUT)"/; \
	ls "$(DEB_OUT)"/*.deb; \
	lrc=0; TMPDIR="$$tmp" lintian --display-info --tag-display-limit 0 "$$tmp"/*.deb >"$(DEB_OUT)/lintian.txt" 2>&1 || lrc=$$?; \
	echo "deb: lintian: $$(grep -c '^E:' "$(DEB_OUT)/lintian.txt") errors, $$(grep -c '^W:' "$(DEB_OUT)/lintian.txt") warnings ($(DEB_OUT)/lintian.txt)"; \
	[ "$$lrc" -eq 0 ] || { grep -E '^E:' "$(DEB_OUT)/lintian.txt" >&2; echo "deb: lintian exit status $$lrc" >&2; exit 1; }

clean:
	rm -rf $(BUILD) bcachefs fsck.bcachefs tests/out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
