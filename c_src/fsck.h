/*
 * bcachefs fsck: the passes, the problem table (our finding kinds mapped
 * to upstream's sb_errors names and messages) and the reports.
 */
#ifndef BCH_FSCK_H
#define BCH_FSCK_H

#include <stdbool.h>
#include <stdio.h>

#include "check_buckets.h"
#include "printbuf.h"

struct bch_fs;

/* one row per finding kind, in the style of e2fsck's problem table */
struct fsck_problem {
	enum bch_finding_kind	kind;
	const char		*upstream;	/* sb_errors name (or ours, see flags) */
	const char		*msg;		/* what is wrong */
	const char		*fix;		/* what repair does: "would <fix>" under -n */
	unsigned		flags;
};

#define PR_OUR_NAME	(1u << 0)	/* upstream has no error of its own for this */
#define PR_NOT_ERROR	(1u << 1)	/* informational: the bitmap contents */

const struct fsck_problem *fsck_problem(enum bch_finding_kind kind);
/* the upstream name of a finding (alloc_sectors_wrong depends on the counter) */
const char *fsck_finding_error_name(const struct bch_finding *f);

/* a finding in the corpus' expected-findings vocabulary (one line, no newline) */
void fsck_finding_line(struct printbuf *out, const struct bch_finding *f,
		       const struct bch_check_geom *g, unsigned sb_version);
/* for people: "<upstream name>: <message>: <key and details>" */
void fsck_finding_text(struct printbuf *out, const struct bch_finding *f,
		       unsigned sb_version);

#endif
