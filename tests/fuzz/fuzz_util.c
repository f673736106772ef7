/* Shared parts of the fuzz targets: see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "checksum.h"
#include "btree_node.h"
#include "fuzz.h"
#include "journal.h"
#include "json_compat.h"
#include "super.h"

/* ---- checksum fix-ups ---- */

/* store the checksum of [p + 16, p + bytes) at p, if the type is one we can compute */
static void fix_csum(uint8_t *p, size_t bytes, unsigned type, struct bch_nonce nonce)
{
	struct bch_csum c;

	if (bytes < 16 || !bch_csum_type_valid(type) || bch_csum_type_is_encryption(type))
		return;
	if (!bch_checksum(type, NULL, nonce, p + 16, bytes - 16, &c))
		bch_csum_encode(p, c);
}

void fz_fix_sb(uint8_t *sb, size_t len)
{
	if (len < BCH_SB_FIELDS)
		return;
	fix_csum(sb, len, (unsigned)bits64(get_le64(sb + BCH_SB_FLAGS), 2, 8),
		 (struct bch_nonce){ { 0 } });
}

size_t fz_fix_jset(uint8_t *j, size_t avail)
{
	size_t bytes;

	if (avail < BCH_JSET_ENTRIES)
		return 0;
	bytes = BCH_JSET_ENTRIES + (size_t)get_le32(j + BCH_JSET_U64S) * 8;
	if (bytes > avail)
		return 0;
	fix_csum(j, bytes, get_le32(j + BCH_JSET_FLAGS) & 15,
		 bch_journal_nonce(get_le64(j + BCH_JSET_SEQ)));
	return bytes;
}

/* the bsets as the node reader finds them: the first, then entries of the same seq */
void fz_fix_node(uint8_t *node, size_t node_bytes, size_t block_bytes)
{
	uint64_t seq;
	size_t at, bytes;

	if (node_bytes < BCH_NODE_KEYS || !block_bytes)
		return;
	seq = get_le64(node + BCH_NODE_SEQ);
	bytes = BCH_NODE_KEYS + (size_t)get_le16(node + BCH_NODE_U64S) * 8;
	if (bytes > node_bytes)
		return;
	fix_csum(node, bytes, BCH_BSET_CSUM_TYPE(get_le32(node + BCH_NODE_BSET_FLAGS)),
		 (struct bch_nonce){ { 0 } });
	for (at = ROUND_UP(bytes, block_bytes); at + BCH_ENTRY_KEYS <= node_bytes;
	     at += ROUND_UP(bytes, block_bytes)) {
		uint8_t *e = node + at;

		if (get_le64(e + BCH_ENTRY_SEQ) != seq)
			break;
		bytes = BCH_ENTRY_KEYS + (size_t)get_le16(e + BCH_ENTRY_U64S) * 8;
		if (bytes > node_bytes - at)
			break;
		fix_csum(e, bytes, BCH_BSET_CSUM_TYPE(get_le32(e + BCH_ENTRY_FLAGS)),
			 (struct bch_nonce){ { 0 } });
	}
}

/* ---- the stand-in filesystem ---- */

int fz_fake_init(struct fz_fake *f, unsigned block_sectors, unsigned node_sectors,
		 unsigned bucket_sectors, uint64_t sb_magic)
{
	struct bch_sb *sb = &f->sb;

	memset(f, 0, sizeof(*f));
	f->fs = calloc(1, sizeof(*f->fs));
	if (!f->fs)
		return -1;
	sb->version = sb->version_min = BCH_VERSION_CURRENT;
	sb->block_size = (uint16_t)block_sectors;
	sb->nr_devices = 1;
	sb->flags[0] = (uint64_t)node_sectors << 12 | 1ULL << 40;	/* meta csum crc32c */
	sb->time_precision = 1;
	put_le64(sb->uuid, sb_magic);
	sb->sb_magic = sb_magic;
	sb->journal_magic = sb_magic ^ BCH_JOURNAL_MAGIC_XOR;
	sb->bset_magic = sb_magic ^ BCH_BSET_MAGIC_XOR;
	f->member = (struct bch_member){
		.exists = true, .nbuckets = 1u << 20, .bucket_size = (uint16_t)bucket_sectors,
	};
	sb->members = &f->member;
	sb->nr_members = 1;

	f->dev.sb = *sb;
	f->dev.sb.journal_buckets = &f->journal_bucket;
	f->dev.sb.nr_journal_buckets = 1;

	f->fs->sb = sb;
	f->fs->nr_devs = 1;
	f->fs->devs[0] = &f->dev;
	f->fs->nr_opened = 1;
	f->fs->block_size = block_sectors;
	f->fs->btree_node_size = node_sectors;
	f->fs->meta_csum_type = bch_sb_meta_csum_type(sb);
	f->fs->bp_shift = bch_sb_bp_shift(sb);
	return 0;
}

void fz_fake_exit(struct fz_fake *f)
{
	if (!f->fs)
		return;
	bch_journal_free(&f->fs->journal);
	if (f->dev.io)
		bch_io_close(f->dev.io);
	free(f->fs);
	f->fs = NULL;
}

/* ---- packed images ---- */

static uint8_t *map_dev(size_t bytes, size_t *mapped)
{
	size_t len = ROUND_UP(bytes, 4096) + 4096;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* a guard page: reading past the device faults */
	mprotect(p + len - 4096, 4096, PROT_NONE);
	*mapped = len;
	return p;
}

void fz_image_free(struct fz_image *img)
{
	for (unsigned d = 0; d < FZ_MAX_DEVS; d++)
		if (img->dev[d])
			munmap(img->dev[d], img->map[d]);
	for (unsigned d = 0; d < FZ_MAX_DEVS; d++)
		free(img->present[d]);
	memset(img, 0, sizeof(*img));
}

static int unpack_header(const uint8_t *data, size_t len, struct fz_image *img)
{
	uint64_t total = 0;

	memset(img, 0, sizeof(*img));
	if (len < 12 || memcmp(data, FZ_MAGIC, 8))
		return -1;
	img->nr_devs = data[8];
	img->flags = data[9];
	if (!img->nr_devs || img->nr_devs > FZ_MAX_DEVS || len < 12 + 4 * img->nr_devs)
		return -1;
	for (unsigned d = 0; d < img->nr_devs; d++) {
		img->size[d] = (size_t)get_le32(data + 12 + 4 * d) * FZ_BLOCK;
		total += img->size[d];
		if (!img->size[d] || total > FZ_MAX_BYTES)
			return -1;
	}
	for (unsigned d = 0; d < img->nr_devs; d++) {
		img->dev[d] = map_dev(img->size[d], &img->map[d]);
		img->present[d] = calloc(img->size[d] / FZ_BLOCK, 1);
		if (!img->dev[d] || !img->present[d]) {
			fz_image_free(img);
			return -1;
		}
	}
	return 0;
}

/* with FUZZ_DUMP=PREFIX: the devices as unpacked, to PREFIX.devN (debugging) */
static void image_dump(const struct fz_image *img)
{
	const char *prefix = getenv("FUZZ_DUMP");
	char path[4096];
	FILE *f;

	for (unsigned d = 0; prefix && d < img->nr_devs; d++) {
		snprintf(path, sizeof(path), "%s.dev%u", prefix, d);
		f = fopen(path, "wb");
		if (!f)
			continue;
		fwrite(img->dev[d], 1, img->size[d], f);
		fclose(f);
	}
}

int fz_image_unpack(const uint8_t *data, size_t len, struct fz_image *img)
{
	size_t off;

	if (unpack_header(data, len, img))
		return -1;
	for (off = 12 + 4 * img->nr_devs; off + 4 + FZ_BLOCK <= len; off += 4 + FZ_BLOCK) {
		uint32_t w = get_le32(data + off);
		unsigned d = w >> 28;
		size_t at = (size_t)(w & 0x0fffffff) * FZ_BLOCK;

		if (d < img->nr_devs && at + FZ_BLOCK <= img->size[d]) {
			memcpy(img->dev[d] + at, data + off + 4, FZ_BLOCK);
			img->present[d][at / FZ_BLOCK] = 1;
		}
	}
	if (!(img->flags & FZ_NO_FIXUP))
		fz_image_fixup(img);
	image_dump(img);
	return 0;
}

/* the copy at sector: its checksum; 0 or -1 if no copy fits there */
static int fix_sb_at(uint8_t *dev, size_t size, uint64_t sector)
{
	size_t at, len;

	if (sector > size / 512 || size - sector * 512 < BCH_SB_FIELDS)
		return -1;
	at = sector * 512;
	len = BCH_SB_FIELDS + (size_t)get_le32(dev + at + BCH_SB_U64S) * 8;
	if (len > size - at)
		return -1;
	fz_fix_sb(dev + at, len);
	return 0;
}

static void fix_journal(uint8_t *dev, size_t size, const struct bch_sb *sb)
{
	size_t bucket = (size_t)sb->members[sb->dev_idx].bucket_size * 512;
	size_t block = (size_t)sb->block_size * 512;

	for (unsigned i = 0; i < sb->nr_journal_buckets && bucket; i++) {
		uint64_t start = sb->journal_buckets[i] * bucket;
		size_t off = 0;

		if (sb->journal_buckets[i] > size / bucket || start + bucket > size)
			continue;
		while (off + BCH_JSET_ENTRIES <= bucket) {
			uint8_t *j = dev + start + off;
			size_t n = 0;

			if (get_le64(j + BCH_JSET_MAGIC) == sb->journal_magic)
				n = fz_fix_jset(j, bucket - off);
			off += n ? ROUND_UP(n, block) : block;
		}
	}
}

/*
 * every node that starts at a block boundary with the node magic, in the
 * blocks the input gave (the rest is zeroes)
 */
static void fix_nodes(uint8_t *dev, size_t size, const uint8_t *present,
		      const struct bch_sb *sb)
{
	size_t block = (size_t)sb->block_size * 512;
	size_t node = (size_t)BCH_SB_BTREE_NODE_SIZE(sb) * 512;
	size_t step = block < FZ_BLOCK ? block : FZ_BLOCK;

	for (size_t at = 0; at + node <= size; at += step) {
		if (!present[at / FZ_BLOCK]) {
			at = ROUND_UP(at + 1, FZ_BLOCK) - step;
			continue;
		}
		if (!(at % block) && get_le64(dev + at + BCH_NODE_MAGIC) == sb->bset_magic)
			fz_fix_node(dev + at, node, block);
	}
}

static void fixup_dev(uint8_t *dev, size_t size, const uint8_t *present)
{
	struct bch_sb sb;
	struct bch_error err = { 0 };
	uint8_t *copy;
	size_t len;

	if (fix_sb_at(dev, size, 8))
		return;
	len = BCH_SB_FIELDS + (size_t)get_le32(dev + 4096 + BCH_SB_U64S) * 8;
	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, dev + 4096, len);
	if (bch_sb_parse(copy, len, 8, "fuzz", &sb, &err)) {
		bch_sb_free(&sb);
		return;
	}
	for (unsigned i = 0; i < sb.layout.nr_superblocks && i < 61; i++)
		if (sb.layout.sb_offset[i] != 8)
			fix_sb_at(dev, size, sb.layout.sb_offset[i]);
	if (!BCH_SB_ENCRYPTION_TYPE(&sb) && sb.block_size && BCH_SB_BTREE_NODE_SIZE(&sb)) {
		fix_journal(dev, size, &sb);
		fix_nodes(dev, size, present, &sb);
	}
	bch_sb_free(&sb);
}

void fz_image_fixup(struct fz_image *img)
{
	for (unsigned d = 0; d < img->nr_devs; d++)
		fixup_dev(img->dev[d], img->size[d], img->present[d]);
}

int fz_image_open(struct fz_image *img, bool writable, struct bch_fs **fs,
		  struct bch_error *err)
{
	struct bch_fs_opts o = { .write = writable };
	struct bch_io *ios[FZ_MAX_DEVS];
	char name[32];
	int ret;

	*fs = NULL;
	for (unsigned d = 0; d < img->nr_devs; d++) {
		snprintf(name, sizeof(name), "fuzz-dev%u", d);
		ret = bch_io_open_mem(name, img->dev[d], img->size[d], writable, &ios[d], err);
		if (ret) {
			while (d--)
				bch_io_close(ios[d]);
			return ret;
		}
	}
	return bch_fs_open_io(ios, img->nr_devs, &o, fs, err);
}

/* ---- the check ---- */

static FILE *devnull(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

int fz_check_run(struct fz_check *k, struct bch_fs *fs, enum fsck_mode mode, bool full,
		 struct bch_error *err)
{
	struct fsck_ctx *c = &k->c;
	struct bch_check_geom geom;
	json_object *jroot, *jdevs;
	int ret;

	fsck_opts_init(&k->o);
	k->o.mode = mode;
	k->o.mode_given = true;
	k->o.no_undo = true;
	k->o.full = full;
	memset(c, 0, sizeof(*c));
	c->o = &k->o;
	c->fs = fs;
	c->out = devnull();
	c->collect = mode != MODE_CHECK;
	bch_check_geom_from_sb(&geom, fs->sb);
	if (bch_check_init(&c->chk, &geom, fsck_on_finding, c))
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	c->jfindings = json_object_new_array();
	ret = fsck_run_passes(c, err);
	if (ret)
		return ret;
	/* the reports, as fsck_main makes them */
	jroot = json_object_new_object();
	jdevs = json_object_new_array();
	fsck_print_ratelimited(c);
	fsck_report_devices(c, jdevs);
	fsck_report_copygc(c, jroot);
	fsck_report_summary(c, c->nr_findings ? 4 : 0, "fuzz", jroot);
	json_object_object_add(jroot, "devices", jdevs);
	json_object_to_json_string(jroot);
	json_object_put(jroot);
	return 0;
}

void fz_check_exit(struct fz_check *k)
{
	json_object_put(k->c.jfindings);
	k->c.jfindings = NULL;
	pb_exit(&k->c.pb);
	fsck_free_findings(&k->c);
	bch_check_exit(&k->c.chk);
}

void fz_verbose(const char *step, const char *msg, uint64_t findings)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_VERBOSE") != NULL;
	if (on)
		fprintf(stderr, "%s: %llu findings%s%s\n", step, (unsigned long long)findings,
			msg[0] ? ": " : "", msg);
}
