/*
 * Btree nodes: reading one node from a replica, verifying and decrypting
 * each bset up to sectors_written, unpacking its keys with the node's
 * bkey_format and merging the bsets into one sorted key list.
 * bcachefs-format.md §5 (upstream libbcachefs/btree_io.c).
 */
#ifndef BCH_BTREE_NODE_H
#define BCH_BTREE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bcachefs_format.h"
#include "checksum.h"
#include "errors.h"
#include "extents.h"
#include "workers.h"

struct bch_fs;

/*
 * Byte offsets of a bset header (bcachefs-format.md §5.3), relative to
 * where it starts: node offset 136 for the first bset, entry offset 16
 * for a btree_node_entry (after its checksum).
 */
#define BCH_BSET_SEQ		0u
#define BCH_BSET_JOURNAL_SEQ	8u
#define BCH_BSET_FLAGS		16u
#define BCH_BSET_VERSION	20u
#define BCH_BSET_U64S		22u
#define BCH_BSET_HEADER_BYTES	24u

/* btree_node header (first bset included), bcachefs-format.md §5.2 */
#define BCH_NODE_CSUM		0u
#define BCH_CSUM_COVERS_FROM	16u	/* node and entry checksums start after the csum */
#define BCH_NODE_MAGIC		16u
#define BCH_NODE_FLAGS		24u
#define BCH_NODE_MIN_KEY	32u
#define BCH_NODE_MAX_KEY	52u
#define BCH_NODE_PTR		72u	/* obsolete, written 0 */
#define BCH_NODE_FORMAT		80u
#define BCH_NODE_BSET		136u
#define BCH_NODE_SEQ		(BCH_NODE_BSET + BCH_BSET_SEQ)
#define BCH_NODE_JOURNAL_SEQ	(BCH_NODE_BSET + BCH_BSET_JOURNAL_SEQ)
#define BCH_NODE_BSET_FLAGS	(BCH_NODE_BSET + BCH_BSET_FLAGS)
#define BCH_NODE_VERSION	(BCH_NODE_BSET + BCH_BSET_VERSION)
#define BCH_NODE_U64S		(BCH_NODE_BSET + BCH_BSET_U64S)
#define BCH_NODE_KEYS		BCH_BTREE_NODE_HEADER_BYTES	/* 160 */

/* btree_node_entry: a later bset (csum, bset header, keys) */
#define BCH_ENTRY_BSET		16u
#define BCH_ENTRY_SEQ		(BCH_ENTRY_BSET + BCH_BSET_SEQ)
#define BCH_ENTRY_JOURNAL_SEQ	(BCH_ENTRY_BSET + BCH_BSET_JOURNAL_SEQ)
#define BCH_ENTRY_FLAGS		(BCH_ENTRY_BSET + BCH_BSET_FLAGS)
#define BCH_ENTRY_VERSION	(BCH_ENTRY_BSET + BCH_BSET_VERSION)
#define BCH_ENTRY_U64S		(BCH_ENTRY_BSET + BCH_BSET_U64S)
#define BCH_ENTRY_KEYS		BCH_BTREE_NODE_ENTRY_BYTES	/* 40 */

/* node flags (le64 at BCH_NODE_FLAGS) */
#define BCH_NODE_NEW_EXTENT_OVERWRITE	(1ULL << 8)

static inline unsigned bch_node_flags_btree_id(uint64_t flags)
{
	return (unsigned)(bits64(flags, 0, 4) | bits64(flags, 9, 25) << 4);
}

static inline unsigned bch_node_flags_level(uint64_t flags)
{
	return (unsigned)bits64(flags, 4, 8);
}

/* btree id: low 4 bits at 0, the rest at 9..24; level 4..7; node seq 32..63 */
static inline uint64_t bch_node_flags(unsigned btree_id, unsigned level,
				      uint32_t node_seq)
{
	return (uint64_t)(btree_id & 15) | (uint64_t)(level & 15) << 4 |
	       BCH_NODE_NEW_EXTENT_OVERWRITE |
	       (uint64_t)((btree_id >> 4) & 0xffff) << 9 | (uint64_t)node_seq << 32;
}

/* bset flags (le32 at BCH_BSET_FLAGS) */
#define BCH_BSET_CSUM_TYPE(f)		((f) & 15)
#define BCH_BSET_BIG_ENDIAN(f)		(((f) >> 4) & 1)
#define BCH_BSET_SEPARATE_WHITEOUTS(f)	(((f) >> 5) & 1)
#define BCH_BSET_OFFSET(f)		((f) >> 16)	/* sectors; 0 = not recorded */

/*
 * Nonce of a bset (bcachefs-format.md §3.4; upstream btree_io.h
 * btree_nonce()): byte offset of the bset in the node, the node seq,
 * and the bset's journal_seq folded into the btree nonce type.
 */
static inline struct bch_nonce bch_bset_nonce(unsigned byte_offset, uint64_t seq,
					      uint64_t journal_seq)
{
	return (struct bch_nonce){ { byte_offset, (uint32_t)seq, (uint32_t)(seq >> 32),
				     (uint32_t)journal_seq ^ BCH_NONCE_BTREE } };
}

/*
 * Encrypt or decrypt (the same XOR) the first bset of a node of `bytes`
 * bytes (header + keys): the header from flags to the bset header, then
 * the keys with the nonce advanced past that region in whole ChaCha
 * blocks (upstream btree_io.h bset_encrypt()).
 */
void bch_btree_node_crypt_first(const struct bch_crypt_key *key, struct bch_nonce nonce,
				uint8_t *node, size_t bytes);

/* what the parent key says the node must be */
struct bch_node_expect {
	unsigned			btree_id;
	unsigned			level;
	struct bpos			min_key;	/* from btree_ptr_v2, else the parent's range */
	struct bpos			max_key;	/* the parent key's position */
	struct bch_btree_ptr_info	ptr;
};

struct bch_btree_node {
	unsigned		btree_id;
	unsigned		level;
	struct bpos		min_key;
	struct bpos		max_key;
	uint64_t		seq;
	unsigned		written;	/* sectors accepted as bsets */
	unsigned		nr_bsets;
	struct bkey_format	format;
	unsigned		dev;		/* replica it was read from */
	uint64_t		sector;
	uint8_t			*buf;		/* node bytes, decrypted, owned */
	void			*buf_alloc;
	struct bkey		*keys;		/* merged and sorted; no deleted keys */
	size_t			nr_keys;
};

/*
 * Decode a node image already read into buf (btree_node_size sectors,
 * taken over by the node). dev/sector name the replica in messages.
 */
int bch_btree_node_parse(struct bch_fs *fs, const struct bch_node_expect *x,
			 void *buf_alloc, uint8_t *buf, unsigned dev, uint64_t sector,
			 struct bch_btree_node *n, struct bch_error *err);

/* read (trying each replica in turn) and decode a node */
int bch_btree_node_read(struct bch_fs *fs, const struct bch_node_expect *x,
			struct bch_btree_node *n, struct bch_error *err);

/*
 * Read several nodes with batched I/O (first usable replica of each);
 * nodes that fail are re-read from other replicas one at a time. On error
 * the nodes already decoded are freed.
 */
int bch_btree_nodes_read(struct bch_fs *fs, const struct bch_node_expect *x,
			 unsigned nr, struct bch_btree_node *n, struct bch_error *err);

/*
 * The same, in the background: start queues the batch on fs->workers
 * (progress and --stats are told at once, in the caller's thread);
 * finish waits for it and hands over the nodes, as bch_btree_nodes_read
 * would have; discard waits and frees them. Without workers, start
 * starts the reads (what the page cache holds is copied there and then,
 * the rest queued on the disk) and finish waits for them and decodes.
 * Every started job is finished or discarded.
 */
#define BCH_NODES_JOB_MAX	16u

/*
 * Is reading ahead worth it? With workers, always (they decode too).
 * Without, only while some device is being read from the disk: what the
 * page cache holds is copied as fast at the finish as at the start, and
 * a batch held early costs memory and its page faults (big, warm: 220
 * more faults and 4.5 ms more CPU with read-ahead).
 */
bool bch_btree_readahead_pays(const struct bch_fs *fs);

struct bch_nodes_io;

struct bch_nodes_job {
	struct bch_work		work;
	struct bch_fs		*fs;
	unsigned		nr;
	struct bch_node_expect	x[BCH_NODES_JOB_MAX];
	struct bch_btree_node	n[BCH_NODES_JOB_MAX];
	struct bch_error	err;
	int			ret;
	/* without worker threads: the reads started, decoded at the finish */
	struct bch_nodes_io	*io;
};

void bch_btree_nodes_read_start(struct bch_fs *fs, const struct bch_node_expect *x,
				unsigned nr, struct bch_nodes_job *j);
int bch_btree_nodes_read_finish(struct bch_nodes_job *j, struct bch_btree_node *n,
				struct bch_error *err);
void bch_btree_nodes_read_discard(struct bch_nodes_job *j);

void bch_btree_node_free(struct bch_btree_node *n);

/* an aligned buffer for one node */
uint8_t *bch_btree_node_buf_alloc(struct bch_fs *fs, void **alloc);

#endif
