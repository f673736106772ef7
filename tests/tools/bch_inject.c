/*
 * bch_inject: commit keys to an image the way upstream commits them (one
 * journal entry, superblocks marked for replay), through the library's
 * key writer. Tests use it to make corrupted images, encrypted ones
 * included, that the corruption tool cannot edit in place.
 *
 *   bch_inject [--passphrase-file FILE] DEV... -- OP...
 *   OP: insert BTREE INODE:OFFSET[:SNAPSHOT][/SIZE] TYPE HEX|-
 *       delete BTREE INODE:OFFSET[:SNAPSHOT]
 *       truncate BTREE	(every key of BTREE gone: written into the btrees
 *			through the btree writer, not the journal; the
 *			other ops then go in the same commit)
 * TYPE is a key type name (set, backpointer, alloc_v4, ...). Exit 0 on
 * success, 1 on error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "commit.h"
#include "fs.h"

static int parse_type(const char *s)
{
	for (unsigned t = 0; t < KEY_TYPE_NR; t++)
		if (!strcmp(s, bch_bkey_type_name(t)))
			return (int)t;
	return -1;
}

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s);

	*len = 0;
	if (!strcmp(s, "-"))
		return 0;
	if (n % 16 || n / 2 > max)	/* whole u64s */
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 4095, f);
	fclose(f);
	if (*len && buf[*len - 1] == '\n')
		buf[--*len] = 0;
	return buf;
}

static int add_op(struct bch_key_updates *u, bool *truncate, char **argv, int argc, int *i)
{
	uint8_t val[BKEY_VAL_U64S_MAX * 8];
	struct bpos pos;
	size_t len;
	int btree, type;

	if (!strcmp(argv[*i], "truncate")) {
		if (*i + 1 >= argc || (btree = bch_btree_id_parse(argv[*i + 1])) < 0)
			return -1;
		truncate[btree] = true;
		*i += 2;
		return 0;
	}
	char posbuf[96], *size_at;

	/* POS/SIZE: an inserted key of that size (freespace entries are extents) */
	if (*i + 2 >= argc + 0 || strlen(argv[*i + 2]) >= sizeof(posbuf))
		return -1;
	strcpy(posbuf, argv[*i + 2]);
	size_at = strchr(posbuf, '/');
	if (size_at)
		*size_at = '\0';
	if ((btree = bch_btree_id_parse(argv[*i + 1])) < 0 || bch_bpos_parse(posbuf, &pos))
		return -1;
	if (size_at)
		size_at = argv[*i + 2] + (size_at - posbuf);
	if (!strcmp(argv[*i], "delete")) {
		*i += 3;
		return bch_key_updates_delete(u, (unsigned)btree, 0, pos, 0);
	}
	if (strcmp(argv[*i], "insert") || *i + 4 >= argc + 1 ||
	    (type = parse_type(argv[*i + 3])) < 0 ||
	    parse_hex(argv[*i + 4], val, sizeof(val), &len))
		return -1;
	struct bkey k = {
		.p = pos, .type = (uint8_t)type, .val_bytes = (uint16_t)len, .val = val,
	};
	if (size_at)
		k.size = (uint32_t)strtoul(size_at + 1, NULL, 0);

	*i += 5;
	return bch_key_updates_add(u, (unsigned)btree, 0, &k);
}

int main(int argc, char *argv[])
{
	struct bch_fs_opts o = { .write = true };
	struct bch_key_updates u = { 0 };
	struct bch_commit_info info;
	struct bch_btree_commit_info binfo;
	bool truncate[BTREE_ID_NR_MAX] = { false }, any_truncate = false;
	struct bch_error err = { 0 };
	struct bch_fs *fs = NULL;
	char *pass = NULL;
	int i = 1, ndev = 0, ret = 1;

	if (argc > 2 && !strncmp(argv[1], "--passphrase-file=", 18)) {
		pass = read_file(argv[1] + 18, &o.passphrase_len);
		o.passphrase = pass;
		i = 2;
	}
	while (i + ndev < argc && strcmp(argv[i + ndev], "--"))
		ndev++;
	if (!ndev || i + ndev >= argc) {
		fprintf(stderr, "usage: bch_inject [--passphrase-file=FILE] DEV... -- OP...\n");
		goto out;
	}
	if (bch_fs_open(argv + i, (unsigned)ndev, &o, &fs, &err)) {
		fprintf(stderr, "bch_inject: %s\n", err.msg);
		goto out;
	}
	for (int j = i + ndev + 1; j < argc;) {
		if (add_op(&u, truncate, argv, argc, &j)) {
			fprintf(stderr, "bch_inject: bad operation at '%s'\n", argv[j]);
			goto out;
		}
	}
	for (unsigned b = 0; b < BTREE_ID_NR_MAX; b++)
		any_truncate |= truncate[b];
	if (any_truncate) {
		if (bch_commit_btrees(fs, &u, truncate, NULL, NULL, &binfo, &err)) {
			fprintf(stderr, "bch_inject: %s\n", err.msg);
			goto out;
		}
		printf("committed %zu keys into the btrees (%zu new nodes), clean at journal entry %llu\n",
		       binfo.nr_updates, binfo.nr_nodes, (unsigned long long)binfo.journal_seq);
		ret = 0;
		goto out;
	}
	if (bch_commit_updates(fs, &u, NULL, NULL, &info, &err)) {
		fprintf(stderr, "bch_inject: %s\n", err.msg);
		goto out;
	}
	printf("committed %zu keys as journal entry %llu\n", u.nr,
	       (unsigned long long)info.journal_seq);
	ret = 0;
out:
	bch_key_updates_free(&u);
	bch_fs_close(fs);
	free(pass);
	return ret;
}
