/*
 * Fuzz target: journal entries (jsets) as recovery reads them. The input
 * is one byte (log2 of the block size in sectors, low 2 bits) and then a
 * journal bucket, up to 64 KiB; a stand-in filesystem with that one
 * bucket is read with bch_journal_read (scan, checksums, replay range,
 * entries, keys, roots, blacklists), and every key and root found is
 * decoded as text. Checksums are recomputed first.
 */
#include <stdlib.h>
#include <string.h>

#include "bkey_to_text.h"
#include "fuzz.h"
#include "journal.h"

#define MAX_BUCKET	(64u << 10)

static void journal_decode_all(const struct bch_fs *fs)
{
	const struct bch_journal *j = &fs->journal;
	struct printbuf pb = PRINTBUF;

	for (size_t i = 0; i < j->nr_keys; i++) {
		pb_reset(&pb);
		bch_bkey_to_text(&pb, j->keys[i].btree_id, j->keys[i].level, &j->keys[i].k,
				 fs->sb);
	}
	for (size_t i = 0; i < j->nr_acct; i++) {
		pb_reset(&pb);
		bch_bkey_to_text(&pb, j->acct[i].btree_id, j->acct[i].level, &j->acct[i].k,
				 fs->sb);
	}
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++) {
		if (!j->roots[b].present)
			continue;
		pb_reset(&pb);
		bch_bkey_to_text(&pb, b, j->roots[b].level + 1, &j->roots[b].k, fs->sb);
	}
	for (size_t i = 0; i < j->nr_blacklist; i++)
		bch_fs_seq_blacklisted(fs, j->blacklist[i].start);
	pb_exit(&pb);
}

static void fix_bucket(uint8_t *b, size_t bytes, size_t block, uint64_t magic)
{
	size_t off = 0;

	while (off + BCH_JSET_ENTRIES <= bytes) {
		size_t n = 0;

		if (get_le64(b + off + BCH_JSET_MAGIC) == magic)
			n = fz_fix_jset(b + off, bytes - off);
		off += n ? ROUND_UP(n, block) : block;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct bch_error err = { 0 };
	struct fz_fake f;
	unsigned block;
	size_t bytes;
	uint8_t *bucket;

	if (len < 1 + BCH_JSET_ENTRIES || len - 1 > MAX_BUCKET)
		return 0;
	block = 1u << (data[0] & 3);
	data++;
	len--;
	bytes = ROUND_UP(len, (size_t)block * 512);
	bucket = calloc(1, bytes);
	if (!bucket)
		return 0;
	memcpy(bucket, data, len);
	if (fz_fake_init(&f, block, 32, (unsigned)(bytes / 512),
			 get_le64(data + BCH_JSET_MAGIC) ^ BCH_JOURNAL_MAGIC_XOR) ||
	    bch_io_open_mem("fuzz-journal", bucket, bytes, false, &f.dev.io, &err)) {
		fz_fake_exit(&f);
		free(bucket);
		return 0;
	}
	fix_bucket(bucket, bytes, (size_t)block * 512, f.sb.journal_magic);
	if (!bch_journal_read(f.fs, &err))
		journal_decode_all(f.fs);
	fz_fake_exit(&f);
	free(bucket);
	return 0;
}
