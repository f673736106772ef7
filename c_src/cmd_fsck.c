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
#include <unistd.h>

#include "btree_iter.h"
#include "cmds.h"
#include "fs.h"
#include "fsck.h"
#include "json_compat.h"

#define FSCK_RATELIMIT	10u

enum fsck_pass {
	PASS_ALLOC_BP,
	PASS_LRU,
	PASS_POINTERS,
	PASS_BUCKET_INDEX,
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
};

struct fsck_opts {
	bool		check_only;
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

static void report_summary(struct fsck_ctx *c, int status, json_object *jroot)
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
		fprintf(c->out, "; %s; exit status %d\n",
			c->nr_findings ? "nothing was changed (check only)" : "clean", status);
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
	      "  -n                      check only, open every device read-only (default)\n"
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
	      "Exit status: 0 clean, 4 errors left uncorrected, 8 operational error,\n"
	      "16 usage error. Repair (-y, -p) is not implemented yet.\n", f);
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
	if (o->pass[PASS_LRU] || o->pass[PASS_POINTERS])
		o->pass[PASS_ALLOC_BP] = true;
	return 0;
}

enum { OPT_JSON = 256, OPT_FINDINGS, OPT_PASS, OPT_LIST_PASSES, OPT_DUMP, OPT_PASSPHRASE };

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
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->check_only = true;
	for (unsigned i = 0; i < PASS_NR; i++)
		o->pass[i] = true;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "nvyfpah", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->check_only = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'y':
		case 'p':
		case 'a':
			die_msg("fsck: repair (-%c) is not implemented yet; use -n to check", ch);
			return EXIT_USAGE;
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

int cmd_fsck(int argc, char *argv[])
{
	struct fsck_opts o = { 0 };
	struct fsck_ctx c = { .o = &o };
	struct bch_error err = { 0 };
	struct bch_check_geom geom;
	json_object *jroot = NULL, *jdevs = NULL;
	int status, ret;

	status = parse_fsck_opts(argc, argv, &o);
	if (status)
		return status < 0 ? EXIT_OK : status;

	c.fs = open_fs(argv + optind, (unsigned)(argc - optind), o.passphrase_file, false, &status);
	if (!c.fs)
		return status;
	c.out = o.findings || (o.json && !strcmp(o.json_file, "-")) ? NULL : stdout;

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
	report_summary(&c, status, jroot);
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
	bch_check_exit(&c.chk);
	bch_fs_close(c.fs);
	return status;
}
