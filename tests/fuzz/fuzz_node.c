/*
 * Fuzz target: one btree node through the node reader (bsets, checksums,
 * bkey_format, key unpacking, ordering, merge), then every key through
 * the key-type decoders and to_text. The input is one byte of settings
 * and then the node: bits 0-1 log2 of the block size in sectors, bit 2
 * the parent is a btree_ptr_v2 naming the node's seq, bit 3 and saying
 * all of the node's sectors are written. The node is what its own header says it is (btree,
 * level, range). Checksums are recomputed first.
 */
#include <stdlib.h>
#include <string.h>

#include "accounting.h"
#include "bkey_to_text.h"
#include "btree_node.h"
#include "dirents.h"
#include "fuzz.h"
#include "key_updates.h"
#include "xattr.h"

#define MAX_NODE_SECTORS	1024u

static bool drop_odd(void *ctx, const struct bch_extent_ptr *p, unsigned idx)
{
	(void)ctx;
	(void)p;
	return idx & 1;
}

/* what the check and the repair decode, by key type */
static void key_decode(const struct bch_btree_node *n, const struct bkey *k)
{
	struct bch_btree_ptr_info ptr;
	struct bch_dirent_unpacked d;
	struct bch_xattr_unpacked x;
	struct bch_key_updates u = { 0 };
	struct bch_error err = { 0 };
	struct bkey out;
	uint8_t val[4096];
	unsigned dropped;

	switch (k->type) {
	case KEY_TYPE_btree_ptr:
	case KEY_TYPE_btree_ptr_v2:
		bch_btree_ptr_decode(k, &ptr);
		break;
	case KEY_TYPE_dirent:
		bch_dirent_unpack(k, &d, NULL);
		break;
	case KEY_TYPE_xattr:
		bch_xattr_unpack(k, &x, NULL);
		break;
	case KEY_TYPE_extent:
	case KEY_TYPE_reflink_v:
		bch_extent_drop_ptrs(k, drop_odd, NULL, &out, val, sizeof(val), &dropped, &err);
		if (!bch_extent_accounting(BCH_VERSION_1_39, n->btree_id, k, 1, &u))
			bch_key_updates_finish(&u);
		bch_key_updates_free(&u);
		break;
	}
}

static void node_decode_all(const struct bch_btree_node *n, const struct bch_sb *sb)
{
	struct printbuf pb = PRINTBUF;

	for (size_t i = 0; i < n->nr_keys; i++) {
		pb_reset(&pb);
		bch_bkey_to_text(&pb, n->btree_id, n->level, &n->keys[i], sb);
		key_decode(n, &n->keys[i]);
	}
	pb_exit(&pb);
}

static void expect_from_header(const uint8_t *b, unsigned cfg, unsigned sectors,
			       struct bch_node_expect *x)
{
	uint64_t flags = get_le64(b + BCH_NODE_FLAGS);

	memset(x, 0, sizeof(*x));
	x->btree_id = bch_node_flags_btree_id(flags);
	x->level = bch_node_flags_level(flags);
	x->min_key = bpos_decode(b + BCH_NODE_MIN_KEY);
	x->max_key = bpos_decode(b + BCH_NODE_MAX_KEY);
	if (cfg & 4) {
		x->ptr.v2 = true;
		x->ptr.h.seq = get_le64(b + BCH_NODE_SEQ);
		x->ptr.h.sectors_written = cfg & 8 ? (uint16_t)sectors : 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct bch_error err = { 0 };
	struct bch_node_expect x;
	struct bch_btree_node n;
	struct fz_fake f;
	unsigned cfg, block, sectors;
	uint8_t *buf;
	void *alloc;

	if (len < 1 + BCH_NODE_KEYS || len - 1 > MAX_NODE_SECTORS * 512)
		return 0;
	cfg = data[0];
	data++;
	len--;
	block = 1u << (cfg & 3);
	sectors = (unsigned)ROUND_UP(len, (size_t)block * 512) / 512;
	if (fz_fake_init(&f, block, sectors, MAX_NODE_SECTORS,
			 get_le64(data + BCH_NODE_MAGIC) ^ BCH_BSET_MAGIC_XOR))
		return 0;
	buf = bch_btree_node_buf_alloc(f.fs, &alloc);
	if (!buf) {
		fz_fake_exit(&f);
		return 0;
	}
	memset(buf, 0, (size_t)sectors * 512);
	memcpy(buf, data, len);
	fz_fix_node(buf, (size_t)sectors * 512, (size_t)block * 512);
	expect_from_header(buf, cfg, sectors, &x);
	/* the node takes buf over, also when it fails */
	if (!bch_btree_node_parse(f.fs, &x, alloc, buf, 0, 0, &n, &err))
		node_decode_all(&n, &f.sb);
	bch_btree_node_free(&n);
	fz_fake_exit(&f);
	return 0;
}
