// SPDX-License-Identifier: GPL-2.0
/*
 * bcachefs fsck: the offline pass check_bucket_bitmaps, check-only (-n).
 *
 * Passes, in order (--list-passes):
 *   alloc_backpointers  alloc and backpointers walked together: bucket
 *                       bitmaps, stale and orphan backpointers
 *   lru                 LRU entries against the alloc keys
 *   pointers            extents, reflink, stripes and btree node pointers
 *                       into the buckets that did not add up
 *   bucket_index        freespace, need_discard, bucket_gens in range
 * then the copygc verdict.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "btree_iter.h"
#include "cmds.h"
#include "fs.h"
#include "fsck.h"
#include "fsck_repair.h"
#include "json_compat.h"

#define FSCK_RATELIMIT	10u

enum fsck_pass {
	PASS_ALLOC_BP,
	PASS_LRU,
	PASS_POINTERS,
	PASS_BUCKET_INDEX,
	PASS_ACCOUNTING,
	PASS_NR,
};

static const struct {
	const char	*name;
	const char	*desc;
} passes[PASS_NR] = {
	[PASS_ALLOC_BP]	    = { "alloc_backpointers",
				"alloc x backpointers merge walk: mismatch/empty bitmaps, stale and orphan backpointers" },
	[PASS_LRU]	    = { "lru", "LRU entries against the alloc keys (needs alloc_backpointers)" },
	[PASS_POINTERS]	    = { "pointers",
				"pointers into mismatched buckets: missing and dangling backpointers, alloc sectors (needs alloc_backpointers)" },
	[PASS_BUCKET_INDEX] = { "bucket_index", "freespace, need_discard and bucket_gens entries in range" },
	[PASS_ACCOUNTING]   = { "accounting",
				"per-device bucket accounting (buckets, sectors, fragmented per data type) against the alloc keys (needs alloc_backpointers)" },
};

enum fsck_mode {
	MODE_CHECK,	/* -n, or no terminal to ask on */
	MODE_YES,	/* -y: fix everything */
	MODE_PREEN,	/* -p/-a: fix what is safe unattended */
	MODE_ASK,	/* default on a terminal: ask per error type */
};

struct fsck_opts {
	enum fsck_mode	mode;
	bool		mode_given;
	const char	*undo_file;	/* -z; NULL: a new file in the current directory */
	bool		no_undo;
	bool		verbose;
	bool		findings;	/* print the expected-findings vocabulary */
	const char	*json_file;	/* "-" for stdout */
	bool		json;
	const char	*dump_dir;
	const char	*passphrase_file;
	bool		pass[PASS_NR];
};

struct fsck_ctx {
	struct bch_fs		*fs;
	struct fsck_opts	*o;
	struct bch_check	chk;
	unsigned		printed[BCH_F_NR];
	uint64_t		nr_findings;
	json_object		*jfindings;
	struct printbuf		pb;
	FILE			*out;	/* human report; NULL when silent */
	bool			collect;	/* keep every finding (repair) */
	struct bch_finding	*found;
	size_t			nr_found, found_size;
};

/* ---- key sources over btree iterators ---- */

static int iter_next(void *ctx, struct bkey *k, struct bch_error *err)
{
	return bch_btree_iter_next(ctx, k, err);
}

static void src_init(struct bch_key_src *s, struct bch_btree_iter *it, struct bch_fs *fs,
		     unsigned btree)
{
	bch_btree_iter_init(it, fs, btree, POS_MIN, SPOS_MAX);
	s->next = iter_next;
	s->ctx = it;
}

/* ---- findings ---- */

static int on_finding(void *ctx, const struct bch_finding *f)
{
	struct fsck_ctx *c = ctx;
	unsigned version = c->fs->sb->version;

	c->nr_findings++;
	if (c->collect) {
		if (c->nr_found == c->found_size) {
			size_t ns = c->found_size ? c->found_size * 2 : 64;
			struct bch_finding *n = realloc(c->found, ns * sizeof(*n));

			if (!n)
				return -BCH_ERR_NOMEM;
			c->found = n;
			c->found_size = ns;
		}
		c->found[c->nr_found++] = *f;
	}
	if (c->jfindings) {
		json_object *j = json_object_new_object();
		const char *btree = bch_btree_id_name(f->btree_id, version);

		pb_reset(&c->pb);
		pb_bpos(&c->pb, f->pos);
		json_object_object_add(j, "error", json_object_new_string(fsck_finding_error_name(f)));
		json_object_object_add(j, "kind", json_object_new_string(bch_finding_name(f->kind)));
		json_object_object_add(j, "btree", json_object_new_string(btree ? btree : "?"));
		json_object_object_add(j, "pos", json_object_new_string(c->pb.buf));
		json_object_object_add(j, "dev", json_object_new_int64(f->dev));
		json_object_object_add(j, "bucket", json_object_new_uint64(f->bucket));
		pb_reset(&c->pb);
		fsck_finding_line(&c->pb, f, &c->chk.geom, version);
		json_object_object_add(j, "detail", json_object_new_string(c->pb.buf));
		json_object_array_add(c->jfindings, j);
	}
	if (c->o->findings) {
		pb_reset(&c->pb);
		fsck_finding_line(&c->pb, f, &c->chk.geom, version);
		printf("%s\n", c->pb.buf);
		return 0;
	}
	if (!c->out)
		return 0;
	if (!c->o->verbose && c->printed[f->kind]++ >= FSCK_RATELIMIT)
		return 0;
	pb_reset(&c->pb);
	fsck_finding_text(&c->pb, f, version);
	fprintf(c->out, "%s\n", c->pb.buf);
	return 0;
}

static void print_ratelimited(struct fsck_ctx *c)
{
	for (unsigned k = 0; k < BCH_F_NR && c->out && !c->o->verbose; k++) {
		uint64_t n = c->chk.stats.findings[k];

		if (n > FSCK_RATELIMIT)
			fprintf(c->out, "... and %" PRIu64 " more %s (%s); -v shows all\n",
				n - FSCK_RATELIMIT, fsck_problem(k)->upstream, bch_finding_name(k));
	}
}

/* ---- passes ---- */

static int pass_alloc_bp(struct fsck_ctx *c, struct bch_error *err)
{
	struct bch_btree_iter ai, bi;
	struct bch_key_src as, bs;
	int ret;

	src_init(&as, &ai, c->fs, BTREE_ID_alloc);
	src_init(&bs, &bi, c->fs, BTREE_ID_backpointers);
	ret = bch_check_alloc_backpointers(&c->chk, &as, &bs, err);
	bch_btree_iter_exit(&ai);
	bch_btree_iter_exit(&bi);
	return ret;
}

static int pass_lru(struct fsck_ctx *c, struct bch_error *err)
{
	struct bch_btree_iter it;
	struct bch_key_src s;
	int ret;

	src_init(&s, &it, c->fs, BTREE_ID_lru);
	ret = bch_check_lru(&c->chk, &s, err);
	bch_btree_iter_exit(&it);
	return ret;
}

struct ptr_scan {
	struct fsck_ctx	*c;
	unsigned	btree;
};

static bool btree_has_data(unsigned id)
{
	return id == BTREE_ID_extents || id == BTREE_ID_reflink || id == BTREE_ID_stripes;
}

static int scan_visit(void *ctx, const struct bch_node_expect *x, const struct bch_btree_node *n,
		      const struct bkey *kids, size_t nr, struct bch_error *err)
{
	struct ptr_scan *s = ctx;
	int ret = 0;

	(void)x;
	if (!n->level && !btree_has_data(s->btree))
		return 0;
	for (size_t i = 0; i < nr && !ret; i++)
		ret = bch_check_ptr_key(&s->c->chk, s->btree, n->level, &kids[i], err);
	return ret;
}

static int pass_pointers(struct fsck_ctx *c, struct bch_error *err)
{
	int ret = 0;

	if (!bch_check_need_ptr_scan(&c->chk))
		return 0;
	for (unsigned id = 0; id < BTREE_ID_NR_MAX && !ret; id++) {
		const struct bch_btree_root *r = &c->fs->journal.roots[id];
		struct ptr_scan s = { .c = c, .btree = id };

		if (!r->present)
			continue;
		/* the root's own pointer: its backpointer has level root + 1 */
		ret = bch_check_ptr_key(&c->chk, id, r->level + 1, &r->k, err) ?:
		      bch_btree_walk_nodes_from(c->fs, id, btree_has_data(id) ? 0 : 1,
						scan_visit, &s, err);
	}
	return ret ?: bch_check_ptrs_finish(&c->chk, err);
}

static int pass_bucket_index(struct fsck_ctx *c, struct bch_error *err)
{
	static const unsigned ids[] = {
		BTREE_ID_freespace, BTREE_ID_need_discard, BTREE_ID_bucket_gens,
	};
	int ret = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(ids) && !ret; i++) {
		struct bch_btree_iter it;
		struct bch_key_src s;

		src_init(&s, &it, c->fs, ids[i]);
		ret = bch_check_bucket_index(&c->chk, ids[i], &s, err);
		bch_btree_iter_exit(&it);
	}
	return ret;
}

static int pass_accounting(struct fsck_ctx *c, struct bch_error *err)
{
	const struct bch_journal *j = &c->fs->journal;
	struct bkey *deltas = calloc(j->nr_acct ? j->nr_acct : 1, sizeof(*deltas));
	struct bch_btree_iter it;
	struct bch_key_src s;
	int ret;

	if (!deltas)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < j->nr_acct; i++)
		deltas[i] = j->acct[i].k;
	src_init(&s, &it, c->fs, BTREE_ID_accounting);
	bch_btree_iter_nodes_only(&it);
	ret = bch_check_dev_accounting(&c->chk, &s, deltas, j->nr_acct, err);
	bch_btree_iter_exit(&it);
	free(deltas);
	return ret;
}

/* ---- reports ---- */

/* [from, to] ranges of set bits, at most max of them (0: all) */
static void bitmap_ranges(const struct bch_bitmap *b, unsigned max, struct printbuf *pb,
			  json_object *jarr)
{
	uint64_t bit = 0, from, to;
	unsigned n = 0;

	while (bch_bitmap_next_set(b, bit, &from)) {
		to = from;
		while (to + 1 < b->nbits && bch_bitmap_test(b, to + 1) == 1)
			to++;
		if (jarr) {
			json_object *r = json_object_new_array();

			json_object_array_add(r, json_object_new_uint64(from));
			json_object_array_add(r, json_object_new_uint64(to));
			json_object_array_add(jarr, r);
		}
		if (pb && (!max || n < max)) {
			if (from == to)
				pb_printf(pb, " %" PRIu64, from);
			else
				pb_printf(pb, " %" PRIu64 "-%" PRIu64, from, to);
		} else if (pb && n == max) {
			pb_puts(pb, " ...");
		}
		n++;
		bit = to + 1;
	}
}

static void report_devices(struct fsck_ctx *c, json_object *jdevs)
{
	const struct bch_check_geom *g = &c->chk.geom;

	for (unsigned d = 0; d < g->nr_devs; d++) {
		const struct bch_bitmap *m = &c->chk.mismatch[d], *e = &c->chk.empty[d];

		if (!g->dev[d].exists)
			continue;
		if (c->out) {
			fprintf(c->out, "device %u: %" PRIu64 " buckets (first %u, %u sectors each): %" PRIu64
				" mismatched, %" PRIu64 " empty\n", d, g->dev[d].nbuckets,
				g->dev[d].first_bucket, g->dev[d].bucket_size,
				bch_bitmap_weight(m), bch_bitmap_weight(e));
			if (bch_bitmap_weight(m)) {
				pb_reset(&c->pb);
				bitmap_ranges(m, 16, &c->pb, NULL);
				fprintf(c->out, "  mismatch:%s\n", c->pb.buf);
			}
			if (bch_bitmap_weight(e)) {
				pb_reset(&c->pb);
				bitmap_ranges(e, 16, &c->pb, NULL);
				fprintf(c->out, "  empty:%s\n", c->pb.buf);
			}
		}
		if (jdevs) {
			json_object *j = json_object_new_object();
			json_object *jm = json_object_new_array(), *je = json_object_new_array();

			json_object_object_add(j, "dev", json_object_new_int(d));
			json_object_object_add(j, "nbuckets", json_object_new_uint64(g->dev[d].nbuckets));
			json_object_object_add(j, "first_bucket", json_object_new_int(g->dev[d].first_bucket));
			json_object_object_add(j, "bucket_size", json_object_new_int(g->dev[d].bucket_size));
			bitmap_ranges(m, 0, NULL, jm);
			bitmap_ranges(e, 0, NULL, je);
			json_object_object_add(j, "mismatch", jm);
			json_object_object_add(j, "empty", je);
			json_object_array_add(jdevs, j);
		}
	}
}

static void report_copygc(struct fsck_ctx *c, json_object *jroot)
{
	bool any, fault = bch_check_copygc_would_fault(&c->chk, &any);
	json_object *jl = jroot ? json_object_new_array() : NULL;

	for (size_t i = 0; i < c->chk.nr_oob_frag_lru; i++) {
		const struct bch_bad_lru *l = &c->chk.oob_frag_lru[i];

		pb_reset(&c->pb);
		pb_bpos(&c->pb, l->pos);
		if (jl)
			json_object_array_add(jl, json_object_new_string(c->pb.buf));
		if (c->out)
			fprintf(c->out, "copygc: fragmentation LRU entry lru:%s points at bucket %" PRIu64
				" of device %u, which has %" PRIu64 " buckets (%" PRIu64 " mismatched)\n",
				c->pb.buf, l->bucket, l->dev, c->chk.geom.dev[l->dev].nbuckets,
				bch_bitmap_weight(&c->chk.mismatch[l->dev]));
	}
	if (c->out)
		fprintf(c->out, "copygc verdict: %s\n", fault ?
			"WOULD FAULT on kernels without \"Fix reference to invalid bucket in copygc\" (July 2025): "
			"copygc would test a mismatch bitmap bit past the end of its device"
			: c->chk.nr_oob_frag_lru ?
			"would not fault (LRU entries past a device end, but that device has no mismatched bucket)"
			: "would not fault (no fragmentation LRU entry past a device end)");
	if (jroot) {
		json_object_object_add(jroot, "copygc_would_fault", json_object_new_boolean(fault));
		json_object_object_add(jroot, "copygc_oob_lru_entries", jl);
		json_object_object_add(jroot, "any_mismatch", json_object_new_boolean(any));
	}
}

struct dump_file {
	FILE	*f;
};

static int dump_write(void *ctx, const void *buf, size_t len)
{
	struct dump_file *d = ctx;

	return fwrite(buf, 1, len, d->f) == len ? 0 : -BCH_ERR_IO;
}

static int dump_bitmaps(struct fsck_ctx *c)
{
	const char *dir = c->o->dump_dir;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		die_msg("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for (unsigned d = 0; d < c->chk.geom.nr_devs; d++) {
		const char *what[2] = { "mismatch", "empty" };
		const struct bch_bitmap *b[2] = { &c->chk.mismatch[d], &c->chk.empty[d] };

		if (!c->chk.geom.dev[d].exists)
			continue;
		for (unsigned i = 0; i < 2; i++) {
			char path[4096];
			struct dump_file df;
			int ret;

			snprintf(path, sizeof(path), "%s/dev%u.%s", dir, d, what[i]);
			df.f = fopen(path, "w");
			if (!df.f) {
				die_msg("cannot write %s: %s", path, strerror(errno));
				return -1;
			}
			ret = bch_bitmap_export(b[i], dump_write, &df);
			if (fclose(df.f) || ret) {
				die_msg("error writing %s", path);
				return -1;
			}
		}
	}
	return 0;
}

static void report_summary(struct fsck_ctx *c, int status, const char *what, json_object *jroot)
{
	json_object *jc = jroot ? json_object_new_object() : NULL;
	bool first = true;

	if (c->out)
		fprintf(c->out, "summary: %" PRIu64 " finding%s", c->nr_findings,
			c->nr_findings == 1 ? "" : "s");
	for (unsigned k = 0; k < BCH_F_NR; k++) {
		uint64_t n = c->chk.stats.findings[k];

		if (!n)
			continue;
		if (c->out)
			fprintf(c->out, "%s %s %" PRIu64, first ? ":" : ",", bch_finding_name(k), n);
		first = false;
		if (jc)
			json_object_object_add(jc, bch_finding_name(k), json_object_new_uint64(n));
	}
	if (c->out)
		fprintf(c->out, "; %s; exit status %d\n", c->nr_findings ? what : "clean", status);
	if (jroot) {
		json_object_object_add(jroot, "counts", jc);
		json_object_object_add(jroot, "exit_status", json_object_new_int(status));
	}
}

static int write_json(struct fsck_ctx *c, json_object *jroot)
{
	const char *s = json_object_to_json_string_ext(jroot, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	FILE *f = strcmp(c->o->json_file, "-") ? fopen(c->o->json_file, "w") : stdout;

	if (!f) {
		die_msg("cannot write %s: %s", c->o->json_file, strerror(errno));
		return -1;
	}
	fprintf(f, "%s\n", s);
	if (f != stdout && fclose(f)) {
		die_msg("error writing %s", c->o->json_file);
		return -1;
	}
	return 0;
}

/* ---- command line ---- */

static void fsck_usage(FILE *f)
{
	fputs("Usage: bcachefs fsck [OPTION]... DEV...\n"
	      "Check the alloc, backpointers and LRU btrees of an unmounted filesystem:\n"
	      "rebuild the per-device backpointer mismatch/empty bucket bitmaps, report\n"
	      "every inconsistency under its upstream error name, and say whether the\n"
	      "image would fault copygc on kernels without the July 2025 fix.\n"
	      "\n"
	      "  -n                      check only, open every device read-only (the\n"
	      "                          default when stdin is not a terminal)\n"
	      "  -y                      fix everything found\n"
	      "  -p, -a                  fix what is safe unattended; exit 4 if more is left\n"
	      "                          (without -n/-y/-p on a terminal: ask per error type)\n"
	      "  -z, --undo-file=FILE    save what the repair overwrites to FILE (default:\n"
	      "                          bcachefs-fsck-UUID-TIME.undo in the current directory)\n"
	      "      --no-undo           do not write an undo file\n"
	      "  -v, --verbose           every finding (default: 10 per error type)\n"
	      "      --json[=FILE]       machine-readable report to FILE (default stdout)\n"
	      "      --findings          print only the findings, one line each, in the\n"
	      "                          expected-findings vocabulary of the image corpus\n"
	      "      --pass=NAME[,NAME]  run only these passes (see --list-passes)\n"
	      "      --list-passes       list the passes\n"
	      "      --dump-bitmaps=DIR  write DIR/devN.mismatch and DIR/devN.empty\n"
	      "                          (nbuckets bits each, LSB first)\n"
	      "      --passphrase-file=FILE  passphrase of an encrypted filesystem\n"
	      "  -h, --help              this message\n"
	      "\n"
	      "Exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected,\n"
	      "8 operational error, 16 usage error.\n", f);
}

static int parse_passes(char *s, struct fsck_opts *o)
{
	memset(o->pass, 0, sizeof(o->pass));
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		unsigned i;

		for (i = 0; i < PASS_NR && strcmp(tok, passes[i].name); i++)
			;
		if (i == PASS_NR) {
			die_msg("unknown pass '%s' (see --list-passes)", tok);
			return -1;
		}
		o->pass[i] = true;
	}
	/* the LRU and pointer passes work from what the first pass collected */
	if (o->pass[PASS_LRU] || o->pass[PASS_POINTERS] || o->pass[PASS_ACCOUNTING])
		o->pass[PASS_ALLOC_BP] = true;
	return 0;
}

enum { OPT_JSON = 256, OPT_FINDINGS, OPT_PASS, OPT_LIST_PASSES, OPT_DUMP, OPT_PASSPHRASE,
       OPT_NO_UNDO };

static int parse_fsck_opts(int argc, char *argv[], struct fsck_opts *o)
{
	static const struct option longopts[] = {
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "json",		optional_argument, NULL, OPT_JSON },
		{ "findings",		no_argument,	   NULL, OPT_FINDINGS },
		{ "pass",		required_argument, NULL, OPT_PASS },
		{ "list-passes",	no_argument,	   NULL, OPT_LIST_PASSES },
		{ "dump-bitmaps",	required_argument, NULL, OPT_DUMP },
		{ "passphrase-file",	required_argument, NULL, OPT_PASSPHRASE },
		{ "undo-file",		required_argument, NULL, 'z' },
		{ "no-undo",		no_argument,	   NULL, OPT_NO_UNDO },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	for (unsigned i = 0; i < PASS_NR; i++)
		o->pass[i] = true;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "nvyfpahz:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
		case 'y':
		case 'p':
		case 'a': {
			enum fsck_mode m = ch == 'n' ? MODE_CHECK : ch == 'y' ? MODE_YES : MODE_PREEN;

			if (o->mode_given && o->mode != m) {
				die_msg("fsck: -n, -y and -p/-a exclude each other");
				return EXIT_USAGE;
			}
			o->mode = m;
			o->mode_given = true;
			break;
		}
		case 'v':
			o->verbose = true;
			break;
		case 'z':
			o->undo_file = optarg;
			break;
		case OPT_NO_UNDO:
			o->no_undo = true;
			break;
		case 'f':
			break;	/* force: we always check */
		case OPT_JSON:
			o->json = true;
			o->json_file = optarg ? optarg : "-";
			break;
		case OPT_FINDINGS:
			o->findings = true;
			break;
		case OPT_PASS:
			if (parse_passes(optarg, o))
				return EXIT_USAGE;
			break;
		case OPT_LIST_PASSES:
			for (unsigned i = 0; i < PASS_NR; i++)
				printf("%-20s %s\n", passes[i].name, passes[i].desc);
			return -1;
		case OPT_DUMP:
			o->dump_dir = optarg;
			break;
		case OPT_PASSPHRASE:
			o->passphrase_file = optarg;
			break;
		case 'h':
			fsck_usage(stdout);
			return -1;
		default:
			fsck_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		die_msg("fsck: no device given");
		fsck_usage(stderr);
		return EXIT_USAGE;
	}
	if (!o->mode_given)
		o->mode = isatty(STDIN_FILENO) ? MODE_ASK : MODE_CHECK;
	if (o->json && o->findings && !strcmp(o->json_file, "-")) {
		die_msg("fsck: --json to stdout and --findings cannot be combined");
		return EXIT_USAGE;
	}
	return 0;
}

static int run_passes(struct fsck_ctx *c, struct bch_error *err)
{
	static int (*const fns[PASS_NR])(struct fsck_ctx *, struct bch_error *) = {
		[PASS_ALLOC_BP]		= pass_alloc_bp,
		[PASS_LRU]		= pass_lru,
		[PASS_POINTERS]		= pass_pointers,
		[PASS_BUCKET_INDEX]	= pass_bucket_index,
		[PASS_ACCOUNTING]	= pass_accounting,
	};

	for (unsigned i = 0; i < PASS_NR; i++) {
		int ret;

		if (!c->o->pass[i])
			continue;
		ret = fns[i](c, err);
		if (ret) {
			bch_err_prefix(err, "pass %s", passes[i].name);
			return ret;
		}
		if (c->out && c->o->verbose)
			fprintf(c->out, "pass %s done: %" PRIu64 " alloc keys, %" PRIu64
				" backpointers, %" PRIu64 " lru keys, %" PRIu64
				" keys and %" PRIu64 " pointers scanned\n", passes[i].name,
				c->chk.stats.alloc_keys, c->chk.stats.backpointers,
				c->chk.stats.lru_keys, c->chk.stats.keys_scanned,
				c->chk.stats.ptrs_scanned);
	}
	return 0;
}

/* ---- repair ---- */

enum decision { UNDECIDED, YES, NO };

struct repair_state {
	struct bch_alloc_fix	*unfixed;	/* alloc keys left wrong (sorted) */
	size_t			nr_unfixed;
	enum decision	decide[BCH_F_NR];
	bool		all_yes, all_no;
	uint64_t	fixed[BCH_F_NR];
	uint64_t	left[BCH_F_NR];
	uint64_t	nr_left;
};

/* alloc corrections rewrite what the LRU and accounting derive from them */
static bool kind_is_safe(enum bch_finding_kind k)
{
	return k != BCH_F_alloc_sectors_wrong;
}

static bool decide(struct fsck_ctx *c, struct repair_state *rs, enum bch_finding_kind k,
		   uint64_t n)
{
	char line[64];

	if (rs->decide[k] != UNDECIDED)
		return rs->decide[k] == YES;
	if (c->o->mode == MODE_YES || rs->all_yes)
		rs->decide[k] = YES;
	else if (c->o->mode == MODE_PREEN)
		rs->decide[k] = kind_is_safe(k) ? YES : NO;
	else if (rs->all_no)
		rs->decide[k] = NO;
	else {
		fprintf(stderr, "Fix %" PRIu64 " %s (%s: %s)? [y/n/Y=yes to all/N=no to all] ",
			n, fsck_problem(k)->upstream, bch_finding_name(k), fsck_problem(k)->msg);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 'n';
		rs->all_yes = line[0] == 'Y';
		rs->all_no = line[0] == 'N';
		rs->decide[k] = line[0] == 'y' || line[0] == 'Y' ? YES : NO;
	}
	return rs->decide[k] == YES;
}

static int cmp_fix(const void *a, const void *b)
{
	const struct bch_alloc_fix *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

/* check again, silently, as if the alloc keys were corrected */
static int recheck(struct fsck_ctx *a, const struct bch_alloc_fix *fixes, size_t nr,
		   struct fsck_ctx *b, struct bch_error *err)
{
	struct bch_check_geom geom = a->chk.geom;
	int ret;

	memset(b, 0, sizeof(*b));
	b->fs = a->fs;
	b->o = a->o;
	b->collect = true;
	if (bch_check_init(&b->chk, &geom, on_finding, b))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	b->chk.fixes = fixes;
	b->chk.nr_fixes = nr;
	/* the findings mode must not print this pass */
	struct fsck_opts quiet = *a->o;

	quiet.findings = false;
	b->o = &quiet;
	ret = run_passes(b, err);
	b->o = a->o;
	return ret;
}

static void free_ctx_findings(struct fsck_ctx *c)
{
	free(c->found);
	c->found = NULL;
	c->nr_found = c->found_size = 0;
}

static const char *default_undo_name(struct bch_fs *fs, char *buf, size_t size)
{
	struct printbuf pb = PRINTBUF;
	time_t now = time(NULL);
	char stamp[32];

	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", gmtime(&now));
	pb_uuid(&pb, fs->sb->user_uuid);
	snprintf(buf, size, "bcachefs-fsck-%s-%s.undo", pb.buf ? pb.buf : "fs", stamp);
	pb_exit(&pb);
	return buf;
}

static bool fault_from_env(struct bch_io_fault *f)
{
	const char *e = getenv("BCACHEFS_TEST_FAIL_AFTER_WRITES");
	char *end;

	if (!e || !*e)
		return false;
	memset(f, 0, sizeof(*f));
	f->fail_after = (unsigned)strtoul(e, &end, 10);
	f->torn = !strcmp(end, ":torn");
	return true;
}

static bool depends_on_unfixed(const struct repair_state *rs, const struct bch_finding *f)
{
	struct bch_alloc_fix key = { .dev = (uint8_t)f->dev, .bucket = f->bucket };

	if (f->kind != BCH_F_lru_missing && f->kind != BCH_F_lru_wrong_time)
		return false;
	return rs->nr_unfixed &&
	       bsearch(&key, rs->unfixed, rs->nr_unfixed, sizeof(key), cmp_fix);
}

/* plan the updates for every finding we fix */
static int plan_updates(struct fsck_ctx *c, struct fsck_ctx *b, struct repair_state *rs,
			const struct bch_alloc_fix *fixes, size_t nr_fixes,
			struct fsck_repair *r, struct bch_error *err)
{
	int ret = 0;

	/* the alloc corrections, from the first check's findings */
	for (size_t i = 0, j = 0; i < c->nr_found && j < nr_fixes && !ret; i++) {
		const struct bch_finding *f = &c->found[i];
		struct bch_alloc_fix key = { .dev = (uint8_t)f->dev, .bucket = f->bucket };
		const struct bch_alloc_fix *fix;

		if (f->kind != BCH_F_alloc_sectors_wrong)
			continue;
		fix = bsearch(&key, fixes, nr_fixes, sizeof(*fixes), cmp_fix);
		if (!fix)
			continue;
		ret = fsck_repair_alloc_apply(r, f, fix, &c->chk.geom);
		rs->fixed[f->kind]++;
	}
	/* everything else, from the check that saw the corrected alloc keys */
	for (size_t i = 0; i < b->nr_found && !ret; i++) {
		const struct bch_finding *f = &b->found[i];
		bool fixed = false;

		if (f->kind == BCH_F_alloc_sectors_wrong)
			continue;
		if (fsck_problem(f->kind)->flags & PR_NOT_ERROR)
			continue;	/* the bitmaps: mended by the backpointer repairs */
		if (depends_on_unfixed(rs, f))
			;	/* its LRU entry follows the alloc key we leave alone */
		else if (decide(c, rs, f->kind, b->chk.stats.findings[f->kind]))
			ret = fsck_repair_finding(r, f, &fixed);
		if (fixed) {
			rs->fixed[f->kind]++;
		} else if (!(fsck_problem(f->kind)->flags & PR_NOT_ERROR)) {
			rs->left[f->kind]++;
			rs->nr_left++;
		}
	}
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory planning the repair");
	return ret;
}

static int count_after(struct bch_fs *fs, const struct fsck_opts *o, uint64_t *nr,
		       struct bch_error *err)
{
	struct fsck_opts quiet = *o;
	struct fsck_ctx v = { .fs = fs, .o = &quiet };
	struct bch_check_geom geom;
	int ret;

	quiet.findings = false;
	bch_check_geom_from_sb(&geom, fs->sb);
	if (bch_check_init(&v.chk, &geom, on_finding, &v))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = run_passes(&v, err);
	*nr = v.nr_findings;
	bch_check_exit(&v.chk);
	pb_exit(&v.pb);
	return ret;
}

static int do_repair(struct fsck_ctx *c, char * const *devs, unsigned nr_devs,
		     struct bch_error *err)
{
	struct repair_state rs = { 0 };
	struct bch_alloc_fix *fixes = NULL;
	size_t nr_fixes = 0;
	struct fsck_ctx b = { 0 };
	struct fsck_repair r;
	struct bch_io_fault fault;
	char undo_buf[512];
	const char *undo = NULL;
	uint64_t after = 0;
	int ret = 0, status;

	fsck_repair_init(&r);
	fixes = calloc(c->nr_found ? c->nr_found : 1, sizeof(*fixes));
	rs.unfixed = calloc(c->nr_found ? c->nr_found : 1, sizeof(*rs.unfixed));
	if (!fixes || !rs.unfixed) {
		free(fixes);
		free(rs.unfixed);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}

	/* alloc counters first: everything derived from them is checked again */
	for (size_t i = 0; i < c->nr_found; i++) {
		const struct bch_finding *f = &c->found[i];
		const char *why;

		if (f->kind != BCH_F_alloc_sectors_wrong)
			continue;
		why = decide(c, &rs, f->kind, c->chk.stats.findings[f->kind]) ?
			fsck_repair_alloc_fix(f, &c->chk.geom, &fixes[nr_fixes]) :
			c->o->mode == MODE_PREEN ?
			"alloc corrections are not made unattended (-p); run fsck -y" : "declined";
		if (why) {
			fprintf(stderr, "bcachefs: not repairing alloc key %u:%" PRIu64 ": %s\n",
				f->dev, f->bucket, why);
			rs.left[f->kind]++;
			rs.nr_left++;
			rs.unfixed[rs.nr_unfixed++] = (struct bch_alloc_fix){
				.dev = (uint8_t)f->dev, .bucket = f->bucket,
			};
			continue;
		}
		nr_fixes++;
	}
	qsort(fixes, nr_fixes, sizeof(*fixes), cmp_fix);
	qsort(rs.unfixed, rs.nr_unfixed, sizeof(*rs.unfixed), cmp_fix);

	if (nr_fixes) {
		ret = recheck(c, fixes, nr_fixes, &b, err);
	} else {
		b.found = c->found;
		b.nr_found = c->nr_found;
		b.chk.stats = c->chk.stats;
	}
	ret = ret ?: plan_updates(c, &b, &rs, fixes, nr_fixes, &r, err);
	if (ret)
		goto out;

	if (!c->o->no_undo)
		undo = c->o->undo_file ?: default_undo_name(c->fs, undo_buf, sizeof(undo_buf));
	ret = fsck_repair_commit(c->fs, &r, undo, fault_from_env(&fault) ? &fault : NULL, err);
	if (ret)
		goto out;
	if (r.u.nr && c->out) {
		fprintf(c->out, "repair: %zu key updates in journal entry %" PRIu64
			" (device %u, byte %" PRIu64 ", %zu bytes); superblocks marked for replay\n",
			r.u.nr, r.journal_seq, r.journal_dev, r.journal_offset, r.journal_bytes);
		if (undo)
			fprintf(c->out, "undo file: %s (restore with: bcachefs undo %s DEV...)\n",
				undo, undo);
	}
	for (unsigned k = 0; k < BCH_F_NR && c->out; k++) {
		if (rs.fixed[k] && !(fsck_problem(k)->flags & PR_NOT_ERROR))
			fprintf(c->out, "fixed: %s %" PRIu64 "\n", fsck_problem(k)->upstream,
				rs.fixed[k]);
		if (rs.left[k])
			fprintf(c->out, "not fixed: %s %" PRIu64 "\n", fsck_problem(k)->upstream,
				rs.left[k]);
	}

	/* nothing was written: every finding is still there */
	if (!r.u.nr)
		after = c->nr_findings;
	/* read it back as recovery would: what is left? */
	if (r.u.nr) {
		bch_fs_close(c->fs);
		c->fs = open_fs(devs, nr_devs, c->o->passphrase_file, false, &status);
		if (!c->fs) {
			ret = bch_err(err, BCH_ERR_IO, "cannot reopen the filesystem after repair");
			goto out;
		}
		ret = count_after(c->fs, c->o, &after, err);
		if (ret)
			goto out;
		if (c->out)
			fprintf(c->out, "after repair: %" PRIu64 " finding%s\n", after,
				after == 1 ? "" : "s");
	}
	ret = rs.nr_left || after ? EXIT_UNCORRECTED : r.u.nr ? EXIT_FIXED : EXIT_OK;
out:
	if (b.found != c->found)
		free_ctx_findings(&b);
	if (nr_fixes)
		bch_check_exit(&b.chk);
	pb_exit(&b.pb);
	free(fixes);
	free(rs.unfixed);
	fsck_repair_exit(&r);
	return ret;
}

/* an image file attached to a loop device may be mounted: refuse */
static int check_not_in_use(struct bch_fs *fs)
{
	for (unsigned d = 0; d < fs->nr_devs; d++) {
		char real[4096], path[512], backing[4096];
		struct bch_dev *dev = fs->devs[d];

		if (!dev || dev->io->is_blockdev || !realpath(dev->io->path, real))
			continue;
		for (unsigned i = 0; i < 256; i++) {
			FILE *f;

			snprintf(path, sizeof(path), "/sys/block/loop%u/loop/backing_file", i);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(backing, sizeof(backing), f)) {
				backing[strcspn(backing, "\n")] = 0;
				if (!strcmp(backing, real)) {
					fclose(f);
					die_msg("%s is attached to /dev/loop%u (mounted?): refusing to write",
						dev->io->path, i);
					return -1;
				}
			}
			fclose(f);
		}
	}
	return 0;
}

int cmd_fsck(int argc, char *argv[])
{
	struct fsck_opts o = { 0 };
	struct fsck_ctx c = { .o = &o };
	struct bch_error err = { 0 };
	struct bch_check_geom geom;
	json_object *jroot = NULL, *jdevs = NULL;
	char * const *devs;
	unsigned nr_devs;
	bool repair;
	int status, ret;

	status = parse_fsck_opts(argc, argv, &o);
	if (status)
		return status < 0 ? EXIT_OK : status;

	devs = argv + optind;
	nr_devs = (unsigned)(argc - optind);
	repair = o.mode != MODE_CHECK;
	c.fs = open_fs(devs, nr_devs, o.passphrase_file, repair, &status);
	if (!c.fs)
		return status;
	if (repair && check_not_in_use(c.fs)) {
		bch_fs_close(c.fs);
		return EXIT_OPERATIONAL;
	}
	c.out = o.findings || (o.json && !strcmp(o.json_file, "-")) ? NULL : stdout;
	c.collect = repair;

	bch_check_geom_from_sb(&geom, c.fs->sb);
	if (bch_check_init(&c.chk, &geom, on_finding, &c)) {
		die_msg("out of memory");
		bch_fs_close(c.fs);
		return EXIT_OPERATIONAL;
	}
	if (o.json) {
		jroot = json_object_new_object();
		jdevs = json_object_new_array();
		c.jfindings = json_object_new_array();
	}

	ret = run_passes(&c, &err);
	if (ret) {
		die_msg("%s", err.msg[0] ? err.msg : bch_errcode_name(ret));
		status = exit_status_of(ret);
		goto out;
	}
	status = c.nr_findings ? EXIT_UNCORRECTED : EXIT_OK;

	print_ratelimited(&c);
	report_devices(&c, jdevs);
	report_copygc(&c, jroot);
	if (repair && c.nr_findings) {
		ret = do_repair(&c, devs, nr_devs, &err);
		if (ret < 0) {
			die_msg("repair failed: %s", err.msg[0] ? err.msg : bch_errcode_name(ret));
			status = exit_status_of(ret);
			goto out;
		}
		status = ret;
	}
	report_summary(&c, status, !repair ? "nothing was changed (check only)" :
		       status == EXIT_FIXED ? "all repaired" : "errors left", jroot);
	if (o.dump_dir && dump_bitmaps(&c))
		status = EXIT_OPERATIONAL;
	if (jroot) {
		json_object_object_add(jroot, "devices", jdevs);
		json_object_object_add(jroot, "findings", c.jfindings);
		jdevs = c.jfindings = NULL;
		if (write_json(&c, jroot))
			status = EXIT_OPERATIONAL;
	}
out:
	json_object_put(jroot);
	json_object_put(jdevs);
	json_object_put(c.jfindings);
	pb_exit(&c.pb);
	free_ctx_findings(&c);
	bch_check_exit(&c.chk);
	bch_fs_close(c.fs);
	return status;
}
