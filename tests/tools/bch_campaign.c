/*
 * bch_campaign: the tool of the field-by-field corruption campaign
 * (tests/campaign/campaign.sh). It lists the fields of a filesystem's
 * structures (superblock, superblock layout, btree node, journal entry)
 * and damages one field of one structure in every copy of it with one
 * verb, then recomputes the structure's checksum (re-encrypting it first
 * on an encrypted filesystem), so that what is behind the checksum is
 * what gets tested. It edits the device files IN PLACE: copies only.
 *
 * A field is a run of bits in the structure's bytes read as a
 * little-endian bit string: BYTE (from the start of the structure), BIT
 * (0..7 in that byte) and NBITS, any width (a 16-byte uuid is 128 bits).
 * The verbs (fstests' fuzzer verbs): zeroes, ones, firstbit, middlebit,
 * lastbit (invert that bit), random (every bit drawn from SEED), add and
 * sub (+1 and -1 modulo 2^NBITS). A verb that leaves the field as it was
 * exits 3 and writes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "bkey.h"
#include "btree_node.h"
#include "checksum.h"
#include "crypt.h"
#include "io.h"
#include "journal.h"
#include "sb_fields.h"
#include "super.h"

#define EXIT_NOOP	3

static const char *prog = "bch_campaign";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s [--passphrase-file FILE] [--key HEX] DEV[,DEV...] COMMAND [ARGS]\n"
"Edits the device files in place (use copies). Structures:\n"
"  sb:D  layout:D  node:D:SECTOR[,D:SECTOR...]  jset:D:SECTOR\n"
"(D: the member index; a node names every replica).\n"
"\n"
"  key                     print the master key (hex) of an encrypted filesystem\n"
"  jsets                   every journal entry: jset:D:SECTOR seq\n"
"  fields STRUCT           the fields: NAME BYTE BIT NBITS TOUCHED (the btree\n"
"                          whose keys the field is part of, * for any, - none)\n"
"  mutate STRUCT BYTE BIT NBITS VERB SEED\n"
"                          damage a field of every copy; exit 3 if a no-op\n"
"  digest                  a digest of each device file's content\n", prog);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end || *s == '-')
		die("bad %s '%s'", what, s);
	return v;
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

/* ---- devices, superblocks, key ---- */

struct dev {
	const char	*path;
	struct bch_io	*io;
	struct bch_sb	sb;
	bool		have_sb;
};

static struct dev devs[BCH_SB_MAX_DEVICES];
static unsigned nr_paths;
static const struct bch_sb *fs_sb;	/* device 0's, or the first read */
static bool encrypted;
static struct bch_crypt_key key;

static void dev_read(struct dev *d, uint64_t off, void *buf, size_t len)
{
	struct bch_error err = { 0 };

	if (bch_io_read(d->io, off, buf, len, &err))
		die("%s: %s", d->path, err.msg);
}

static void dev_write(struct dev *d, uint64_t off, const void *buf, size_t len)
{
	struct bch_error err = { 0 };

	if (bch_io_write(d->io, off, buf, len, &err))
		die("%s: %s", d->path, err.msg);
}

static struct dev *dev_get(unsigned idx)
{
	if (idx >= BCH_SB_MAX_DEVICES || !devs[idx].io)
		die("no device %u among the files given", idx);
	return &devs[idx];
}

/* open every file and file it under the member index its superblock names */
static void devs_open(char *list, bool write)
{
	struct bch_msg_sink quiet = { 0 };
	char *save = NULL;

	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		struct bch_error err = { 0 };
		struct bch_io *io;
		struct bch_sb sb;

		if (bch_io_open_unix(p, write ? BCH_IO_WRITE : 0, &io, &err))
			die("%s", err.msg);
		if (bch_sb_read(io, &quiet, &sb, &err))
			die("%s: %s", p, err.msg);
		if (devs[sb.dev_idx].io)
			die("%s: member %u given twice", p, sb.dev_idx);
		devs[sb.dev_idx] = (struct dev){ p, io, sb, true };
		nr_paths++;
	}
	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++)
		if (devs[i].have_sb) {
			fs_sb = &devs[i].sb;
			break;
		}
	if (!fs_sb)
		die("no device given");
	encrypted = BCH_SB_ENCRYPTION_TYPE(fs_sb) != 0;
}

static void key_unlock(const char *passfile, const char *hex)
{
	const struct bch_sb_field_ref *f;
	struct bch_error err = { 0 };
	struct bch_sb_crypt c;
	char line[1024];
	FILE *pf;
	size_t n;

	if (!encrypted)
		return;
	if (hex) {
		if (strlen(hex) != 64)
			die("--key: want 64 hex digits");
		for (unsigned i = 0; i < 32; i++) {
			unsigned v;

			if (sscanf(hex + 2 * i, "%2x", &v) != 1)
				die("--key: bad hex");
			key.key[i] = (uint8_t)v;
		}
		return;
	}
	f = bch_sb_field_get(fs_sb, BCH_SB_FIELD_crypt);
	if (!f || bch_sb_crypt_parse(f->p, f->bytes, &c, &err))
		die("no usable crypt field: %s", err.msg);
	line[0] = 0;
	if (!bch_sb_crypt_key_is_plain(&c)) {
		if (!passfile)
			die("encrypted filesystem: give --passphrase-file or --key");
		pf = fopen(passfile, "r");
		if (!pf || !fgets(line, sizeof(line), pf))
			die("cannot read %s", passfile);
		fclose(pf);
		line[strcspn(line, "\n")] = 0;
	}
	n = strlen(line);
	if (bch_crypt_unlock(&c, fs_sb->sb_magic, n ? line : NULL, n, &key, &err))
		die("%s", err.msg);
}

/* ---- the bits of a field and the verbs ---- */

static bool bit_get(const uint8_t *p, uint64_t i)
{
	return (p[i >> 3] >> (i & 7)) & 1;
}

static void bit_put(uint8_t *p, uint64_t i, bool v)
{
	if (v)
		p[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		p[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

struct field {
	uint64_t	byte;
	unsigned	bit;
	unsigned	nbits;
	const char	*verb;
	uint64_t	seed;
};

static const char *const verbs[] = {
	"zeroes", "ones", "firstbit", "middlebit", "lastbit", "random", "add", "sub",
};

/* apply f to buf (len bytes); false if it is outside or changed nothing */
static bool field_apply(const struct field *f, uint8_t *buf, size_t len)
{
	uint64_t lo = f->byte * 8 + f->bit, n = f->nbits, s = f->seed | 1;
	uint8_t *save;
	bool changed;

	if (!n || f->byte >= len || (lo + n + 7) / 8 > len)
		return false;
	save = xmalloc(len);
	memcpy(save, buf, len);
	if (!strcmp(f->verb, "zeroes") || !strcmp(f->verb, "ones")) {
		for (uint64_t i = 0; i < n; i++)
			bit_put(buf, lo + i, f->verb[0] == 'o');
	} else if (!strcmp(f->verb, "firstbit")) {
		bit_put(buf, lo, !bit_get(buf, lo));
	} else if (!strcmp(f->verb, "middlebit")) {
		bit_put(buf, lo + n / 2, !bit_get(buf, lo + n / 2));
	} else if (!strcmp(f->verb, "lastbit")) {
		bit_put(buf, lo + n - 1, !bit_get(buf, lo + n - 1));
	} else if (!strcmp(f->verb, "random")) {
		for (uint64_t i = 0; i < n; i++)
			bit_put(buf, lo + i, rng_next(&s) >> 63);
		if (!memcmp(save, buf, len))
			bit_put(buf, lo, !bit_get(buf, lo));
	} else if (!strcmp(f->verb, "add") || !strcmp(f->verb, "sub")) {
		/* +1: invert bits up to and including the first 0; -1: the first 1 */
		bool stop = f->verb[0] == 'a' ? 0 : 1;

		for (uint64_t i = 0; i < n; i++) {
			bool b = bit_get(buf, lo + i);

			bit_put(buf, lo + i, !b);
			if (b == stop)
				break;
		}
	} else {
		die("unknown verb '%s'", f->verb);
	}
	changed = memcmp(save, buf, len) != 0;
	free(save);
	return changed;
}

/* ---- checksums ---- */

/* checksum of [from, to) of p, type csum_type; false if it cannot be made */
static bool csum_make(unsigned type, struct bch_nonce nonce, const uint8_t *p, size_t len,
		      struct bch_csum *out)
{
	if (!bch_csum_type_valid(type))
		return false;
	if (bch_csum_type_is_encryption(type) && !encrypted)
		return false;
	return !bch_checksum(type, &key, nonce, p, len, out);
}

/* ---- field listing ---- */

static const char *cur_struct;

static void emit(const char *name, uint64_t byte, unsigned bit, unsigned nbits,
		 const char *touched)
{
	if (nbits)
		printf("%s %s %llu %u %u %s\n", cur_struct, name, (unsigned long long)byte, bit,
		       nbits, touched);
}

static void emitf(uint64_t byte, unsigned bit, unsigned nbits, const char *touched,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emitf(uint64_t byte, unsigned bit, unsigned nbits, const char *touched,
		  const char *fmt, ...)
{
	char name[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	emit(name, byte, bit, nbits, touched);
}

static const char *btree_name(unsigned id)
{
	const char *n = bch_btree_id_name(id, fs_sb->version);

	return n ? n : "*";
}

/* the first, middle and last of nr (deduplicated): fills idx, returns count */
static unsigned pick3(size_t nr, size_t idx[3], const char *names[3])
{
	unsigned n = 0;

	if (!nr)
		return 0;
	idx[n] = 0;
	names[n++] = "first";
	if (nr > 2) {
		idx[n] = nr / 2;
		names[n++] = "mid";
	}
	if (nr > 1) {
		idx[n] = nr - 1;
		names[n++] = "last";
	}
	return n;
}

/* value words: first, middle, last le64 of a value */
static void emit_value(const char *pfx, uint64_t at, size_t bytes, const char *touched)
{
	size_t idx[3];
	const char *nm[3];
	unsigned n = pick3(bytes / 8, idx, nm);

	for (unsigned i = 0; i < n; i++)
		emitf(at + idx[i] * 8, 0, 64, touched, "%s.val.%s", pfx, nm[i]);
}

/* fields of an unpacked key at p (offset at in the structure) */
static void emit_unpacked_key(const char *pfx, uint64_t at, const struct bkey *k,
			     const char *touched)
{
	emitf(at + 0, 0, 8, touched, "%s.u64s", pfx);
	emitf(at + 1, 0, 7, touched, "%s.format", pfx);
	emitf(at + 1, 7, 1, touched, "%s.needs_whiteout", pfx);
	emitf(at + 2, 0, 8, touched, "%s.type", pfx);
	emitf(at + 4, 0, 64, touched, "%s.version_lo", pfx);
	emitf(at + 12, 0, 32, touched, "%s.version_hi", pfx);
	emitf(at + 16, 0, 32, touched, "%s.size", pfx);
	emitf(at + 20, 0, 32, touched, "%s.p.snapshot", pfx);
	emitf(at + 24, 0, 64, touched, "%s.p.offset", pfx);
	emitf(at + 32, 0, 64, touched, "%s.p.inode", pfx);
	emit_value(pfx, at + 40, k->val_bytes, touched);
}

/* the fields of a btree pointer's value (btree_ptr_v2) at val */
static void emit_btree_ptr(const char *pfx, uint64_t val, const struct bkey *k,
			   const char *touched)
{
	if (k->type != KEY_TYPE_btree_ptr_v2 || k->val_bytes < 48)
		return;
	emitf(val + 8, 0, 64, touched, "%s.ptr.seq", pfx);
	emitf(val + 16, 0, 16, touched, "%s.ptr.sectors_written", pfx);
	emitf(val + 18, 0, 16, touched, "%s.ptr.flags", pfx);
	emitf(val + 24, 0, 64, touched, "%s.ptr.min_key.offset", pfx);
	emitf(val + 40, 4, 44, touched, "%s.ptr.offset", pfx);
	emitf(val + 46, 0, 8, touched, "%s.ptr.dev", pfx);
	emitf(val + 47, 0, 8, touched, "%s.ptr.gen", pfx);
}

/* jset entries (of a jset or the clean field) at p, structure offset base */
struct jwalk {
	size_t		*ent;		/* entry offsets */
	size_t		nr_ent;
	struct { size_t at; unsigned btree; struct bkey k; bool root; } *keys;
	size_t		nr_keys;
};

static int jwalk_fn(void *ctx, const uint8_t *entry, unsigned type, unsigned btree_id,
		    unsigned level, const uint8_t *payload, size_t payload_bytes,
		    uint64_t byte_offset, struct bch_error *err)
{
	struct jwalk *w = ctx;
	size_t at = 0;

	(void)entry; (void)level; (void)err;
	w->ent = realloc(w->ent, (w->nr_ent + 1) * sizeof(*w->ent));
	if (!w->ent)
		die("out of memory");
	w->ent[w->nr_ent++] = (size_t)byte_offset;
	if (type != BCH_JSET_ENTRY_btree_keys && type != BCH_JSET_ENTRY_btree_root &&
	    type != BCH_JSET_ENTRY_overwrite && type != BCH_JSET_ENTRY_write_buffer_keys)
		return 0;
	while (at < payload_bytes) {
		const char *why;
		struct bkey k;
		size_t kb = bch_bkey_decode(&bch_bkey_format_current, payload + at,
					    payload_bytes - at, &k, &why);

		if (!kb)
			break;
		w->keys = realloc(w->keys, (w->nr_keys + 1) * sizeof(*w->keys));
		if (!w->keys)
			die("out of memory");
		w->keys[w->nr_keys].at = (size_t)byte_offset + BCH_JSET_ENTRY_PAYLOAD + at;
		w->keys[w->nr_keys].btree = btree_id;
		w->keys[w->nr_keys].k = k;
		w->keys[w->nr_keys].root = type == BCH_JSET_ENTRY_btree_root;
		w->nr_keys++;
		at += kb;
	}
	return 0;
}

/*
 * The entries of p[0, bytes) (offsets from base in the structure): the
 * first, middle and last entry's header, and the first, middle and last
 * key's fields (those of a btree root's pointer too). Every root entry's
 * key in a clean field (all_roots) gets its pointer fields.
 */
static void emit_entries(const uint8_t *p, size_t bytes, uint64_t base, bool all_roots)
{
	struct bch_error err = { 0 };
	struct jwalk w = { 0 };
	size_t idx[3];
	const char *nm[3];
	unsigned n;

	bch_jset_entries_walk(p, bytes, base, "entries", jwalk_fn, &w, &err);
	n = pick3(w.nr_ent, idx, nm);
	for (unsigned i = 0; i < n; i++) {
		uint64_t at = w.ent[idx[i]];

		emitf(at + 0, 0, 16, "*", "entry.%s.u64s", nm[i]);
		emitf(at + 2, 0, 8, "*", "entry.%s.btree_id", nm[i]);
		emitf(at + 3, 0, 8, "*", "entry.%s.level", nm[i]);
		emitf(at + 4, 0, 8, "*", "entry.%s.type", nm[i]);
		emitf(at + 5, 0, 24, "*", "entry.%s.pad", nm[i]);
	}
	n = pick3(w.nr_keys, idx, nm);
	for (unsigned i = 0; i < n; i++) {
		char pfx[32];
		const char *t = btree_name(w.keys[idx[i]].btree);

		snprintf(pfx, sizeof(pfx), "key.%s", nm[i]);
		emit_unpacked_key(pfx, w.keys[idx[i]].at, &w.keys[idx[i]].k, t);
		emit_btree_ptr(pfx, w.keys[idx[i]].at + 40, &w.keys[idx[i]].k, t);
	}
	for (size_t i = 0; all_roots && i < w.nr_keys; i++) {
		char pfx[48];
		const char *t = btree_name(w.keys[i].btree);

		if (!w.keys[i].root)
			continue;
		snprintf(pfx, sizeof(pfx), "root.%s", t);
		emitf(w.keys[i].at, 0, 8, t, "%s.u64s", pfx);
		emitf(w.keys[i].at + 2, 0, 8, t, "%s.type", pfx);
		emit_btree_ptr(pfx, w.keys[i].at + 40, &w.keys[i].k, t);
	}
	free(w.ent);
	free(w.keys);
}

/* ---- superblock ---- */

struct bitfield {
	const char	*name;
	unsigned	bit, nbits;
};

/* flags[0] and flags[1] as bitfields (bcachefs-format.md §2.4) */
static const struct bitfield sb_flags0[] = {
	{ "initialized", 0, 1 }, { "clean", 1, 1 }, { "csum_type", 2, 6 },
	{ "error_action", 8, 4 }, { "btree_node_size", 12, 16 }, { "gc_reserve", 28, 5 },
	{ "root_reserve", 33, 7 }, { "meta_csum_type", 40, 4 }, { "data_csum_type", 44, 4 },
	{ "meta_replicas_want", 48, 4 }, { "data_replicas_want", 52, 4 },
	{ "posix_acl", 56, 1 }, { "quotas", 57, 3 }, { "has_errors", 60, 1 },
	{ "has_topology_errors", 61, 1 }, { "big_endian", 62, 1 },
};
static const struct bitfield sb_flags1[] = {
	{ "str_hash_type", 0, 4 }, { "compression_type", 4, 4 }, { "inode_32bit", 8, 1 },
	{ "wide_macs", 9, 1 }, { "encryption_type", 10, 4 },
	{ "encoded_extent_max_bits", 14, 6 }, { "meta_replicas_req", 20, 4 },
	{ "data_replicas_req", 24, 4 }, { "promote_target", 28, 12 },
	{ "foreground_target", 40, 12 }, { "background_target", 52, 12 },
};

static void emit_bitfields(const char *pfx, uint64_t byte, const struct bitfield *b,
			   size_t nr, const char *touched)
{
	for (size_t i = 0; i < nr; i++)
		emitf(byte + b[i].bit / 8, b[i].bit % 8, b[i].nbits, touched, "%s.%s", pfx,
		      b[i].name);
}

static void emit_member(unsigned i, uint64_t m, unsigned bytes)
{
	static const struct bitfield mflags[] = {
		{ "state", 0, 4 }, { "discard", 14, 1 }, { "data_allowed", 15, 5 },
		{ "group", 20, 8 }, { "durability", 28, 2 }, { "freespace_initialized", 30, 1 },
		{ "resize_on_mount", 31, 1 }, { "rotational", 32, 1 },
	};
	char pfx[32];

	snprintf(pfx, sizeof(pfx), "member%u", i);
	emitf(m + BCH_MEMBER_UUID, 0, 128, "*", "%s.uuid", pfx);
	emitf(m + BCH_MEMBER_NBUCKETS, 0, 64, "*", "%s.nbuckets", pfx);
	emitf(m + BCH_MEMBER_FIRST_BUCKET, 0, 16, "*", "%s.first_bucket", pfx);
	emitf(m + BCH_MEMBER_BUCKET_SIZE, 0, 16, "*", "%s.bucket_size", pfx);
	emitf(m + BCH_MEMBER_BTREE_BITMAP_SHIFT, 0, 8, "*", "%s.btree_bitmap_shift", pfx);
	emitf(m + BCH_MEMBER_LAST_MOUNT, 0, 64, "*", "%s.last_mount", pfx);
	{
		char fp[48];

		snprintf(fp, sizeof(fp), "%s.flags", pfx);
		emit_bitfields(fp, m + BCH_MEMBER_FLAGS, mflags, ARRAY_SIZE(mflags), "*");
	}
	emitf(m + BCH_MEMBER_IOPS, 0, 32, "*", "%s.iops0", pfx);
	if (bytes < BCH_MEMBER_ERRORS + 8)
		return;
	emitf(m + BCH_MEMBER_ERRORS, 0, 64, "*", "%s.errors0", pfx);
	if (bytes < BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET + 4)
		return;
	emitf(m + BCH_MEMBER_SEQ, 0, 64, "*", "%s.seq", pfx);
	emitf(m + BCH_MEMBER_BTREE_BITMAP, 0, 64, "*", "%s.btree_allocated_bitmap", pfx);
	emitf(m + BCH_MEMBER_LAST_JOURNAL_BUCKET, 0, 32, "*", "%s.last_journal_bucket", pfx);
	emitf(m + BCH_MEMBER_LAST_JOURNAL_BUCKET_OFFSET, 0, 32, "*",
	      "%s.last_journal_bucket_offset", pfx);
}

/*
 * Every superblock field: the header field by field (flags[0] and [1]
 * bitfield by bitfield, the embedded layout), and for each variable
 * field its header (u64s, type) and contents: members entry by entry,
 * the clean field's header and entries (every btree root's pointer), the
 * crypt field, the journal bucket lists (first, middle, last), and of
 * the others the first, middle and last 8-byte word.
 */
static void fields_sb(const struct bch_sb *sb)
{
	size_t idx[3];
	const char *nm[3];
	unsigned n;

	emit("version", BCH_SB_VERSION, 0, 16, "*");
	emit("version_min", BCH_SB_VERSION_MIN, 0, 16, "*");
	emit("magic", BCH_SB_MAGIC, 0, 128, "*");
	emit("uuid", BCH_SB_UUID, 0, 128, "*");
	emit("user_uuid", BCH_SB_USER_UUID, 0, 128, "*");
	emit("label", BCH_SB_LABEL, 0, 256, "*");
	emit("offset", BCH_SB_OFFSET, 0, 64, "*");
	emit("seq", BCH_SB_SEQ, 0, 64, "*");
	emit("block_size", BCH_SB_BLOCK_SIZE, 0, 16, "*");
	emit("dev_idx", BCH_SB_DEV_IDX, 0, 8, "*");
	emit("nr_devices", BCH_SB_NR_DEVICES, 0, 8, "*");
	emit("u64s", BCH_SB_U64S, 0, 32, "*");
	emit("time_base_lo", BCH_SB_TIME_BASE_LO, 0, 64, "*");
	emit("time_base_hi", BCH_SB_TIME_BASE_HI, 0, 32, "*");
	emit("time_precision", BCH_SB_TIME_PRECISION, 0, 32, "*");
	emit_bitfields("flags0", BCH_SB_FLAGS, sb_flags0, ARRAY_SIZE(sb_flags0), "*");
	emit_bitfields("flags1", BCH_SB_FLAGS + 8, sb_flags1, ARRAY_SIZE(sb_flags1), "*");
	for (unsigned i = 2; i < 7; i++)
		emitf(BCH_SB_FLAGS + 8 * i, 0, 64, "*", "flags%u", i);
	emit("flags5.version_upgrade_complete", BCH_SB_FLAGS + 40, 0, 16, "*");
	emit("flags5.version_incompat", BCH_SB_FLAGS + 44, 0, 16, "*");
	emit("flags5.version_incompat_allowed", BCH_SB_FLAGS + 46, 0, 16, "*");
	emit("flags6.extent_bp_shift", BCH_SB_FLAGS + 53, 0, 8, "*");
	emit("write_time", BCH_SB_WRITE_TIME, 0, 64, "*");
	emit("features0", BCH_SB_FEATURES, 0, 64, "*");
	emit("features1", BCH_SB_FEATURES + 8, 0, 64, "*");
	emit("compat0", BCH_SB_COMPAT, 0, 64, "*");
	emit("compat1", BCH_SB_COMPAT + 8, 0, 64, "*");
	emit("layout.magic", BCH_SB_LAYOUT + BCH_SB_LAYOUT_MAGIC, 0, 128, "*");
	emit("layout.type", BCH_SB_LAYOUT + BCH_SB_LAYOUT_TYPE, 0, 8, "*");
	emit("layout.sb_max_size_bits", BCH_SB_LAYOUT + BCH_SB_LAYOUT_MAX_SIZE_BITS, 0, 8, "*");
	emit("layout.nr_superblocks", BCH_SB_LAYOUT + BCH_SB_LAYOUT_NR, 0, 8, "*");
	n = pick3(sb->layout.nr_superblocks, idx, nm);
	for (unsigned i = 0; i < n; i++)
		emitf(BCH_SB_LAYOUT + BCH_SB_LAYOUT_OFFSETS + 8 * idx[i], 0, 64, "*",
		      "layout.sb_offset.%s", nm[i]);

	for (unsigned i = 0; i < sb->nr_fields; i++) {
		const struct bch_sb_field_ref *f = &sb->fields[i];
		uint64_t at = (uint64_t)(f->p - sb->bytes);
		const char *name = bch_sb_field_name(f->type);
		char pfx[48];

		snprintf(pfx, sizeof(pfx), "field.%s", name ? name : "unknown");
		emitf(at + BCH_SB_FIELD_HDR_U64S, 0, 32, "*", "%s.u64s", pfx);
		emitf(at + BCH_SB_FIELD_HDR_TYPE, 0, 32, "*", "%s.type", pfx);
		switch (f->type) {
		case BCH_SB_FIELD_members_v1:
		case BCH_SB_FIELD_members_v2: {
			unsigned nr = bch_sb_members_nr(f->p, f->bytes, f->type);
			unsigned eb = bch_sb_members_entry_bytes(f->p, f->bytes, f->type);
			uint64_t start = at + (f->type == BCH_SB_FIELD_members_v2 ?
					       BCH_MEMBERS_V2_ENTRIES : BCH_MEMBERS_V1_ENTRIES);

			if (f->type == BCH_SB_FIELD_members_v2)
				emitf(at + BCH_MEMBERS_V2_MEMBER_BYTES, 0, 16, "*",
				      "%s.member_bytes", pfx);
			for (unsigned m = 0; m < nr; m++)
				emit_member(m, start + (uint64_t)m * eb, eb);
			break;
		}
		case BCH_SB_FIELD_clean:
			if (f->bytes < BCH_SB_CLEAN_ENTRIES_OFFSET)
				break;
			emitf(at + 8, 0, 32, "*", "%s.flags", pfx);
			emitf(at + 16, 0, 64, "*", "%s.journal_seq", pfx);
			emit_entries(f->p + BCH_SB_CLEAN_ENTRIES_OFFSET,
				     f->bytes - BCH_SB_CLEAN_ENTRIES_OFFSET,
				     at + BCH_SB_CLEAN_ENTRIES_OFFSET, true);
			break;
		case BCH_SB_FIELD_crypt:
			emitf(at + 8, 0, 64, "*", "%s.flags", pfx);
			emitf(at + 16, 0, 64, "*", "%s.kdf_flags", pfx);
			emitf(at + 24, 0, 64, "*", "%s.key_magic", pfx);
			emitf(at + 32, 0, 256, "*", "%s.key", pfx);
			break;
		case BCH_SB_FIELD_journal_v2:
			n = pick3(bch_sb_journal_v2_nr(f->bytes), idx, nm);
			for (unsigned j = 0; j < n; j++) {
				emitf(at + 8 + 16 * idx[j], 0, 64, "*", "%s.%s.start", pfx, nm[j]);
				emitf(at + 16 + 16 * idx[j], 0, 64, "*", "%s.%s.nr", pfx, nm[j]);
			}
			break;
		default:
			/* journal: one le64 per bucket; others: their words */
			n = pick3(f->bytes > 8 ? (f->bytes - 8) / 8 : 0, idx, nm);
			for (unsigned j = 0; j < n; j++)
				emitf(at + 8 + 8 * idx[j], 0, 64, "*", "%s.word.%s", pfx, nm[j]);
			break;
		}
	}
}

/* superblock copy sectors from a device's layout at sector 7 */
static unsigned sb_copies(struct dev *d, uint64_t *sectors, unsigned *max_bits)
{
	uint8_t l[BCH_SB_LAYOUT_BYTES];
	unsigned nr;

	dev_read(d, BCH_SB_LAYOUT_SECTOR * 512ULL, l, sizeof(l));
	nr = l[BCH_SB_LAYOUT_NR];
	*max_bits = l[BCH_SB_LAYOUT_MAX_SIZE_BITS];
	if (!nr || nr > 61 || *max_bits > 16)
		die("%s: implausible layout at sector 7", d->path);
	for (unsigned i = 0; i < nr; i++)
		sectors[i] = get_le64(l + BCH_SB_LAYOUT_OFFSETS + 8 * i);
	return nr;
}

static size_t sb_len_of(const uint8_t *b)
{
	return BCH_SB_FIELDS + (size_t)get_le32(b + BCH_SB_U64S) * 8;
}

/* the field in every copy of the device's superblock, checksums recomputed */
static int mutate_sb(struct dev *d, const struct field *f)
{
	uint64_t sectors[61];
	unsigned max_bits, nr = sb_copies(d, sectors, &max_bits);
	size_t max = 512u << max_bits;
	uint8_t *b = xmalloc(max);
	bool any = false;

	for (unsigned c = 0; c < nr; c++) {
		size_t len, nlen;
		struct bch_csum cs;

		if (sectors[c] * 512 + max > d->io->size)
			continue;
		dev_read(d, sectors[c] * 512, b, max);
		len = sb_len_of(b);
		if (get_le64(b + BCH_SB_MAGIC) != get_le64(fs_sb->magic) || len > max)
			continue;	/* not a copy we can edit */
		if (!field_apply(f, b, len))
			continue;
		any = true;
		nlen = sb_len_of(b);
		if (nlen <= max &&
		    csum_make((unsigned)bits64(get_le64(b + BCH_SB_FLAGS), 2, 8),
			      (struct bch_nonce){ { 0 } }, b + BCH_SB_CSUM_FROM,
			      nlen - BCH_SB_CSUM_FROM, &cs))
			bch_csum_encode(b + BCH_SB_CSUM, cs);
		dev_write(d, sectors[c] * 512, b, nlen > len && nlen <= max ? nlen : len);
	}
	free(b);
	return any ? 0 : EXIT_NOOP;
}

static void fields_layout(void)
{
	emit("magic", BCH_SB_LAYOUT_MAGIC, 0, 128, "*");
	emit("type", BCH_SB_LAYOUT_TYPE, 0, 8, "*");
	emit("sb_max_size_bits", BCH_SB_LAYOUT_MAX_SIZE_BITS, 0, 8, "*");
	emit("nr_superblocks", BCH_SB_LAYOUT_NR, 0, 8, "*");
	emit("sb_offset.first", BCH_SB_LAYOUT_OFFSETS, 0, 64, "*");
	emit("sb_offset.second", BCH_SB_LAYOUT_OFFSETS + 8, 0, 64, "*");
}

static int mutate_layout(struct dev *d, const struct field *f)
{
	uint8_t l[512];

	dev_read(d, BCH_SB_LAYOUT_SECTOR * 512ULL, l, sizeof(l));
	if (!field_apply(f, l, sizeof(l)))
		return EXIT_NOOP;
	dev_write(d, BCH_SB_LAYOUT_SECTOR * 512ULL, l, sizeof(l));
	return 0;
}

/* ---- btree nodes ---- */

struct bset_at {
	size_t	at;		/* 0 for the first bset */
	size_t	bytes;		/* header and keys */
};

static size_t node_bytes(void)
{
	return (size_t)BCH_SB_BTREE_NODE_SIZE(fs_sb) * 512;
}

/* the bsets as the reader finds them (up to the node's end) */
static unsigned node_bsets(const uint8_t *b, struct bset_at *l, unsigned max)
{
	size_t nb = node_bytes(), block = (size_t)fs_sb->block_size * 512, at;
	uint64_t seq = get_le64(b + BCH_NODE_SEQ);
	unsigned nr = 0;

	l[nr].at = 0;
	l[nr].bytes = BCH_NODE_KEYS + (size_t)get_le16(b + BCH_NODE_U64S) * 8;
	if (l[nr].bytes > nb || !block)
		return 0;
	at = ROUND_UP(l[nr].bytes, block);
	nr++;
	while (nr < max && at + BCH_ENTRY_KEYS <= nb && get_le64(b + at + BCH_ENTRY_SEQ) == seq) {
		size_t bytes = BCH_ENTRY_KEYS + (size_t)get_le16(b + at + BCH_ENTRY_U64S) * 8;

		if (at + bytes > nb)
			break;
		l[nr++] = (struct bset_at){ at, bytes };
		at = ROUND_UP(at + bytes, block);
	}
	return nr;
}

static uint32_t bset_flags(const uint8_t *b, size_t at)
{
	return get_le32(b + (at ? at + BCH_ENTRY_FLAGS : BCH_NODE_BSET_FLAGS));
}

static struct bch_nonce bset_nonce_of(const uint8_t *b, size_t at)
{
	return bch_bset_nonce((unsigned)at, get_le64(b + BCH_NODE_SEQ),
			      get_le64(b + (at ? at + BCH_ENTRY_JOURNAL_SEQ : BCH_NODE_JOURNAL_SEQ)));
}

/* encrypt or decrypt (the same) one bset in place */
static void bset_crypt(uint8_t *b, const struct bset_at *l, struct bch_nonce nonce)
{
	if (!l->at)
		bch_btree_node_crypt_first(&key, nonce, b, l->bytes);
	else
		bch_chacha20_xor(&key, nonce, b + l->at + BCH_ENTRY_KEYS, l->bytes - BCH_ENTRY_KEYS);
}

static bool bset_encrypted(const uint8_t *b, size_t at)
{
	return encrypted && bch_csum_type_is_encryption(BCH_BSET_CSUM_TYPE(bset_flags(b, at)));
}

/* the node's bsets decrypted in place; l/nr say where they were */
static unsigned node_decrypt(uint8_t *b, struct bset_at *l, unsigned max)
{
	unsigned nr = node_bsets(b, l, max);

	for (unsigned i = 0; i < nr; i++)
		if (bset_encrypted(b, l[i].at))
			bset_crypt(b, &l[i], bset_nonce_of(b, l[i].at));
	return nr;
}

/*
 * Encrypt again and checksum every bset that was there, with what its
 * (damaged) header now says: its length, checksum type, seq and
 * journal_seq. Last to first, so that a bset grown over the next one
 * covers that one's final bytes. A bset whose new length or checksum
 * type cannot be honoured gets its old encryption back and keeps its old
 * checksum.
 */
static void node_encode(uint8_t *b, const uint8_t *orig_plain, const struct bset_at *l,
			unsigned nr)
{
	size_t nb = node_bytes();

	for (unsigned i = nr; i-- > 0;) {
		size_t at = l[i].at, hdr = at ? BCH_ENTRY_KEYS : BCH_NODE_KEYS;
		size_t bytes = hdr + (size_t)get_le16(b + at + (at ? BCH_ENTRY_U64S : BCH_NODE_U64S)) * 8;
		unsigned type = BCH_BSET_CSUM_TYPE(bset_flags(b, at));
		struct bset_at nl = { at, bytes };
		struct bch_nonce nonce = bset_nonce_of(b, at);
		struct bch_csum cs;

		if (at + bytes > nb || !bch_csum_type_valid(type) ||
		    (bch_csum_type_is_encryption(type) && !encrypted)) {
			if (bset_encrypted(orig_plain, at))
				bset_crypt(b, &l[i], bset_nonce_of(orig_plain, at));
			continue;
		}
		if (bch_csum_type_is_encryption(type))
			bset_crypt(b, &nl, nonce);
		if (csum_make(type, nonce, b + at + BCH_CSUM_COVERS_FROM,
			      bytes - BCH_CSUM_COVERS_FROM, &cs))
			bch_csum_encode(b + at, cs);
	}
}

struct replica {
	unsigned	dev;
	uint64_t	sector;
};

static unsigned parse_replicas(const char *s, struct replica *r, unsigned max)
{
	unsigned nr = 0;
	char *copy = strdup(s), *save = NULL;

	if (!copy)
		die("out of memory");
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(p, ':');

		if (!colon || nr == max)
			die("bad replica list '%s' (want D:SECTOR[,D:SECTOR...])", s);
		*colon = 0;
		r[nr].dev = (unsigned)parse_u64(p, "device");
		r[nr].sector = parse_u64(colon + 1, "sector");
		nr++;
	}
	free(copy);
	if (!nr)
		die("no replica in '%s'", s);
	return nr;
}

static uint8_t *node_load(const struct replica *r)
{
	struct dev *d = dev_get(r->dev);
	uint8_t *b = xmalloc(node_bytes());

	dev_read(d, r->sector * 512, b, node_bytes());
	return b;
}

/*
 * The fields of a node: the header (magic, flags bitfields, min and max
 * key, the obsolete ptr, the bkey_format byte by byte and its offsets),
 * the first bset's header (seq, journal_seq, flags bitfields, version,
 * u64s), the headers of the first, middle and last later bsets, and of
 * the first, middle and last key as stored (bsets in order) the header
 * bytes, each packed field at its bits (the node's format says where),
 * or each field of an unpacked key, the first, middle and last word of
 * the value, and a btree pointer's seq, sectors_written, flags, min_key,
 * device, sector and generation.
 */
static void fields_node(const char *addrs)
{
	static const char *const fnames[BKEY_NR_FIELDS] = {
		"p.inode", "p.offset", "p.snapshot", "size", "version_hi", "version_lo",
	};
	struct replica r[8];
	struct bset_at l[64];
	struct bkey_format fmt;
	struct bch_unpacker u;
	const char *t;
	uint8_t *b;
	unsigned nr;
	size_t *keys = NULL, nr_keys = 0, idx[3];
	const char *nm[3];
	unsigned n;

	parse_replicas(addrs, r, ARRAY_SIZE(r));
	b = node_load(&r[0]);
	nr = node_decrypt(b, l, ARRAY_SIZE(l));
	if (!nr)
		die("node at %s: no bset", addrs);
	t = btree_name(bch_node_flags_btree_id(get_le64(b + BCH_NODE_FLAGS)));

	emit("magic", BCH_NODE_MAGIC, 0, 64, t);
	emit("flags.btree_id", BCH_NODE_FLAGS, 0, 4, t);
	emit("flags.level", BCH_NODE_FLAGS, 4, 4, t);
	emit("flags.new_extent_overwrite", BCH_NODE_FLAGS + 1, 0, 1, t);
	emit("flags.btree_id_hi", BCH_NODE_FLAGS + 1, 1, 16, t);
	emit("flags.seq", BCH_NODE_FLAGS + 4, 0, 32, t);
	emit("min_key.snapshot", BCH_NODE_MIN_KEY, 0, 32, t);
	emit("min_key.offset", BCH_NODE_MIN_KEY + 4, 0, 64, t);
	emit("min_key.inode", BCH_NODE_MIN_KEY + 12, 0, 64, t);
	emit("max_key.snapshot", BCH_NODE_MAX_KEY, 0, 32, t);
	emit("max_key.offset", BCH_NODE_MAX_KEY + 4, 0, 64, t);
	emit("max_key.inode", BCH_NODE_MAX_KEY + 12, 0, 64, t);
	emit("ptr", BCH_NODE_PTR, 0, 64, t);
	emit("format.key_u64s", BCH_NODE_FORMAT, 0, 8, t);
	emit("format.nr_fields", BCH_NODE_FORMAT + 1, 0, 8, t);
	for (unsigned i = 0; i < BKEY_NR_FIELDS; i++) {
		emitf(BCH_NODE_FORMAT + 2 + i, 0, 8, t, "format.bits.%s", fnames[i]);
		emitf(BCH_NODE_FORMAT + 8 + 8 * i, 0, 64, t, "format.offset.%s", fnames[i]);
	}
	for (unsigned i = 0; i < nr; i++) {
		size_t at = l[i].at ? l[i].at + BCH_ENTRY_BSET : BCH_NODE_BSET;
		char pfx[16];

		/* later bsets: the first, middle and last only */
		if (i > 1 && i != nr - 1 && i != 1 + (nr - 1) / 2)
			continue;
		snprintf(pfx, sizeof(pfx), "bset%u", i);
		emitf(at + BCH_BSET_SEQ, 0, 64, t, "%s.seq", pfx);
		emitf(at + BCH_BSET_JOURNAL_SEQ, 0, 64, t, "%s.journal_seq", pfx);
		emitf(at + BCH_BSET_FLAGS, 0, 4, t, "%s.flags.csum_type", pfx);
		emitf(at + BCH_BSET_FLAGS, 4, 1, t, "%s.flags.big_endian", pfx);
		emitf(at + BCH_BSET_FLAGS, 5, 1, t, "%s.flags.separate_whiteouts", pfx);
		emitf(at + BCH_BSET_FLAGS + 2, 0, 16, t, "%s.flags.offset", pfx);
		emitf(at + BCH_BSET_VERSION, 0, 16, t, "%s.version", pfx);
		emitf(at + BCH_BSET_U64S, 0, 16, t, "%s.u64s", pfx);
	}

	bch_bkey_format_decode(b + BCH_NODE_FORMAT, &fmt);
	if (bch_bkey_format_invalid(&fmt))
		goto out;
	bch_unpacker_init(&u, &fmt);
	for (unsigned i = 0; i < nr; i++) {
		size_t at = l[i].at + (l[i].at ? BCH_ENTRY_KEYS : BCH_NODE_KEYS);
		size_t end = l[i].at + l[i].bytes;

		while (at < end) {
			const char *why;
			struct bkey k;
			size_t kb = bch_bkey_decode(&fmt, b + at, end - at, &k, &why);

			if (!kb)
				break;
			keys = realloc(keys, (nr_keys + 1) * sizeof(*keys));
			if (!keys)
				die("out of memory");
			keys[nr_keys++] = at;
			at += kb;
		}
	}
	n = pick3(nr_keys, idx, nm);
	for (unsigned i = 0; i < n; i++) {
		size_t at = keys[idx[i]];
		const char *why;
		struct bkey k;
		char pfx[16];

		bch_bkey_decode(&fmt, b + at, node_bytes() - at, &k, &why);
		snprintf(pfx, sizeof(pfx), "key.%s", nm[i]);
		if (k.format == BKEY_FORMAT_CURRENT) {
			emit_unpacked_key(pfx, at, &k, t);
		} else {
			emitf(at + 0, 0, 8, t, "%s.u64s", pfx);
			emitf(at + 1, 0, 7, t, "%s.format", pfx);
			emitf(at + 1, 7, 1, t, "%s.needs_whiteout", pfx);
			emitf(at + 2, 0, 8, t, "%s.type", pfx);
			for (unsigned f = 0; f < BKEY_NR_FIELDS; f++) {
				uint64_t bit = (uint64_t)u.f[f].word * 64 + u.f[f].shift;

				emitf(at + bit / 8, (unsigned)(bit % 8), fmt.bits_per_field[f], t,
				      "%s.%s", pfx, fnames[f]);
			}
			emit_value(pfx, (uint64_t)(k.val - b), k.val_bytes, t);
		}
		emit_btree_ptr(pfx, (uint64_t)(k.val - b), &k, t);
	}
out:
	free(keys);
	free(b);
}

static int mutate_node(const char *addrs, const struct field *f)
{
	struct replica r[8];
	unsigned nrep = parse_replicas(addrs, r, ARRAY_SIZE(r));
	bool any = false;

	for (unsigned i = 0; i < nrep; i++) {
		struct bset_at l[64];
		uint8_t *b = node_load(&r[i]), *plain;
		unsigned nr = node_decrypt(b, l, ARRAY_SIZE(l));

		plain = xmalloc(node_bytes());
		memcpy(plain, b, node_bytes());
		if (field_apply(f, b, node_bytes())) {
			any = true;
			node_encode(b, plain, l, nr);
			dev_write(dev_get(r[i].dev), r[i].sector * 512, b, node_bytes());
		}
		free(plain);
		free(b);
	}
	return any ? 0 : EXIT_NOOP;
}

/* ---- journal entries ---- */

/* the journal bucket holding sector, of device d: [start, end) in bytes */
static bool jbucket_of(struct dev *d, uint64_t sector, uint64_t *start, uint64_t *end)
{
	const struct bch_member *m = &d->sb.members[d->sb.dev_idx];

	for (unsigned i = 0; i < d->sb.nr_journal_buckets; i++) {
		uint64_t s = d->sb.journal_buckets[i] * m->bucket_size;

		if (sector >= s && sector < s + m->bucket_size) {
			*start = s * 512;
			*end = (s + m->bucket_size) * 512;
			return true;
		}
	}
	return false;
}

static void cmd_jsets(void)
{
	for (unsigned i = 0; i < BCH_SB_MAX_DEVICES; i++) {
		struct dev *d = &devs[i];
		const struct bch_member *m;
		size_t bucket, block;
		uint8_t *b;

		if (!d->io)
			continue;
		m = &d->sb.members[d->sb.dev_idx];
		bucket = (size_t)m->bucket_size * 512;
		block = (size_t)d->sb.block_size * 512;
		b = xmalloc(bucket);
		for (unsigned j = 0; j < d->sb.nr_journal_buckets; j++) {
			uint64_t start = d->sb.journal_buckets[j] * bucket;
			size_t off = 0;

			dev_read(d, start, b, bucket);
			while (off + BCH_JSET_HEADER_BYTES <= bucket) {
				size_t bytes = BCH_JSET_ENTRIES + (size_t)get_le32(b + off + BCH_JSET_U64S) * 8;

				if (get_le64(b + off + BCH_JSET_MAGIC) != d->sb.journal_magic ||
				    bytes > bucket - off) {
					off += block;
					continue;
				}
				printf("jset:%u:%llu %llu\n", i, (unsigned long long)(start + off) / 512,
				       (unsigned long long)get_le64(b + off + BCH_JSET_SEQ));
				off += ROUND_UP(bytes, block);
			}
		}
		free(b);
	}
}

struct jset_buf {
	struct dev	*d;
	uint64_t	byte;		/* on the device */
	uint8_t		*b;		/* to the end of its bucket */
	size_t		room;
	size_t		bytes;
	bool		was_encrypted;
};

static bool jset_encrypted(const uint8_t *j)
{
	return encrypted && bch_csum_type_is_encryption(get_le32(j + BCH_JSET_FLAGS) & 15);
}

static size_t jset_len(const uint8_t *j)
{
	return BCH_JSET_ENTRIES + (size_t)get_le32(j + BCH_JSET_U64S) * 8;
}

static void jset_load(const char *addr, struct jset_buf *j)
{
	struct replica r;
	uint64_t start, end;

	parse_replicas(addr, &r, 1);
	j->d = dev_get(r.dev);
	if (!jbucket_of(j->d, r.sector, &start, &end))
		die("sector %llu of device %u is not in a journal bucket",
		    (unsigned long long)r.sector, r.dev);
	j->byte = r.sector * 512;
	j->room = (size_t)(end - j->byte);
	j->b = xmalloc(j->room);
	dev_read(j->d, j->byte, j->b, j->room);
	if (get_le64(j->b + BCH_JSET_MAGIC) != j->d->sb.journal_magic)
		die("no journal entry at %s", addr);
	j->bytes = jset_len(j->b);
	if (j->bytes > j->room)
		die("journal entry at %s runs past its bucket", addr);
	j->was_encrypted = jset_encrypted(j->b);
	if (j->was_encrypted)
		bch_chacha20_xor(&key, bch_journal_nonce(get_le64(j->b + BCH_JSET_SEQ)),
				 j->b + BCH_JSET_ENCRYPTED_FROM, j->bytes - BCH_JSET_ENCRYPTED_FROM);
}

/*
 * The fields of a journal entry: its header (magic, seq, version, flags
 * bitfields, u64s, the clocks, last_seq), and its jset entries (the
 * first, middle and last entry's header; the first, middle and last key)
 */
static void fields_jset(const char *addr)
{
	struct jset_buf j;

	jset_load(addr, &j);
	emit("magic", BCH_JSET_MAGIC, 0, 64, "*");
	emit("seq", BCH_JSET_SEQ, 0, 64, "*");
	emit("version", BCH_JSET_VERSION, 0, 32, "*");
	emit("flags.csum_type", BCH_JSET_FLAGS, 0, 4, "*");
	emit("flags.big_endian", BCH_JSET_FLAGS, 4, 1, "*");
	emit("flags.no_flush", BCH_JSET_FLAGS, 5, 1, "*");
	emit("u64s", BCH_JSET_U64S, 0, 32, "*");
	emit("read_clock", BCH_JSET_ENCRYPTED_FROM, 0, 16, "*");
	emit("write_clock", BCH_JSET_ENCRYPTED_FROM + 2, 0, 16, "*");
	emit("last_seq", BCH_JSET_LAST_SEQ, 0, 64, "*");
	emit_entries(j.b + BCH_JSET_ENTRIES, j.bytes - BCH_JSET_ENTRIES, BCH_JSET_ENTRIES, false);
	free(j.b);
}

static int mutate_jset(const char *addr, const struct field *f)
{
	struct jset_buf j;
	size_t nbytes;
	unsigned type;
	struct bch_nonce nonce;
	struct bch_csum cs;
	int ret = 0;

	jset_load(addr, &j);
	if (!field_apply(f, j.b, j.bytes)) {
		ret = EXIT_NOOP;
		goto out;
	}
	nbytes = jset_len(j.b);
	type = get_le32(j.b + BCH_JSET_FLAGS) & 15;
	nonce = bch_journal_nonce(get_le64(j.b + BCH_JSET_SEQ));
	if (nbytes > j.room || !bch_csum_type_valid(type) ||
	    (bch_csum_type_is_encryption(type) && !encrypted)) {
		/* cannot be checksummed as it now says: as it was, plus the damage */
		if (j.was_encrypted)
			bch_chacha20_xor(&key, nonce, j.b + BCH_JSET_ENCRYPTED_FROM,
					 j.bytes - BCH_JSET_ENCRYPTED_FROM);
	} else {
		if (bch_csum_type_is_encryption(type))
			bch_chacha20_xor(&key, nonce, j.b + BCH_JSET_ENCRYPTED_FROM,
					 nbytes - BCH_JSET_ENCRYPTED_FROM);
		if (csum_make(type, nonce, j.b + BCH_JSET_CSUM_FROM, nbytes - BCH_JSET_CSUM_FROM, &cs))
			bch_csum_encode(j.b + BCH_JSET_CSUM, cs);
	}
	dev_write(j.d, j.byte, j.b, nbytes > j.bytes && nbytes <= j.room ? nbytes : j.bytes);
out:
	free(j.b);
	return ret;
}

/* ---- digest ---- */

/*
 * A digest of a file's content that does not read its holes: the size,
 * then every 4 KiB block that is not all zeroes, with its index
 */
static void digest_file(const char *path)
{
	static uint8_t blk[4096], zero[4096];
	int fd = open(path, O_RDONLY);
	XXH64_state_t *st = XXH64_createState();
	off_t size, at = 0;

	if (fd < 0 || !st)
		die("%s: %s", path, strerror(errno));
	size = lseek(fd, 0, SEEK_END);
	XXH64_reset(st, 0);
	XXH64_update(st, &size, sizeof(size));
	while (at < size) {
		off_t data = lseek(fd, at, SEEK_DATA), hole;

		if (data < 0)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		for (off_t p = data & ~(off_t)4095; p < hole; p += 4096) {
			ssize_t got = pread(fd, blk, sizeof(blk), p);
			uint64_t idx = (uint64_t)p / 4096;

			if (got < 0)
				die("%s: %s", path, strerror(errno));
			if (got < (ssize_t)sizeof(blk))
				memset(blk + got, 0, sizeof(blk) - (size_t)got);
			if (!memcmp(blk, zero, sizeof(blk)))
				continue;
			XXH64_update(st, &idx, sizeof(idx));
			XXH64_update(st, blk, sizeof(blk));
		}
		at = hole;
	}
	printf("%016llx %s\n", (unsigned long long)XXH64_digest(st), path);
	XXH64_freeState(st);
	close(fd);
}

/* ---- main ---- */

static void parse_field(char **argv, struct field *f)
{
	f->byte = parse_u64(argv[0], "byte");
	f->bit = (unsigned)parse_u64(argv[1], "bit");
	f->nbits = (unsigned)parse_u64(argv[2], "nbits");
	f->verb = argv[3];
	f->seed = parse_u64(argv[4], "seed");
	if (f->bit > 7 || !f->nbits)
		die("bad field: bit %u nbits %u", f->bit, f->nbits);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(f->verb, verbs[i]))
			return;
	die("unknown verb '%s'", f->verb);
}

int main(int argc, char **argv)
{
	const char *passfile = NULL, *keyhex = NULL, *cmd, *st;
	char *list;
	int i = 1, ret = 0;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--passphrase-file"))
			passfile = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			keyhex = argv[i + 1];
		else
			die("unknown option %s", argv[i]);
	}
	if (argc - i < 2) {
		usage(stderr);
		return 2;
	}
	list = argv[i];
	cmd = argv[i + 1];
	argv += i + 2;
	argc -= i + 2;

	if (!strcmp(cmd, "digest")) {
		char *save = NULL;

		for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
			digest_file(p);
		return 0;
	}
	devs_open(list, !strcmp(cmd, "mutate"));
	if (strcmp(cmd, "jsets"))
		key_unlock(passfile, keyhex);

	if (!strcmp(cmd, "key")) {
		for (unsigned k = 0; k < 32; k++)
			printf("%02x", key.key[k]);
		putchar('\n');
	} else if (!strcmp(cmd, "jsets")) {
		cmd_jsets();
	} else if (!strcmp(cmd, "fields") && argc == 1) {
		st = argv[0];
		cur_struct = st;
		if (!strncmp(st, "sb:", 3))
			fields_sb(&dev_get((unsigned)parse_u64(st + 3, "device"))->sb);
		else if (!strncmp(st, "layout:", 7))
			fields_layout();
		else if (!strncmp(st, "node:", 5))
			fields_node(st + 5);
		else if (!strncmp(st, "jset:", 5))
			fields_jset(st + 5);
		else
			die("unknown structure '%s'", st);
	} else if (!strcmp(cmd, "mutate") && argc == 6) {
		struct field f;

		st = argv[0];
		parse_field(argv + 1, &f);
		if (!strncmp(st, "sb:", 3))
			ret = mutate_sb(dev_get((unsigned)parse_u64(st + 3, "device")), &f);
		else if (!strncmp(st, "layout:", 7))
			ret = mutate_layout(dev_get((unsigned)parse_u64(st + 7, "device")), &f);
		else if (!strncmp(st, "node:", 5))
			ret = mutate_node(st + 5, &f);
		else if (!strncmp(st, "jset:", 5))
			ret = mutate_jset(st + 5, &f);
		else
			die("unknown structure '%s'", st);
	} else {
		usage(stderr);
		die("bad command '%s' or wrong arguments", cmd);
	}
	for (unsigned d = 0; d < BCH_SB_MAX_DEVICES; d++)
		if (devs[d].io) {
			bch_io_close(devs[d].io);
			bch_sb_free(&devs[d].sb);
		}
	return ret;
}
