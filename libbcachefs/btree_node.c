/*
 * Btree node decoding (bcachefs-format.md §5.2-5.6; upstream btree_io.c
 * bch2_btree_node_read_done(), validate_bset(), validate_bset_keys()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bkey.h"
#include "btree_node.h"
#include "checksum.h"
#include "crypt.h"
#include "fs.h"
#include "workers.h"

/*
 * The keys of a node as decoded, bset after bset: each bset is sorted,
 * so the keys are runs; run i starts at runs[i].
 */
struct node_ctx {
	struct bch_fs			*fs;
	const struct bch_node_expect	*x;
	struct bch_btree_node		*n;
	struct bch_unpacker		unpack;		/* of n->format */
	struct bkey			*keys;
	size_t				nr, size;
	size_t				*runs;
	unsigned			nr_runs, runs_size;
};

void bch_btree_node_crypt_first(const struct bch_crypt_key *key, struct bch_nonce nonce,
				uint8_t *node, size_t bytes)
{
	size_t hdr = BCH_NODE_BSET - BCH_NODE_FLAGS;

	bch_chacha20_xor(key, nonce, node + BCH_NODE_FLAGS, hdr);
	bch_chacha20_xor(key, bch_nonce_add(nonce, (unsigned)ROUND_UP(hdr, 64)),
			 node + BCH_NODE_KEYS, bytes - BCH_NODE_KEYS);
}

uint8_t *bch_btree_node_buf_alloc(struct bch_fs *fs, void **alloc)
{
	size_t bytes = (size_t)fs->btree_node_size * 512;
	void *p = NULL;

	if (posix_memalign(&p, 4096, bytes))
		return NULL;
	*alloc = p;
	return p;
}

void bch_btree_node_free(struct bch_btree_node *n)
{
	free(n->buf_alloc);
	free(n->keys);
	memset(n, 0, sizeof(*n));
}

static int node_err(struct node_ctx *c, struct bch_error *err, int code,
		    const char *fmt, const char *detail, unsigned long long at)
{
	const char *name = bch_btree_id_name(c->x->btree_id, c->fs->sb->version);
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, detail);
	return bch_err(err, code,
		       "btree node (btree %s level %u) at device %u sector %llu: %s (node byte %llu, device byte %llu)",
		       name ? name : "?", c->x->level, c->n->dev,
		       (unsigned long long)c->n->sector, msg, at, c->n->sector * 512 + at);
}

/* room for want keys in all (once per bset, whose keys were counted) */
static int reserve_keys(struct node_ctx *c, size_t want, struct bch_error *err)
{
	struct bkey *k;

	if (want <= c->size)
		return 0;
	k = realloc(c->keys, want * sizeof(*k));
	if (!k)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	c->keys = k;
	c->size = want;
	return 0;
}

static int start_run(struct node_ctx *c, struct bch_error *err)
{
	if (c->nr_runs == c->runs_size) {
		unsigned ns = c->runs_size ? c->runs_size * 2 : 8;
		size_t *r = realloc(c->runs, ns * sizeof(*r));

		if (!r)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		c->runs = r;
		c->runs_size = ns;
	}
	c->runs[c->nr_runs++] = c->nr;
	return 0;
}

/* validate and collect the keys of one bset: [p, p + bytes) at node offset base */
static int bset_keys(struct node_ctx *c, const uint8_t *p, size_t bytes, size_t base,
		     struct bch_error *err)
{
	const struct bch_btree_node *n = c->n;
	struct bpos prev = POS_MIN;
	bool have_prev = false, prev_deleted = false;
	size_t off = 0, cnt = 0;
	int ret;

	/*
	 * count the keys by their u64s bytes first (the decode below steps
	 * the same way and stops no later), so the array is sized once
	 */
	for (size_t o = 0; o + 8 <= bytes && p[o]; o += (size_t)p[o] * 8)
		cnt++;
	ret = start_run(c, err) ?: reserve_keys(c, c->nr + cnt + 1, err);
	if (ret)
		return ret;
	while (off < bytes) {
		const char *why = NULL;
		struct bkey *k = &c->keys[c->nr];
		size_t kb = bch_bkey_unpack(&c->unpack, p + off, bytes - off, k, &why);

		if (!kb)
			return node_err(c, err, BCH_ERR_CORRUPT, "invalid key: %s", why,
					base + off);
		if (k->type >= KEY_TYPE_NR) {
			char t[16];

			snprintf(t, sizeof(t), "%u", k->type);
			return node_err(c, err, BCH_ERR_CORRUPT, "invalid key type %s", t,
					base + off);
		}
		if (bpos_cmp(k->p, n->min_key) < 0 || bpos_cmp(k->p, n->max_key) > 0)
			return node_err(c, err, BCH_ERR_CORRUPT, "%skey outside the node's range",
					"", base + off);
		if (have_prev) {
			int cmp = bpos_cmp(prev, k->p);

			if (cmp > 0 || (cmp == 0 && !prev_deleted))
				return node_err(c, err, BCH_ERR_CORRUPT, "%skeys out of order",
						"", base + off);
		}
		if (n->level && k->type != KEY_TYPE_deleted && k->type != KEY_TYPE_btree_ptr &&
		    k->type != KEY_TYPE_btree_ptr_v2)
			return node_err(c, err, BCH_ERR_CORRUPT,
					"%snon-pointer key in an interior node", "", base + off);
		prev = k->p;
		prev_deleted = k->type == KEY_TYPE_deleted;
		have_prev = true;
		c->nr++;
		off += kb;
	}
	return 0;
}

static int check_bset_version(struct node_ctx *c, unsigned version, size_t at,
			      struct bch_error *err)
{
	char v[32];

	if (version >= BCH_VERSION_MIN && version <= BCH_VERSION_CURRENT)
		return 0;
	snprintf(v, sizeof(v), "%u.%u", BCH_VERSION_MAJOR(version), BCH_VERSION_MINOR(version));
	if (version < BCH_VERSION_MIN || BCH_VERSION_MAJOR(version) > 1)
		return node_err(c, err, BCH_ERR_CORRUPT, "bset with invalid version %s", v, at);
	if (version > BCH_VERSION_CURRENT)
		return node_err(c, err, BCH_ERR_UNSUPPORTED,
				"bset written by version %s, newer than this tool reads", v, at);
	return 0;
}

static int verify_csum(struct node_ctx *c, const uint8_t *p, size_t bytes,
		       unsigned csum_type, struct bch_nonce nonce, size_t at,
		       struct bch_error *err)
{
	struct bch_fs *fs = c->fs;
	struct bch_csum want;
	char detail[64];

	if (!bch_csum_type_valid(csum_type)) {
		snprintf(detail, sizeof(detail), "%u", csum_type);
		return node_err(c, err, BCH_ERR_CORRUPT, "bset with unknown checksum type %s",
				detail, at);
	}
	if (bch_csum_type_is_encryption(csum_type) && !fs->encrypted)
		return node_err(c, err, BCH_ERR_CORRUPT,
				"%sencrypted bset on an unencrypted filesystem", "", at);
	if (bch_checksum(csum_type, &fs->key, nonce, p + BCH_CSUM_COVERS_FROM,
			 bytes - BCH_CSUM_COVERS_FROM, &want))
		return node_err(c, err, BCH_ERR_CORRUPT, "%scannot compute bset checksum", "", at);
	if (!bch_csum_eq(want, bch_csum_decode(p))) {
		snprintf(detail, sizeof(detail), "%s", bch_csum_type_name(csum_type));
		return node_err(c, err, BCH_ERR_CORRUPT, "bset checksum error (type %s)",
				detail, at);
	}
	return 0;
}

/* first bset: node header, format, first keys */
static int first_bset(struct node_ctx *c, unsigned limit, struct bch_error *err)
{
	struct bch_fs *fs = c->fs;
	struct bch_btree_node *n = c->n;
	const struct bch_node_expect *x = c->x;
	uint8_t *b = n->buf;
	uint32_t bflags = get_le32(b + BCH_NODE_BSET_FLAGS);
	uint64_t jseq = get_le64(b + BCH_NODE_JOURNAL_SEQ), flags;
	size_t bytes = BCH_NODE_KEYS + (size_t)get_le16(b + BCH_NODE_U64S) * 8;
	unsigned sectors = (unsigned)(ROUND_UP(bytes, (size_t)fs->block_size * 512) / 512);
	struct bch_nonce nonce;
	const char *why;
	unsigned id;
	int ret;

	if (get_le64(b + BCH_NODE_MAGIC) != fs->sb->bset_magic)
		return node_err(c, err, BCH_ERR_CORRUPT, "%sbad magic", "", BCH_NODE_MAGIC);
	n->seq = get_le64(b + BCH_NODE_SEQ);
	if (x->ptr.v2 ? n->seq != x->ptr.h.seq : !n->seq)
		return node_err(c, err, BCH_ERR_CORRUPT,
				"%sbset seq does not match the pointer's seq", "", BCH_NODE_SEQ);
	if (BCH_BSET_BIG_ENDIAN(bflags) || BCH_BSET_SEPARATE_WHITEOUTS(bflags))
		return node_err(c, err, BCH_ERR_UNSUPPORTED,
				"%sbig-endian or separate-whiteout bset", "", BCH_NODE_BSET_FLAGS);
	if (sectors > limit)
		return node_err(c, err, BCH_ERR_CORRUPT,
				"%sfirst bset extends past the written part of the node", "",
				BCH_NODE_U64S);
	ret = check_bset_version(c, get_le16(b + BCH_NODE_VERSION), BCH_NODE_VERSION, err);
	if (ret)
		return ret;

	nonce = bch_bset_nonce(0, n->seq, jseq);
	ret = verify_csum(c, b, bytes, BCH_BSET_CSUM_TYPE(bflags), nonce, 0, err);
	if (ret)
		return ret;
	if (bch_csum_type_is_encryption(BCH_BSET_CSUM_TYPE(bflags)))
		bch_btree_node_crypt_first(&fs->key, nonce, b, bytes);

	flags = get_le64(b + BCH_NODE_FLAGS);
	id = bch_node_flags_btree_id(flags);
	n->btree_id = id;
	n->level = bch_node_flags_level(flags);
	n->min_key = bpos_decode(b + BCH_NODE_MIN_KEY);
	n->max_key = bpos_decode(b + BCH_NODE_MAX_KEY);
	if (id != x->btree_id || n->level != x->level) {
		char d[96];

		snprintf(d, sizeof(d), "btree %u level %u, expected btree %u level %u",
			 id, n->level, x->btree_id, x->level);
		return node_err(c, err, BCH_ERR_CORRUPT, "node header says %s", d,
				BCH_NODE_FLAGS);
	}
	if (x->ptr.v2 && (x->ptr.h.flags & BCH_BTREE_PTR_RANGE_UPDATED)) {
		n->min_key = x->min_key;
		n->max_key = x->max_key;
	} else if (!bpos_eq(n->min_key, x->min_key) || !bpos_eq(n->max_key, x->max_key)) {
		return node_err(c, err, BCH_ERR_CORRUPT,
				"%snode min/max key do not match its parent pointer", "",
				BCH_NODE_MIN_KEY);
	}
	bch_bkey_format_decode(b + BCH_NODE_FORMAT, &n->format);
	why = bch_bkey_format_invalid(&n->format);
	if (why)
		return node_err(c, err, BCH_ERR_CORRUPT, "invalid bkey_format: %s", why,
				BCH_NODE_FORMAT);
	bch_unpacker_init(&c->unpack, &n->format);

	n->written = sectors;
	n->nr_bsets = 1;
	return bset_keys(c, b + BCH_NODE_KEYS, bytes - BCH_NODE_KEYS, BCH_NODE_KEYS, err);
}

/* later bsets (btree_node_entry) up to the limit */
static int later_bsets(struct node_ctx *c, unsigned limit, struct bch_error *err)
{
	struct bch_fs *fs = c->fs;
	struct bch_btree_node *n = c->n;
	size_t block = (size_t)fs->block_size * 512;
	int ret;

	while (n->written < limit) {
		size_t at = (size_t)n->written * 512;
		uint8_t *e = n->buf + at;
		uint32_t bflags;
		size_t bytes;
		unsigned sectors;
		uint64_t jseq;
		struct bch_nonce nonce;

		if (get_le64(e + BCH_ENTRY_SEQ) != n->seq)
			break;
		bflags = get_le32(e + BCH_ENTRY_FLAGS);
		jseq = get_le64(e + BCH_ENTRY_JOURNAL_SEQ);
		bytes = BCH_ENTRY_KEYS + (size_t)get_le16(e + BCH_ENTRY_U64S) * 8;
		sectors = (unsigned)(ROUND_UP(bytes, block) / 512);
		if (n->written + sectors > limit)
			return node_err(c, err, BCH_ERR_CORRUPT,
					"%sbset extends past the written part of the node", "", at);
		if (BCH_BSET_BIG_ENDIAN(bflags) || BCH_BSET_SEPARATE_WHITEOUTS(bflags))
			return node_err(c, err, BCH_ERR_UNSUPPORTED,
					"%sbig-endian or separate-whiteout bset", "",
					at + BCH_ENTRY_FLAGS);
		if (BCH_BSET_OFFSET(bflags) && BCH_BSET_OFFSET(bflags) != n->written)
			return node_err(c, err, BCH_ERR_CORRUPT,
					"%sbset records the wrong sector offset", "",
					at + BCH_ENTRY_FLAGS);
		ret = check_bset_version(c, get_le16(e + BCH_ENTRY_VERSION),
					 at + BCH_ENTRY_VERSION, err);
		if (ret)
			return ret;
		nonce = bch_bset_nonce((unsigned)at, n->seq, jseq);
		ret = verify_csum(c, e, bytes, BCH_BSET_CSUM_TYPE(bflags), nonce, at, err);
		if (ret)
			return ret;
		if (bch_csum_type_is_encryption(BCH_BSET_CSUM_TYPE(bflags)))
			bch_chacha20_xor(&fs->key, nonce, e + BCH_ENTRY_KEYS,
					 bytes - BCH_ENTRY_KEYS);

		n->written += sectors;
		/* a bset from a journal sequence that never happened is ignored */
		if (bch_fs_seq_blacklisted(fs, jseq))
			continue;
		n->nr_bsets++;
		ret = bset_keys(c, e + BCH_ENTRY_KEYS, bytes - BCH_ENTRY_KEYS, at + BCH_ENTRY_KEYS,
				err);
		if (ret)
			return ret;
	}
	if (c->x->ptr.v2 && c->x->ptr.h.sectors_written && n->written < limit)
		return node_err(c, err, BCH_ERR_CORRUPT,
				"%snode has fewer valid bsets than the pointer's sectors_written",
				"", (size_t)n->written * 512);
	return 0;
}

/* merge sorted runs a = [0, na) and b = [na, na + nb) of src into dst; a first on a tie */
static void merge_two(const struct bkey *src, size_t na, size_t nb, struct bkey *dst)
{
	const struct bkey *a = src, *b = src + na;
	size_t i = 0, j = 0, o = 0;

	while (i < na && j < nb)
		dst[o++] = bpos_cmp(b[j].p, a[i].p) < 0 ? b[j++] : a[i++];
	while (i < na)
		dst[o++] = a[i++];
	while (j < nb)
		dst[o++] = b[j++];
}

/*
 * One sorted array from the runs, stable: of keys at one position, the
 * older bset's come first. Adjacent runs are merged pairwise until one
 * is left (log2 of the number of bsets rounds).
 */
static int merge_runs(struct node_ctx *c, struct bch_error *err)
{
	struct bkey *tmp;
	unsigned nr = c->nr_runs;

	if (nr <= 1)
		return 0;
	tmp = malloc(c->nr * sizeof(*tmp));
	if (!tmp)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	while (nr > 1) {
		unsigned out = 0;

		for (unsigned r = 0; r < nr; r += 2) {
			size_t start = c->runs[r];
			size_t mid = r + 1 < nr ? c->runs[r + 1] : c->nr;
			size_t end = r + 2 < nr ? c->runs[r + 2] : c->nr;

			merge_two(c->keys + start, mid - start, end - mid, tmp + start);
			c->runs[out++] = start;
		}
		memcpy(c->keys, tmp, c->nr * sizeof(*tmp));
		nr = out;
	}
	free(tmp);
	return 0;
}

/* newest bset wins per position; deleted keys go. The node takes the array. */
static int merge_bsets(struct node_ctx *c, struct bch_error *err)
{
	struct bch_btree_node *n = c->n;
	size_t i, out = 0;
	int ret = merge_runs(c, err);

	if (ret)
		return ret;
	for (i = 0; i < c->nr; i++) {
		if (i + 1 < c->nr && bpos_eq(c->keys[i].p, c->keys[i + 1].p))
			continue;
		if (c->keys[i].type == KEY_TYPE_deleted)
			continue;
		if (out != i)
			c->keys[out] = c->keys[i];
		out++;
	}
	n->nr_keys = out;
	/* the node takes the array; one without keys gets an empty one */
	n->keys = c->keys ? c->keys : malloc(sizeof(*n->keys));
	c->keys = NULL;
	if (!n->keys)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	return 0;
}

int bch_btree_node_parse(struct bch_fs *fs, const struct bch_node_expect *x,
			 void *buf_alloc, uint8_t *buf, unsigned dev, uint64_t sector,
			 struct bch_btree_node *n, struct bch_error *err)
{
	struct node_ctx c = { .fs = fs, .x = x, .n = n };
	unsigned limit = fs->btree_node_size;
	int ret;

	memset(n, 0, sizeof(*n));
	n->buf = buf;
	n->buf_alloc = buf_alloc;
	n->dev = dev;
	n->sector = sector;

	if (x->ptr.v2 && x->ptr.h.sectors_written) {
		if (x->ptr.h.sectors_written > limit)
			return node_err(&c, err, BCH_ERR_CORRUPT,
					"%spointer's sectors_written exceeds the node size", "", 0);
		limit = x->ptr.h.sectors_written;
	}
	ret = first_bset(&c, limit, err) ?:
	      later_bsets(&c, limit, err) ?:
	      merge_bsets(&c, err);
	free(c.keys);
	free(c.runs);
	if (ret) {
		free(n->keys);
		n->keys = NULL;
	}
	return ret;
}

static const struct bch_extent_ptr *usable_ptr(struct bch_fs *fs, const struct bch_node_expect *x,
					       unsigned from, unsigned *idx)
{
	for (unsigned i = from; i < x->ptr.nr_ptrs; i++) {
		const struct bch_extent_ptr *p = &x->ptr.ptrs[i];
		const struct bch_member *m;

		if (!fs->devs[p->dev])
			continue;
		m = bch_fs_member(fs, p->dev);
		if (!m)
			continue;
		*idx = i;
		return p;
	}
	return NULL;
}

static int ptr_in_device(struct bch_fs *fs, const struct bch_node_expect *x,
			 const struct bch_extent_ptr *p, struct bch_error *err)
{
	const struct bch_member *m = bch_fs_member(fs, p->dev);
	uint64_t bucket = p->offset / m->bucket_size;
	const char *name = bch_btree_id_name(x->btree_id, fs->sb->version);

	if (bucket < m->first_bucket || bucket >= m->nbuckets ||
	    p->offset % m->bucket_size + fs->btree_node_size > m->bucket_size)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "btree node pointer (btree %s level %u) to device %u sector %llu is outside the device's buckets (%u..%llu of %u sectors)",
			       name ? name : "?", x->level, p->dev, (unsigned long long)p->offset,
			       m->first_bucket, (unsigned long long)m->nbuckets - 1, m->bucket_size);
	return 0;
}

/* what reading x is told to (progress, --stats): in the thread that asked */
static void node_read_notify(struct bch_fs *fs, const struct bch_node_expect *x)
{
	fs->nodes_read++;
	if (fs->on_node_read)
		fs->on_node_read(fs->on_node_read_ctx, x);
}

/*
 * The bytes of a node worth reading: with a v2 pointer that records how
 * many sectors were written, those (rounded up to 4 KiB for O_DIRECT),
 * since nothing past them is looked at (bch_btree_node_parse stops
 * there); nodes are on average about half written, so this halves what
 * is read. Otherwise, or if the pointer claims more, the whole node.
 */
static size_t node_read_bytes(const struct bch_fs *fs, const struct bch_node_expect *x)
{
	size_t whole = (size_t)fs->btree_node_size * 512, bytes;

	if (!x->ptr.v2 || !x->ptr.h.sectors_written)
		return whole;
	bytes = ROUND_UP((size_t)x->ptr.h.sectors_written * 512, (size_t)4096);
	return bytes < whole ? bytes : whole;
}

/* every replica in turn until one reads and decodes; any thread */
static int node_read_replicas(struct bch_fs *fs, const struct bch_node_expect *x,
			      struct bch_btree_node *n, struct bch_error *err)
{
	struct bch_error first = { 0 };
	unsigned i = 0;
	int ret = -BCH_ERR_IO;

	for (const struct bch_extent_ptr *p; (p = usable_ptr(fs, x, i, &i)); i++) {
		struct bch_error e = { 0 };
		void *alloc;
		uint8_t *buf = bch_btree_node_buf_alloc(fs, &alloc);

		if (!buf)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		ret = ptr_in_device(fs, x, p, &e);
		if (!ret) {
			ret = bch_io_read(fs->devs[p->dev]->io, p->offset * 512, buf,
					  node_read_bytes(fs, x), &e);
			if (ret) {
				const char *name = bch_btree_id_name(x->btree_id, fs->sb->version);

				bch_err_prefix(&e, "btree node (btree %s level %u) at device %u sector %llu",
					       name ? name : "?", x->level, p->dev,
					       (unsigned long long)p->offset);
			}
		}
		if (ret) {
			free(alloc);
		} else {
			ret = bch_btree_node_parse(fs, x, alloc, buf, p->dev, p->offset, n, &e);
			if (!ret)
				return 0;
			bch_btree_node_free(n);
		}
		if (!first.code)
			first = e;
	}
	if (!first.code)
		return bch_err(err, BCH_ERR_DEVICES,
			       "btree node has no pointer to an available device");
	*err = first;
	return ret;
}

int bch_btree_node_read(struct bch_fs *fs, const struct bch_node_expect *x,
			struct bch_btree_node *n, struct bch_error *err)
{
	node_read_notify(fs, x);
	return node_read_replicas(fs, x, n, err);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * A batch of node reads on its way: the requests by node (len 0: the
 * node has no usable pointer, it goes the slow way), and one started
 * read per device, over a copy of that device's requests.
 */
struct bch_nodes_io {
	unsigned		nr;
	struct bch_read_req	*reqs;
	void			**allocs;
	unsigned		*devs;		/* UINT32_MAX: not read in the batch */
	unsigned		nr_groups;
	struct nodes_group {
		unsigned		dev;
		unsigned		nr;
		struct bch_read_req	*reqs;
		struct bch_read_async	a;
	}			*groups;
};

static void nodes_io_free(struct bch_nodes_io *io)
{
	for (unsigned i = 0; i < io->nr_groups; i++)
		free(io->groups[i].reqs);
	for (unsigned i = 0; i < io->nr && io->allocs; i++)
		free(io->allocs[i]);
	free(io->groups);
	free(io->reqs);
	free(io->allocs);
	free(io->devs);
	memset(io, 0, sizeof(*io));
}

/* buffers and requests for the nodes x, and their reads started */
static int nodes_start(struct bch_fs *fs, const struct bch_node_expect *x, unsigned nr,
		       struct bch_nodes_io *io, struct bch_error *err)
{
	unsigned n = nr ? nr : 1;

	memset(io, 0, sizeof(*io));
	io->nr = nr;
	io->reqs = calloc(n, sizeof(*io->reqs));
	io->allocs = calloc(n, sizeof(*io->allocs));
	io->devs = calloc(n, sizeof(*io->devs));
	io->groups = calloc(n, sizeof(*io->groups));
	if (!io->reqs || !io->allocs || !io->devs || !io->groups)
		goto nomem;
	for (unsigned i = 0; i < nr; i++) {
		unsigned idx;
		const struct bch_extent_ptr *p = usable_ptr(fs, &x[i], 0, &idx);

		io->devs[i] = UINT32_MAX;
		if (!p || ptr_in_device(fs, &x[i], p, NULL))
			continue;
		io->reqs[i].buf = bch_btree_node_buf_alloc(fs, &io->allocs[i]);
		if (!io->reqs[i].buf)
			goto nomem;
		io->reqs[i].offset = p->offset * 512;
		io->reqs[i].len = node_read_bytes(fs, &x[i]);
		io->devs[i] = p->dev;
	}
	/* one read per device, in the order the devices first appear */
	for (unsigned i = 0; i < nr; i++) {
		struct nodes_group *g = NULL;

		if (io->devs[i] == UINT32_MAX)
			continue;
		for (unsigned k = 0; k < io->nr_groups && !g; k++)
			if (io->groups[k].dev == io->devs[i])
				g = &io->groups[k];
		if (g)
			continue;
		g = &io->groups[io->nr_groups++];
		g->dev = io->devs[i];
		g->reqs = calloc(n, sizeof(*g->reqs));
		if (!g->reqs)
			goto nomem;
		for (unsigned j = i; j < nr; j++)
			if (io->devs[j] == g->dev)
				g->reqs[g->nr++] = io->reqs[j];
	}
	for (unsigned k = 0; k < io->nr_groups; k++) {
		struct nodes_group *g = &io->groups[k];

		bch_io_read_start(fs->devs[g->dev]->io, g->reqs, g->nr, &g->a);
	}
	return 0;
nomem:
	nodes_io_free(io);
	return bch_err(err, BCH_ERR_NOMEM, "out of memory");
}

/* every read of the batch done, its result by node */
static void nodes_wait(struct bch_nodes_io *io)
{
	for (unsigned k = 0; k < io->nr_groups; k++) {
		struct nodes_group *g = &io->groups[k];

		bch_io_read_wait(&g->a);
		for (unsigned i = 0, j = 0; i < io->nr; i++)
			if (io->devs[i] == g->dev)
				io->reqs[i].result = g->reqs[j++].result;
	}
}

/* decode what was read (after nodes_wait); a node that failed goes the slow way */
static int nodes_finish(struct bch_fs *fs, const struct bch_node_expect *x,
			struct bch_nodes_io *io, struct bch_btree_node *n, struct bch_error *err)
{
	unsigned nr = io->nr;
	int ret = 0;

	for (unsigned i = 0; i < nr; i++)
		memset(&n[i], 0, sizeof(n[i]));
	for (unsigned i = 0; i < nr && !ret; i++) {
		struct bch_read_req *r = &io->reqs[i];
		struct bch_error e = { 0 };

		if (io->devs[i] != UINT32_MAX && !r->result &&
		    !bch_btree_node_parse(fs, &x[i], io->allocs[i], r->buf, io->devs[i],
					  r->offset / 512, &n[i], &e)) {
			io->allocs[i] = NULL;
			continue;
		}
		if (io->devs[i] != UINT32_MAX && !r->result)
			bch_btree_node_free(&n[i]);	/* parse took the buffer */
		else
			free(io->allocs[i]);
		io->allocs[i] = NULL;
		/* slow path: every replica in turn, with a precise error */
		ret = node_read_replicas(fs, &x[i], &n[i], err);
	}
	if (ret)
		for (unsigned i = 0; i < nr; i++)
			bch_btree_node_free(&n[i]);
	nodes_io_free(io);
	return ret;
}

static int nodes_read_batch(struct bch_fs *fs, const struct bch_node_expect *x,
			    unsigned nr, struct bch_btree_node *n, struct bch_error *err)
{
	struct bch_nodes_io io;
	int ret = nodes_start(fs, x, nr, &io, err);

	if (ret) {
		for (unsigned i = 0; i < nr; i++)
			memset(&n[i], 0, sizeof(n[i]));
		return ret;
	}
	nodes_wait(&io);
	return nodes_finish(fs, x, &io, n, err);
}

/* the batch read and decode, without notifying; any thread; its CPU time counted */
static int nodes_read_body(struct bch_fs *fs, const struct bch_node_expect *x,
			   unsigned nr, struct bch_btree_node *n, struct bch_error *err)
{
	uint64_t t0 = thread_cpu_ns();
	int ret = nodes_read_batch(fs, x, nr, n, err);

	__atomic_fetch_add(&fs->node_cpu_ns, thread_cpu_ns() - t0, __ATOMIC_RELAXED);
	return ret;
}

int bch_btree_nodes_read(struct bch_fs *fs, const struct bch_node_expect *x,
			 unsigned nr, struct bch_btree_node *n, struct bch_error *err)
{
	for (unsigned i = 0; i < nr; i++)
		node_read_notify(fs, &x[i]);
	return nodes_read_body(fs, x, nr, n, err);
}

static void nodes_job_run(struct bch_work *w)
{
	struct bch_nodes_job *j = (struct bch_nodes_job *)w;

	j->ret = nodes_read_body(j->fs, j->x, j->nr, j->n, &j->err);
}

bool bch_btree_readahead_pays(const struct bch_fs *fs)
{
	if (fs->workers)
		return true;
	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++) {
		const struct bch_io *io = fs->devs[i] ? fs->devs[i]->io : NULL;

		if (io && io->stats.batch_bytes && !bch_io_mostly_cached(io))
			return true;
	}
	return false;
}

/*
 * With worker threads, a worker reads and decodes the batch. Without,
 * the reads are started here (what the page cache holds is copied now,
 * the rest queued to the disk) and decoded at the finish: the disk reads
 * while the caller walks what it has.
 */
void bch_btree_nodes_read_start(struct bch_fs *fs, const struct bch_node_expect *x,
				unsigned nr, struct bch_nodes_job *j)
{
	memset(j, 0, sizeof(*j));
	j->fs = fs;
	j->nr = nr < BCH_NODES_JOB_MAX ? nr : BCH_NODES_JOB_MAX;
	for (unsigned i = 0; i < j->nr; i++) {
		j->x[i] = x[i];
		node_read_notify(fs, &x[i]);
	}
	if (!fs->workers) {
		uint64_t t0 = thread_cpu_ns();

		j->io = malloc(sizeof(*j->io));
		j->ret = !j->io ? bch_err(&j->err, BCH_ERR_NOMEM, "out of memory") :
				  nodes_start(fs, j->x, j->nr, j->io, &j->err);
		if (j->ret) {
			free(j->io);
			j->io = NULL;
		}
		__atomic_fetch_add(&fs->node_cpu_ns, thread_cpu_ns() - t0, __ATOMIC_RELAXED);
		return;
	}
	j->work.fn = nodes_job_run;
	bch_work_queue(fs->workers, &j->work);
}

/* without workers: the started reads waited for and decoded */
static void nodes_job_finish_here(struct bch_nodes_job *j)
{
	uint64_t t0 = thread_cpu_ns();

	nodes_wait(j->io);
	j->ret = nodes_finish(j->fs, j->x, j->io, j->n, &j->err);
	free(j->io);
	j->io = NULL;
	__atomic_fetch_add(&j->fs->node_cpu_ns, thread_cpu_ns() - t0, __ATOMIC_RELAXED);
}

int bch_btree_nodes_read_finish(struct bch_nodes_job *j, struct bch_btree_node *n,
				struct bch_error *err)
{
	if (j->io)
		nodes_job_finish_here(j);
	else if (j->fs->workers)
		bch_work_wait(j->fs->workers, &j->work);
	if (j->ret) {
		if (err)
			*err = j->err;
		return j->ret;
	}
	memcpy(n, j->n, j->nr * sizeof(*n));
	return 0;
}

void bch_btree_nodes_read_discard(struct bch_nodes_job *j)
{
	if (j->io) {
		/* the buffers stay until the disk is done with them */
		nodes_wait(j->io);
		nodes_io_free(j->io);
		free(j->io);
		j->io = NULL;
		return;
	}
	if (j->fs->workers)
		bch_work_wait(j->fs->workers, &j->work);
	if (!j->ret)
		for (unsigned i = 0; i < j->nr; i++)
			bch_btree_node_free(&j->n[i]);
}
