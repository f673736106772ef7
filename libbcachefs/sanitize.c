/*
 * Sanitizing a metadata copy (sanitize.h). Value layouts (upstream
 * libbcachefs/dirent_format.h, xattr_format.h; bcachefs-format.md §9):
 *   dirent  le64 target, u8 d_type (bit 7: casefolded), then either the
 *           name, NUL-padded to the value's end, or (casefolded) u8 pad,
 *           le16 name_len, le16 cf_name_len and both names
 *   xattr   u8 type, u8 name_len, le16 val_len, name, value
 *   inline_data: the data; indirect_inline_data: le64 refcount, the data
 * Bset and jset layouts and nonces are those btree_node.c and journal.c
 * read.
 */
#include <string.h>

#include "bkey.h"
#include "btree_node.h"
#include "checksum.h"
#include "fs.h"
#include "journal.h"
#include "sanitize.h"

#define DIRENT_TYPE		8u
#define DIRENT_NAME		9u
#define DIRENT_CASEFOLD		0x80u
#define DIRENT_CF_NAME_LEN	10u
#define DIRENT_CF_CF_LEN	12u
#define DIRENT_CF_NAMES		14u
#define XATTR_NAME_LEN		1u
#define XATTR_VAL_LEN		2u
#define XATTR_NAME		4u
#define INDIRECT_INLINE_DATA	8u

static void fill(uint8_t *p, size_t n, uint8_t c)
{
	memset(p, c, n);
}

/* replace the private bytes of one key's value; true if it is one that has them */
static bool sanitize_val(unsigned btree, unsigned type, uint8_t *v, size_t bytes)
{
	if (btree == BTREE_ID_dirents && type == KEY_TYPE_dirent && bytes > DIRENT_NAME) {
		if (v[DIRENT_TYPE] & DIRENT_CASEFOLD) {
			size_t n;

			if (bytes < DIRENT_CF_NAMES)
				return false;
			n = (size_t)get_le16(v + DIRENT_CF_NAME_LEN) + get_le16(v + DIRENT_CF_CF_LEN);
			fill(v + DIRENT_CF_NAMES, n < bytes - DIRENT_CF_NAMES ? n :
			     bytes - DIRENT_CF_NAMES, 'x');
		} else {
			fill(v + DIRENT_NAME, strnlen((const char *)v + DIRENT_NAME,
						      bytes - DIRENT_NAME), 'x');
		}
		return true;
	}
	if (btree == BTREE_ID_xattrs && type == KEY_TYPE_xattr && bytes >= XATTR_NAME) {
		size_t name = v[XATTR_NAME_LEN], val = get_le16(v + XATTR_VAL_LEN);
		size_t room = bytes - XATTR_NAME;

		name = name < room ? name : room;
		val = val < room - name ? val : room - name;
		fill(v + XATTR_NAME, name, 'x');
		fill(v + XATTR_NAME + name, val, 0);
		return true;
	}
	if (btree == BTREE_ID_extents && type == KEY_TYPE_inline_data) {
		fill(v, bytes, 0);
		return true;
	}
	if (btree == BTREE_ID_reflink && type == KEY_TYPE_indirect_inline_data &&
	    bytes >= INDIRECT_INLINE_DATA) {
		fill(v + INDIRECT_INLINE_DATA, bytes - INDIRECT_INLINE_DATA, 0);
		return true;
	}
	return false;
}

static bool btree_has_private(unsigned btree)
{
	return btree == BTREE_ID_dirents || btree == BTREE_ID_xattrs ||
	       btree == BTREE_ID_extents || btree == BTREE_ID_reflink;
}

/* the keys of [p, p + bytes) in format f; number of values replaced */
static uint64_t sanitize_keys(const struct bkey_format *f, unsigned btree, uint8_t *p,
			      size_t bytes)
{
	uint64_t n = 0;

	for (size_t off = 0; off < bytes;) {
		const char *why = NULL;
		struct bkey k;
		size_t kb = bch_bkey_decode(f, p + off, bytes - off, &k, &why);

		if (!kb)
			break;	/* a malformed key: the rest of the bset is left as it is */
		if (k.val_bytes && sanitize_val(btree, k.type, (uint8_t *)k.val, k.val_bytes))
			n++;
		off += kb;
	}
	return n;
}

/* checksum [p + 16, p + bytes) into p[0..15] */
static int store_csum(struct bch_fs *fs, unsigned type, struct bch_nonce nonce, uint8_t *p,
		      size_t bytes, struct bch_error *err)
{
	struct bch_csum c;

	if (bch_checksum(type, &fs->key, nonce, p + BCH_CSUM_COVERS_FROM,
			 bytes - BCH_CSUM_COVERS_FROM, &c))
		return bch_err(err, BCH_ERR_INVAL, "cannot compute a checksum of type %u", type);
	bch_csum_encode(p, c);
	return 0;
}

static bool csum_ok(struct bch_fs *fs, unsigned type, struct bch_nonce nonce, const uint8_t *p,
		    size_t bytes)
{
	struct bch_csum c;

	return bch_csum_type_valid(type) && !bch_csum_type_is_encryption(type) &&
	       !bch_checksum(type, &fs->key, nonce, p + BCH_CSUM_COVERS_FROM,
			     bytes - BCH_CSUM_COVERS_FROM, &c) &&
	       bch_csum_eq(c, bch_csum_decode(p));
}

/* one bset: header at h, keys at h + keys_at, of bytes in all; node offset at */
static int sanitize_bset(struct bch_fs *fs, const struct bkey_format *f, unsigned btree,
			 uint8_t *h, size_t keys_at, size_t bytes, uint64_t seq, size_t at,
			 unsigned csum_type, uint64_t jseq, struct bch_sanitize_stats *st,
			 struct bch_error *err)
{
	struct bch_nonce nonce = bch_bset_nonce((unsigned)at, seq, jseq);
	uint64_t n;

	if (!btree_has_private(btree))
		return 0;
	if (!csum_ok(fs, csum_type, nonce, h, bytes)) {
		st->skipped++;
		return 0;
	}
	n = sanitize_keys(f, btree, h + keys_at, bytes - keys_at);
	if (!n)
		return 0;
	st->keys += n;
	st->bsets++;
	return store_csum(fs, csum_type, nonce, h, bytes, err);
}

int bch_sanitize_node(struct bch_fs *fs, uint8_t *b, size_t len, struct bch_sanitize_stats *st,
		      struct bch_error *err)
{
	size_t block = (size_t)fs->block_size * 512, at, bytes;
	uint64_t flags, seq;
	struct bkey_format f;
	unsigned btree;
	uint32_t bflags;
	int ret;

	if (len < BCH_NODE_KEYS || get_le64(b + BCH_NODE_MAGIC) != fs->sb->bset_magic) {
		st->skipped++;
		return 0;
	}
	flags = get_le64(b + BCH_NODE_FLAGS);
	/* other nodes are walked too: their stale space may hold anything */
	btree = bch_node_flags_level(flags) ? BTREE_ID_NR_MAX : bch_node_flags_btree_id(flags);
	seq = get_le64(b + BCH_NODE_SEQ);
	bflags = get_le32(b + BCH_NODE_BSET_FLAGS);
	bytes = BCH_NODE_KEYS + (size_t)get_le16(b + BCH_NODE_U64S) * 8;
	bch_bkey_format_decode(b + BCH_NODE_FORMAT, &f);
	if (bytes > len || bch_bkey_format_invalid(&f)) {
		st->skipped++;
		return 0;
	}
	ret = sanitize_bset(fs, &f, btree, b, BCH_NODE_KEYS, bytes, seq, 0,
			    BCH_BSET_CSUM_TYPE(bflags), get_le64(b + BCH_NODE_JOURNAL_SEQ), st, err);
	for (at = ROUND_UP(bytes, block); !ret && at + BCH_ENTRY_KEYS <= len;) {
		uint8_t *e = b + at;

		if (get_le64(e + BCH_ENTRY_SEQ) != seq)
			break;
		bytes = BCH_ENTRY_KEYS + (size_t)get_le16(e + BCH_ENTRY_U64S) * 8;
		if (bytes > len - at)
			break;
		bflags = get_le32(e + BCH_ENTRY_FLAGS);
		ret = sanitize_bset(fs, &f, btree, e, BCH_ENTRY_KEYS, bytes, seq, at,
				    BCH_BSET_CSUM_TYPE(bflags), get_le64(e + BCH_ENTRY_JOURNAL_SEQ),
				    st, err);
		at += ROUND_UP(bytes, block);
	}
	/* a reader stops at the first block of another seq: what follows is stale */
	if (!ret && at < len && !(!b[at] && !memcmp(b + at, b + at + 1, len - at - 1))) {
		memset(b + at, 0, len - at);
		st->stale_bytes += len - at;
	}
	return ret;
}

struct jset_sanitize {
	uint64_t	keys;
};

static int jentry_sanitize(void *ctx, const uint8_t *entry, unsigned type, unsigned btree,
			   unsigned level, const uint8_t *payload, size_t bytes, uint64_t at,
			   struct bch_error *err)
{
	struct jset_sanitize *s = ctx;

	(void)entry;
	(void)at;
	(void)err;
	if (level || !btree_has_private(btree) ||
	    (type != BCH_JSET_ENTRY_btree_keys && type != BCH_JSET_ENTRY_overwrite &&
	     type != BCH_JSET_ENTRY_write_buffer_keys))
		return 0;
	s->keys += sanitize_keys(&bch_bkey_format_current, btree, (uint8_t *)payload, bytes);
	return 0;
}

int bch_sanitize_journal_bucket(struct bch_fs *fs, uint8_t *b, size_t len,
				struct bch_sanitize_stats *st, struct bch_error *err)
{
	size_t block = (size_t)fs->block_size * 512;

	for (size_t off = 0; off + BCH_JSET_ENTRIES <= len; off += block) {
		uint8_t *j = b + off;
		uint64_t seq = get_le64(j + BCH_JSET_SEQ);
		unsigned type = get_le32(j + BCH_JSET_FLAGS) & 15;
		struct jset_sanitize s = { 0 };
		struct bch_error ignore = { 0 };
		size_t bytes;

		if (get_le64(j + BCH_JSET_MAGIC) != fs->sb->journal_magic)
			continue;
		bytes = BCH_JSET_ENTRIES + (size_t)get_le32(j + BCH_JSET_U64S) * 8;
		if (bytes > len - off || !csum_ok(fs, type, bch_journal_nonce(seq), j, bytes)) {
			st->skipped++;
			continue;
		}
		bch_jset_entries_walk(j + BCH_JSET_ENTRIES, bytes - BCH_JSET_ENTRIES, 0, "jset",
				      jentry_sanitize, &s, &ignore);
		if (s.keys) {
			int ret = store_csum(fs, type, bch_journal_nonce(seq), j, bytes, err);

			if (ret)
				return ret;
			st->keys += s.keys;
			st->jsets++;
		}
		off += ROUND_UP(bytes, block) - block;
	}
	return 0;
}
