/* test_util.h - fixtures the unit tests share: a fresh temporary
 * directory, its recursive removal (no shell: nftw), a new archive in it
 * (with its search index if asked), and one record appended to it.
 *
 * Header-only: each tests/unit/test_*.c is its own binary and includes
 * this after <cmocka.h>. The helpers fail the running test (cmocka's
 * assert and fail_msg) instead of returning errors, except tu_rm_rf, which
 * teardowns call and which returns -1 when something stayed behind.
 * Single-threaded, like the tests. */
#ifndef CUSTOS_TESTS_UNIT_TEST_UTIL_H
#define CUSTOS_TESTS_UNIT_TEST_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archiver/record.h"
#include "archiver/store.h"
#include "common/error.h"
#include "search/index.h"

#define TU_UNUSED __attribute__((unused))

/* Makes "$TMPDIR/custos_<tag>_XXXXXX" (/tmp without TMPDIR) into out. */
static TU_UNUSED void tu_tmpdir(char *out, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(out, len, "%s/custos_%s_XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);

	assert_true(n > 0 && (size_t)n < len);
	assert_non_null(mkdtemp(out));
}

static int tu_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes path and everything below it, without following links; a path
 * that does not exist is removed already. 0, or -1 if anything stayed. */
static TU_UNUSED int tu_rm_rf(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Creates an archive for log id log_id at dir and opens it into *st. */
static TU_UNUSED void tu_store_new(const char *dir, const char *log_id, struct store **st)
{
	struct cu_err err;

	cu_err_clear(&err);
	if (store_init(dir, log_id, &err) != 0)
		fail_msg("store_init %s: %s", dir, err.msg);
	if (store_open(dir, NULL, 0, st, &err) != 0)
		fail_msg("store_open %s: %s", dir, err.msg);
}

/* One record for tu_append; NULL fields are left out, the source is
 * always "test". */
struct tu_rec {
	const char *platform, *conversation, *sender, *event_id, *body, *target, *reply_to;
	int64_t ts;
	unsigned kind, flags;
};

/* Appends r on its own; returns its seq. *duplicate (if not NULL) says
 * whether the log already held it. */
static TU_UNUSED uint64_t tu_append(struct store *st, const struct tu_rec *r, int *duplicate)
{
	struct store_input in;
	struct cu_err err;

	memset(&in, 0, sizeof(in));
	in.rec.kind = (uint8_t)r->kind;
	in.rec.flags = (uint16_t)r->flags;
	in.rec.origin_ts = r->ts;
	rec_set(&in.rec, RF_PLATFORM, r->platform);
	rec_set(&in.rec, RF_SOURCE, "test");
	rec_set(&in.rec, RF_CONVERSATION, r->conversation);
	rec_set(&in.rec, RF_SENDER, r->sender);
	rec_set(&in.rec, RF_EVENT_ID, r->event_id);
	rec_set(&in.rec, RF_BODY, r->body);
	rec_set(&in.rec, RF_TARGET, r->target);
	rec_set(&in.rec, RF_REPLY_TO, r->reply_to);
	cu_err_clear(&err);
	if (store_append(st, &in, 1, &err) != 0)
		fail_msg("append: %s", err.msg);
	if (duplicate)
		*duplicate = in.duplicate;
	return in.seq;
}

/* An archive in a temporary directory: top is the directory, dir = top/a
 * the archive, ix its search index (opened for writing) or NULL. */
struct tu_archive {
	char top[256];
	char dir[300];
	struct store *st;
	struct idx *ix;
};

static TU_UNUSED void tu_archive_new(struct tu_archive *a, const char *tag, const char *log_id, int with_index)
{
	struct cu_err err;

	memset(a, 0, sizeof(*a));
	tu_tmpdir(a->top, sizeof(a->top), tag);
	snprintf(a->dir, sizeof(a->dir), "%s/a", a->top);
	tu_store_new(a->dir, log_id, &a->st);
	cu_err_clear(&err);
	if (with_index && idx_open(a->dir, 0, &a->ix, &err) != 0)
		fail_msg("idx_open: %s", err.msg);
}

/* Closes what is open and removes the directory; tu_rm_rf's result. */
static TU_UNUSED int tu_archive_free(struct tu_archive *a)
{
	idx_close(a->ix);
	store_close(a->st);
	a->ix = NULL;
	a->st = NULL;
	return tu_rm_rf(a->top);
}

/* Brings a->ix up to the log. */
static TU_UNUSED void tu_catch_up(struct tu_archive *a)
{
	struct cu_err err;

	cu_err_clear(&err);
	if (idx_catch_up(a->ix, a->st, NULL, NULL, &err) != 0)
		fail_msg("catch-up: %s", err.msg);
}

#endif
