/*
 * bch_corrupt: damage a bcachefs image in controlled ways for the
 * bad-input tests (tests/t_badinput.sh). It edits FILE IN PLACE: run it
 * on temporary copies only. Where a test needs deeper validation to be
 * reached, the checksum of the edited structure is recomputed.
 *
 * Parsing (superblock, clean field, bkey_format, keys, extent entries)
 * and checksums come from the library; only non-encrypted images are
 * supported.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "btree_node.h"
#include "checksum.h"
#include "extents.h"
#include "io.h"
#include "journal.h"
#include "sb_fields.h"
#include "super.h"

#define PTR_OFFSET_MASK	(((1ULL << 44) - 1) << 4)	/* extent ptr bits 4..47 */

static const char *prog = "bch_corrupt";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s FILE COMMAND [ARGS]\n"
"Edits FILE in place (use a copy). Offsets are decimal (or 0x hex);\n"
"HEX is a string of hex digit pairs, written byte by byte.\n"
"\n"
"  info                          superblock copies, sizes, checksum type, journal buckets\n"
"  poke BYTE HEX                 write bytes at an absolute file offset (no checksum fix)\n"
"  flip BYTE                     invert the byte at an absolute file offset\n"
"  sb-poke [--copy N|all] [--no-csum] BYTE HEX\n"
"                                write bytes into superblock copy N (0 = primary,\n"
"                                default) at BYTE from its start, then recompute\n"
"                                its checksum (unless --no-csum)\n"
"  sb-flip [--copy N|all] BYTE   invert one byte of superblock copies (no checksum fix)\n"
"  sb-root-ptr BTREE NEW_SECTOR  point the first pointer of BTREE's root key in the\n"
"                                primary superblock's clean field at NEW_SECTOR\n"
"  node-poke SECTOR BYTE HEX [--fix-csum]\n"
"                                write bytes into the btree node at device SECTOR at\n"
"                                node offset BYTE; --fix-csum recomputes the\n"
"                                checksums of all its bsets\n"
"  node-keys SECTOR              list the keys of the node as stored (\"key\": index,\n"
"                                bset, node byte, u64s, type, position, first pointer)\n"
"                                and as merged (\"live\": newest bset wins, no deleted)\n"
"  node-child-ptr PARENT_SECTOR CHILD_INDEX NEW_SECTOR [--match-seq]\n"
"                                point the first pointer of child CHILD_INDEX (a\n"
"                                \"live\" key, packed or unpacked) of an interior node\n"
"                                at NEW_SECTOR (with --match-seq also copy that node's\n"
"                                seq into the btree_ptr_v2); fixes the bset checksum\n"
"  journal-list                  the journal entries (jsets) found in the journal buckets\n"
"  journal-poke SEQ BYTE HEX [--fix-csum]\n"
"                                write bytes into the jset with sequence number SEQ\n"
"                                at BYTE from its start\n", prog);
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

/* "a1b2..." -> bytes; returns the count */
static size_t parse_hex(const char *s, uint8_t **out)
{
	size_t n = strlen(s);
	uint8_t *b;

	if (!n || n % 2)
		die("bad hex string '%s' (want pairs of hex digits)", s);
	b = malloc(n / 2);
	if (!b)
		die("out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			die("bad hex string '%s'", s);
		b[i] = (uint8_t)v;
	}
	*out = b;
	return n / 2;
}

/* ---- file access through the library's I/O layer ---- */

static struct bch_io *io;

static void dev_open(const char *path, bool write)
{
	struct bch_error err = { 0 };

	if (bch_io_open_unix(path, write ? BCH_IO_WRITE : 0, &io, &err))
		die("%s", err.msg);
}

static void dev_read(uint64_t off, void *buf, size_t len)
{
	struct bch_error err = { 0 };

	if (bch_io_read(io, off, buf, len, &err))
		die("%s", err.msg);
}

static void dev_write(uint64_t off, const void *buf, size_t len)
{
	struct bch_error err = { 0 };

	if (bch_io_write(io, off, buf, len, &err))
		die("%s", err.msg);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static struct bch_csum csum_of(unsigned type, struct bch_nonce nonce, const void *p, size_t len,
			       const char *what)
{
	struct bch_csum c;

	if (!bch_csum_type_valid(type))
		die("%s: unknown checksum type %u", what, type);
	if (bch_csum_type_is_encryption(type))
		die("%s: encrypted/MAC checksum type %u is not supported", what, type);
	if (bch_checksum(type, NULL, nonce, p, len, &c))
		die("%s: cannot compute checksum type %u", what, type);
	return c;
}

/* ---- superblock ---- */

/* the primary, parsed and validated by the library */
static void sb_read_primary(struct bch_sb *sb)
{
	struct bch_error err = { 0 };

	if (bch_sb_read_at(io, BCH_SB_SECTOR, sb, &err))
		die("primary superblock: %s", err.msg);
}

/* sectors of the superblock copies, from the layout at sector 7 */
static unsigned sb_copies(uint64_t *sectors)
{
	uint8_t l[BCH_SB_LAYOUT_BYTES];
	unsigned nr;

	dev_read(BCH_SB_LAYOUT_SECTOR * 512ULL, l, sizeof(l));
	nr = l[BCH_SB_LAYOUT_NR];
	if (!nr || nr > 61)
		die("layout at sector 7: invalid nr_superblocks %u", nr);
	for (unsigned i = 0; i < nr; i++)
		sectors[i] = get_le64(l + BCH_SB_LAYOUT_OFFSETS + 8 * i);
	return nr;
}

/* recompute the checksum of a raw superblock copy in memory */
static void sb_fix_csum(uint8_t *b, size_t len)
{
	unsigned type = (unsigned)bits64(get_le64(b + BCH_SB_FLAGS), 2, 8);

	bch_csum_encode(b + BCH_SB_CSUM, csum_of(type, (struct bch_nonce){ { 0 } }, b + BCH_SB_CSUM_FROM,
					    len - BCH_SB_CSUM_FROM, "superblock"));
}

static size_t sb_raw_len(uint64_t sector)
{
	uint8_t hdr[BCH_SB_HEADER_BYTES];

	dev_read(sector * 512, hdr, sizeof(hdr));
	return BCH_SB_FIELDS + (size_t)get_le32(hdr + BCH_SB_U64S) * 8;
}

/* copy selection: -1 = all */
static int parse_copy(const char *s)
{
	if (!strcmp(s, "all"))
		return -1;
	return (int)parse_u64(s, "copy index");
}

static int cmd_sb_edit(int argc, char **argv, bool flip)
{
	uint64_t sectors[61];
	unsigned nr = sb_copies(sectors);
	int copy = 0, i = 0;
	bool fix = !flip;
	uint64_t off;
	uint8_t *hex = NULL;
	size_t hex_len = 1;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--copy") && i + 1 < argc)
			copy = parse_copy(argv[++i]);
		else if (!strcmp(argv[i], "--no-csum"))
			fix = false;
		else
			die("unknown option %s", argv[i]);
	}
	if (argc - i != (flip ? 1 : 2))
		die("%s: wrong number of arguments", flip ? "sb-flip" : "sb-poke");
	off = parse_u64(argv[i], "byte offset");
	if (!flip)
		hex_len = parse_hex(argv[i + 1], &hex);
	if (copy >= (int)nr)
		die("copy %d: the layout lists %u copies", copy, nr);

	for (unsigned c = 0; c < nr; c++) {
		size_t len;
		uint8_t *b;

		if (copy >= 0 && c != (unsigned)copy)
			continue;
		len = sb_raw_len(sectors[c]);
		if (len > BCH_SB_MAX_FIELDS_BYTES)
			die("superblock copy %u at sector %llu: implausible size", c,
			    (unsigned long long)sectors[c]);
		if (off + hex_len > len)
			die("byte %llu is outside superblock copy %u (%zu bytes)",
			    (unsigned long long)off, c, len);
		b = xmalloc(len);
		dev_read(sectors[c] * 512, b, len);
		if (flip)
			b[off] ^= 0xff;
		else
			memcpy(b + off, hex, hex_len);
		if (fix) {
			/* a poked u64s changes what the checksum covers */
			size_t nlen = BCH_SB_FIELDS + (size_t)get_le32(b + BCH_SB_U64S) * 8;

			sb_fix_csum(b, nlen < len ? nlen : len);
		}
		dev_write(sectors[c] * 512, b, len);
		printf("superblock copy %u at sector %llu: %s %zu byte(s) at byte %llu%s\n",
		       c, (unsigned long long)sectors[c], flip ? "inverted" : "wrote", hex_len,
		       (unsigned long long)off, fix ? ", checksum recomputed" : "");
		free(b);
	}
	free(hex);
	return 0;
}

/* offset (from p) of the first extent ptr entry of a btree pointer value */
static long first_ptr_entry(const struct bkey *k)
{
	const uint8_t *p = k->val, *end = k->val + k->val_bytes;

	if (k->type == KEY_TYPE_btree_ptr_v2) {
		if (k->val_bytes < 40)
			return -1;
		p += 40;
	} else if (k->type != KEY_TYPE_btree_ptr) {
		return -1;
	}
	while (p < end) {
		struct bch_extent_entry e;
		unsigned n = bch_extent_entry_decode(p, (unsigned)(end - p), &e);

		if (!n)
			return -1;
		if (e.type == BCH_EXTENT_ENTRY_ptr)
			return (long)(p - k->val);
		p += n;
	}
	return -1;
}

static void ptr_set_offset(uint8_t *entry, uint64_t sector)
{
	uint64_t w = get_le64(entry);

	if (sector >> 44)
		die("sector %llu does not fit in a pointer (44 bits)", (unsigned long long)sector);
	put_le64(entry, (w & ~PTR_OFFSET_MASK) | sector << 4);
}

struct root_find {
	unsigned	btree;
	const uint8_t	*payload;
	size_t		bytes;
};

static int root_find_fn(void *ctx, const uint8_t *entry, unsigned type, unsigned btree_id,
			unsigned level, const uint8_t *payload, size_t payload_bytes,
			uint64_t byte_offset, struct bch_error *err)
{
	struct root_find *r = ctx;

	(void)entry; (void)level; (void)byte_offset; (void)err;
	if (type == BCH_JSET_ENTRY_btree_root && btree_id == r->btree && payload_bytes) {
		r->payload = payload;
		r->bytes = payload_bytes;
	}
	return 0;
}

static unsigned parse_btree(const char *s)
{
	int id = bch_btree_id_parse(s);

	if (id < 0)
		id = (int)parse_u64(s, "btree");
	if (id >= (int)BTREE_ID_NR_MAX)
		die("bad btree '%s'", s);
	return (unsigned)id;
}

static int cmd_sb_root_ptr(int argc, char **argv)
{
	struct root_find r = { 0 };
	const struct bch_sb_field_ref *f;
	struct bch_error err = { 0 };
	const char *why = NULL;
	struct bch_sb sb;
	struct bkey k;
	uint64_t sector, old;
	long pe;
	uint8_t *entry;

	if (argc != 2)
		die("sb-root-ptr: want BTREE NEW_SECTOR");
	r.btree = parse_btree(argv[0]);
	sector = parse_u64(argv[1], "sector");
	sb_read_primary(&sb);
	f = bch_sb_field_get(&sb, BCH_SB_FIELD_clean);
	if (!BCH_SB_CLEAN(&sb) || !f || f->bytes < BCH_SB_CLEAN_ENTRIES_OFFSET)
		die("the primary superblock is not clean or has no clean field");
	if (bch_jset_entries_walk(f->p + BCH_SB_CLEAN_ENTRIES_OFFSET,
				  f->bytes - BCH_SB_CLEAN_ENTRIES_OFFSET, 0, "clean field",
				  root_find_fn, &r, &err))
		die("%s", err.msg);
	if (!r.payload)
		die("no root for btree %s in the clean field", argv[0]);
	if (!bch_bkey_decode(&bch_bkey_format_current, r.payload, r.bytes, &k, &why))
		die("root key of btree %s: %s", argv[0], why);
	pe = first_ptr_entry(&k);
	if (pe < 0)
		die("root key of btree %s has no pointer", argv[0]);
	entry = sb.bytes + (k.val - sb.bytes) + pe;
	old = bits64(get_le64(entry), 4, 48);
	ptr_set_offset(entry, sector);
	sb_fix_csum(sb.bytes, sb.len);
	dev_write(BCH_SB_SECTOR * 512ULL, sb.bytes, sb.len);
	printf("btree %s root pointer: sector %llu -> %llu (superblock byte %zu)\n", argv[0],
	       (unsigned long long)old, (unsigned long long)sector, (size_t)(entry - sb.bytes));
	bch_sb_free(&sb);
	return 0;
}

/* ---- btree nodes ---- */

struct node {
	uint64_t	sector;
	size_t		bytes;
	unsigned	block;	/* bytes */
	uint8_t		*b;
};

/* a bset in the node: header offset, key area, checksum range */
struct bset_loc {
	size_t		at;		/* start of the csum (0 for the first bset) */
	size_t		keys;		/* start of the keys */
	size_t		end;		/* end of the keys */
	unsigned	csum_type;
};

static void node_load(struct node *n, uint64_t sector)
{
	struct bch_sb sb;

	sb_read_primary(&sb);
	n->sector = sector;
	n->bytes = (size_t)BCH_SB_BTREE_NODE_SIZE(&sb) * 512;
	n->block = sb.block_size * 512u;
	if (BCH_SB_ENCRYPTION_TYPE(&sb))
		die("encrypted filesystems are not supported");
	bch_sb_free(&sb);
	n->b = xmalloc(n->bytes);
	dev_read(sector * 512, n->b, n->bytes);
}

static void node_store(const struct node *n)
{
	dev_write(n->sector * 512, n->b, n->bytes);
}

/* the bsets of the node (as far as they look plausible); returns the count */
static unsigned node_bsets(const struct node *n, struct bset_loc *l, unsigned max)
{
	uint64_t seq = get_le64(n->b + BCH_NODE_SEQ);
	size_t at, end;
	unsigned nr = 0;

	end = BCH_NODE_KEYS + (size_t)get_le16(n->b + BCH_NODE_U64S) * 8;
	if (end > n->bytes)
		end = n->bytes;
	l[nr++] = (struct bset_loc){ 0, BCH_NODE_KEYS, end,
				     get_le32(n->b + BCH_NODE_BSET_FLAGS) & 15 };
	at = ROUND_UP(end, n->block);
	while (nr < max && at + BCH_BTREE_NODE_ENTRY_BYTES <= n->bytes &&
	       get_le64(n->b + at + BCH_ENTRY_SEQ) == seq) {
		const uint8_t *e = n->b + at;

		end = at + BCH_ENTRY_KEYS + (size_t)get_le16(e + BCH_ENTRY_U64S) * 8;
		if (end > n->bytes)
			end = n->bytes;
		l[nr++] = (struct bset_loc){ at, at + BCH_ENTRY_KEYS, end,
					     get_le32(e + BCH_ENTRY_FLAGS) & 15 };
		at = ROUND_UP(end, n->block);
	}
	return nr;
}

static void bset_fix_csum(struct node *n, const struct bset_loc *l)
{
	char what[64];

	snprintf(what, sizeof(what), "bset at node byte %zu", l->at);
	/* the nonce only matters for the MAC types, which csum_of refuses */
	bch_csum_encode(n->b + l->at, csum_of(l->csum_type, (struct bch_nonce){ { 0 } },
					 n->b + l->at + BCH_CSUM_COVERS_FROM,
					 l->end - l->at - BCH_CSUM_COVERS_FROM, what));
}

static int cmd_node_poke(int argc, char **argv)
{
	struct bset_loc l[64];
	struct node n;
	uint64_t off;
	uint8_t *hex;
	size_t len;
	bool fix = false;
	unsigned nr;

	if (argc == 4 && !strcmp(argv[3], "--fix-csum"))
		fix = true;
	else if (argc != 3)
		die("node-poke: want SECTOR BYTE HEX [--fix-csum]");
	node_load(&n, parse_u64(argv[0], "sector"));
	off = parse_u64(argv[1], "byte offset");
	len = parse_hex(argv[2], &hex);
	if (off + len > n.bytes)
		die("node byte %llu + %zu is past the end of the node (%zu bytes)",
		    (unsigned long long)off, len, n.bytes);
	memcpy(n.b + off, hex, len);
	if (fix) {
		nr = node_bsets(&n, l, ARRAY_SIZE(l));
		for (unsigned i = 0; i < nr; i++)
			bset_fix_csum(&n, &l[i]);
	}
	node_store(&n);
	printf("node at sector %llu: wrote %zu byte(s) at node byte %llu%s\n",
	       (unsigned long long)n.sector, len, (unsigned long long)off,
	       fix ? ", bset checksums recomputed" : "");
	free(hex);
	free(n.b);
	return 0;
}

typedef bool (*node_key_fn)(void *ctx, struct node *n, const struct bset_loc *l,
			    unsigned bset, size_t at, const struct bkey *k);

/* walk the keys of every bset with the node's own format */
static void node_walk_keys(struct node *n, node_key_fn fn, void *ctx)
{
	struct bset_loc l[64];
	struct bkey_format f;
	const char *why;
	unsigned nr = node_bsets(n, l, ARRAY_SIZE(l));

	bch_bkey_format_decode(n->b + BCH_NODE_FORMAT, &f);
	why = bch_bkey_format_invalid(&f);
	if (why)
		die("node at sector %llu: invalid bkey_format: %s", (unsigned long long)n->sector, why);
	for (unsigned i = 0; i < nr; i++) {
		size_t at = l[i].keys;

		while (at < l[i].end) {
			struct bkey k;
			size_t kb = bch_bkey_decode(&f, n->b + at, l[i].end - at, &k, &why);

			if (!kb)
				die("node at sector %llu: bset %u: bad key at node byte %zu: %s",
				    (unsigned long long)n->sector, i, at, why);
			if (!fn(ctx, n, &l[i], i, at, &k))
				return;
			at += kb;
		}
	}
}

static bool print_key(void *ctx, struct node *n, const struct bset_loc *l, unsigned bset,
		      size_t at, const struct bkey *k)
{
	unsigned *idx = ctx;
	long pe = first_ptr_entry(k);

	(void)l;
	printf("key %u bset %u byte %zu u64s %u format %s type %u pos %llu:%llu:%u", (*idx)++,
	       bset, at, n->b[at], k->format ? "unpacked" : "packed", k->type,
	       (unsigned long long)k->p.inode, (unsigned long long)k->p.offset, k->p.snapshot);
	if (pe >= 0) {
		uint64_t w = get_le64(k->val + pe);

		printf(" ptr %llu:%llu", (unsigned long long)bits64(w, 48, 56),
		       (unsigned long long)bits64(w, 4, 48));
		if (k->type == KEY_TYPE_btree_ptr_v2)
			printf(" seq %016llx written %u", (unsigned long long)get_le64(k->val + 8),
			       get_le16(k->val + 16));
	}
	putchar('\n');
	return true;
}

/* the node's keys as the reader merges them: newest bset wins per position */
struct key_ref {
	struct bpos	p;
	unsigned	bset;
	size_t		at;
	struct bset_loc	l;
	uint8_t		type;
};

struct key_list {
	struct key_ref	*k;
	size_t		nr, size;
};

static bool collect_fn(void *ctx, struct node *n, const struct bset_loc *l, unsigned bset,
		       size_t at, const struct bkey *k)
{
	struct key_list *c = ctx;

	(void)n;
	if (c->nr == c->size) {
		c->size = c->size ? c->size * 2 : 64;
		c->k = realloc(c->k, c->size * sizeof(*c->k));
		if (!c->k)
			die("out of memory");
	}
	c->k[c->nr++] = (struct key_ref){ k->p, bset, at, *l, k->type };
	return true;
}

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = bpos_cmp(x->p, y->p);

	return c ? c : x->bset < y->bset ? -1 : x->bset > y->bset;
}

static void node_live_keys(struct node *n, struct key_list *c)
{
	size_t out = 0;

	node_walk_keys(n, collect_fn, c);
	if (!c->nr)
		return;
	qsort(c->k, c->nr, sizeof(*c->k), cmp_key_ref);
	for (size_t i = 0; i < c->nr; i++) {
		if (i + 1 < c->nr && bpos_eq(c->k[i].p, c->k[i + 1].p))
			continue;
		if (c->k[i].type == KEY_TYPE_deleted)
			continue;
		c->k[out++] = c->k[i];
	}
	c->nr = out;
}

static int cmd_node_keys(int argc, char **argv)
{
	struct node n;
	unsigned idx = 0;

	if (argc != 1)
		die("node-keys: want SECTOR");
	node_load(&n, parse_u64(argv[0], "sector"));
	printf("node sector %llu btree %llu level %llu seq %016llx format key_u64s %u\n",
	       (unsigned long long)n.sector,
	       (unsigned long long)(bits64(get_le64(n.b + BCH_NODE_FLAGS), 0, 4) |
				    bits64(get_le64(n.b + BCH_NODE_FLAGS), 9, 25) << 4),
	       (unsigned long long)bits64(get_le64(n.b + BCH_NODE_FLAGS), 4, 8),
	       (unsigned long long)get_le64(n.b + BCH_NODE_SEQ), n.b[BCH_NODE_FORMAT]);
	node_walk_keys(&n, print_key, &idx);
	{
		struct key_list c = { 0 };

		node_live_keys(&n, &c);
		for (size_t i = 0; i < c.nr; i++)
			printf("live %zu bset %u byte %zu type %u pos %llu:%llu:%u\n", i, c.k[i].bset,
			       c.k[i].at, c.k[i].type, (unsigned long long)c.k[i].p.inode,
			       (unsigned long long)c.k[i].p.offset, c.k[i].p.snapshot);
		free(c.k);
	}
	free(n.b);
	return 0;
}

static int cmd_node_child_ptr(int argc, char **argv)
{
	struct key_list c = { 0 };
	const struct key_ref *r;
	struct bkey_format f;
	struct node n;
	struct bkey k;
	const char *why;
	uint64_t sector, seq = 0, old;
	unsigned want;
	bool match_seq = false;
	uint8_t *val;
	long pe;

	if (argc == 4 && !strcmp(argv[3], "--match-seq"))
		match_seq = true;
	else if (argc != 3)
		die("node-child-ptr: want PARENT_SECTOR CHILD_INDEX NEW_SECTOR [--match-seq]");
	want = (unsigned)parse_u64(argv[1], "child index");
	sector = parse_u64(argv[2], "sector");
	if (match_seq) {
		struct node t;

		node_load(&t, sector);
		seq = get_le64(t.b + BCH_NODE_SEQ);
		free(t.b);
	}
	node_load(&n, parse_u64(argv[0], "sector"));
	if (!bits64(get_le64(n.b + BCH_NODE_FLAGS), 4, 8))
		die("node at sector %llu is a leaf", (unsigned long long)n.sector);
	node_live_keys(&n, &c);
	if (want >= c.nr)
		die("node at sector %llu has only %zu children", (unsigned long long)n.sector, c.nr);
	r = &c.k[want];
	bch_bkey_format_decode(n.b + BCH_NODE_FORMAT, &f);
	if (!bch_bkey_decode(&f, n.b + r->at, r->l.end - r->at, &k, &why))
		die("key at node byte %zu: %s", r->at, why);
	pe = first_ptr_entry(&k);
	if (pe < 0)
		die("child %u (node byte %zu) is not a btree pointer", want, r->at);
	val = n.b + (k.val - n.b);
	old = bits64(get_le64(val + pe), 4, 48);
	ptr_set_offset(val + pe, sector);
	if (match_seq) {
		if (k.type != KEY_TYPE_btree_ptr_v2)
			die("--match-seq: child %u is not a btree_ptr_v2", want);
		put_le64(val + 8, seq);
	}
	bset_fix_csum(&n, &r->l);
	node_store(&n);
	printf("node at sector %llu: child %u (bset %u, node byte %zu, %s key): pointer sector %llu -> %llu%s\n",
	       (unsigned long long)n.sector, want, r->bset, r->at,
	       k.format ? "unpacked" : "packed", (unsigned long long)old,
	       (unsigned long long)sector, match_seq ? ", seq matched" : "");
	free(c.k);
	free(n.b);
	return 0;
}

/* ---- journal ---- */

struct keys_find {
	size_t	off;		/* payload offset from the jset start, 0 if none */
	size_t	bytes;
};

static int keys_find_fn(void *ctx, const uint8_t *entry, unsigned type, unsigned btree_id,
			unsigned level, const uint8_t *payload, size_t payload_bytes,
			uint64_t byte_offset, struct bch_error *err)
{
	struct keys_find *f = ctx;

	(void)entry; (void)btree_id; (void)level; (void)payload; (void)err;
	if (type == BCH_JSET_ENTRY_btree_keys && payload_bytes && !f->off) {
		f->off = (size_t)byte_offset + BCH_JSET_ENTRY_PAYLOAD;
		f->bytes = payload_bytes;
	}
	return 0;
}

typedef bool (*jset_fn)(void *ctx, uint8_t *j, size_t bytes, uint64_t byte);

/* every jset-looking block of every journal bucket of the primary's device */
static void journal_scan(jset_fn fn, void *ctx)
{
	struct bch_sb sb;
	const struct bch_member *m;
	size_t bucket_bytes, block;
	uint8_t *b;

	sb_read_primary(&sb);
	if (BCH_SB_ENCRYPTION_TYPE(&sb))
		die("encrypted filesystems are not supported");
	m = &sb.members[sb.dev_idx];
	bucket_bytes = (size_t)m->bucket_size * 512;
	block = (size_t)sb.block_size * 512;
	b = xmalloc(bucket_bytes);
	for (unsigned i = 0; i < sb.nr_journal_buckets; i++) {
		uint64_t start = sb.journal_buckets[i] * bucket_bytes;
		size_t off = 0;

		dev_read(start, b, bucket_bytes);
		while (off + BCH_JSET_HEADER_BYTES <= bucket_bytes) {
			size_t bytes = BCH_JSET_ENTRIES +
				       (size_t)get_le32(b + off + BCH_JSET_U64S) * 8;

			if (get_le64(b + off + BCH_JSET_MAGIC) != sb.journal_magic ||
			    bytes > bucket_bytes - off) {
				off += block;
				continue;
			}
			if (!fn(ctx, b + off, bytes, start + off)) {
				free(b);
				bch_sb_free(&sb);
				return;
			}
			off += ROUND_UP(bytes, block);
		}
	}
	free(b);
	bch_sb_free(&sb);
}

static bool jset_csum_ok(const uint8_t *j, size_t bytes)
{
	unsigned type = get_le32(j + BCH_JSET_FLAGS) & 15;
	struct bch_csum c;

	if (!bch_csum_type_valid(type) || bch_csum_type_is_encryption(type) ||
	    bch_checksum(type, NULL, (struct bch_nonce){ { 0 } }, j + BCH_JSET_CSUM_FROM,
			 bytes - BCH_JSET_CSUM_FROM, &c))
		return false;
	return bch_csum_eq(c, bch_csum_decode(j + BCH_JSET_CSUM));
}

static bool jset_list_fn(void *ctx, uint8_t *j, size_t bytes, uint64_t byte)
{
	struct keys_find f = { 0 };
	struct bch_error err = { 0 };
	bool flush = !(get_le32(j + BCH_JSET_FLAGS) & (1u << 5));

	(void)ctx;
	bch_jset_entries_walk(j + BCH_JSET_ENTRIES, bytes - BCH_JSET_ENTRIES, BCH_JSET_ENTRIES,
			      "jset", keys_find_fn, &f, &err);
	printf("jset seq=%llu sector=%llu byte=%llu bytes=%zu flush=%d csum=%s last_seq=%llu keys_off=%zu keys_bytes=%zu\n",
	       (unsigned long long)get_le64(j + BCH_JSET_SEQ), (unsigned long long)byte / 512,
	       (unsigned long long)byte, bytes, flush, jset_csum_ok(j, bytes) ? "ok" : "bad",
	       (unsigned long long)(flush ? get_le64(j + BCH_JSET_LAST_SEQ) : 0), f.off, f.bytes);
	return true;
}

static int cmd_journal_list(int argc, char **argv)
{
	(void)argv;
	if (argc)
		die("journal-list takes no arguments");
	journal_scan(jset_list_fn, NULL);
	return 0;
}

struct jpoke {
	uint64_t	seq;
	uint64_t	off;
	const uint8_t	*hex;
	size_t		len;
	bool		fix;
	bool		done;
};

static bool jset_poke_fn(void *ctx, uint8_t *j, size_t bytes, uint64_t byte)
{
	struct jpoke *p = ctx;

	if (get_le64(j + BCH_JSET_SEQ) != p->seq)
		return true;
	if (p->off + p->len > bytes)
		die("jset %llu is %zu bytes: byte %llu + %zu is outside it",
		    (unsigned long long)p->seq, bytes, (unsigned long long)p->off, p->len);
	memcpy(j + p->off, p->hex, p->len);
	if (p->fix)
		bch_csum_encode(j + BCH_JSET_CSUM,
			   csum_of(get_le32(j + BCH_JSET_FLAGS) & 15, (struct bch_nonce){ { 0 } },
				   j + BCH_JSET_CSUM_FROM, bytes - BCH_JSET_CSUM_FROM, "jset"));
	dev_write(byte, j, bytes);
	printf("jset %llu at sector %llu: wrote %zu byte(s) at jset byte %llu (device byte %llu)%s\n",
	       (unsigned long long)p->seq, (unsigned long long)byte / 512, p->len,
	       (unsigned long long)p->off, (unsigned long long)(byte + p->off),
	       p->fix ? ", checksum recomputed" : "");
	p->done = true;
	return false;
}

static int cmd_journal_poke(int argc, char **argv)
{
	struct jpoke p = { 0 };
	uint8_t *hex;

	if (argc == 4 && !strcmp(argv[3], "--fix-csum"))
		p.fix = true;
	else if (argc != 3)
		die("journal-poke: want SEQ BYTE HEX [--fix-csum]");
	p.seq = parse_u64(argv[0], "seq");
	p.off = parse_u64(argv[1], "byte offset");
	p.len = parse_hex(argv[2], &hex);
	p.hex = hex;
	journal_scan(jset_poke_fn, &p);
	free(hex);
	if (!p.done)
		die("no jset with seq %llu found", (unsigned long long)p.seq);
	return 0;
}

/* ---- raw edits, info ---- */

static int cmd_poke(int argc, char **argv, bool flip)
{
	uint64_t off;
	uint8_t *hex, b;
	size_t len = 1;

	if (argc != (flip ? 1 : 2))
		die("%s: wrong number of arguments", flip ? "flip" : "poke");
	off = parse_u64(argv[0], "byte offset");
	if (flip) {
		dev_read(off, &b, 1);
		b ^= 0xff;
		dev_write(off, &b, 1);
	} else {
		len = parse_hex(argv[1], &hex);
		dev_write(off, hex, len);
		free(hex);
	}
	printf("%s %zu byte(s) at byte %llu\n", flip ? "inverted" : "wrote", len,
	       (unsigned long long)off);
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	uint64_t sectors[61];
	unsigned nr;
	struct bch_sb sb;
	const struct bch_member *m;

	(void)argv;
	if (argc)
		die("info takes no arguments");
	nr = sb_copies(sectors);
	sb_read_primary(&sb);
	m = &sb.members[sb.dev_idx];
	printf("size %llu\n", (unsigned long long)io->size);
	printf("sb_copies");
	for (unsigned i = 0; i < nr; i++)
		printf(" %llu", (unsigned long long)sectors[i]);
	printf("\nsb_bytes %zu\nsb_csum_type %llu\nclean %llu\n", sb.len,
	       (unsigned long long)BCH_SB_CSUM_TYPE(&sb), (unsigned long long)BCH_SB_CLEAN(&sb));
	printf("block_sectors %u\nbtree_node_sectors %llu\nbucket_sectors %u\nnbuckets %llu\n",
	       sb.block_size, (unsigned long long)BCH_SB_BTREE_NODE_SIZE(&sb), m->bucket_size,
	       (unsigned long long)m->nbuckets);
	printf("device_sectors %llu\njournal_buckets",
	       (unsigned long long)m->nbuckets * m->bucket_size);
	for (unsigned i = 0; i < sb.nr_journal_buckets; i++)
		printf(" %llu", (unsigned long long)sb.journal_buckets[i]);
	putchar('\n');
	bch_sb_free(&sb);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	cmd = argv[2];
	/* the listing commands only read */
	dev_open(argv[1], strcmp(cmd, "info") && strcmp(cmd, "node-keys") &&
		 strcmp(cmd, "journal-list"));
	argc -= 3;
	argv += 3;
	if (!strcmp(cmd, "info"))
		ret = cmd_info(argc, argv);
	else if (!strcmp(cmd, "poke"))
		ret = cmd_poke(argc, argv, false);
	else if (!strcmp(cmd, "flip"))
		ret = cmd_poke(argc, argv, true);
	else if (!strcmp(cmd, "sb-poke"))
		ret = cmd_sb_edit(argc, argv, false);
	else if (!strcmp(cmd, "sb-flip"))
		ret = cmd_sb_edit(argc, argv, true);
	else if (!strcmp(cmd, "sb-root-ptr"))
		ret = cmd_sb_root_ptr(argc, argv);
	else if (!strcmp(cmd, "node-poke"))
		ret = cmd_node_poke(argc, argv);
	else if (!strcmp(cmd, "node-keys"))
		ret = cmd_node_keys(argc, argv);
	else if (!strcmp(cmd, "node-child-ptr"))
		ret = cmd_node_child_ptr(argc, argv);
	else if (!strcmp(cmd, "journal-list"))
		ret = cmd_journal_list(argc, argv);
	else if (!strcmp(cmd, "journal-poke"))
		ret = cmd_journal_poke(argc, argv);
	else {
		usage(stderr);
		die("unknown command '%s'", cmd);
	}
	bch_io_close(io);
	return ret;
}
