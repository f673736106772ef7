/*
 * Superblock reading and validation (bcachefs-format.md §2; upstream
 * libbcachefs/super-io.c read_one_super() and bch2_sb_validate()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "super.h"

/*
 * the most buckets a member may have (bcachefs-format.md §2.8.2); the
 * check sizes per-bucket bitmaps by it
 */
#define BCH_MEMBER_MAX_BUCKETS	((1ULL << 31) - 65)

/* incompatible feature bits known up to 1.36: 0..23 */
#define BCH_FEATURES0_KNOWN	((1ULL << 24) - 1)

unsigned bch_sb_meta_csum_type(const struct bch_sb *sb)
{
	static const unsigned opt_to_type[] = {
		BCH_CSUM_none, BCH_CSUM_crc32c_nonzero,
		BCH_CSUM_crc64_nonzero, BCH_CSUM_xxhash,
	};
	unsigned opt = (unsigned)BCH_SB_META_CSUM_TYPE(sb);

	if (BCH_SB_ENCRYPTION_TYPE(sb))
		return BCH_CSUM_chacha20_poly1305_128;
	return opt < ARRAY_SIZE(opt_to_type) ? opt_to_type[opt] : BCH_CSUM_crc32c_nonzero;
}

static bool uuid_is_zero(const uint8_t u[16])
{
	for (unsigned i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

static bool magic_ok(const uint8_t *m)
{
	return !memcmp(m, bch_sb_magic_uuid, 16) || !memcmp(m, bcache_sb_magic_uuid, 16);
}

static void layout_decode(const uint8_t *p, struct bch_sb_layout *l)
{
	memcpy(l->magic, p + BCH_SB_LAYOUT_MAGIC, 16);
	l->layout_type = p[BCH_SB_LAYOUT_TYPE];
	l->sb_max_size_bits = p[BCH_SB_LAYOUT_MAX_SIZE_BITS];
	l->nr_superblocks = p[BCH_SB_LAYOUT_NR];
	for (unsigned i = 0; i < 61; i++)
		l->sb_offset[i] = get_le64(p + BCH_SB_LAYOUT_OFFSETS + 8 * i);
}

static int layout_validate(const struct bch_sb_layout *l, const char *what,
			   struct bch_error *err)
{
	uint64_t prev_end = 0;

	if (!magic_ok(l->magic))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad magic", what);
	if (l->layout_type)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: unknown layout type %u",
			       what, l->layout_type);
	if (!l->nr_superblocks || l->nr_superblocks > 61)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: invalid nr_superblocks %u",
			       what, l->nr_superblocks);
	if (l->sb_max_size_bits > 16)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: invalid sb_max_size_bits %u",
			       what, l->sb_max_size_bits);
	/* a repair writes every copy where the layout says: the first is the primary */
	if (l->sb_offset[0] != BCH_SB_SECTOR)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: first superblock copy at sector %llu, not the primary's sector %u",
			       what, (unsigned long long)l->sb_offset[0], BCH_SB_SECTOR);
	for (unsigned i = 0; i < l->nr_superblocks; i++) {
		if (i && l->sb_offset[i] < prev_end)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: superblock copies %u and %u overlap", what, i - 1, i);
		prev_end = l->sb_offset[i] + (1ULL << l->sb_max_size_bits);
	}
	return 0;
}

void bch_member_decode(const uint8_t *p, unsigned bytes, struct bch_member *m)
{
	uint8_t e[BCH_MEMBER_BYTES_1_39] = { 0 };

	memset(m, 0, sizeof(*m));

	/* missing tail fields read as zero */
	memcpy(e, p, bytes < sizeof(e) ? bytes : sizeof(e));
	memcpy(m->uuid, e + BCH_MEMBER_UUID, 16);
	m->exists = !uuid_is_zero(m->uuid);
	m->nbuckets = get_le64(e + BCH_MEMBER_NBUCKETS);
	m->first_bucket = get_le16(e + BCH_MEMBER_FIRST_BUCKET);
	m->bucket_size = get_le16(e + BCH_MEMBER_BUCKET_SIZE);
	m->btree_bitmap_shift = e[BCH_MEMBER_BTREE_BITMAP_SHIFT];
	m->last_mount = get_le64(e + BCH_MEMBER_LAST_MOUNT);
	m->flags = get_le64(e + BCH_MEMBER_FLAGS);
	for (unsigned i = 0; i < 4; i++)
		m->iops[i] = get_le32(e + BCH_MEMBER_IOPS + 4 * i);
	for (unsigned i = 0; i < 3; i++) {
		m->errors[i] = get_le64(e + BCH_MEMBER_ERRORS + 8 * i);
		m->errors_at_reset[i] = get_le64(e + BCH_MEMBER_ERRORS_AT_RESET + 8 * i);
	}
	m->errors_reset_time = get_le64(e + BCH_MEMBER_ERRORS_RESET_TIME);
	m->seq = get_le64(e + BCH_MEMBER_SEQ);
	m->btree_allocated_bitmap = get_le64(e + BCH_MEMBER_BTREE_BITMAP);
	m->last_journal_bucket = get_le32(e + BCH_MEMBER_LAST_JOURNAL_BUCKET);
	m->last_journal_bucket_offset = get_le32(e + BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET);
	memcpy(m->device_name, e + BCH_MEMBER_DEVICE_NAME, 16);
	memcpy(m->device_model, e + BCH_MEMBER_DEVICE_MODEL, 64);
	m->flush_errors = get_le64(e + BCH_MEMBER_FLUSH_ERRORS);
	memcpy(m->device_serial, e + BCH_MEMBER_DEVICE_SERIAL, 64);
	memcpy(m->failure_domain, e + BCH_MEMBER_FAILURE_DOMAIN, 32);
}

const struct bch_sb_field_ref *bch_sb_field_get(const struct bch_sb *sb,
						unsigned type)
{
	for (unsigned i = 0; i < sb->nr_fields; i++)
		if (sb->fields[i].type == type)
			return &sb->fields[i];
	return NULL;
}

static int parse_members(struct bch_sb *sb, const char *where, struct bch_error *err)
{
	const struct bch_sb_field_ref *f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v2);
	unsigned entry_bytes, first;

	if (f) {
		if (f->bytes < BCH_MEMBERS_V2_ENTRIES)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: members_v2 field too small", where);
		entry_bytes = get_le16(f->p + BCH_MEMBERS_V2_MEMBER_BYTES);
		first = BCH_MEMBERS_V2_ENTRIES;
		sb->member_bytes = (uint16_t)entry_bytes;
		if (entry_bytes < BCH_MEMBER_V1_BYTES)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: members_v2 member_bytes %u too small", where, entry_bytes);
	} else {
		f = bch_sb_field_get(sb, BCH_SB_FIELD_members_v1);
		if (!f)
			return bch_err(err, BCH_ERR_CORRUPT, "%s: no members field", where);
		entry_bytes = BCH_MEMBER_V1_BYTES;
		first = BCH_MEMBERS_V1_ENTRIES;
	}
	if (first + (uint64_t)entry_bytes * sb->nr_devices > f->bytes)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: members field (%u bytes at byte %zu) too small for %u devices",
			       where, f->bytes, (size_t)(f->p - sb->bytes), sb->nr_devices);

	sb->members = calloc(sb->nr_devices, sizeof(*sb->members));
	if (!sb->members)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	sb->nr_members = sb->nr_devices;
	for (unsigned i = 0; i < sb->nr_devices; i++) {
		struct bch_member *m = &sb->members[i];

		bch_member_decode(f->p + first + (size_t)i * entry_bytes, entry_bytes, m);
		if (!m->exists)
			continue;
		if (!m->bucket_size || m->bucket_size < sb->block_size)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: member %u: bucket size %u smaller than block size %u",
				       where, i, m->bucket_size, sb->block_size);
		if (m->nbuckets > BCH_MEMBER_MAX_BUCKETS || m->first_bucket > m->nbuckets)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: member %u: invalid nbuckets %llu / first_bucket %u",
				       where, i, (unsigned long long)m->nbuckets, m->first_bucket);
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_journal(struct bch_sb *sb, const char *where, struct bch_error *err)
{
	const struct bch_sb_field_ref *f = bch_sb_field_get(sb, BCH_SB_FIELD_journal_v2);
	const struct bch_member *m = &sb->members[sb->dev_idx];
	uint64_t n = 0, *sorted;

	if (f) {
		unsigned nr = (f->bytes - 8) / 16;

		for (unsigned i = 0; i < nr; i++) {
			uint64_t c = get_le64(f->p + 8 + 16 * i + 8);

			if (c > (1ULL << 32) || n + c > (1ULL << 32))
				return bch_err(err, BCH_ERR_CORRUPT,
					       "%s: journal_v2 range %u too large", where, i);
			n += c;
		}
		/* more journal buckets than the device has: garbage, not an allocation */
		if (n > m->nbuckets)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: journal_v2 lists %llu buckets, the device has %llu",
				       where, (unsigned long long)n, (unsigned long long)m->nbuckets);
		sb->journal_buckets = calloc(n ? n : 1, sizeof(uint64_t));
		if (!sb->journal_buckets)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		n = 0;
		for (unsigned i = 0; i < nr; i++) {
			uint64_t start = get_le64(f->p + 8 + 16 * i);
			uint64_t c = get_le64(f->p + 8 + 16 * i + 8);

			for (uint64_t j = 0; j < c; j++)
				sb->journal_buckets[n++] = start + j;
		}
	} else if ((f = bch_sb_field_get(sb, BCH_SB_FIELD_journal))) {
		n = (f->bytes - 8) / 8;
		if (n > m->nbuckets)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: journal field lists %llu buckets, the device has %llu",
				       where, (unsigned long long)n, (unsigned long long)m->nbuckets);
		sb->journal_buckets = calloc(n ? n : 1, sizeof(uint64_t));
		if (!sb->journal_buckets)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		for (uint64_t i = 0; i < n; i++)
			sb->journal_buckets[i] = get_le64(f->p + 8 + 8 * i);
	}
	sb->nr_journal_buckets = (unsigned)n;
	if (!n)
		return 0;

	/* every journal bucket must lie inside the device, no duplicates */
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	memcpy(sorted, sb->journal_buckets, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	for (uint64_t i = 0; i < n; i++) {
		if (!sorted[i] || sorted[i] < m->first_bucket || sorted[i] >= m->nbuckets ||
		    (i && sorted[i] == sorted[i - 1])) {
			uint64_t b = sorted[i];

			free(sorted);
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: journal bucket %llu invalid (device has buckets %u..%llu) or duplicate",
				       where, (unsigned long long)b, m->first_bucket,
				       (unsigned long long)m->nbuckets - 1);
		}
	}
	free(sorted);
	return 0;
}

static int parse_blacklist(struct bch_sb *sb, const char *where, struct bch_error *err)
{
	const struct bch_sb_field_ref *f =
		bch_sb_field_get(sb, BCH_SB_FIELD_journal_seq_blacklist);
	unsigned nr;

	if (!f)
		return 0;
	nr = (f->bytes - 8) / 16;
	sb->blacklist = calloc(nr ? nr : 1, sizeof(*sb->blacklist));
	if (!sb->blacklist)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	for (unsigned i = 0; i < nr; i++) {
		sb->blacklist[i].start = get_le64(f->p + 8 + 16 * i);
		sb->blacklist[i].end = get_le64(f->p + 8 + 16 * i + 8);
		if (sb->blacklist[i].start >= sb->blacklist[i].end)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: journal_seq_blacklist entry %u: start >= end", where, i);
	}
	sb->nr_blacklist = nr;
	return 0;
}

static int parse_fields(struct bch_sb *sb, const char *where, struct bch_error *err)
{
	size_t off = BCH_SB_FIELDS;

	while (off < sb->len) {
		uint32_t u64s, type;

		if (sb->len - off < 8)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: truncated field header at byte %zu", where, off);
		u64s = get_le32(sb->bytes + off + BCH_SB_FIELD_HDR_U64S);
		type = get_le32(sb->bytes + off + BCH_SB_FIELD_HDR_TYPE);
		if (!u64s)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: field at byte %zu (type %u) has size 0", where, off, type);
		if ((uint64_t)u64s * 8 > sb->len - off)
			return bch_err(err, BCH_ERR_CORRUPT,
				       "%s: field at byte %zu (type %u, %u u64s) extends past the end of the superblock",
				       where, off, type, u64s);
		if (sb->nr_fields < ARRAY_SIZE(sb->fields))
			sb->fields[sb->nr_fields++] = (struct bch_sb_field_ref){
				.p = sb->bytes + off, .bytes = u64s * 8, .type = type,
			};
		off += (size_t)u64s * 8;
	}
	return 0;
}

static int validate_header(struct bch_sb *sb, const char *where, struct bch_error *err)
{
	unsigned maxv = BCH_VERSION_CURRENT;
	uint64_t max_bytes;

	if (BCH_VERSION_MAJOR(sb->version) > 1 || sb->version < BCH_VERSION_MIN)
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "%s: unsupported metadata version %u.%u",
			       where, BCH_VERSION_MAJOR(sb->version), BCH_VERSION_MINOR(sb->version));
	if (sb->version > maxv || BCH_SB_VERSION_INCOMPAT(sb) > maxv)
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "%s: filesystem has metadata version %u.%u (%s), newer than the newest this tool reads, %u.%u (%s)",
			       where, BCH_VERSION_MAJOR(sb->version), BCH_VERSION_MINOR(sb->version),
			       bch_version_name(sb->version),
			       BCH_VERSION_MAJOR(maxv), BCH_VERSION_MINOR(maxv), bch_version_name(maxv));
	if (sb->version_min > sb->version || sb->version_min < BCH_VERSION_MIN)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad version_min %u (version %u)",
			       where, sb->version_min, sb->version);
	if (BCH_SB_BIG_ENDIAN(sb))
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "%s: written by a big-endian machine, which this tool does not read", where);
	/* bits past 16 are layout_validate's to report, below */
	max_bytes = sb->layout.sb_max_size_bits <= 16 ? 512ULL << sb->layout.sb_max_size_bits :
		    UINT64_MAX;
	if (sb->len > max_bytes)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: superblock size %zu larger than the layout allows (%llu)",
			       where, sb->len, (unsigned long long)max_bytes);
	if (sb->features[0] & ~BCH_FEATURES0_KNOWN || sb->features[1])
		return bch_err(err, BCH_ERR_UNSUPPORTED,
			       "%s: unknown incompatible feature bits %#llx %#llx", where,
			       (unsigned long long)(sb->features[0] & ~BCH_FEATURES0_KNOWN),
			       (unsigned long long)sb->features[1]);
	if (uuid_is_zero(sb->uuid) || uuid_is_zero(sb->user_uuid))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: zero filesystem UUID", where);
	if (!sb->nr_devices || sb->dev_idx >= sb->nr_devices)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad dev_idx %u / nr_devices %u",
			       where, sb->dev_idx, sb->nr_devices);
	if (!sb->block_size || sb->block_size & (sb->block_size - 1))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad block size %u sectors",
			       where, sb->block_size);
	if (!BCH_SB_BTREE_NODE_SIZE(sb) || BCH_SB_BTREE_NODE_SIZE(sb) < sb->block_size)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad btree node size %llu sectors",
			       where, (unsigned long long)BCH_SB_BTREE_NODE_SIZE(sb));
	if (!sb->time_precision || sb->time_precision > 1000000000)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: bad time_precision %u",
			       where, sb->time_precision);
	return layout_validate(&sb->layout, where, err);
}

static void decode_header(struct bch_sb *sb)
{
	const uint8_t *b = sb->bytes;

	sb->csum = bch_csum_decode(b + BCH_SB_CSUM);
	sb->version = get_le16(b + BCH_SB_VERSION);
	sb->version_min = get_le16(b + BCH_SB_VERSION_MIN);
	memcpy(sb->magic, b + BCH_SB_MAGIC, 16);
	memcpy(sb->uuid, b + BCH_SB_UUID, 16);
	memcpy(sb->user_uuid, b + BCH_SB_USER_UUID, 16);
	memcpy(sb->label, b + BCH_SB_LABEL, 32);
	sb->label[32] = 0;
	sb->offset = get_le64(b + BCH_SB_OFFSET);
	sb->seq = get_le64(b + BCH_SB_SEQ);
	sb->block_size = get_le16(b + BCH_SB_BLOCK_SIZE);
	sb->dev_idx = b[BCH_SB_DEV_IDX];
	sb->nr_devices = b[BCH_SB_NR_DEVICES];
	sb->u64s = get_le32(b + BCH_SB_U64S);
	sb->time_base_lo = get_le64(b + BCH_SB_TIME_BASE_LO);
	sb->time_base_hi = get_le32(b + BCH_SB_TIME_BASE_HI);
	sb->time_precision = get_le32(b + BCH_SB_TIME_PRECISION);
	for (unsigned i = 0; i < 7; i++)
		sb->flags[i] = get_le64(b + BCH_SB_FLAGS + 8 * i);
	sb->write_time = get_le64(b + BCH_SB_WRITE_TIME);
	for (unsigned i = 0; i < 2; i++) {
		sb->features[i] = get_le64(b + BCH_SB_FEATURES + 8 * i);
		sb->compat[i] = get_le64(b + BCH_SB_COMPAT + 8 * i);
	}
	layout_decode(b + BCH_SB_LAYOUT, &sb->layout);
	sb->sb_magic = get_le64(sb->uuid);
	sb->journal_magic = sb->sb_magic ^ BCH_JOURNAL_MAGIC_XOR;
	sb->bset_magic = sb->sb_magic ^ BCH_BSET_MAGIC_XOR;
}

int bch_sb_parse(uint8_t *bytes, size_t len, uint64_t sector, const char *path,
		 struct bch_sb *sb, struct bch_error *err)
{
	char where[300];
	unsigned csum_type;
	struct bch_csum want;
	int ret;

	memset(sb, 0, sizeof(*sb));
	sb->bytes = bytes;
	sb->len = len;
	sb->sector = sector;
	snprintf(where, sizeof(where), "%s: superblock at sector %llu (byte %llu)",
		 path, (unsigned long long)sector, (unsigned long long)sector * 512);

	if (len < BCH_SB_HEADER_BYTES)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: truncated", where);
	decode_header(sb);
	if (!magic_ok(sb->magic))
		return bch_err(err, BCH_ERR_NOT_BCACHEFS, "%s: bad magic at byte %llu",
			       where, (unsigned long long)sector * 512 + BCH_SB_MAGIC);
	if (len != BCH_SB_FIELDS + (size_t)sb->u64s * 8)
		return bch_err(err, BCH_ERR_CORRUPT, "%s: size mismatch", where);

	ret = validate_header(sb, where, err);
	if (ret)
		return ret;

	csum_type = (unsigned)BCH_SB_CSUM_TYPE(sb);
	if (!bch_csum_type_valid(csum_type) || bch_csum_type_is_encryption(csum_type))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: invalid checksum type %u", where, csum_type);
	if (bch_checksum(csum_type, NULL, (struct bch_nonce){ { 0 } }, bytes + BCH_SB_CSUM_FROM,
			 len - BCH_SB_CSUM_FROM, &want))
		return bch_err(err, BCH_ERR_CORRUPT, "%s: cannot compute checksum", where);
	if (!bch_csum_eq(want, sb->csum))
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: checksum error (type %s): stored %016llx%016llx, computed %016llx%016llx",
			       where, bch_csum_type_name(csum_type),
			       (unsigned long long)sb->csum.hi, (unsigned long long)sb->csum.lo,
			       (unsigned long long)want.hi, (unsigned long long)want.lo);
	if (sb->offset != sector)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: records offset %llu, not where it was read",
			       where, (unsigned long long)sb->offset);

	ret = parse_fields(sb, where, err) ?:
	      parse_members(sb, where, err) ?:
	      parse_journal(sb, where, err) ?:
	      parse_blacklist(sb, where, err);
	return ret;
}

void bch_sb_free(struct bch_sb *sb)
{
	free(sb->bytes);
	free(sb->members);
	free(sb->journal_buckets);
	free(sb->blacklist);
	memset(sb, 0, sizeof(*sb));
}

int bch_sb_read_at(struct bch_io *io, uint64_t sector, struct bch_sb *sb,
		   struct bch_error *err)
{
	uint8_t hdr[BCH_SB_HEADER_BYTES];
	uint64_t off = sector * 512;
	uint8_t *bytes;
	size_t len;
	int ret;

	memset(sb, 0, sizeof(*sb));
	ret = bch_io_read(io, off, hdr, sizeof(hdr), err);
	if (ret) {
		bch_err_prefix(err, "superblock at sector %llu (byte %llu)",
			       (unsigned long long)sector, (unsigned long long)off);
		return ret;
	}
	if (!magic_ok(hdr + BCH_SB_MAGIC))
		return bch_err(err, BCH_ERR_NOT_BCACHEFS,
			       "%s: superblock at sector %llu: bad magic at byte %llu",
			       io->path, (unsigned long long)sector,
			       (unsigned long long)off + BCH_SB_MAGIC);
	len = BCH_SB_FIELDS + (size_t)get_le32(hdr + BCH_SB_U64S) * 8;
	if (len > BCH_SB_MAX_FIELDS_BYTES)
		return bch_err(err, BCH_ERR_CORRUPT,
			       "%s: superblock at sector %llu: u64s %u (byte %llu) is impossibly large",
			       io->path, (unsigned long long)sector, get_le32(hdr + BCH_SB_U64S),
			       (unsigned long long)off + BCH_SB_U64S);
	bytes = malloc(len);
	if (!bytes)
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	ret = bch_io_read(io, off, bytes, len, err);
	if (ret)
		bch_err_prefix(err, "superblock at sector %llu (byte %llu, %zu bytes)",
			       (unsigned long long)sector, (unsigned long long)off, len);
	else
		ret = bch_sb_parse(bytes, len, sector, io->path, sb, err);
	if (ret) {
		if (sb->bytes == bytes)
			bch_sb_free(sb);
		else
			free(bytes);
	}
	return ret;
}

int bch_sb_read(struct bch_io *io, const struct bch_msg_sink *msgs,
		struct bch_sb *sb, struct bch_error *err)
{
	struct bch_error primary_err = { 0 }, e;
	uint8_t raw[BCH_SB_LAYOUT_BYTES];
	struct bch_sb_layout layout;
	char tried[256] = "";
	size_t tried_len = 0;
	bool any_magic;
	int ret;

	memset(sb, 0, sizeof(*sb));
	if (io->size < BCH_SB_SECTOR * 512ULL + BCH_SB_HEADER_BYTES)
		return bch_err(err, BCH_ERR_NOT_BCACHEFS,
			       "%s: not a bcachefs filesystem: %llu bytes is too small to hold a superblock (at byte %u)",
			       io->path, (unsigned long long)io->size, BCH_SB_SECTOR * 512);

	ret = bch_sb_read_at(io, BCH_SB_SECTOR, sb, &primary_err);
	if (!ret)
		return 0;
	any_magic = primary_err.code != BCH_ERR_NOT_BCACHEFS;
	if (primary_err.code == BCH_ERR_UNSUPPORTED) {
		*err = primary_err;
		return ret;
	}

	/* the primary is bad: try the backups the layout at sector 7 lists */
	memset(&e, 0, sizeof(e));
	if (bch_io_read(io, BCH_SB_LAYOUT_SECTOR * 512, raw, sizeof(raw), &e))
		goto fail;
	layout_decode(raw, &layout);
	if (layout_validate(&layout, "layout", &e))
		goto fail;
	for (unsigned i = 0; i < layout.nr_superblocks; i++) {
		uint64_t s = layout.sb_offset[i];

		if (s == BCH_SB_SECTOR)
			continue;
		if (tried_len < sizeof(tried)) {
			int n = snprintf(tried + tried_len, sizeof(tried) - tried_len, "%s%llu",
					 tried_len ? ", " : "", (unsigned long long)s);

			tried_len += n > 0 ? (size_t)n : 0;
		}
		memset(&e, 0, sizeof(e));
		ret = bch_sb_read_at(io, s, sb, &e);
		if (!ret) {
			sb->from_backup = true;
			bch_msg(msgs, BCH_MSG_WARN,
				"%s; using the backup superblock at sector %llu",
				primary_err.msg, (unsigned long long)s);
			return 0;
		}
		if (e.code != BCH_ERR_NOT_BCACHEFS)
			any_magic = true;
	}
fail:
	if (!any_magic)
		return bch_err(err, BCH_ERR_NOT_BCACHEFS,
			       "%s: not a bcachefs filesystem (no superblock magic at byte 4120 or in any backup)",
			       io->path);
	*err = primary_err;
	if (tried[0])
		bch_err_prefix(err, "no valid superblock copy (backups at sectors %s also bad)", tried);
	else
		bch_err_prefix(err, "no valid superblock copy (no usable backup: the layout at sector %u is unreadable or invalid)",
			       BCH_SB_LAYOUT_SECTOR);
	return -primary_err.code;
}
