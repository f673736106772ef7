/*
 * Journal reading (bcachefs-format.md §4.5-4.8; upstream journal_io.c
 * bch2_journal_read() and recovery.c journal_replay_early()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "checksum.h"
#include "crypt.h"
#include "fs.h"
#include "journal.h"
#include "sb_fields.h"

#define JSET_NO_FLUSH		(1u << 5)
#define JSET_BIG_ENDIAN		(1u << 4)

struct jread {
	struct bch_fs			*fs;
	bool				positions_only;	/* a scan for appending: keep no entry */
	struct bch_journal_entry	*e;
	size_t				nr, size;
	uint64_t			max_last_seq;
};

static void entry_free(struct bch_journal_entry *e)
{
	free(e->buf);
	e->buf = NULL;
}

static int jread_add(struct jread *r, struct bch_journal_entry *n, struct bch_error *err)
{
	size_t i, out;

	if (n->seq < r->max_last_seq) {
		entry_free(n);
		return 0;
	}
	if (n->last_seq > r->max_last_seq && n->last_seq <= n->seq) {
		r->max_last_seq = n->last_seq;
		/* entries older than the new last_seq are no longer needed */
		for (i = out = 0; i < r->nr; i++) {
			if (r->e[i].seq < r->max_last_seq)
				entry_free(&r->e[i]);
			else
				r->e[out++] = r->e[i];
		}
		r->nr = out;
	}
	for (i = 0; i < r->nr; i++) {
		if (r->e[i].seq != n->seq)
			continue;
		/* another replica of the same entry: keep a good copy */
		if (!r->e[i].csum_ok && n->csum_ok) {
			entry_free(&r->e[i]);
			r->e[i] = *n;
		} else {
			entry_free(n);
		}
		return 0;
	}
	if (r->nr == r->size) {
		size_t ns = r->size ? r->size * 2 : 64;
		struct bch_journal_entry *ne = realloc(r->e, ns * sizeof(*ne));

		if (!ne) {
			entry_free(n);
			return bch_err(err, BCH_ERR_NOMEM, "out of memory reading the journal");
		}
		r->e = ne;
		r->size = ns;
	}
	r->e[r->nr++] = *n;
	return 0;
}

static int jset_check_version(uint32_t v, const char *where, struct bch_error *err)
{
	if (v < BCH_VERSION_MIN || BCH_VERSION_MAJOR(v) > 1)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: unsupported version %u", where, v);
	if (v > BCH_VERSION_CURRENT)
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "%s: written by metadata version %u.%u, newer than %u.%u",
			       where, BCH_VERSION_MAJOR(v), BCH_VERSION_MINOR(v),
			       BCH_VERSION_MAJOR(BCH_VERSION_CURRENT),
			       BCH_VERSION_MINOR(BCH_VERSION_CURRENT));
	return 0;
}

/* verify (and decrypt) one jset at buf; fills n on success */
static int jset_decode(struct bch_fs *fs, const uint8_t *buf, size_t bytes,
		       unsigned dev, uint64_t sector, struct bch_journal_entry *n,
		       struct bch_error *err)
{
	uint32_t flags = get_le32(buf + BCH_JSET_FLAGS);
	unsigned csum_type = flags & 15;
	struct bch_csum want;
	char where[128];

	snprintf(where, sizeof(where), "journal entry at device %u sector %llu (byte %llu)",
		 dev, (unsigned long long)sector, (unsigned long long)sector * 512);
	memset(n, 0, sizeof(*n));
	n->seq = get_le64(buf + BCH_JSET_SEQ);
	n->version = get_le32(buf + BCH_JSET_VERSION);
	n->flags = flags;
	n->no_flush = flags & JSET_NO_FLUSH;
	n->last_seq = n->no_flush ? 0 : get_le64(buf + BCH_JSET_LAST_SEQ);
	n->dev = dev;
	n->sector = sector;
	n->bytes = bytes;

	if (flags & JSET_BIG_ENDIAN)
		return bch_err(err, BCH_ERR_UNSUPPORTED, "%s: big-endian journal entry", where);
	if (!bch_csum_type_valid(csum_type))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: unknown checksum type %u (byte %llu)",
			       where, csum_type, (unsigned long long)sector * 512 + BCH_JSET_FLAGS);
	if (bch_csum_type_is_encryption(csum_type) && !fs->encrypted)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: encrypted entry on an unencrypted filesystem",
			       where);

	n->buf = malloc(bytes);
	if (!n->buf)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(n->buf, buf, bytes);
	if (!bch_checksum(csum_type, &fs->key, bch_journal_nonce(n->seq), buf + BCH_JSET_CSUM_FROM,
			  bytes - BCH_JSET_CSUM_FROM, &want))
		n->csum_ok = bch_csum_eq(want, bch_csum_decode(buf + BCH_JSET_CSUM));
	if (bch_csum_type_is_encryption(csum_type)) {
		/* last_seq is inside the encrypted part */
		n->last_seq = 0;
		if (n->csum_ok) {
			bch_chacha20_xor(&fs->key, bch_journal_nonce(n->seq),
					 n->buf + BCH_JSET_ENCRYPTED_FROM,
					 bytes - BCH_JSET_ENCRYPTED_FROM);
			n->last_seq = n->no_flush ? 0 : get_le64(n->buf + BCH_JSET_LAST_SEQ);
		}
	}
	return 0;
}

/* the newest entry on disk so far, and its bucket's newest seq */
static void note_position(struct bch_journal *j, unsigned dev, unsigned idx, uint64_t seq,
			  uint64_t end)
{
	if (j->bucket_seq[dev] && seq > j->bucket_seq[dev][idx])
		j->bucket_seq[dev][idx] = seq;
	if (!j->tail_found || seq > j->highest_seq_seen) {
		j->tail_found = true;
		j->tail_dev = dev;
		j->tail_bucket = idx;
		j->tail_end = end;
	}
	if (seq > j->highest_seq_seen)
		j->highest_seq_seen = seq;
}

/* scan one journal bucket (index idx of the device's list) already in memory */
static int scan_bucket(struct jread *r, const uint8_t *b, size_t bucket_bytes,
		       unsigned dev, unsigned idx, uint64_t start_sector, struct bch_error *err)
{
	struct bch_fs *fs = r->fs;
	size_t block = (size_t)fs->block_size * 512, off = 0;
	uint64_t max_seq = 0;
	bool saw_bad = false;
	int ret;

	while (off + BCH_JSET_HEADER_BYTES <= bucket_bytes) {
		const uint8_t *j = b + off;
		uint64_t sector = start_sector + off / 512;
		struct bch_journal_entry n;
		size_t bytes;
		char where[96];

		if (get_le64(j + BCH_JSET_MAGIC) != fs->sb->journal_magic) {
			if (!saw_bad)
				break;
			off += block;
			continue;
		}
		snprintf(where, sizeof(where), "journal entry at device %u sector %llu",
			 dev, (unsigned long long)sector);
		ret = jset_check_version(get_le32(j + BCH_JSET_VERSION), where, err);
		if (ret)
			return ret;
		bytes = BCH_JSET_ENTRIES + (size_t)get_le32(j + BCH_JSET_U64S) * 8;
		if (bytes > bucket_bytes - off) {
			bch_msg(&fs->msgs, BCH_MSG_WARN,
				"%s: entry of %zu bytes runs past the end of its bucket; ignored",
				where, bytes);
			break;
		}
		if (get_le64(j + BCH_JSET_SEQ) < max_seq)
			break;	/* stale data from an earlier lap of the ring */
		max_seq = get_le64(j + BCH_JSET_SEQ);

		ret = jset_decode(fs, j, bytes, dev, sector, &n, err);
		if (ret)
			return ret;
		note_position(&fs->journal, dev, idx, n.seq, off + ROUND_UP(bytes, block));
		if (!n.csum_ok)
			saw_bad = true;
		if (r->positions_only) {
			entry_free(&n);
			off += ROUND_UP(bytes, block);
			continue;
		}
		ret = jread_add(r, &n, err);
		if (ret)
			return ret;
		off += ROUND_UP(bytes, block);
	}
	return 0;
}

static int scan_device(struct jread *r, struct bch_dev *d, struct bch_error *err)
{
	const struct bch_member *m = &d->sb.members[d->idx];
	size_t bucket_bytes = (size_t)m->bucket_size * 512;
	unsigned nr = d->sb.nr_journal_buckets;
	int ret = 0;

	for (unsigned start = 0; start < nr && !ret; start += 8) {
		unsigned n = nr - start < 8 ? nr - start : 8;
		struct bch_read_req reqs[8];
		uint8_t *buf = malloc(bucket_bytes * n + 4096);
		uint8_t *aligned;

		if (!buf)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		aligned = (uint8_t *)ROUND_UP((uintptr_t)buf, 4096);
		for (unsigned i = 0; i < n; i++)
			reqs[i] = (struct bch_read_req){
				.offset	= d->sb.journal_buckets[start + i] * bucket_bytes,
				.len	= bucket_bytes,
				.buf	= aligned + i * bucket_bytes,
			};
		ret = bch_io_read_batch(d->io, reqs, n, err);
		for (unsigned i = 0; i < n && !ret; i++)
			ret = scan_bucket(r, reqs[i].buf, bucket_bytes, d->idx, start + i,
					  reqs[i].offset / 512, err);
		free(buf);
	}
	if (ret)
		bch_err_prefix(err, "reading the journal of device %u", d->idx);
	return ret;
}

static int cmp_entry_seq(const void *a, const void *b)
{
	const struct bch_journal_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int bch_jset_entries_walk(const uint8_t *p, size_t bytes, uint64_t base,
			  const char *what, bch_jset_entry_fn fn, void *ctx,
			  struct bch_error *err)
{
	size_t off = 0;
	int ret;

	while (off + BCH_JSET_ENTRY_PAYLOAD <= bytes) {
		const uint8_t *e = p + off;
		size_t payload = (size_t)get_le16(e + BCH_JSET_ENTRY_U64S) * 8;

		if (payload > bytes - off - BCH_JSET_ENTRY_PAYLOAD)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: entry at byte %llu (type %u, %zu bytes) overruns its container",
				       what, (unsigned long long)(base + off),
				       e[BCH_JSET_ENTRY_TYPE], payload);
		ret = fn(ctx, e, e[BCH_JSET_ENTRY_TYPE], e[BCH_JSET_ENTRY_BTREE_ID],
			 e[BCH_JSET_ENTRY_LEVEL], e + BCH_JSET_ENTRY_PAYLOAD, payload,
			 base + off, err);
		if (ret)
			return ret;
		off += BCH_JSET_ENTRY_PAYLOAD + payload;
	}
	return 0;
}

static int set_root(struct bch_journal *j, unsigned btree, unsigned level,
		    const uint8_t *payload, size_t bytes, uint64_t at, const char *what,
		    struct bch_error *err)
{
	struct bch_btree_root *r;
	const char *why = NULL;
	struct bkey k;

	if (btree >= BTREE_ID_NR_MAX)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: btree root for invalid btree id %u at byte %llu",
			       what, btree, (unsigned long long)at);
	r = &j->roots[btree];
	free(r->raw);
	memset(r, 0, sizeof(*r));
	if (!bytes)
		return 0;	/* root expected but invalid: treated as empty */
	if (!bch_bkey_decode(&bch_bkey_format_current, payload, bytes, &k, &why) ||
	    payload[1] != BKEY_FORMAT_CURRENT || (size_t)payload[0] * 8 != bytes)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad btree root key for btree %u at byte %llu: %s",
			       what, btree, (unsigned long long)at, why ? why : "not one unpacked key");
	if (k.type != KEY_TYPE_btree_ptr_v2 && k.type != KEY_TYPE_btree_ptr)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: btree root for btree %u at byte %llu has key type %u",
			       what, btree, (unsigned long long)at, k.type);
	if (level >= BCH_BTREE_MAX_DEPTH)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: btree root for btree %u has level %u",
			       what, btree, level);
	r->raw = malloc(bytes);
	if (!r->raw)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(r->raw, payload, bytes);
	bch_bkey_decode(&bch_bkey_format_current, r->raw, bytes, &r->k, &why);
	r->present = true;
	r->level = (uint8_t)level;
	return 0;
}

struct walk_ctx {
	struct bch_journal		*j;
	const struct bch_journal_entry	*entry;
	const char			*what;
	size_t				keys_size;
	uint32_t			order;
	bool				roots;
	bool				keys;
	bool				blacklist;
};

static int add_blacklist(struct bch_journal *j, uint64_t start, uint64_t end,
			 struct bch_error *err)
{
	struct bch_blacklist_range *n = realloc(j->blacklist,
						(j->nr_blacklist + 1) * sizeof(*n));

	if (!n)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	j->blacklist = n;
	n[j->nr_blacklist++] = (struct bch_blacklist_range){ start, end };
	return 0;
}

static int add_keys(struct walk_ctx *c, unsigned btree, unsigned level,
		    const uint8_t *p, size_t bytes, uint64_t at, struct bch_error *err)
{
	struct bch_journal *j = c->j;
	size_t off = 0;

	if (btree >= BTREE_ID_NR_MAX || level >= BCH_BTREE_MAX_DEPTH)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: keys for btree %u level %u at byte %llu",
			       c->what, btree, level, (unsigned long long)at);
	while (off < bytes) {
		struct bch_journal_key *jk;
		const char *why = NULL;
		size_t n;

		if (p[off + 1] != BKEY_FORMAT_CURRENT)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: packed key in the journal at byte %llu",
				       c->what, (unsigned long long)(at + BCH_JSET_ENTRY_PAYLOAD + off));
		if (j->nr_keys == c->keys_size) {
			size_t ns = c->keys_size ? c->keys_size * 2 : 256;
			struct bch_journal_key *nk = realloc(j->keys, ns * sizeof(*nk));

			if (!nk)
				return bch_err(err, BCH_ERR_NOMEM, "out of memory");
			j->keys = nk;
			c->keys_size = ns;
		}
		jk = &j->keys[j->nr_keys];
		n = bch_bkey_decode(&bch_bkey_format_current, p + off, bytes - off, &jk->k, &why);
		if (!n || n < BKEY_U64S * 8)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: bad key at byte %llu: %s",
				       c->what, (unsigned long long)(at + BCH_JSET_ENTRY_PAYLOAD + off),
				       why ? why : "too small");
		jk->btree_id = (uint8_t)btree;
		jk->level = (uint8_t)level;
		jk->seq = c->entry ? c->entry->seq : 0;
		jk->order = c->order++;
		j->nr_keys++;
		off += n;
	}
	return 0;
}

static int walk_entry(void *ctx, const uint8_t *entry, unsigned type,
		      unsigned btree, unsigned level, const uint8_t *payload,
		      size_t bytes, uint64_t at, struct bch_error *err)
{
	struct walk_ctx *c = ctx;

	(void)entry;
	switch (type) {
	case BCH_JSET_ENTRY_btree_root:
		return c->roots ? set_root(c->j, btree, level, payload, bytes, at, c->what, err) : 0;
	case BCH_JSET_ENTRY_btree_keys:
		return c->keys ? add_keys(c, btree, level, payload, bytes, at, err) : 0;
	case BCH_JSET_ENTRY_blacklist:
		if (!c->blacklist)
			return 0;
		if (bytes != 8)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: bad blacklist entry at byte %llu",
				       c->what, (unsigned long long)at);
		return add_blacklist(c->j, get_le64(payload), get_le64(payload) + 1, err);
	case BCH_JSET_ENTRY_blacklist_v2:
		if (!c->blacklist)
			return 0;
		if (bytes != 16 || get_le64(payload) > get_le64(payload + 8))
			return bch_err(err, BCH_ERR_CORRUPT, "%s: bad blacklist_v2 entry at byte %llu",
				       c->what, (unsigned long long)at);
		return add_blacklist(c->j, get_le64(payload), get_le64(payload + 8) + 1, err);
	default:
		return 0;
	}
}

static int cmp_journal_key(const void *a, const void *b)
{
	const struct bch_journal_key *x = a, *y = b;
	int c = bch_journal_key_cmp(x->btree_id, x->level, x->k.p,
				    y->btree_id, y->level, y->k.p);

	if (c)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int bch_journal_key_cmp(unsigned b1, unsigned l1, struct bpos p1,
			unsigned b2, unsigned l2, struct bpos p2)
{
	if (b1 != b2)
		return b1 < b2 ? -1 : 1;
	if (l1 != l2)
		return l1 < l2 ? -1 : 1;
	return bpos_cmp(p1, p2);
}

size_t bch_journal_keys_lower_bound(const struct bch_journal *j, unsigned btree,
				    unsigned level, struct bpos pos)
{
	size_t lo = 0, hi = j->nr_keys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bch_journal_key *k = &j->keys[mid];

		if (bch_journal_key_cmp(k->btree_id, k->level, k->k.p, btree, level, pos) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* sort and keep the newest key per (btree, level, position) */
static void keys_sort_dedup(struct bch_journal *j)
{
	size_t i, out = 0;

	if (!j->nr_keys)
		return;
	qsort(j->keys, j->nr_keys, sizeof(j->keys[0]), cmp_journal_key);
	for (i = 0; i < j->nr_keys; i++) {
		if (i + 1 < j->nr_keys &&
		    !bch_journal_key_cmp(j->keys[i].btree_id, j->keys[i].level, j->keys[i].k.p,
					 j->keys[i + 1].btree_id, j->keys[i + 1].level,
					 j->keys[i + 1].k.p))
			continue;
		j->keys[out++] = j->keys[i];
	}
	j->nr_keys = out;
}

static int keep_accounting(struct bch_journal *j, struct bch_error *err)
{
	size_t n = 0;

	for (size_t i = 0; i < j->nr_keys; i++)
		n += j->keys[i].btree_id == BTREE_ID_accounting && !j->keys[i].level;
	if (!n)
		return 0;
	j->acct = malloc(n * sizeof(*j->acct));
	if (!j->acct)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < j->nr_keys; i++)
		if (j->keys[i].btree_id == BTREE_ID_accounting && !j->keys[i].level)
			j->acct[j->nr_acct++] = j->keys[i];
	return 0;
}

static int read_clean(struct bch_fs *fs, struct bch_error *err)
{
	const struct bch_sb_field_ref *f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_clean);
	struct walk_ctx c = { .j = &fs->journal, .what = "superblock clean field", .roots = true };

	if (!f || f->bytes < BCH_SB_CLEAN_ENTRIES_OFFSET)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "superblock is marked clean but has no valid clean field");
	fs->journal.from_clean = true;
	fs->journal.clean_seq = get_le64(f->p + BCH_SB_CLEAN_JOURNAL_SEQ);
	return bch_jset_entries_walk(f->p + BCH_SB_CLEAN_ENTRIES_OFFSET,
				     f->bytes - BCH_SB_CLEAN_ENTRIES_OFFSET,
				     (uint64_t)(f->p + BCH_SB_CLEAN_ENTRIES_OFFSET - fs->sb->bytes) +
				     fs->sb->sector * 512,
				     "superblock clean field", walk_entry, &c, err);
}

/* pick the replay range among the entries read (sorted by seq) */
static int pick_range(struct bch_fs *fs, struct jread *r, struct bch_error *err)
{
	struct bch_journal *j = &fs->journal;
	struct bch_journal_entry *newest = NULL, *torn = NULL;
	bool skipped_torn = false;
	size_t i;

	for (i = r->nr; i-- > 0;) {
		struct bch_journal_entry *e = &r->e[i];

		if (e->no_flush)
			continue;
		if (!e->csum_ok && !skipped_torn) {
			bch_msg(&fs->msgs, BCH_MSG_WARN,
				"journal entry %llu (device %u sector %llu) has a bad checksum: torn write, not replayed",
				(unsigned long long)e->seq, e->dev, (unsigned long long)e->sector);
			skipped_torn = true;
			torn = e;
			continue;
		}
		newest = e;
		break;
	}
	if (newest) {
		j->newest_seq = newest->seq;
		j->last_seq = newest->last_seq ? newest->last_seq : newest->seq;
		return 0;
	}
	/* no usable flush entry: the newest entry of any kind alone */
	for (i = r->nr; i-- > 0;) {
		if (r->e[i].csum_ok) {
			bch_msg(&fs->msgs, BCH_MSG_WARN,
				"no flush journal entry found; using entry %llu alone",
				(unsigned long long)r->e[i].seq);
			j->newest_seq = j->last_seq = r->e[i].seq;
			return 0;
		}
	}
	if (torn)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "filesystem was not cleanly unmounted and has no valid journal entry to replay: journal entry %llu at device %u sector %llu (byte %llu), the newest flush entry, has a bad checksum and no older entry lies within its last_seq %llu",
			       (unsigned long long)torn->seq, torn->dev,
			       (unsigned long long)torn->sector,
			       (unsigned long long)torn->sector * 512,
			       (unsigned long long)torn->last_seq);
	return bch_err(err, BCH_ERR_CORRUPT,
		       "filesystem was not cleanly unmounted and no valid journal entry was found");
}

/* seq, or past the blacklisted run it starts */
static uint64_t skip_blacklisted(const struct bch_fs *fs, uint64_t seq)
{
	const struct bch_journal *j = &fs->journal;
	bool moved = true;

	while (moved) {
		moved = false;
		for (unsigned i = 0; i < fs->sb->nr_blacklist; i++)
			if (seq >= fs->sb->blacklist[i].start && seq < fs->sb->blacklist[i].end) {
				seq = fs->sb->blacklist[i].end;
				moved = true;
			}
		for (size_t i = 0; i < j->nr_blacklist; i++)
			if (seq >= j->blacklist[i].start && seq < j->blacklist[i].end) {
				seq = j->blacklist[i].end;
				moved = true;
			}
	}
	return seq;
}

/*
 * the entries in [from, to) that are not blacklisted are missing: say so,
 * the first few one by one (a hostile last_seq may leave 2^64 of them)
 */
static void warn_missing(struct bch_fs *fs, uint64_t from, uint64_t to)
{
	for (unsigned n = 0; (from = skip_blacklisted(fs, from)) < to; n++, from++) {
		if (n == 16) {
			bch_msg(&fs->msgs, BCH_MSG_WARN, "journal entries %llu to %llu are missing",
				(unsigned long long)from, (unsigned long long)to - 1);
			return;
		}
		bch_msg(&fs->msgs, BCH_MSG_WARN,
			"journal entry %llu is missing", (unsigned long long)from);
	}
}

static int collect(struct bch_fs *fs, struct jread *r, struct bch_error *err)
{
	struct bch_journal *j = &fs->journal;
	struct walk_ctx c = { .j = j };
	size_t i, out = 0;
	uint64_t expect;
	int ret;

	/* keep [last_seq, newest_seq] */
	for (i = 0; i < r->nr; i++) {
		if (r->e[i].seq < j->last_seq || r->e[i].seq > j->newest_seq)
			entry_free(&r->e[i]);
		else
			r->e[out++] = r->e[i];
	}
	r->nr = out;

	/* blacklist entries first: they decide which entries count */
	c.blacklist = true;
	for (i = 0; i < r->nr; i++) {
		char what[96];

		snprintf(what, sizeof(what), "journal entry %llu", (unsigned long long)r->e[i].seq);
		c.what = what;
		c.entry = &r->e[i];
		if (!r->e[i].csum_ok)
			continue;
		ret = bch_jset_entries_walk(r->e[i].buf + BCH_JSET_ENTRIES,
					    r->e[i].bytes - BCH_JSET_ENTRIES,
					    r->e[i].sector * 512 + BCH_JSET_ENTRIES, what,
					    walk_entry, &c, err);
		if (ret)
			return ret;
	}

	expect = j->last_seq;
	c.blacklist = false;
	c.roots = c.keys = true;
	for (i = out = 0; i < r->nr; i++) {
		struct bch_journal_entry *e = &r->e[i];
		char what[96];

		if (bch_fs_seq_blacklisted(fs, e->seq)) {
			entry_free(e);
			continue;
		}
		snprintf(what, sizeof(what), "journal entry %llu at device %u sector %llu",
			 (unsigned long long)e->seq, e->dev, (unsigned long long)e->sector);
		if (!e->csum_ok)
			return bch_err(err, BCH_ERR_CORRUPT, "%s (byte %llu): checksum error",
				       what, (unsigned long long)e->sector * 512);
		warn_missing(fs, expect, e->seq);
		expect = e->seq + 1;
		c.what = what;
		c.entry = e;
		ret = bch_jset_entries_walk(e->buf + BCH_JSET_ENTRIES, e->bytes - BCH_JSET_ENTRIES,
					    e->sector * 512 + BCH_JSET_ENTRIES, what,
					    walk_entry, &c, err);
		if (ret)
			return ret;
		r->e[out++] = *e;
	}
	r->nr = out;
	ret = keep_accounting(j, err);
	if (ret)
		return ret;
	keys_sort_dedup(j);
	return 0;
}

static void jread_free(struct jread *r)
{
	for (size_t i = 0; i < r->nr; i++)
		entry_free(&r->e[i]);
	free(r->e);
}

static int scan_devices(struct bch_fs *fs, struct jread *r, struct bch_error *err)
{
	int ret = 0;

	for (unsigned d = 0; d < fs->nr_devs && !ret; d++) {
		struct bch_dev *dev = fs->devs[d];

		if (!dev || !dev->sb.nr_journal_buckets)
			continue;
		fs->journal.bucket_seq[d] = calloc(dev->sb.nr_journal_buckets, sizeof(uint64_t));
		if (!fs->journal.bucket_seq[d])
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		ret = scan_device(r, dev, err);
	}
	fs->journal.scanned = !ret;
	return ret;
}

int bch_journal_scan(struct bch_fs *fs, struct bch_error *err)
{
	struct jread r = { .fs = fs, .positions_only = true };
	int ret;

	if (fs->journal.scanned)
		return 0;
	ret = scan_devices(fs, &r, err);
	jread_free(&r);
	return ret;
}

int bch_journal_read(struct bch_fs *fs, struct bch_error *err)
{
	struct jread r = { .fs = fs };
	int ret;

	if (BCH_SB_CLEAN(fs->sb))
		return read_clean(fs, err);

	ret = scan_devices(fs, &r, err);
	if (!ret) {
		if (r.nr)	/* r.e is NULL when no entry was found */
			qsort(r.e, r.nr, sizeof(r.e[0]), cmp_entry_seq);
		ret = pick_range(fs, &r, err) ?: collect(fs, &r, err);
	}
	if (ret) {
		jread_free(&r);
		return ret;
	}
	fs->journal.entries = r.e;
	fs->journal.nr_entries = r.nr;
	return 0;
}

void bch_journal_free(struct bch_journal *j)
{
	for (size_t i = 0; i < j->nr_entries; i++)
		free(j->entries[i].buf);
	free(j->entries);
	free(j->keys);
	free(j->acct);
	free(j->blacklist);
	for (unsigned i = 0; i < BTREE_ID_NR_MAX; i++)
		free(j->roots[i].raw);
	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++)
		free(j->bucket_seq[i]);
	memset(j, 0, sizeof(*j));
}
