/*
 * check_bucket_bitmaps: the offline consistency check of the alloc,
 * backpointers and LRU btrees, and of the pointers into buckets whose
 * backpointers do not add up.
 *
 * The checks run on key streams (struct bch_key_src), so they work the
 * same on a real filesystem (btree iterators) and on synthetic keys
 * (unit tests). Everything found is handed to a callback as a struct
 * bch_finding; nothing here prints.
 *
 * Rules: ../shared/images/README.md "On-disk facts a checker needs" and
 * "Expected findings", bcachefs-format.md §7.5-7.10 and §8 (upstream
 * backpointers.c check_bucket_backpointer_mismatch(), lru.c, alloc
 * checks in alloc_background.c).
 */
#ifndef BCH_CHECK_BUCKETS_H
#define BCH_CHECK_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "backpointers.h"
#include "bcachefs_format.h"
#include "bitmap.h"
#include "errors.h"
#include "key_updates.h"
#include "extents.h"
#include "lru_wants.h"

struct bch_sb;

/* ---- inputs ---- */

struct bch_key_src {
	/* 1 and *k set, 0 at the end, < 0 error */
	int	(*next)(void *ctx, struct bkey *k, struct bch_error *err);
	void	*ctx;
};

struct bch_check_dev {
	bool		exists;
	uint64_t	nbuckets;
	uint32_t	first_bucket;
	uint32_t	bucket_size;	/* sectors */
	bool		rotational;	/* 1.33+: backpointers carry the reconcile class */
};

struct bch_check_geom {
	unsigned		nr_devs;	/* member slots */
	struct bch_check_dev	dev[256];
	unsigned		bp_shift;
	unsigned		version;	/* superblock metadata version */
	unsigned		btree_node_size;	/* sectors */
};

void bch_check_geom_from_sb(struct bch_check_geom *g, const struct bch_sb *sb);

static inline bool bch_geom_bucket_valid(const struct bch_check_geom *g,
					 unsigned dev, uint64_t bucket)
{
	return dev < 256 && g->dev[dev].exists &&
	       bucket >= g->dev[dev].first_bucket && bucket < g->dev[dev].nbuckets;
}

/* ---- findings ---- */

enum bch_finding_kind {
	BCH_F_alloc_invalid_bucket,
	BCH_F_alloc_bad_value,
	BCH_F_alloc_sectors_wrong,
	BCH_F_bucket_bp_mismatch,
	BCH_F_bucket_bp_excess,
	BCH_F_bucket_bp_excess_no_target,
	BCH_F_bp_missing,
	BCH_F_bp_no_target,
	BCH_F_bp_no_alloc_key,
	BCH_F_bp_no_device,
	BCH_F_bp_wrong_gen,
	BCH_F_bp_fields_wrong,
	BCH_F_bp_bad_value,
	BCH_F_lru_invalid_bucket,
	BCH_F_lru_wrong_time,
	BCH_F_lru_missing,
	BCH_F_freespace_invalid_bucket,
	BCH_F_need_discard_invalid_bucket,
	BCH_F_bucket_gens_invalid_dev,
	BCH_F_bucket_gens_invalid_bucket,
	BCH_F_bucket_gens_nonzero_invalid,
	BCH_F_accounting_dev_data_type_wrong,
	BCH_F_ptr_gen_mismatch,
	BCH_F_reconcile_phys_wrong,
	BCH_F_alloc_missing,
	BCH_F_node_unreadable,
	BCH_F_freespace_wrong,
	BCH_F_need_discard_wrong,
	BCH_F_bucket_gens_wrong,
	BCH_F_alloc_data_type_wrong,
	BCH_F_alloc_gen_wrong,
	BCH_F_lru_obsolete,		/* 1.39: entry of the old fs-wide fragmentation LRU */
	BCH_F_lru_wrong_dev,		/* 1.39: entry in another device's LRU */
	BCH_F_freespace_key_bad,	/* freespace key of size 0 or past its position */
	BCH_F_NR,
};
/* their names and messages: the problem table of c_src/fsck_problems.c */

enum bch_sector_counter { BCH_CTR_DIRTY, BCH_CTR_CACHED, BCH_CTR_STRIPE, BCH_CTR_NR };

struct bch_finding {
	enum bch_finding_kind	kind;
	unsigned		btree_id;	/* btree of the key at fault */
	struct bpos		pos;		/* its position */
	unsigned		dev;
	uint64_t		bucket;
	bool			dev_exists;
	uint64_t		nbuckets;	/* of dev, 0 if it does not exist */

	/* LRU */
	unsigned		lru_id;
	uint64_t		time;
	uint64_t		expected_time;
	struct bpos		want_pos;	/* lru_missing: the entry that should exist */
	unsigned		want_lru_id;	/* lru_wrong_dev: the id it belongs under */
	bool			one_key;	/* need_discard_wrong (1.38+): the key at pos */

	/* bucket sums: [dirty, cached, stripe] */
	uint64_t		bp_sectors[BCH_CTR_NR];
	uint64_t		alloc_sectors[BCH_CTR_NR];
	uint64_t		ptr_sectors[BCH_CTR_NR];
	bool			empty;

	/* backpointers */
	struct bch_backpointer	bp;		/* as found, or as it should be */
	struct bch_backpointer	want;		/* bp_fields_wrong: what it should be */
	uint8_t			alloc_gen;
	uint8_t			ptr_gen;	/* ptr_gen_mismatch */
	struct bch_extent_ptr	ptr;		/* ptr_gen_mismatch: the pointer */
	bool			ptr_gen_mismatch; /* alloc_sectors_wrong: stale pointers too */
	const char		*why;		/* bad values */
	uint32_t		key_size;	/* freespace: the key's size */
	unsigned		data_type;	/* accounting */
	int64_t			acct_want[3];	/* buckets, sectors, fragmented */
	int64_t			acct_have[3];
	struct bch_alloc_v4	alloc;		/* alloc_sectors_wrong: the key as stored */
	/*
	 * alloc_sectors_wrong, alloc_data_type_wrong, alloc_gen_wrong,
	 * alloc_missing: the key the pointers call for (alloc_fix), or in
	 * why the reason it is better left alone (alloc_fix false)
	 */
	struct bch_alloc_v4	alloc_new;
	bool			alloc_fix;
	/* node_unreadable: the node's level, range (pos .. want_pos), why (in why) */
	unsigned		level;
	bool			root;
	bool			rebuildable;	/* its btree derives from others */
};

typedef int (*bch_finding_fn)(void *ctx, const struct bch_finding *f);

/* ---- the check ---- */

/* a bucket whose backpointer sums differ from its alloc counters */
struct bch_check_bucket {
	uint8_t		dev;
	uint64_t	bucket;
	uint8_t		gen;
	uint8_t		data_type;
	bool		excess;
	bool		empty;
	uint64_t	alloc[BCH_CTR_NR];
	uint64_t	bp[BCH_CTR_NR];
	uint64_t	ptr[BCH_CTR_NR];	/* from the pointer scan */
	struct bch_alloc_v4 a;			/* the alloc key */
	bool		ptr_gen_mismatch;	/* pointers of another generation */
	bool		no_key;			/* backpointers into it, no alloc key */
	bool		gen_known;		/* no_key: a dirty pointer gave the gen */
	bool		type_wrong;		/* data type not what the backpointers say */
	/*
	 * dirty pointers newer than the bucket (or btree node pointers of
	 * another generation): the generation the bucket should have, and
	 * what those pointers add up to
	 */
	bool		has_newer;
	uint8_t		newer_gen;
	uint64_t	ptr_newer[BCH_CTR_NR];
	uint32_t	ptr_types;		/* data types of the pointers counted */
	uint32_t	ptr_types_newer;
	size_t		bp_first;		/* its valid backpointers in bps[] */
	size_t		bp_nr;
};

enum bch_bp_origin {
	BCH_BP_IN_BUCKET,	/* valid backpointer of a bucket of interest */
	BCH_BP_NO_ALLOC,	/* no alloc key for its bucket */
	BCH_BP_NO_DEVICE,
};

struct bch_check_bp {
	struct bpos		pos;
	struct bch_backpointer	bp;
	uint8_t			origin;
	bool			matched;	/* a pointer wants exactly this */
	bool			explained;	/* reported as bp_fields_wrong */
	size_t			bucket_idx;	/* BCH_BP_IN_BUCKET */
	uint64_t		bucket;		/* BCH_BP_NO_ALLOC */
};

struct bch_bad_lru {
	struct bpos	pos;
	unsigned	dev;
	uint64_t	bucket;
};

/*
 * A corrected (or rebuilt) alloc key: the walk reads it instead of the
 * stored one, or where there is none, as if it were there.
 */
struct bch_alloc_fix {
	uint8_t			dev;
	uint64_t		bucket;
	struct bch_alloc_v4	a;
};

/* sorted by (dev, bucket); the fix for that bucket or NULL */
const struct bch_alloc_fix *bch_alloc_fix_find(const struct bch_alloc_fix *v, size_t nr,
					       unsigned dev, uint64_t bucket);

struct bch_check_stats {
	uint64_t	alloc_keys;
	uint64_t	backpointers;
	uint64_t	lru_keys;
	uint64_t	ptrs_scanned;
	uint64_t	keys_scanned;
	uint64_t	findings[BCH_F_NR];
};

struct bch_check {
	struct bch_check_geom	geom;
	bch_finding_fn		fn;
	void			*fn_ctx;

	struct bch_bitmap	mismatch[256];
	struct bch_bitmap	empty[256];
	/*
	 * buckets with an alloc key (stored or rebuilt): a pointer the scan
	 * meets into one without is a stray (its key and its backpointers
	 * lost), whose key is rebuilt before anything could free the bucket
	 */
	struct bch_bitmap	keyed[256];

	struct bch_check_bucket	*buckets;	/* sorted by (dev, bucket) */
	size_t			nr_buckets, buckets_size;
	struct bch_check_bp	*bps;		/* valid backpointers of those buckets */
	size_t			nr_bps, bps_size;
	struct bch_check_bp	*orphans;	/* backpointers without alloc key or device */
	size_t			nr_orphans, orphans_size;
	/* --full: pointers into buckets with neither alloc key nor backpointers */
	struct bch_stray_ptr {
		uint8_t			dev;
		uint64_t		bucket;
		struct bch_extent_ptr	ptr;
		struct bch_backpointer	want;
	}			*strays;
	size_t			nr_strays, strays_size;
	struct bch_lru_wants	lru_wants;	/* the LRU entries alloc keys call for */
	struct bch_bad_lru	*oob_frag_lru;	/* fragmentation entries past a device end */
	size_t			nr_oob_frag_lru, oob_frag_lru_size;

	/* per device and data type: buckets, sectors, fragmented, from alloc */
	struct bch_dev_acct {
		int64_t		v[BCH_DATA_NR][3];
		uint64_t	counted;
	}			*acct;

	bool			ptrs_scanned;	/* pass 3 ran: bucket ptr sums are known */
	/* buckets in use (pointers and backpointers) without an alloc key */
	uint64_t		alloc_missing[256];

	/* superblock and journal buckets per device, which need alloc keys */
	struct bch_meta_buckets {
		uint64_t	*b;		/* sorted */
		uint8_t		*type;		/* BCH_DATA_sb or BCH_DATA_journal */
		uint32_t	*sectors;	/* what its alloc key counts */
		bool		*seen;
		size_t		nr;
		size_t		hint;		/* the walk's place: buckets come in order */
	}			meta[256];

	/* 1.33+: backpointers with a reconcile class, and the class (sorted) */
	struct bch_phys_want {
		struct bpos	pos;
		uint8_t		class;
		bool		found;
	}			*phys;
	size_t			nr_phys, phys_size;
	/*
	 * what the repair will do to those backpointers, in the order found:
	 * a class for one it writes (missing, fields wrong), 0 for one it
	 * deletes; pass 6 judges the phys keys against the result
	 */
	struct bch_phys_want	*phys_fix;
	size_t			nr_phys_fix, phys_fix_size;

	/*
	 * repair: check as if these alloc keys were already corrected (sorted),
	 * and only those: corrections found then are reported, but the
	 * accounting and the indexes are judged without them
	 */
	const struct bch_alloc_fix *fixes;
	size_t			nr_fixes;
	bool			as_fixed;

	/*
	 * every bucket of data goes to the pointer scan, not only those whose
	 * sums differ: each backpointer's target is looked up (fsck --full)
	 */
	bool			full;
	/*
	 * scan every pointer even if no bucket needs it, for strays only:
	 * fsck sets it when the check found anything without a scan (a lost
	 * alloc key and backpointers show only as indexes and accounting
	 * that disagree with the keys, which a repair must not follow)
	 */
	bool			hunt_strays;
	/*
	 * told of every alloc key of the alloc x backpointers walk, in order,
	 * as the check sees it (fixed where fixes say so): fsck derives the
	 * index btrees' keys from it without walking alloc again
	 */
	int			(*on_alloc)(void *ctx, unsigned dev, uint64_t bucket,
					    const struct bch_alloc_v4 *a);
	void			*on_alloc_ctx;

	/* the corrections this check found (sorted once the pointers are in) */
	struct bch_alloc_fix	*corrections;
	size_t			nr_corrections, corrections_size;

	struct bch_check_stats	stats;
};

int bch_check_init(struct bch_check *c, const struct bch_check_geom *g,
		   bch_finding_fn fn, void *fn_ctx);
void bch_check_exit(struct bch_check *c);

/*
 * Before pass 1: the device's superblock (sb) and journal buckets, which
 * must have alloc keys of those types (copied; unsorted is fine).
 */
int bch_check_set_meta_buckets(struct bch_check *c, unsigned dev, const uint64_t *buckets,
			       const uint8_t *types, const uint32_t *sectors, size_t nr);

/*
 * Pass 1: alloc and backpointers walked together in position order.
 * Fills the bitmaps, remembers the buckets and backpointers to verify,
 * and the LRU entries the alloc keys want.
 */
int bch_check_alloc_backpointers(struct bch_check *c, struct bch_key_src *alloc,
				 struct bch_key_src *bps, struct bch_error *err);

/* Pass 2: the LRU btree against the alloc keys (after pass 1) */
int bch_check_lru(struct bch_check *c, struct bch_key_src *lru, struct bch_error *err);

/*
 * The alloc key the pointers into a bucket call for, once pass 3 has
 * counted them: the stored key (or, with none, a new one) with the
 * pointers' generation, sector counts and data type. NULL and the key in
 * *out, or why the key is better left alone (stripes, more than the bucket
 * holds, btree and user data in one bucket).
 */
const char *bch_check_bucket_truth(const struct bch_check *c, const struct bch_check_bucket *b,
				   struct bch_alloc_v4 *out);

/* does pass 3 have anything to do? */
bool bch_check_need_ptr_scan(const struct bch_check *c);

/*
 * Pass 3: every pointer into a bucket, fed one key at a time. btree_id is
 * the key's btree; level is the level of the node holding the key (0 for
 * leaf keys; for a root key, the root's level + 1).
 */
int bch_check_ptr_key(struct bch_check *c, unsigned btree_id, unsigned level,
		      const struct bkey *k, struct bch_error *err);
/*
 * Every backpointer the pointers of one key need, handed to fn with the
 * pointer and the backpointer's position: extents and reflink_v (leaf
 * keys), stripes, and btree node pointers (level > 0: the level of the
 * node holding the key, root keys the root's level + 1). The rule pass 3
 * checks with, and the backpointers rebuild writes with.
 */
typedef int (*bch_bp_fn)(void *ctx, const struct bch_extent_ptr *p, struct bpos bp_pos,
			 const struct bch_backpointer *bp);
int bch_key_backpointers(const struct bch_check_geom *g, unsigned btree_id, unsigned level,
			 const struct bkey *k, bch_bp_fn fn, void *ctx);

/* after all pointers were fed: missing and dangling backpointers, sectors */
int bch_check_ptrs_finish(struct bch_check *c, struct bch_error *err);

/* when pass 3 does not run: every orphan backpointer as bp_no_alloc_key */
int bch_check_report_orphans_unverified(struct bch_check *c);

/*
 * Pass 4, agreement: the freespace (or need_discard) btree as have yields
 * it against want, the keys the alloc keys call for (rebuild.h), both in
 * key order. Per device with indexed[dev] set, each maximal run of
 * buckets covered by one and not the other is one finding
 * (BCH_F_freespace_wrong / BCH_F_need_discard_wrong): bucket = its first
 * bucket, key_size = its length, time 1 if the entries are missing, 0 if
 * they are there for buckets that are not free (or not waiting for a
 * discard). Keys outside their device are left to the range check.
 * need_discard from 1.38, keyed by journal_seq_empty (buckets.h): one
 * finding per key that differs, one_key set, pos the key's, key_size 1.
 */
int bch_check_index_agrees(struct bch_check *c, unsigned btree_id, const bool *indexed,
			   const struct bch_key_updates *want, struct bch_key_src *have,
			   struct bch_error *err);

/*
 * Pass 4, agreement: bucket_gens as have yields it against want (the keys
 * the alloc keys call for, all-zero keys left out), both in key order;
 * only the entries of buckets inside their device, on devices with
 * judged[dev] set. Each key that differs is one BCH_F_bucket_gens_wrong:
 * bucket = its first wrong entry, key_size = how many are wrong, time =
 * the generation found there, expected_time = the alloc key's.
 */
int bch_check_gens_agree(struct bch_check *c, const bool *judged,
			 const struct bch_key_updates *want, struct bch_key_src *have,
			 struct bch_error *err);

/* Pass 4: freespace, need_discard and bucket_gens entries in range */
int bch_check_bucket_index(struct bch_check *c, unsigned btree_id,
			   struct bch_key_src *src, struct bch_error *err);

/*
 * Pass 5: the dev_data_type accounting against the alloc keys (after pass
 * 1). nodes: the accounting btree's keys as in its nodes; deltas: the
 * accounting keys of the journal, all of them (they add up).
 */
int bch_check_dev_accounting(struct bch_check *c, struct bch_key_src *nodes,
			     const struct bkey *deltas, size_t nr_deltas,
			     struct bch_error *err);

/*
 * Pass 6 (1.33+): the set keys of reconcile_hipri_phys and
 * reconcile_work_phys against the backpointers' reconcile class (1
 * hipri, 2 normal): a key where the class says none or the other btree,
 * or no key where the class wants one. In the finding, btree_id is the
 * btree the key is in (or should be in), time the class found there,
 * expected_time the backpointer's class.
 */
int bch_check_reconcile_phys(struct bch_check *c, struct bch_key_src *hipri,
			     struct bch_key_src *work, struct bch_error *err);

/*
 * Add (sign 1) or take away (-1) a bucket's share of its device's
 * dev_data_type accounting: [type][buckets, sectors, fragmented].
 */
void bch_acct_bucket(int64_t v[BCH_DATA_NR][3], const struct bch_alloc_v4 *a,
		     int64_t bucket_size, int sign);

/* the position of a dev_data_type accounting key */
struct bpos bch_acct_dev_data_type_pos(unsigned dev, unsigned data_type);

/*
 * The copygc verdict for kernels without "Fix reference to invalid bucket
 * in copygc": a fragmentation LRU entry past the end of an existing device
 * whose mismatch bitmap has a bit set (then copygc tests a bit past the
 * end of an allocated bitmap). *any_mismatch says whether any device has
 * a mismatched bucket at all (the looser condition).
 */
bool bch_check_copygc_would_fault(const struct bch_check *c, bool *any_mismatch);

#endif
