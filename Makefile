# bcachefs offline checker: build, tests, demo, install.
# `make check` and `make demo` first run the deps step (apt-get on Debian).

PREFIX		?= /usr/local
DESTDIR		?=
IMAGES		?= ../shared/images
CC		?= cc
PKG_CONFIG	?= pkg-config

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Werror=implicit-function-declaration \
		   -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -MMD -MP -Ilibbcachefs
PKG_CFLAGS	= $(shell $(PKG_CONFIG) --cflags blkid libisal libxxhash libsodium libzstd json-c 2>/dev/null)
LDLIBS		+= $(shell $(PKG_CONFIG) --libs blkid libisal libxxhash libsodium libzstd json-c 2>/dev/null) -laio -lurcu -lpthread

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

.PHONY: all deps check demo install uninstall clean unit unit-san bench

all: bcachefs

bcachefs: $(CMD_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJS) $(LIB) $(LDLIBS)

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
	@$(MAKE) --no-print-directory bcachefs $(BUILD)/san/bcachefs $(BUILD)/test/bcachefs $(UNIT_BINS) $(SAN_UNIT_BINS) $(TOOL_BINS)
	@sh tests/run.sh --images "$(IMAGES)" --build "$(BUILD)"

demo: deps
	@$(MAKE) --no-print-directory bcachefs
	@sh tests/demo.sh "$(IMAGES)"

bench: bcachefs $(BUILD)/tools/bch_inject
	@sh bench/list.sh "$(IMAGES)"
	@sh bench/fsck.sh "$(IMAGES)"
	@sh bench/repair.sh "$(IMAGES)"

install: bcachefs
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 bcachefs $(DESTDIR)$(PREFIX)/sbin/bcachefs
	install -m 0644 bcachefs.8 $(DESTDIR)$(PREFIX)/share/man/man8/bcachefs.8

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/bcachefs $(DESTDIR)$(PREFIX)/share/man/man8/bcachefs.8

clean:
	rm -rf $(BUILD) bcachefs tests/out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
