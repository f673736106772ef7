/*
 * bcachefs fsck progress: how far each pass is, by the bytes of btree
 * nodes it has read out of the bytes it is to read.
 *
 * The sizes come from one walk of the interior nodes before the first
 * pass: every node pointer gives its node's written sectors (btree_ptr_v2;
 * a whole node for the old btree_ptr). Each pass reads whole btrees or
 * their interior levels, so its total is a sum of those; as it reads, the
 * library tells us of every node (fs->on_node_read).
 *
 * Two outputs:
 *   fd 0    a line on standard error, redrawn in place: pass, position,
 *           share done, rate and time left;
 *   fd > 0  e2fsck's progress protocol, "PASS CUR MAX DEVICE" lines, as
 *           systemd-fsck reads them. Its pass numbers are e2fsck's 1 to 5
 *           (systemd-fsck weights them as e2fsck's): ours map to them as
 *           phase_of[] says, the three short last passes sharing 5.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "btree_node.h"
#include "extents.h"
#include "fs.h"
#include "fsck_ctx.h"
#include "rebuild.h"

#define REDRAW_NS	(100 * 1000 * 1000ull)	/* at most ten updates a second */

static const unsigned phase_of[PASS_NR] = {
	[PASS_NODES]		= 1,
	[PASS_ALLOC_BP]		= 2,
	[PASS_LRU]		= 3,
	[PASS_POINTERS]		= 4,
	[PASS_BUCKET_INDEX]	= 5,
	[PASS_ACCOUNTING]	= 5,
	[PASS_RECONCILE_PHYS]	= 5,
};

struct fsck_progress {
	struct bch_fs	*fs;
	int		fd;
	const char	*dev;
	bool		sized;
	bool		broken;		/* the protocol fd is gone: stop writing */
	/* sectors of every node, and of the interior nodes, per btree */
	uint64_t	all[BTREE_ID_NR_MAX];
	uint64_t	interior[BTREE_ID_NR_MAX];

	unsigned	phase;		/* 0: none yet */
	enum fsck_pass	pass;
	uint64_t	cur, max;	/* sectors */
	uint64_t	start_ns, last_ns;
	unsigned	last_permille;
	unsigned	btree;		/* where the last node read was */
	struct bpos	pos;
	size_t		line_len;	/* of the line drawn, 0: none */
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t node_sectors(const struct bch_fs *fs, const struct bch_btree_ptr_info *ptr)
{
	return ptr->v2 && ptr->h.sectors_written ? ptr->h.sectors_written : fs->btree_node_size;
}

/* ---- sizes ---- */

static int size_key(void *ctx, unsigned btree, unsigned level, const struct bkey *k,
		    struct bch_error *err)
{
	struct fsck_progress *p = ctx;
	struct bch_btree_ptr_info ptr;
	uint64_t s;

	(void)err;
	if (!level || btree >= BTREE_ID_NR_MAX || bch_btree_ptr_decode(k, &ptr))
		return 0;
	s = node_sectors(p->fs, &ptr);
	p->all[btree] += s;
	if (level > 1)		/* the key's node is at level - 1 */
		p->interior[btree] += s;
	return 0;
}

static void size_btrees(struct fsck_progress *p)
{
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		struct bch_error err = { 0 };

		if (p->fs->journal.roots[b].present)
			bch_btree_walk_tolerant(p->fs, b, false, size_key, NULL, p, &err);
	}
	p->sized = true;
}

/* what a pass reads (fsck_passes.c): whole btrees, or their interior levels */
static uint64_t pass_sectors(const struct fsck_progress *p, enum fsck_pass pass)
{
	unsigned version = p->fs->sb->version;
	uint64_t s = 0;

	switch (pass) {
	case PASS_NODES:
		for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++)
			s += fsck_nodes_pass_reads_leaves(b, version) ? p->all[b] : p->interior[b];
		return s;
	case PASS_ALLOC_BP:
		return p->all[BTREE_ID_alloc] + p->all[BTREE_ID_backpointers];
	case PASS_LRU:
		return p->all[BTREE_ID_lru];
	case PASS_POINTERS:
		for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++)
			s += fsck_btree_has_data(b) ? p->all[b] : p->interior[b];
		return s;
	case PASS_BUCKET_INDEX:
		return p->all[BTREE_ID_freespace] + p->all[BTREE_ID_need_discard] +
		       p->all[BTREE_ID_bucket_gens];
	case PASS_ACCOUNTING:
		return p->all[BTREE_ID_accounting];
	case PASS_RECONCILE_PHYS:
		return p->all[BTREE_ID_reconcile_hipri_phys] +
		       p->all[BTREE_ID_reconcile_work_phys];
	case PASS_NR:
		break;
	}
	return 0;
}

/* ---- output ---- */

static void write_protocol(struct fsck_progress *p)
{
	char line[512];
	uint64_t cur = p->cur < p->max ? p->cur : p->max;
	int n = snprintf(line, sizeof(line), "%u %" PRIu64 " %" PRIu64 " %s\n", p->phase,
			 cur * 512, p->max * 512, p->dev);

	if (n > 0 && (size_t)n < sizeof(line) && write(p->fd, line, (size_t)n) != n)
		p->broken = true;
}

static void draw_line(struct fsck_progress *p, uint64_t t)
{
	struct printbuf pb = PRINTBUF;
	uint64_t cur = p->cur < p->max ? p->cur : p->max;
	double secs = (double)(t - p->start_ns) / 1e9;
	double rate = secs > 0 ? (double)cur * 512 / secs : 0;
	const char *name = bch_btree_id_name(p->btree, p->fs->sb->version);

	pb_printf(&pb, "%s %s:", fsck_passes[p->pass].name, name ? name : "?");
	pb_bpos(&pb, p->pos);
	if (p->max)
		pb_printf(&pb, "  %5.1f%%", 100.0 * (double)cur / (double)p->max);
	pb_printf(&pb, "  %.1f MiB/s", rate / (1024 * 1024));
	if (p->max && rate > 0) {
		uint64_t left = (uint64_t)((double)(p->max - cur) * 512 / rate);

		pb_printf(&pb, "  %" PRIu64 ":%02" PRIu64 " left", left / 60, left % 60);
	}
	if (!pb.buf)
		return;
	fprintf(stderr, "\r%s", pb.buf);
	for (size_t i = strlen(pb.buf); i < p->line_len; i++)
		fputc(' ', stderr);
	p->line_len = strlen(pb.buf);
	fflush(stderr);
	pb_exit(&pb);
}

static void update(struct fsck_progress *p, bool force)
{
	uint64_t t = now_ns();
	uint64_t cur = p->cur < p->max ? p->cur : p->max;
	unsigned permille = p->max ? (unsigned)(cur * 1000 / p->max) : 0;

	if (!force && (t - p->last_ns < REDRAW_NS || permille == p->last_permille))
		return;
	p->last_ns = t;
	p->last_permille = permille;
	if (p->fd > 0 && !p->broken)
		write_protocol(p);
	else if (!p->fd)
		draw_line(p, t);
}

void fsck_progress_clear(struct fsck_progress *p)
{
	if (!p || !p->line_len)
		return;
	fputc('\r', stderr);
	for (size_t i = 0; i < p->line_len; i++)
		fputc(' ', stderr);
	fputc('\r', stderr);
	fflush(stderr);
	p->line_len = 0;
}

static void node_read(void *ctx, const struct bch_node_expect *x)
{
	struct fsck_progress *p = ctx;

	p->cur += node_sectors(p->fs, &x->ptr);
	p->btree = x->btree_id;
	p->pos = x->min_key;
	update(p, false);
}

/* ---- passes ---- */

/* listen to the node reads from now on (after the sizing walk) */
static void attach(struct fsck_progress *p)
{
	p->fs->on_node_read = node_read;
	p->fs->on_node_read_ctx = p;
}

void fsck_progress_pass(struct fsck_progress *p, const bool run[PASS_NR], enum fsck_pass pass,
			bool done)
{
	if (!p)
		return;
	if (!p->sized) {
		size_btrees(p);
		attach(p);
	}
	if (!done && phase_of[pass] != p->phase) {
		p->phase = phase_of[pass];
		p->max = 0;
		for (unsigned i = 0; i < PASS_NR; i++)
			if (run[i] && phase_of[i] == p->phase)
				p->max += pass_sectors(p, i);
		p->cur = 0;
		p->start_ns = now_ns();
		p->last_permille = UINT32_MAX;
		p->btree = 0;
		p->pos = POS_MIN;
	}
	p->pass = pass;
	if (!done) {
		update(p, true);
		return;
	}
	/* the last pass of its phase: the phase is done, whatever we counted */
	for (unsigned i = pass + 1; i < PASS_NR; i++)
		if (run[i] && phase_of[i] == p->phase)
			return;
	p->cur = p->max;
	update(p, true);
	fsck_progress_clear(p);
}

struct fsck_progress *fsck_progress_new(struct bch_fs *fs, int fd, const char *devname)
{
	struct fsck_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fs = fs;
	p->fd = fd;
	p->dev = devname;
	return p;
}

void fsck_progress_free(struct fsck_progress *p)
{
	if (!p)
		return;
	fsck_progress_clear(p);
	if (p->fs->on_node_read_ctx == p) {
		p->fs->on_node_read = NULL;
		p->fs->on_node_read_ctx = NULL;
	}
	free(p);
}
