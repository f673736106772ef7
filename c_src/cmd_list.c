/*
 * bcachefs list: the keys or nodes of btrees, as recovery would see them
 * (btree nodes with the journal overlaid). --format=keys and nodes are
 * the exact conformance formats of ../shared/images/README.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "bkey_to_text.h"
#include "btree_iter.h"
#include "cmds.h"
#include "fs.h"
#include "printbuf.h"

enum list_format { FMT_TEXT, FMT_KEYS, FMT_NODES };

struct list_opts {
	enum list_format	format;
	bool			btrees[BTREE_ID_NR_MAX];
	bool			all;
	struct bpos		start;
	struct bpos		end;
	int			level;		/* -1: leaves (keys), every level (nodes) */
	const char		*passphrase_file;
};

static void list_usage(FILE *f)
{
	fputs("Usage: bcachefs list [OPTION]... DEV...\n"
	      "List the keys (or nodes) of btrees, journal keys overlaid.\n"
	      "\n"
	      "  -b, --btree=BTREE[,BTREE...]  btrees to list, or 'all' (default: all;\n"
	      "                                for keys 'all' leaves out accounting, whose\n"
	      "                                journal keys are deltas: name it to list it)\n"
	      "  -s, --start=POS               first position (inode:offset[:snapshot])\n"
	      "  -e, --end=POS                 last position\n"
	      "  -l, --level=LEVEL             list keys of this btree level (0 = leaves)\n"
	      "  -f, --format=text|keys|nodes  output format (default text)\n"
	      "      --passphrase-file=FILE    passphrase of an encrypted filesystem\n"
	      "  -h, --help                    this message\n", f);
}

static int parse_btrees(char *s, struct list_opts *o)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		int id;

		if (!strcmp(tok, "all")) {
			o->all = true;
			continue;
		}
		id = bch_btree_id_parse(tok);
		if (id < 0) {
			char *end;
			unsigned long v = strtoul(tok, &end, 10);

			if (*end || v >= BTREE_ID_NR_MAX) {
				die_msg("unknown btree '%s'", tok);
				return -1;
			}
			id = (int)v;
		}
		o->btrees[id] = true;
	}
	return 0;
}

static bool btree_selected(const struct list_opts *o, unsigned id)
{
	/* accounting keys in the journal are deltas: listed only by name */
	return o->btrees[id] ||
	       (o->all && (id != BTREE_ID_accounting || o->format == FMT_NODES));
}

static void btree_label(char *buf, size_t size, struct bch_fs *fs, unsigned id)
{
	const char *n = bch_btree_id_name(id, fs->sb->version);

	if (n)
		snprintf(buf, size, "%s", n);
	else
		snprintf(buf, size, "unknown_%u", id);
}

static void print_key_line(struct printbuf *pb, const char *btree, const struct bkey *k)
{
	const char *type = bch_bkey_type_name(k->type);

	pb_reset(pb);
	pb_printf(pb, "%s ", btree);
	pb_bpos(pb, k->p);
	if (type)
		pb_printf(pb, " %s", type);
	else
		pb_printf(pb, " unknown_%u", k->type);
	pb_printf(pb, " %u %u:%" PRIu64 " ", k->size, k->version.hi, k->version.lo);
	if (k->val_bytes)
		pb_hex(pb, k->val, k->val_bytes);
	else
		pb_puts(pb, "-");
	pb_puts(pb, "\n");
	fputs(pb->buf, stdout);
}

static void print_key_text(struct printbuf *pb, struct bch_fs *fs, const char *btree,
			   unsigned id, unsigned level, const struct bkey *k)
{
	pb_reset(pb);
	pb_printf(pb, "%s: ", btree);
	bch_bkey_to_text(pb, id, level, k, fs->sb);
	pb_puts(pb, "\n");
	fputs(pb->buf, stdout);
}

static bool key_listed(const struct bkey *k)
{
	return k->type != KEY_TYPE_deleted && k->type != KEY_TYPE_whiteout;
}

static int list_leaf_keys(struct bch_fs *fs, unsigned id, const struct list_opts *o,
			  struct bch_error *err)
{
	struct printbuf pb = PRINTBUF;
	struct bch_btree_iter it;
	char name[32];
	struct bkey k;
	int ret;

	btree_label(name, sizeof(name), fs, id);
	bch_btree_iter_init(&it, fs, id, o->start, o->end);
	while ((ret = bch_btree_iter_next(&it, &k, err)) > 0) {
		if (!key_listed(&k))
			continue;
		if (o->format == FMT_KEYS)
			print_key_line(&pb, name, &k);
		else
			print_key_text(&pb, fs, name, id, 0, &k);
	}
	bch_btree_iter_exit(&it);
	pb_exit(&pb);
	return ret;
}

/* keys of interior levels: the children lists of the nodes one level up */
struct level_ctx {
	struct bch_fs		*fs;
	const struct list_opts	*o;
	unsigned		id;
	char			name[32];
	struct printbuf		pb;
};

static int level_visit(void *ctx, const struct bch_node_expect *x,
		       const struct bch_btree_node *n, const struct bkey *kids,
		       size_t nr, struct bch_error *err)
{
	struct level_ctx *c = ctx;

	(void)x;
	(void)err;
	if (n->level != (unsigned)c->o->level)
		return 0;
	for (size_t i = 0; i < nr; i++) {
		if (!key_listed(&kids[i]) || bpos_cmp(kids[i].p, c->o->start) < 0 ||
		    bpos_cmp(kids[i].p, c->o->end) > 0)
			continue;
		if (c->o->format == FMT_KEYS)
			print_key_line(&c->pb, c->name, &kids[i]);
		else
			print_key_text(&c->pb, c->fs, c->name, c->id, n->level, &kids[i]);
	}
	return 0;
}

static int list_level_keys(struct bch_fs *fs, unsigned id, const struct list_opts *o,
			   struct bch_error *err)
{
	struct level_ctx c = { .fs = fs, .o = o, .id = id };
	int ret;

	btree_label(c.name, sizeof(c.name), fs, id);
	ret = bch_btree_walk_nodes(fs, id, level_visit, &c, err);
	pb_exit(&c.pb);
	return ret;
}

/* node listing: collected, then sorted by level (root first) and min_key */
struct node_line {
	unsigned	level;
	struct bpos	min_key;
	char		*text;
};

struct nodes_ctx {
	struct bch_fs		*fs;
	const struct list_opts	*o;
	char			name[32];
	struct node_line	*lines;
	size_t			nr, size;
};

static int nodes_visit(void *ctx, const struct bch_node_expect *x,
		       const struct bch_btree_node *n, const struct bkey *kids,
		       size_t nr, struct bch_error *err)
{
	struct nodes_ctx *c = ctx;
	struct printbuf pb = PRINTBUF;

	(void)kids;
	(void)nr;
	if (c->o->level >= 0 && n->level != (unsigned)c->o->level)
		return 0;
	if (c->nr == c->size) {
		size_t ns = c->size ? c->size * 2 : 64;
		struct node_line *l = realloc(c->lines, ns * sizeof(*l));

		if (!l)
			return bch_err(err, BCH_ERR_NOMEM, "out of memory");
		c->lines = l;
		c->size = ns;
	}
	pb_printf(&pb, "%s %u ", c->name, n->level);
	pb_bpos(&pb, n->min_key);
	pb_puts(&pb, " ");
	pb_bpos(&pb, n->max_key);
	pb_puts(&pb, " ");
	for (unsigned i = 0; i < x->ptr.nr_ptrs; i++)
		pb_printf(&pb, "%s%u:%" PRIu64, i ? "," : "", x->ptr.ptrs[i].dev,
			  x->ptr.ptrs[i].offset);
	pb_printf(&pb, " %u %u\n", x->ptr.v2 ? x->ptr.h.sectors_written : 0, n->written);
	if (pb.oom) {
		pb_exit(&pb);
		return bch_err(err, BCH_ERR_NOMEM, "out of memory");
	}
	c->lines[c->nr++] = (struct node_line){ n->level, n->min_key, pb.buf };
	return 0;
}

static int cmp_node_line(const void *a, const void *b)
{
	const struct node_line *x = a, *y = b;

	if (x->level != y->level)
		return x->level > y->level ? -1 : 1;
	return bpos_cmp(x->min_key, y->min_key);
}

static int list_nodes(struct bch_fs *fs, unsigned id, const struct list_opts *o,
		      struct bch_error *err)
{
	struct nodes_ctx c = { .fs = fs, .o = o };
	int ret;

	btree_label(c.name, sizeof(c.name), fs, id);
	ret = bch_btree_walk_nodes(fs, id, nodes_visit, &c, err);
	/* no nodes (a btree without a root): nothing to sort, lines is NULL */
	if (!ret && c.nr) {
		qsort(c.lines, c.nr, sizeof(c.lines[0]), cmp_node_line);
		for (size_t i = 0; i < c.nr; i++)
			fputs(c.lines[i].text, stdout);
	}
	for (size_t i = 0; i < c.nr; i++)
		free(c.lines[i].text);
	free(c.lines);
	return ret;
}

static int parse_list_opts(int argc, char *argv[], struct list_opts *o)
{
	static const struct option longopts[] = {
		{ "btree",		required_argument, NULL, 'b' },
		{ "start",		required_argument, NULL, 's' },
		{ "end",		required_argument, NULL, 'e' },
		{ "level",		required_argument, NULL, 'l' },
		{ "format",		required_argument, NULL, 'f' },
		{ "passphrase-file",	required_argument, NULL, 'P' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool any_btree = false;
	int c;

	o->format = FMT_TEXT;
	o->start = POS_MIN;
	o->end = SPOS_MAX;
	o->level = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:s:e:l:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_btrees(optarg, o))
				return EXIT_USAGE;
			any_btree = true;
			break;
		case 's':
		case 'e':
			if (bch_bpos_parse(optarg, c == 's' ? &o->start : &o->end)) {
				die_msg("bad position '%s' (want inode:offset[:snapshot])", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'l': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 0 || v >= (long)BCH_BTREE_MAX_DEPTH) {
				die_msg("bad level '%s'", optarg);
				return EXIT_USAGE;
			}
			o->level = (int)v;
			break;
		}
		case 'f':
			if (!strcmp(optarg, "text"))
				o->format = FMT_TEXT;
			else if (!strcmp(optarg, "keys"))
				o->format = FMT_KEYS;
			else if (!strcmp(optarg, "nodes"))
				o->format = FMT_NODES;
			else {
				die_msg("unknown format '%s' (text, keys or nodes)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'P':
			o->passphrase_file = optarg;
			break;
		case 'h':
			list_usage(stdout);
			return -1;
		default:
			list_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!any_btree)
		o->all = true;
	if (optind >= argc) {
		die_msg("list: no device given");
		list_usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_list(int argc, char *argv[])
{
	struct list_opts o = { 0 };
	struct bch_error err = { 0 };
	struct bch_fs *fs;
	int status, ret = 0;

	status = parse_list_opts(argc, argv, &o);
	if (status)
		return status < 0 ? EXIT_OK : status;

	fs = open_fs(argv + optind, (unsigned)(argc - optind), o.passphrase_file, 0, &status,
		     NULL);
	if (!fs)
		return status;

	for (unsigned id = 0; id < BTREE_ID_NR_MAX && !ret; id++) {
		if (!btree_selected(&o, id))
			continue;
		if (o.format == FMT_NODES)
			ret = list_nodes(fs, id, &o, &err);
		else if (o.level > 0)
			ret = list_level_keys(fs, id, &o, &err);
		else
			ret = list_leaf_keys(fs, id, &o, &err);
	}
	if (fflush(stdout) && !ret)
		ret = bch_err(&err, BCH_ERR_IO, "writing output: error");
	bch_fs_close(fs);
	if (ret) {
		die_msg("%s", err.msg);
		return exit_status_of(ret);
	}
	return EXIT_OK;
}
