# libFuzzer targets (tests/fuzz/README.md), included by the Makefile.
#
#   make fuzz FUZZ_SECONDS=60     build, make the seeds, run each target
#   make fuzz-build               the targets only (build/fuzz/fuzz_*)
#   make fuzz-seeds               seed corpora from the image corpus
#   make fuzz-regress             replay tests/fuzz/regress/TARGET/*
#
# Built with clang (-fsanitize=fuzzer,address,undefined) from their own
# objects in $(FUZZ_BUILD); the gcc build is not touched. Corpora are kept
# in $(FUZZ_BUILD)/corpus/TARGET, what a run finds in
# $(FUZZ_BUILD)/findings/TARGET, and a line per run in $(FUZZ_BUILD)/stats.txt.
# Runs use one core at nice 10.

ifndef FUZZ_MK_INCLUDED
FUZZ_MK_INCLUDED := 1

FUZZ_CC		?= clang
# absolute, so that the dependency files name the same targets whatever
# spelling of BUILD a make was given
FUZZ_BUILD	:= $(abspath $(BUILD))/fuzz
FUZZ_SECONDS	?= 60
FUZZ_TARGETS	:= sb jset node check repair
FUZZ_OPTS	?=
# the seed images: small ones (tiny, fresh, the unclean one), one device each
# or two; names as in $(IMAGES)/index.tsv
FUZZ_IMAGES	?= tiny-128 dirty fresh-128-default fresh-128-opts fresh-128-two-dev \
		   copygc-oob lru-wrong-time two-dev-oob v136-copygc-oob v136-missing-bp \
		   v136-fresh-default v136-fresh-opts v136-fresh-two-dev

FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	:= -O1 -g -std=gnu11 -Wall -Wextra -Werror=implicit-function-declaration \
		   -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -MMD -MP \
		   -Ilibbcachefs -Ic_src -Itests/fuzz $(FUZZ_SAN) $(PKG_CFLAGS)

FUZZ_LIB_OBJS	:= $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
# the command's parts without its main()
FUZZ_CMD_OBJS	:= $(filter-out $(FUZZ_BUILD)/obj/c_src/bcachefs.o,$(CMD_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o))
FUZZ_UTIL_OBJ	:= $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_util.o
FUZZ_ARCHIVES	:= $(FUZZ_BUILD)/libfuzzcmd.a $(FUZZ_BUILD)/libfuzzbch.a
FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# largest input of each target (a packed image holds the blocks a check reads)
FUZZ_MAXLEN	= $$(case $$t in sb) echo 65536;; jset) echo 65537;; node) echo 524289;; \
		  *) echo 4194304;; esac)
# the seeds each target starts from
FUZZ_SEEDDIR	= $(FUZZ_BUILD)/seeds/$$(case $$t in check|repair) echo image;; *) echo $$t;; esac)

.PHONY: fuzz fuzz-build fuzz-seeds fuzz-regress

fuzz-build: $(FUZZ_BINS) $(FUZZ_BUILD)/fuzz_seeds

# objects instrumented for coverage; libFuzzer's main comes at the link
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libfuzzbch.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/libfuzzcmd.a: $(FUZZ_CMD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_UTIL_OBJ) $(FUZZ_ARCHIVES)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_UTIL_OBJ) \
		$(FUZZ_ARCHIVES) $(LDLIBS)

# the seed cutter is a plain program (no libFuzzer main)
$(FUZZ_BUILD)/fuzz_seeds: tests/fuzz/fuzz_seeds.c $(FUZZ_UTIL_OBJ) $(FUZZ_ARCHIVES)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -o $@ $< $(FUZZ_UTIL_OBJ) \
		$(FUZZ_ARCHIVES) $(LDLIBS)

# seeds: the images decompressed into $(FUZZ_BUILD)/images, cut by
# fuzz_seeds into $(FUZZ_BUILD)/seeds/{image,sb,jset,node}
fuzz-seeds: $(FUZZ_BUILD)/seeds/.done

$(FUZZ_BUILD)/seeds/.done: $(FUZZ_BUILD)/fuzz_seeds
	@set -e; mkdir -p $(FUZZ_BUILD)/images $(FUZZ_BUILD)/seeds; \
	if [ ! -r "$(IMAGES)/index.tsv" ]; then \
		echo "fuzz-seeds: no image corpus at $(IMAGES): no seeds (the targets start empty)"; \
		touch $@; exit 0; \
	fi; \
	for name in $(FUZZ_IMAGES); do \
		devs=$$(awk -F '\t' -v n="$$name" '$$1 == n { print $$2 }' "$(IMAGES)/index.tsv" | tr ',' ' '); \
		[ -n "$$devs" ] || { echo "fuzz-seeds: no image $$name in $(IMAGES)"; continue; }; \
		paths=; \
		for d in $$devs; do \
			out=$(FUZZ_BUILD)/images/$${d%.zst}; \
			[ -f "$$out" ] || zstd -q -d -f --sparse "$(IMAGES)/$$d" -o "$$out" </dev/null; \
			paths="$$paths $$out"; \
		done; \
		ASAN_OPTIONS=detect_leaks=1 $(FUZZ_BUILD)/fuzz_seeds $(FUZZ_BUILD)/seeds "$$name" $$paths || \
			echo "fuzz-seeds: $$name: no seeds"; \
	done; \
	for s in image sb jset node; do \
		echo "fuzz-seeds: $$s: $$(ls $(FUZZ_BUILD)/seeds/$$s 2>/dev/null | wc -l) seeds"; \
	done; \
	touch $@

# fuzz: each target FUZZ_SECONDS seconds on one core, its corpus kept;
# a line per target to stats.txt: executions, executions per second,
# corpus size, findings so far
fuzz: fuzz-build fuzz-seeds
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/findings/$$t; \
		seeds=$(FUZZ_SEEDDIR); \
		mkdir -p $$seeds; \
		log=$(FUZZ_BUILD)/fuzz_$$t.log; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s (log $$log)"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		nice -n 10 $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-max_len=$(FUZZ_MAXLEN) \
			-timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -close_fd_mask=1 \
			-artifact_prefix=$(FUZZ_BUILD)/findings/$$t/ $(FUZZ_OPTS) \
			$(FUZZ_BUILD)/corpus/$$t $$seeds >$$log 2>&1 || true; \
		sh tests/fuzz/stats.sh $$t $$log $(FUZZ_BUILD) | tee -a $(FUZZ_BUILD)/stats.txt; \
	done; \
	n=$$(find $(FUZZ_BUILD)/findings -type f | wc -l); \
	echo "fuzz: $$n findings in $(FUZZ_BUILD)/findings"; \
	find $(FUZZ_BUILD)/findings -type f | sed 's/^/  /'

# every input kept in tests/fuzz/regress/TARGET must run clean
fuzz-regress: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
		[ -d tests/fuzz/regress/$$t ] || continue; \
		set -- tests/fuzz/regress/$$t/*; [ -e "$$1" ] || continue; \
		echo "fuzz-regress: $$t: $$# inputs"; \
		ASAN_OPTIONS=detect_leaks=1 $(FUZZ_BUILD)/fuzz_$$t "$$@" >$(FUZZ_BUILD)/regress_$$t.log 2>&1 || \
			{ tail -n 30 $(FUZZ_BUILD)/regress_$$t.log; echo "fuzz-regress: $$t FAILED"; exit 1; }; \
	done

# (the Makefile includes the .d files of everything under $(BUILD))

endif
