/*
 * New btree node images (bcachefs-format.md §5.2, §5.3, §5.8; upstream
 * btree_io.c, the node write, for the first write of a node).
 */
#include <string.h>

#include "bkey.h"
#include "btree_node.h"
#include "btree_node_write.h"
#include "checksum.h"
#include "crypt.h"
#include "fs.h"

void bch_btree_node_format(const struct bpos *min_key, const struct bpos *max_key,
			   const struct bkey *keys, size_t nr, struct bkey_format *f)
{
	struct bkey_format_state s;

	bch_bkey_format_state_init(&s);
	bch_bkey_format_add_pos(&s, *min_key);
	bch_bkey_format_add_pos(&s, *max_key);
	for (size_t i = 0; i < nr; i++)
		if (keys[i].type != KEY_TYPE_deleted)
			bch_bkey_format_add_key(&s, &keys[i]);
	/*
	 * Sizes as upstream plans them for a node: from 0 (whiteouts), and up
	 * to 16 times the largest so merged extents still pack (upstream
	 * bkey.c, the format state's init and the slack given at its end).
	 */
	s.min[BKEY_FIELD_SIZE] = 0;
	if (s.max[BKEY_FIELD_SIZE])
		s.max[BKEY_FIELD_SIZE] = s.max[BKEY_FIELD_SIZE] << 4 > UINT32_MAX ?
					 UINT32_MAX : s.max[BKEY_FIELD_SIZE] << 4;
	bch_bkey_format_done(&s, f);
}

size_t bch_btree_node_bytes(const struct bkey_format *f, const struct bkey *keys, size_t nr)
{
	size_t bytes = BCH_NODE_KEYS;

	for (size_t i = 0; i < nr; i++)
		bytes += bch_bkey_encoded_bytes(f, &keys[i]);
	return bytes;
}

static int check_header(struct bch_fs *fs, const struct bch_node_header *h,
			struct bch_error *err)
{
	unsigned csum = fs->meta_csum_type;

	if (!h->seq)
		return bch_err(err, BCH_ERR_INVAL, "new btree node: seq must not be 0");
	if (h->btree_id >= 1u << 20 || h->level >= BCH_BTREE_MAX_DEPTH)
		return bch_err(err, BCH_ERR_INVAL, "new btree node: btree %u level %u",
			       h->btree_id, h->level);
	if (bpos_cmp(h->min_key, h->max_key) > 0)
		return bch_err(err, BCH_ERR_INVAL, "new btree node: min_key after max_key");
	if (!bch_csum_type_valid(csum) ||
	    (bch_csum_type_is_encryption(csum) && !fs->encrypted))
		return bch_err(err, BCH_ERR_INVAL,
			       "new btree node: unusable metadata checksum type %u", csum);
	if (!fs->block_size || fs->btree_node_size < fs->block_size)
		return bch_err(err, BCH_ERR_INVAL, "new btree node: bad block/node size");
	return 0;
}

/* the rules of bcachefs-format.md §5.6 the reader enforces, checked up front */
static int check_keys(const struct bch_node_header *h, const struct bkey *keys, size_t nr,
		      struct bch_error *err)
{
	for (size_t i = 0; i < nr; i++) {
		const struct bkey *k = &keys[i];

		if (bpos_cmp(k->p, h->min_key) < 0 || bpos_cmp(k->p, h->max_key) > 0)
			return bch_err(err, BCH_ERR_INVAL,
				       "new btree node: key %zu outside the node's range", i);
		if (i && bpos_cmp(keys[i - 1].p, k->p) >= 0)
			return bch_err(err, BCH_ERR_INVAL,
				       "new btree node: key %zu not after the previous key", i);
		if (k->val_bytes % 8 || k->val_bytes / 8 > BKEY_VAL_U64S_MAX ||
		    (k->val_bytes && !k->val))
			return bch_err(err, BCH_ERR_INVAL,
				       "new btree node: key %zu has a bad value size %u", i,
				       k->val_bytes);
		if (k->type >= KEY_TYPE_NR)
			return bch_err(err, BCH_ERR_INVAL,
				       "new btree node: key %zu has unknown type %u", i, k->type);
	}
	return 0;
}

static void put_header(struct bch_fs *fs, const struct bch_node_header *h,
		       const struct bkey_format *f, size_t u64s, uint8_t *b)
{
	put_le64(b + BCH_NODE_MAGIC, fs->sb->bset_magic);
	put_le64(b + BCH_NODE_FLAGS, bch_node_flags(h->btree_id, h->level, h->node_seq));
	bpos_encode(b + BCH_NODE_MIN_KEY, h->min_key);
	bpos_encode(b + BCH_NODE_MAX_KEY, h->max_key);
	put_le64(b + BCH_NODE_PTR, 0);
	bch_bkey_format_encode(b + BCH_NODE_FORMAT, f);

	put_le64(b + BCH_NODE_SEQ, h->seq);
	put_le64(b + BCH_NODE_JOURNAL_SEQ, h->journal_seq);
	/* checksum type, BSET_OFFSET 0 (the first bset), little-endian */
	put_le32(b + BCH_NODE_BSET_FLAGS, fs->meta_csum_type);
	put_le16(b + BCH_NODE_VERSION, fs->sb->version);
	put_le16(b + BCH_NODE_U64S, (uint16_t)u64s);
}

/* encrypt if needed, then checksum the ciphertext (§3.5: encrypt, then MAC) */
static int seal(struct bch_fs *fs, const struct bch_node_header *h, uint8_t *b,
		size_t bytes, struct bch_error *err)
{
	unsigned type = fs->meta_csum_type;
	struct bch_nonce nonce = bch_bset_nonce(0, h->seq, h->journal_seq);
	struct bch_csum c;

	if (bch_csum_type_is_encryption(type))
		bch_btree_node_crypt_first(&fs->key, nonce, b, bytes);
	if (bch_checksum(type, &fs->key, nonce, b + BCH_CSUM_COVERS_FROM,
			 bytes - BCH_CSUM_COVERS_FROM, &c))
		return bch_err(err, BCH_ERR_INVAL,
			       "new btree node: cannot compute checksum type %u", type);
	bch_csum_encode(b + BCH_NODE_CSUM, c);
	return 0;
}

int bch_btree_node_build(struct bch_fs *fs, const struct bch_node_header *h,
			 const struct bkey *keys, size_t nr, uint8_t *buf,
			 unsigned *sectors, struct bch_error *err)
{
	size_t node_bytes = (size_t)fs->btree_node_size * 512;
	size_t block = (size_t)fs->block_size * 512;
	struct bkey_format f;
	size_t bytes, u64s, off;
	int ret;

	ret = check_header(fs, h, err) ?: check_keys(h, keys, nr, err);
	if (ret)
		return ret;

	bch_btree_node_format(&h->min_key, &h->max_key, keys, nr, &f);
	bytes = bch_btree_node_bytes(&f, keys, nr);
	u64s = (bytes - BCH_NODE_KEYS) / 8;
	if (ROUND_UP(bytes, block) > node_bytes || u64s > UINT16_MAX)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "new btree node: %zu keys need %zu bytes, the node holds %zu",
			       nr, bytes, node_bytes);

	memset(buf, 0, node_bytes);
	put_header(fs, h, &f, u64s, buf);
	off = BCH_NODE_KEYS;
	for (size_t i = 0; i < nr; i++)
		off += bch_bkey_encode(&f, &keys[i], buf + off);

	ret = seal(fs, h, buf, bytes, err);
	if (ret)
		return ret;
	*sectors = (unsigned)(ROUND_UP(bytes, block) / 512);
	return 0;
}
