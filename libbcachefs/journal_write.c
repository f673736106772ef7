/*
 * Building and placing a journal entry (bcachefs-format.md §4.9; upstream
 * journal_io.c bch2_journal_write() is the reference for the layout).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "crypt.h"
#include "fs.h"
#include "journal_write.h"
#include "vec.h"
#include "sb_fields.h"

#define JSET_ENTRY_MAX_U64S	0xffffu

struct jbuf {
	uint8_t	*p;
	size_t	len, size;
};

static uint8_t *jbuf_reserve(struct jbuf *b, size_t bytes)
{
	return bch_buf_append(&b->p, &b->len, &b->size, bytes);
}

/* one jset_entry header + payload */
static int add_entry(struct jbuf *b, unsigned type, unsigned btree, unsigned level,
		     const void *payload, size_t bytes)
{
	uint8_t *e = jbuf_reserve(b, BCH_JSET_ENTRY_PAYLOAD + bytes);

	if (!e)
		return -BCH_ERR_NOMEM;
	memset(e, 0, BCH_JSET_ENTRY_PAYLOAD);
	put_le16(e + BCH_JSET_ENTRY_U64S, (uint16_t)(bytes / 8));
	e[BCH_JSET_ENTRY_BTREE_ID] = (uint8_t)btree;
	e[BCH_JSET_ENTRY_LEVEL] = (uint8_t)level;
	e[BCH_JSET_ENTRY_TYPE] = (uint8_t)type;
	if (bytes)
		memcpy(e + BCH_JSET_ENTRY_PAYLOAD, payload, bytes);
	return 0;
}

/* btree_keys entries, one run per (btree, level), split at the u16 limit */
static int add_keys(struct jbuf *b, const struct bch_key_updates *u)
{
	size_t i = 0;

	while (i < u->nr) {
		unsigned btree = u->v[i].btree_id, level = u->v[i].level;
		size_t hdr = b->len, u64s = 0;
		uint8_t *e = jbuf_reserve(b, BCH_JSET_ENTRY_PAYLOAD);

		if (!e)
			return -BCH_ERR_NOMEM;
		for (; i < u->nr && u->v[i].btree_id == btree && u->v[i].level == level; i++) {
			size_t kb = bch_key_update_bytes(&u->v[i]);
			uint8_t *k;

			if (u64s + kb / 8 > JSET_ENTRY_MAX_U64S)
				break;
			k = jbuf_reserve(b, kb);
			if (!k)
				return -BCH_ERR_NOMEM;
			memcpy(k, u->v[i].bytes, kb);
			u64s += kb / 8;
		}
		e = b->p + hdr;
		memset(e, 0, BCH_JSET_ENTRY_PAYLOAD);
		put_le16(e + BCH_JSET_ENTRY_U64S, (uint16_t)u64s);
		e[BCH_JSET_ENTRY_BTREE_ID] = (uint8_t)btree;
		e[BCH_JSET_ENTRY_LEVEL] = (uint8_t)level;
		e[BCH_JSET_ENTRY_TYPE] = BCH_JSET_ENTRY_btree_keys;
	}
	return 0;
}

struct copy_ctx {
	struct jbuf	*b;
};

/* the usage (key_version) and clock entries of the state we continue from */
static int copy_misc(void *ctx, const uint8_t *entry, unsigned type, unsigned btree,
		     unsigned level, const uint8_t *payload, size_t bytes, uint64_t at,
		     struct bch_error *err)
{
	struct copy_ctx *c = ctx;

	(void)entry;
	(void)at;
	(void)err;
	if (type != BCH_JSET_ENTRY_usage && type != BCH_JSET_ENTRY_clock)
		return 0;
	return add_entry(c->b, type, btree, level, payload, bytes);
}

static int add_misc(struct bch_fs *fs, struct jbuf *b, struct bch_error *err)
{
	struct copy_ctx c = { .b = b };
	const struct bch_journal *j = &fs->journal;

	if (j->from_clean) {
		const struct bch_sb_field_ref *f = bch_sb_field_get(fs->sb, BCH_SB_FIELD_clean);

		if (!f || f->bytes < BCH_SB_CLEAN_ENTRIES_OFFSET)
			return 0;
		return bch_jset_entries_walk(f->p + BCH_SB_CLEAN_ENTRIES_OFFSET,
					     f->bytes - BCH_SB_CLEAN_ENTRIES_OFFSET, 0, "clean field",
					     copy_misc, &c, err);
	}
	if (!j->nr_entries)
		return 0;
	const struct bch_journal_entry *e = &j->entries[j->nr_entries - 1];

	return bch_jset_entries_walk(e->buf + BCH_JSET_ENTRIES, e->bytes - BCH_JSET_ENTRIES, 0,
				     "journal entry", copy_misc, &c, err);
}

static int add_roots(struct bch_fs *fs, struct jbuf *b)
{
	for (unsigned i = 0; i < BTREE_ID_NR_MAX; i++) {
		const struct bch_btree_root *r = &fs->journal.roots[i];
		int ret;

		if (!r->present)
			continue;
		ret = add_entry(b, BCH_JSET_ENTRY_btree_root, i, r->level, r->raw,
				(size_t)r->raw[0] * 8);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- where the entry goes: after the newest entry the journal scan saw ---- */

static int find_position(struct bch_fs *fs, size_t need, uint64_t keep_from,
			 struct bch_journal_write *w, struct bch_error *err)
{
	const struct bch_journal *j = &fs->journal;
	unsigned d, idx;
	uint64_t end;
	const struct bch_dev *dev;
	size_t bucket_bytes;
	int ret = bch_journal_scan(fs, err);

	if (ret)
		return ret;
	if (!j->tail_found) {
		/* no entry anywhere: the first bucket of the first journal device */
		for (d = 0; d < fs->nr_devs; d++)
			if (fs->devs[d] && fs->devs[d]->sb.nr_journal_buckets)
				break;
		if (d == fs->nr_devs)
			return bch_err(err, BCH_ERR_UNSUPPORTED, "filesystem has no journal");
		idx = 0;
		end = 0;
	} else {
		d = j->tail_dev;
		idx = j->tail_bucket;
		end = j->tail_end;
	}
	dev = fs->devs[d];
	bucket_bytes = (size_t)dev->sb.members[d].bucket_size * 512;
	if (need > bucket_bytes)
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "repair entry of %zu bytes does not fit in a journal bucket of %zu bytes",
			       need, bucket_bytes);
	if (end + need > bucket_bytes) {
		/* the next bucket of the ring; it must hold nothing still needed */
		idx = (idx + 1) % dev->sb.nr_journal_buckets;
		end = 0;
		if (j->bucket_seq[d] && j->bucket_seq[d][idx] >= keep_from &&
		    j->bucket_seq[d][idx])
			return bch_err(err, BCH_ERR_UNSUPPORTED,
				       "journal is full: the next journal bucket still holds entries to replay");
	}
	w->dev = d;
	w->offset = dev->sb.journal_buckets[idx] * bucket_bytes + end;
	return 0;
}

uint64_t bch_journal_next_seq(struct bch_fs *fs)
{
	const struct bch_journal *j = &fs->journal;
	uint64_t seq = j->highest_seq_seen;

	if (j->clean_seq > seq)
		seq = j->clean_seq;
	if (j->newest_seq > seq)
		seq = j->newest_seq;
	seq++;
	while (bch_fs_seq_blacklisted(fs, seq))
		seq++;
	return seq;
}

/*
 * Accounting keys in the journal are deltas, applied when their version
 * is newer than the btree key's: give each the journal position of the
 * entry, as upstream does (bcachefs-format.md §1.4, §4.6).
 */
static void version_accounting(uint8_t *b, size_t content, uint64_t seq)
{
	size_t off = BCH_JSET_ENTRIES;

	while (off + BCH_JSET_ENTRY_PAYLOAD <= content) {
		uint8_t *e = b + off;
		size_t payload = (size_t)get_le16(e + BCH_JSET_ENTRY_U64S) * 8, k = 0;

		if (e[BCH_JSET_ENTRY_TYPE] == BCH_JSET_ENTRY_btree_keys &&
		    e[BCH_JSET_ENTRY_BTREE_ID] == BTREE_ID_accounting) {
			while (k + BKEY_U64S * 8 <= payload) {
				uint8_t *key = e + BCH_JSET_ENTRY_PAYLOAD + k;
				uint64_t pos_u64s = (uint64_t)(key - b - BCH_JSET_ENTRIES) / 8;

				put_le64(key + 4, seq << 32 | pos_u64s);
				put_le32(key + 12, (uint32_t)(seq >> 32));
				k += (size_t)key[0] * 8;
				if (!key[0])
					break;
			}
		}
		off += BCH_JSET_ENTRY_PAYLOAD + payload;
	}
}

static int prepare(struct bch_fs *fs, const struct bch_key_updates *u, bool self_contained,
		   struct bch_journal_write *w, struct bch_error *err)
{
	size_t block = (size_t)fs->block_size * 512;
	unsigned csum_type = fs->meta_csum_type;
	struct jbuf b = { 0 };
	uint64_t now = (uint64_t)time(NULL);
	struct bch_nonce nonce;
	struct bch_csum csum;
	size_t content;
	int ret;

	memset(w, 0, sizeof(*w));
	if (!jbuf_reserve(&b, BCH_JSET_HEADER_BYTES))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = add_roots(fs, &b) ?: add_misc(fs, &b, err) ?:
	      add_entry(&b, BCH_JSET_ENTRY_datetime, 0, 0, &now, 8) ?:
	      add_keys(&b, u);
	if (ret)
		goto fail;

	/* sizes first: the position depends on them */
	w->len = ROUND_UP(b.len, block);
	/* a clean filesystem needs none of its old entries replayed */
	ret = find_position(fs, w->len, fs->journal.from_clean ? fs->journal.clean_seq + 1
							       : fs->journal.last_seq, w, err);
	if (ret)
		goto fail;
	w->seq = bch_journal_next_seq(fs);
	w->last_seq = self_contained || fs->journal.from_clean || !fs->journal.last_seq ?
		w->seq : fs->journal.last_seq;

	content = b.len;
	version_accounting(b.p, content, w->seq);
	if (!jbuf_reserve(&b, w->len - b.len)) {
		ret = -BCH_ERR_NOMEM;
		goto fail;
	}
	put_le64(b.p + BCH_JSET_MAGIC, fs->sb->journal_magic);
	put_le64(b.p + BCH_JSET_SEQ, w->seq);
	put_le32(b.p + BCH_JSET_VERSION, fs->sb->version);
	put_le32(b.p + BCH_JSET_FLAGS, csum_type);	/* a flush entry, little-endian */
	/* u64s covers the entries; the padding to the block is zero */
	put_le32(b.p + BCH_JSET_U64S, (uint32_t)((content - BCH_JSET_ENTRIES) / 8));
	put_le64(b.p + BCH_JSET_LAST_SEQ, w->last_seq);
	nonce = bch_journal_nonce(w->seq);
	if (bch_csum_type_is_encryption(csum_type))
		bch_chacha20_xor(&fs->key, nonce, b.p + BCH_JSET_ENCRYPTED_FROM,
				 content - BCH_JSET_ENCRYPTED_FROM);
	if (bch_checksum(csum_type, &fs->key, nonce, b.p + BCH_JSET_CSUM_FROM,
			 content - BCH_JSET_CSUM_FROM, &csum)) {
		ret = bch_err(err, BCH_ERR_INVAL, "cannot checksum the journal entry");
		goto fail;
	}
	bch_csum_encode(b.p + BCH_JSET_CSUM, csum);
	w->buf = b.p;
	return 0;
fail:
	free(b.p);
	if (ret == -BCH_ERR_NOMEM)
		bch_err(err, BCH_ERR_NOMEM, "out of memory building the journal entry");
	return ret;
}

int bch_journal_write_prepare(struct bch_fs *fs, const struct bch_key_updates *u,
			      struct bch_journal_write *w, struct bch_error *err)
{
	return prepare(fs, u, false, w, err);
}

int bch_journal_write_prepare_clean(struct bch_fs *fs, struct bch_journal_write *w,
				    unsigned *bucket_idx, unsigned *end_sectors,
				    struct bch_error *err)
{
	struct bch_key_updates none = { 0 };
	const struct bch_dev *dev;
	uint64_t bucket_bytes;
	int ret = prepare(fs, &none, true, w, err);

	if (ret)
		return ret;
	dev = fs->devs[w->dev];
	bucket_bytes = (uint64_t)dev->sb.members[w->dev].bucket_size * 512;
	*bucket_idx = 0;
	for (unsigned i = 0; i < dev->sb.nr_journal_buckets; i++)
		if (dev->sb.journal_buckets[i] == w->offset / bucket_bytes)
			*bucket_idx = i;
	*end_sectors = (unsigned)((w->offset % bucket_bytes + w->len) / 512);
	return 0;
}

void bch_journal_write_free(struct bch_journal_write *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/*
 * The superblock's clean field (bcachefs-format.md §2.8.7): flags, the
 * journal sequence number of the clean shutdown, then the usage and clock
 * entries and every btree root, as upstream writes it; zero-filled to at
 * least min_bytes (its old size), so it keeps its place.
 */
int bch_clean_field_build(struct bch_fs *fs, uint64_t journal_seq, size_t min_bytes,
			  uint8_t **out, size_t *len, struct bch_error *err)
{
	struct jbuf b = { 0 };
	size_t bytes;
	int ret;

	if (!jbuf_reserve(&b, BCH_SB_CLEAN_ENTRIES_OFFSET))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = add_misc(fs, &b, err) ?: add_roots(fs, &b);
	if (ret) {
		free(b.p);
		return ret == -BCH_ERR_NOMEM ? bch_err(err, BCH_ERR_NOMEM, "out of memory") : ret;
	}
	bytes = ROUND_UP(b.len > min_bytes ? b.len : min_bytes, 8);
	if (!jbuf_reserve(&b, bytes - b.len)) {
		free(b.p);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	put_le32(b.p + BCH_SB_FIELD_HDR_U64S, (uint32_t)(bytes / 8));
	put_le32(b.p + BCH_SB_FIELD_HDR_TYPE, BCH_SB_FIELD_clean);
	put_le32(b.p + BCH_SB_CLEAN_FLAGS, 0);
	put_le64(b.p + BCH_SB_CLEAN_JOURNAL_SEQ, journal_seq);
	*out = b.p;
	*len = bytes;
	return 0;
}
