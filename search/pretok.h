/* pretok.h - a worker thread that tokenizes the next records' bodies
 * while the index's thread has SQLite insert the current ones (the
 * tokenizer is about a third of indexing; see tok_pre in tokenizer.h).
 *
 * One job at a time: the owner fills a tok_pre with texts, starts it,
 * and waits for it before reading its tokens or starting the next. */
#ifndef CUSTOS_SEARCH_PRETOK_H
#define CUSTOS_SEARCH_PRETOK_H

#include "common/error.h"
#include "search/tokenizer.h"

struct pretok;

/* Starts the thread, with a tokenizer context of its own. */
int pretok_new(struct pretok **out, struct cu_err *err) CU_MUST_CHECK;
/* Waits for a running job and ends the thread. */
void pretok_free(struct pretok *pt);
/* Has the thread tokenize pre's texts (tok_pre_run). pre and its texts
 * must not be touched until pretok_wait returns. */
void pretok_start(struct pretok *pt, struct tok_pre *pre);
/* Returns once no job runs (at once when none was started). */
void pretok_wait(struct pretok *pt);

#endif
