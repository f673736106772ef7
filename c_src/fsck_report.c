/* bcachefs fsck reports: findings, devices and bitmaps, verdict, summary, JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "fs.h"
#include "fsck.h"
#include "fsck_ctx.h"
#include "json_compat.h"
#include "vec.h"

/* ---- findings ---- */

int fsck_on_finding(void *ctx, const struct bch_finding *f)
{
	struct fsck_ctx *c = ctx;
	unsigned version = c->fs->sb->version;

	c->nr_findings++;
	if (c->collect && f->kind == BCH_F_bp_missing) {
		struct fsck_bp_missing *m = BCH_VEC_PUSH(c->bpm, c->nr_bpm, c->bpm_size);

		if (!m)
			return -BCH_ERR_NOMEM;
		*m = (struct fsck_bp_missing){
			.pos = f->pos, .want = f->want, .bucket = f->bucket, .dev = (uint8_t)f->dev,
		};
	} else if (c->collect) {
		struct bch_finding *n = BCH_VEC_PUSH(c->found, c->nr_found, c->found_size);

		if (!n)
			return -BCH_ERR_NOMEM;
		*n = *f;
	}
	if (c->jfindings) {
		json_object *j = json_object_new_object();
		const char *btree = bch_btree_id_name(f->btree_id, version);

		pb_reset(&c->pb);
		pb_bpos(&c->pb, f->pos);
		json_object_object_add(j, "error", json_object_new_string(fsck_finding_error_name(f)));
		json_object_object_add(j, "kind", json_object_new_string(fsck_problem(f->kind)->name));
		json_object_object_add(j, "btree", json_object_new_string(btree ? btree : "?"));
		json_object_object_add(j, "pos", json_object_new_string(c->pb.buf));
		json_object_object_add(j, "dev", json_object_new_int64(f->dev));
		json_object_object_add(j, "bucket", json_object_new_uint64(f->bucket));
		pb_reset(&c->pb);
		fsck_finding_line(&c->pb, f, &c->chk.geom, version);
		json_object_object_add(j, "detail", json_object_new_string(c->pb.buf));
		json_object_object_add(j, "message", json_object_new_string(fsck_problem(f->kind)->msg));
		json_object_object_add(j, "would", json_object_new_string(fsck_problem(f->kind)->fix));
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
	fsck_finding_text(&c->pb, f, version, c->o->mode == MODE_CHECK);
	fsck_progress_clear(c->progress);
	fprintf(c->out, "%s\n", c->pb.buf);
	return 0;
}

void fsck_print_ratelimited(struct fsck_ctx *c)
{
	for (unsigned k = 0; k < BCH_F_NR && c->out && !c->o->verbose; k++) {
		uint64_t n = c->chk.stats.findings[k];

		if (n > FSCK_RATELIMIT)
			fprintf(c->out, "... and %" PRIu64 " more %s (%s); -v shows all\n",
				n - FSCK_RATELIMIT, fsck_problem(k)->upstream, fsck_problem(k)->name);
	}
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

void fsck_report_devices(struct fsck_ctx *c, json_object *jdevs)
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

/* did every pass of mask run? */
static bool passes_ran(const struct fsck_ctx *c, unsigned mask)
{
	for (unsigned i = 0; i < PASS_NR; i++)
		if ((mask & PASS_BIT(i)) && !c->o->pass[i])
			return false;
	return true;
}

void fsck_report_copygc(struct fsck_ctx *c, json_object *jroot)
{
	bool any, fault = bch_check_copygc_would_fault(&c->chk, &any);
	bool known = passes_ran(c, VERDICT_NEEDS);
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
		fprintf(c->out, "copygc verdict: %s\n", !known ?
			"unknown (needs the passes alloc_backpointers and lru, which did not run)"
			: fault ?
			"WOULD FAULT on kernels without \"Fix reference to invalid bucket in copygc\" (July 2025): "
			"copygc would test a mismatch bitmap bit past the end of its device"
			: c->chk.nr_oob_frag_lru ?
			"would not fault (LRU entries past a device end, but that device has no mismatched bucket)"
			: "would not fault (no fragmentation LRU entry past a device end)");
	/*
	 * 1.39: the entries judged are those of the per-device LRUs; kernels
	 * with the fault know metadata up to 1.28, walk only LRU 65535, and
	 * refuse a superblock whose version_incompat is newer than theirs
	 * (or, before December 2024, its incompat_version_field feature bit)
	 */
	if (c->out && c->chk.nr_oob_frag_lru && c->chk.geom.version >= BCH_VERSION_1_39) {
		unsigned incompat = (unsigned)BCH_SB_VERSION_INCOMPAT(c->fs->sb);

		fprintf(c->out, "copygc: metadata %u.%u: the entries are in per-device fragmentation LRUs; %s\n",
			BCH_VERSION_MAJOR(c->chk.geom.version), BCH_VERSION_MINOR(c->chk.geom.version),
			incompat > BCH_VERSION_1_28 ?
			"the kernels with the fault (before July 2025) cannot mount this filesystem "
			"(incompatible features of a newer version in use)" :
			"the kernels with the fault (before July 2025) would have to downgrade it first");
	}
	if (jroot) {
		json_object_object_add(jroot, "copygc_would_fault",
				       known ? json_object_new_boolean(fault) : NULL);
		json_object_object_add(jroot, "copygc_verdict", json_object_new_string(
			!known ? "unknown" : fault ? "would_fault" : "would_not_fault"));
		json_object_object_add(jroot, "copygc_oob_lru_entries", jl);
		json_object_object_add(jroot, "any_mismatch", passes_ran(c, PASS_BIT(PASS_ALLOC_BP)) ?
				       json_object_new_boolean(any) : NULL);
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

int fsck_dump_bitmaps(struct fsck_ctx *c)
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

/* a device name as a shell word */
static void pb_shell_word(struct printbuf *pb, const char *s)
{
	if (s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-=:+,@%")]) {
		pb_puts(pb, "'");
		for (; *s; s++)
			if (*s == '\'')
				pb_puts(pb, "'\\''");
			else
				pb_printf(pb, "%c", *s);
		pb_puts(pb, "'");
	} else {
		pb_puts(pb, s);
	}
}

static void pb_devs(struct printbuf *pb, const struct fsck_opts *o)
{
	for (unsigned i = 0; i < o->nr_devs; i++) {
		pb_puts(pb, " ");
		pb_shell_word(pb, o->devs[i]);
	}
}

/* did the check find something a repair would change? */
static bool any_fixable(const struct fsck_ctx *c)
{
	for (unsigned k = 0; k < BCH_F_NR; k++)
		if (c->chk.stats.findings[k] && fsck_problem(k)->action != FIX_NONE)
			return true;
	return false;
}

/* what to run next, given how this run ended (empty: nothing) */
static void next_command(struct fsck_ctx *c, int status, struct printbuf *pb)
{
	const struct fsck_opts *o = c->o;
	bool all_passes = passes_ran(c, (1u << PASS_NR) - 1);

	if (o->mode == MODE_CHECK && c->nr_findings && !any_fixable(c)) {
		pb_printf(pb, "%s -n -v", o->prog);
		pb_devs(pb, o);
		pb_puts(pb, " (nothing found can be repaired offline; report it with the JSON report, --json)");
	} else if (o->mode == MODE_CHECK && c->nr_findings) {
		pb_printf(pb, "%s -y", o->prog);
		pb_devs(pb, o);
	} else if (o->mode == MODE_CHECK && !all_passes) {
		pb_printf(pb, "%s -n", o->prog);
		pb_devs(pb, o);
		pb_puts(pb, " (every pass)");
	} else if (status == EXIT_UNCORRECTED && c->nr_declined) {
		pb_printf(pb, "%s -y", o->prog);
		pb_devs(pb, o);
		pb_puts(pb, " (to make the repairs declined here)");
	} else if (status == EXIT_UNCORRECTED) {
		pb_printf(pb, "%s -n -v", o->prog);
		pb_devs(pb, o);
		pb_puts(pb, " (what is left cannot be repaired offline; report it with the JSON report, --json)");
	} else if (status & EXIT_REBOOT) {
		pb_puts(pb, "reboot now: the kernel still holds the old btree nodes of this read-only mount");
	} else if (status & EXIT_FIXED && c->undo_path[0]) {
		pb_puts(pb, "mount the filesystem; to put back what the repair changed: bcachefs undo ");
		pb_shell_word(pb, c->undo_path);
		pb_devs(pb, o);
	} else if (status & EXIT_FIXED) {
		pb_puts(pb, "mount the filesystem");
	}
}

/* per kind found: the names, message and fix of the problem table, and the count */
static json_object *problems_json(const struct fsck_ctx *c)
{
	json_object *ja = json_object_new_array();

	for (unsigned k = 0; k < BCH_F_NR; k++) {
		const struct fsck_problem *p = fsck_problem(k);
		json_object *j;

		if (!c->chk.stats.findings[k])
			continue;
		j = json_object_new_object();
		json_object_object_add(j, "kind", json_object_new_string(p->name));
		json_object_object_add(j, "error", json_object_new_string(p->upstream));
		json_object_object_add(j, "count", json_object_new_uint64(c->chk.stats.findings[k]));
		json_object_object_add(j, "message", json_object_new_string(p->msg));
		json_object_object_add(j, "fix", json_object_new_string(p->fix));
		json_object_object_add(j, "informational",
				       json_object_new_boolean(p->flags & PR_NOT_ERROR));
		json_object_array_add(ja, j);
	}
	return ja;
}

void fsck_report_summary(struct fsck_ctx *c, int status, const char *what, json_object *jroot)
{
	json_object *jc = jroot ? json_object_new_object() : NULL;
	struct printbuf next = PRINTBUF;
	bool first = true;

	if (c->out)
		fprintf(c->out, "summary: %" PRIu64 " finding%s", c->nr_findings,
			c->nr_findings == 1 ? "" : "s");
	for (unsigned k = 0; k < BCH_F_NR; k++) {
		uint64_t n = c->chk.stats.findings[k];

		if (!n)
			continue;
		if (c->out)
			fprintf(c->out, "%s %s %" PRIu64, first ? ":" : ",", fsck_problem(k)->name, n);
		first = false;
		if (jc)
			json_object_object_add(jc, fsck_problem(k)->name, json_object_new_uint64(n));
	}
	if (c->out)
		fprintf(c->out, "; %s%s; exit status %d\n",
			c->nr_findings ? what : status & EXIT_FIXED ? "clean, rebuilt as asked" : "clean",
			passes_ran(c, (1u << PASS_NR) - 1) ? "" : " (not every pass ran)", status);
	next_command(c, status, &next);
	if (c->out && next.buf && next.buf[0])
		fprintf(c->out, "next: %s\n", next.buf);
	if (jroot) {
		json_object *jp = json_object_new_array();

		for (unsigned i = 0; i < PASS_NR; i++)
			if (c->o->pass[i])
				json_object_array_add(jp, json_object_new_string(fsck_passes[i].name));
		pb_reset(&c->pb);
		pb_uuid(&c->pb, c->fs->sb->user_uuid);
		json_object_object_add(jroot, "uuid", json_object_new_string(c->pb.buf ?: ""));
		json_object_object_add(jroot, "label", json_object_new_string(c->fs->sb->label));
		json_object_object_add(jroot, "passes", jp);
		json_object_object_add(jroot, "counts", jc);
		json_object_object_add(jroot, "problems", problems_json(c));
		json_object_object_add(jroot, "exit_status", json_object_new_int(status));
		json_object_object_add(jroot, "next_command", next.buf && next.buf[0] ?
				       json_object_new_string(next.buf) : NULL);
	}
	pb_exit(&next);
}

int fsck_write_json(const struct fsck_opts *o, json_object *jroot)
{
	const char *s = json_object_to_json_string_ext(jroot, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	FILE *f = strcmp(o->json_file, "-") ? fopen(o->json_file, "w") : stdout;

	if (!f) {
		die_msg("cannot write %s: %s", o->json_file, strerror(errno));
		return -1;
	}
	fprintf(f, "%s\n", s);
	if (f != stdout && fclose(f)) {
		die_msg("error writing %s", o->json_file);
		return -1;
	}
	return 0;
}

void fsck_write_json_failure(const struct fsck_opts *o, int status, const char *why)
{
	json_object *j;

	if (!o->json)
		return;
	j = json_object_new_object();
	json_object_object_add(j, "exit_status", json_object_new_int(status));
	json_object_object_add(j, "error", json_object_new_string(why));
	fsck_write_json(o, j);
	json_object_put(j);
}


void fsck_free_findings(struct fsck_ctx *c)
{
	for (size_t i = 0; i < c->nr_notes; i++)
		free(c->notes[i]);
	free(c->notes);
	c->notes = NULL;
	c->nr_notes = 0;
	free(c->found);
	c->found = NULL;
	c->nr_found = c->found_size = 0;
	free(c->bpm);
	c->bpm = NULL;
	c->nr_bpm = c->bpm_size = 0;
}
