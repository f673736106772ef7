/* LRU position encoding and printing (bcachefs-format.md §7.10). */
#include "errors.h"
#include "lru.h"

struct bpos bch_lru_pos_target(unsigned lru_id, uint64_t time, uint64_t target)
{
	uint64_t id = lru_id & 0xffffu;

	return BPOS(id << BCH_LRU_TIME_BITS | (time & BCH_LRU_TIME_MAX), target, 0);
}

struct bpos bch_lru_pos(unsigned lru_id, uint64_t time, unsigned dev,
			uint64_t bucket)
{
	return bch_lru_pos_target(lru_id, time, bch_bucket_to_u64(dev, bucket));
}

bool bch_lru_id_dev(unsigned lru_id, unsigned *dev)
{
	if (lru_id < BCH_LRU_READ_END) {
		*dev = lru_id;
		return true;
	}
	if (lru_id >= BCH_LRU_DEV_FRAG_START && lru_id < BCH_LRU_DEV_FRAG_END) {
		*dev = lru_id - BCH_LRU_DEV_FRAG_START;
		return true;
	}
	return false;
}

enum bch_lru_type bch_lru_id_type(unsigned lru_id)
{
	if (lru_id >= BCH_LRU_DEV_FRAG_START && lru_id < BCH_LRU_DEV_FRAG_END)
		return BCH_LRU_fragmentation;
	switch (lru_id) {
	case BCH_LRU_FRAGMENTATION:
		return BCH_LRU_fragmentation;
	case BCH_LRU_STRIPES:
		return BCH_LRU_stripes;
	default:
		return BCH_LRU_read;
	}
}

const char *bch_lru_type_name(enum bch_lru_type type)
{
	switch (type) {
	case BCH_LRU_read:
		return "read";
	case BCH_LRU_fragmentation:
		return "fragmentation";
	case BCH_LRU_stripes:
		return "stripes";
	}
	return "(unknown)";
}

void bch_lru_pos_to_text(struct printbuf *out, struct bpos p)
{
	unsigned id = bch_lru_pos_id(p), dev;
	enum bch_lru_type type = bch_lru_id_type(id);

	pb_printf(out, "lru_id %u type %s", id, bch_lru_type_name(type));
	/* only the 1.39 ids say which device: a read LRU id is the device */
	if (type == BCH_LRU_fragmentation && bch_lru_id_dev(id, &dev))
		pb_printf(out, " dev %u", dev);
	pb_printf(out, " time %llu", (unsigned long long)bch_lru_pos_time(p));
	if (type == BCH_LRU_stripes)
		pb_printf(out, " stripe %llu", (unsigned long long)p.offset);
	else
		pb_printf(out, " bucket %u:%llu", bch_lru_pos_dev(p),
			  (unsigned long long)bch_lru_pos_bucket(p));
}

int bch_lru_val_decode(const struct bkey *k, uint64_t *idx)
{
	*idx = 0;
	if (k->val_bytes < 8)
		return -BCH_ERR_CORRUPT;
	*idx = get_le64(k->val);
	return 0;
}

