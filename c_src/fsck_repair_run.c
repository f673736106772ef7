/*
 * bcachefs fsck -y/-p/ask: decide what to fix, correct alloc keys and
 * check again against the corrected counters, plan the key updates,
 * commit them (fsck_repair.c), read the result back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "fs.h"
#include "fsck.h"
#include "fsck_ctx.h"
#include "fsck_repair.h"

enum decision { UNDECIDED, YES, NO };

struct repair_state {
	struct bch_alloc_fix	*unfixed;	/* alloc keys left wrong (sorted) */
	size_t			nr_unfixed;
	enum decision	decide[BCH_F_NR];
	bool		all_yes, all_no;
	uint64_t	fixed[BCH_F_NR];
	uint64_t	left[BCH_F_NR];
	uint64_t	waiting[BCH_F_NR];	/* left: their alloc key was not corrected */
	uint64_t	rebuilt[BCH_F_NR];	/* of fixed: their btree is written anew */
	uint64_t	nr_left;
};

static bool decide(struct fsck_ctx *c, struct repair_state *rs, enum bch_finding_kind k,
		   uint64_t n)
{
	char line[64];

	if (rs->decide[k] != UNDECIDED)
		return rs->decide[k] == YES;
	if (c->o->mode == MODE_YES || rs->all_yes)
		rs->decide[k] = YES;
	else if (c->o->mode == MODE_PREEN)
		rs->decide[k] = fsck_problem(k)->flags & PR_PREEN ? YES : NO;
	else if (rs->all_no)
		rs->decide[k] = NO;
	else {
		fprintf(stderr, "%" PRIu64 " %s (%s): %s.\nFix: %s? [y/n/Y=yes to all/N=no to all] ",
			n, fsck_problem(k)->upstream, fsck_problem(k)->name, fsck_problem(k)->msg,
			fsck_problem(k)->fix);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 'n';
		rs->all_yes = line[0] == 'Y';
		rs->all_no = line[0] == 'N';
		rs->decide[k] = line[0] == 'y' || line[0] == 'Y' ? YES : NO;
	}
	return rs->decide[k] == YES;
}

/* will a derived btree with unreadable nodes be rebuilt? */
static bool rebuild_pending(const struct fsck_ctx *c)
{
	for (size_t i = 0; i < c->nr_found; i++)
		if (c->found[i].kind == BCH_F_node_unreadable && c->found[i].rebuildable)
			return true;
	return false;
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
	if (bch_check_init(&b->chk, &geom, fsck_on_finding, b))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	b->chk.fixes = fixes;
	b->chk.nr_fixes = nr;
	b->chk.as_fixed = true;
	/* the findings mode must not print this pass */
	struct fsck_opts quiet = *a->o;

	quiet.findings = false;
	b->o = &quiet;
	ret = fsck_run_passes(b, err);
	b->o = a->o;
	return ret;
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

/*
 * Findings that follow an alloc key left wrong: its LRU entry, and its
 * device's accounting (a repair never writes what a wrong key says)
 */
static bool depends_on_unfixed(const struct repair_state *rs, const struct bch_finding *f)
{
	struct bch_alloc_fix key = { .dev = (uint8_t)f->dev, .bucket = f->bucket };

	if (f->kind == BCH_F_accounting_dev_data_type_wrong) {
		for (size_t i = 0; i < rs->nr_unfixed; i++)
			if (rs->unfixed[i].dev == f->dev)
				return true;
		return false;
	}
	if (f->kind != BCH_F_lru_missing && f->kind != BCH_F_lru_wrong_time)
		return false;
	return rs->nr_unfixed &&
	       bsearch(&key, rs->unfixed, rs->nr_unfixed, sizeof(key), cmp_fix);
}

static bool is_alloc_fix(enum bch_finding_kind k)
{
	return fsck_problem(k)->action == FIX_CORRECT_ALLOC;
}

/*
 * A pointer of another generation than its bucket's: mended if the
 * corrected key takes its generation; a stale data pointer is left (the
 * extent must go without it)
 */
static bool ptr_gen_follows(const struct bch_finding *f, const struct bch_alloc_fix *fixes,
			    size_t nr_fixes)
{
	const struct bch_alloc_fix *fix = bch_alloc_fix_find(fixes, nr_fixes, f->dev, f->bucket);

	return fix && fix->a.gen == f->ptr_gen;
}

/* plan the updates for every finding we fix */
/*
 * A finding about a key of a derived btree that --rebuild writes anew
 * from the alloc keys: whatever the key was, it is not in the new tree.
 */
static bool rebuilt_with_btree(const struct fsck_repair *r, const struct bch_finding *f)
{
	const struct fsck_problem *p = fsck_problem(f->kind);

	return r->rebuild[p->btree] && p->btree != BTREE_ID_alloc &&
	       p->btree != BTREE_ID_accounting && p->btree != BTREE_ID_extents &&
	       p->action != FIX_REBUILD_BTREE;
}

/*
 * Kinds that upstream names alike and that are fixed alike read as one
 * "fixed:" line: their counts go to the first of them.
 */
static void merge_same_lines(struct repair_state *rs)
{
	for (unsigned k = 0; k < BCH_F_NR; k++)
		for (unsigned j = 0; j < k; j++) {
			const struct fsck_problem *a = fsck_problem(j), *b = fsck_problem(k);

			if (strcmp(a->upstream, b->upstream) || strcmp(a->fix, b->fix) ||
			    (a->flags & PR_NOT_ERROR) != (b->flags & PR_NOT_ERROR))
				continue;
			rs->fixed[j] += rs->fixed[k];
			rs->rebuilt[j] += rs->rebuilt[k];
			rs->fixed[k] = rs->rebuilt[k] = 0;
			break;
		}
}

static int plan_updates(struct fsck_ctx *c, struct fsck_ctx *b, struct repair_state *rs,
			const struct bch_alloc_fix *fixes, size_t nr_fixes,
			struct fsck_repair *r, struct bch_error *err)
{
	int ret = 0;

	/* the alloc corrections, from the first check's findings */
	for (size_t i = 0; i < nr_fixes && !ret; i++)
		ret = fsck_repair_alloc_apply(r, &fixes[i]);
	for (size_t i = 0; i < c->nr_found && !ret; i++) {
		const struct bch_finding *f = &c->found[i];

		if (is_alloc_fix(f->kind) &&
		    bch_alloc_fix_find(fixes, nr_fixes, f->dev, f->bucket))
			rs->fixed[f->kind]++;
		if (f->kind != BCH_F_ptr_gen_mismatch)
			continue;
		if (ptr_gen_follows(f, fixes, nr_fixes)) {
			rs->fixed[f->kind]++;
			continue;
		}
		ret = decide(c, rs, f->kind, c->chk.stats.findings[f->kind]) ?
			fsck_repair_drop_ptr(r, f) : 1;
		if (ret > 0) {
			rs->left[f->kind]++;
			rs->nr_left++;
			ret = 0;
		}
	}
	/* the stale pointers, dropped from their extents */
	if (!ret && r->nr_drops) {
		size_t done;

		ret = fsck_repair_drop_ptrs(c->fs, r, &done, err);
		rs->fixed[BCH_F_ptr_gen_mismatch] += done;
		rs->left[BCH_F_ptr_gen_mismatch] += r->nr_drops - done;
		rs->nr_left += r->nr_drops - done;
	}
	/* everything else, from the check that saw the corrected alloc keys */
	for (size_t i = 0; i < b->nr_found + b->nr_bpm && !ret; i++) {
		struct bch_finding missing;
		const struct bch_finding *f = i < b->nr_found ? &b->found[i] : &missing;
		bool fixed = false;

		if (i >= b->nr_found) {
			const struct fsck_bp_missing *m = &b->bpm[i - b->nr_found];

			missing = (struct bch_finding){
				.kind = BCH_F_bp_missing, .btree_id = BTREE_ID_backpointers,
				.pos = m->pos, .dev = m->dev, .bucket = m->bucket,
				.bp = m->want, .want = m->want,
			};
		}
		/* decided from the first check's findings, above */
		if (is_alloc_fix(f->kind) || f->kind == BCH_F_ptr_gen_mismatch)
			continue;
		if (fsck_problem(f->kind)->flags & PR_NOT_ERROR)
			continue;	/* the bitmaps: mended by the backpointer repairs */
		if (rebuilt_with_btree(r, f)) {
			/* --rebuild writes its btree anew: the key goes with the old tree */
			fixed = true;
			rs->rebuilt[f->kind]++;
		} else if (depends_on_unfixed(rs, f)) {
			rs->waiting[f->kind]++;	/* it follows the alloc key we leave alone */
		} else if (decide(c, rs, f->kind, b->chk.stats.findings[f->kind])) {
			ret = fsck_repair_finding(r, f, &fixed);
		}
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
	if (bch_check_init(&v.chk, &geom, fsck_on_finding, &v))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = fsck_run_passes(&v, err);
	*nr = v.nr_findings;
	bch_check_exit(&v.chk);
	pb_exit(&v.pb);
	return ret;
}

/*
 * Open the repaired filesystem again, read-only, as recovery would see it;
 * without paths (nr_devs 0: devices in memory, the fuzz targets) the
 * devices already open are read again in place (bch_fs_reload).
 */
static int reopen(struct fsck_ctx *c, char * const *devs, unsigned nr_devs,
		  struct bch_error *err)
{
	int status;

	if (!nr_devs) {
		c->fs->skip_unreadable = 0;
		return bch_fs_reload(c->fs, err);
	}
	bch_fs_close(c->fs);
	c->fs = open_fs(devs, nr_devs, c->o->passphrase_file, c->o->io_flags & BCH_IO_SHARED,
			&status, NULL);
	if (!c->fs)
		return bch_err(err, BCH_ERR_IO, "cannot reopen the filesystem after repair");
	return 0;
}

int fsck_do_repair(struct fsck_ctx *c, char * const *devs, unsigned nr_devs,
		     struct bch_error *err)
{
	struct repair_state rs = { 0 };
	struct bch_alloc_fix *fixes = NULL;
	size_t nr_fixes = 0;
	struct fsck_ctx b = { 0 };
	struct fsck_repair r;
	struct bch_io_fault fault;
	bool rebuilding, rechecked = false;
	char undo_buf[512];
	const char *undo = NULL;
	uint64_t after = 0;
	int ret = 0;

	fsck_repair_init(&r);
	/* --rebuild: asked for, whatever the findings */
	memcpy(r.rebuild, c->o->rebuild, sizeof(r.rebuild));
	fixes = calloc(c->nr_found ? c->nr_found : 1, sizeof(*fixes));
	rs.unfixed = calloc(c->nr_found ? c->nr_found : 1, sizeof(*rs.unfixed));
	if (!fixes || !rs.unfixed) {
		free(fixes);
		free(rs.unfixed);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}

	/* alloc keys first: everything derived from them is checked again */
	rebuilding = rebuild_pending(c);
	for (size_t i = 0; i < c->nr_found; i++) {
		const struct bch_finding *f = &c->found[i];
		const char *why;

		if (!is_alloc_fix(f->kind))
			continue;
		why = !f->alloc_fix ? (f->why ?: "no key to write") :
		      decide(c, &rs, f->kind, c->chk.stats.findings[f->kind]) ? NULL :
		      c->o->mode == MODE_PREEN ?
		      "alloc corrections are not made unattended (-p); run fsck -y" : "declined";
		/*
		 * a btree bucket emptied by nodes lost below an unreadable one:
		 * freed by the rebuild's bookkeeping, not by a correction
		 */
		if (f->alloc.data_type == BCH_DATA_btree && rebuilding && c->o->mode != MODE_PREEN &&
		    f->kind != BCH_F_alloc_missing)
			continue;
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
		fixes[nr_fixes++] = (struct bch_alloc_fix){
			.dev = (uint8_t)f->dev, .bucket = f->bucket, .a = f->alloc_new,
		};
	}
	qsort(fixes, nr_fixes, sizeof(*fixes), cmp_fix);
	qsort(rs.unfixed, rs.nr_unfixed, sizeof(*rs.unfixed), cmp_fix);
	r.fixes = fixes;
	r.nr_fixes = nr_fixes;

	/* with any correction found, the rest is judged on the ones made */
	rechecked = nr_fixes || c->chk.nr_corrections;
	if (rechecked) {
		ret = recheck(c, fixes, nr_fixes, &b, err);
	} else {
		b.found = c->found;
		b.nr_found = c->nr_found;
		b.bpm = c->bpm;
		b.nr_bpm = c->nr_bpm;
		b.chk.stats = c->chk.stats;
	}
	ret = ret ?: plan_updates(c, &b, &rs, fixes, nr_fixes, &r, err);
	if (ret)
		goto out;

	if (!c->o->no_undo)
		undo = c->o->undo_file ?: default_undo_name(c->fs, undo_buf, sizeof(undo_buf));
	fault = c->o->fault;
	if (undo)
		snprintf(c->undo_path, sizeof(c->undo_path), "%s", undo);
	/* from here a signal waits for the writes to be done */
	cancel_hold();
	ret = fsck_repair_commit(c->fs, &r, undo, c->o->inject_fault ? &fault : NULL, err);
	if (ret)
		goto out;
	if (r.info.nr_writes && c->out) {
		fprintf(c->out, "repair: %zu key updates (+%zu of bookkeeping) written into %u btree%s: %zu new nodes, %zu freed; clean shutdown at journal entry %" PRIu64 " (%u writes)\n",
			r.info.nr_updates, r.info.nr_bookkeeping, r.info.nr_btrees,
			r.info.nr_btrees == 1 ? "" : "s", r.info.nr_nodes, r.info.nr_freed,
			r.info.journal_seq, r.info.nr_writes);
		if (c->o->verbose)
			fprintf(c->out, "repair: %" PRIu64 " keys in the new nodes; the bookkeeping settled after %u layouts\n",
				r.info.keys_written, r.info.iterations);
		if (undo)
			fprintf(c->out, "undo file: %s (restore with: bcachefs undo %s DEV...)\n",
				undo, undo);
	}
	merge_same_lines(&rs);
	for (unsigned k = 0; k < BCH_F_NR && c->out; k++) {
		if (rs.fixed[k] > rs.rebuilt[k] && !(fsck_problem(k)->flags & PR_NOT_ERROR))
			fprintf(c->out, "fixed: %s %" PRIu64 " (%s)\n", fsck_problem(k)->upstream,
				rs.fixed[k] - rs.rebuilt[k], fsck_problem(k)->fix);
		if (rs.rebuilt[k] && !(fsck_problem(k)->flags & PR_NOT_ERROR))
			fprintf(c->out, "fixed: %s %" PRIu64 " (its btree written anew)\n",
				fsck_problem(k)->upstream, rs.rebuilt[k]);
		if (rs.left[k] > rs.waiting[k])
			fprintf(c->out, "not fixed: %s %" PRIu64 " (%s)\n", fsck_problem(k)->upstream,
				rs.left[k] - rs.waiting[k],
				rs.decide[k] == NO ? "declined" : fsck_problem(k)->fix);
		if (rs.waiting[k])
			fprintf(c->out, "not fixed: %s %" PRIu64 " (its bucket's alloc key was not corrected)\n",
				fsck_problem(k)->upstream, rs.waiting[k]);
	}

	for (unsigned k = 0; k < BCH_F_NR; k++)
		if (rs.decide[k] == NO)
			c->nr_declined += rs.left[k];
	if (!r.info.nr_writes)
		c->undo_path[0] = 0;

	/* nothing was written: every finding is still there */
	if (!r.info.nr_writes)
		after = c->nr_findings;
	/* read it back as recovery would: what is left? */
	if (r.info.nr_writes) {
		ret = reopen(c, devs, nr_devs, err);
		if (ret)
			goto out;
		ret = count_after(c->fs, c->o, &after, err);
		if (ret)
			goto out;
		if (c->out)
			fprintf(c->out, "after repair: %" PRIu64 " finding%s\n", after,
				after == 1 ? "" : "s");
	}
	/*
	 * what is left is what the check finds afterwards (an alloc correction
	 * declined here may have been made by a rebuild's bookkeeping)
	 */
	/* a stale pointer left in its extent: the check after cannot see it */
	if (rs.left[BCH_F_ptr_gen_mismatch] > rs.waiting[BCH_F_ptr_gen_mismatch] && !after)
		after = rs.left[BCH_F_ptr_gen_mismatch];
	ret = after ? EXIT_UNCORRECTED : r.info.nr_writes ? EXIT_FIXED : EXIT_OK;
out:
	if (rechecked) {
		fsck_free_findings(&b);
		bch_check_exit(&b.chk);
	}
	pb_exit(&b.pb);
	free(fixes);
	free(rs.unfixed);
	fsck_repair_exit(&r);
	return ret;
}

/* an image file attached to a loop device may be mounted: refuse */
