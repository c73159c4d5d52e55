/* cmd_ingest.c - `custos ingest -d DIR [--source NAME] [--batch N]
 * [--check] [--json] FILE|-`: appends JSON Lines of generic envelopes.
 *
 * Input is taken in batches of N lines; each batch is parsed completely
 * before any of it is written and becomes one group commit (one frame, one
 * fsync). A bad line rejects its whole batch and stops the command; earlier
 * batches are durable. Re-running after fixing the line is safe: messages
 * already archived are recognised by (platform, source, id) and skipped.
 *
 * Parsing (JSON), committing (hashing, compression, fsync) and indexing
 * overlap: a parser thread fills batches, the main thread commits them, an
 * indexer thread adds committed batches to the search index (so whatever
 * is acknowledged is searchable right after), through a ring of NSLOTS
 * batches. --no-index leaves indexing to the next search (catch-up).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "cli/lines.h"
#include "ingest/envelope.h"
#include "search/index.h"

#define DEFAULT_BATCH 8192
#define MAX_BATCH 100000
#define NSLOTS 4
/* Records per index transaction at most: one transaction over several
 * batches writes FTS5's words out once and each touched B-tree page once,
 * not once per batch (measured on 1M messages, ingest with the index: 7.9 s
 * with a transaction per batch of 8192, 6.7 s with up to 65536;
 * docs/SEARCH.md). */
#define INDEX_TXN 65536
#define PARSER_NICE 10 /* the parser thread's nice value (see parse_thread) */
#define COMMIT_NICE_INDEXED 10 /* the committer's nice value while indexing (see cmd_ingest) */

struct ingest_totals {
	unsigned long long accepted, duplicates, lines;
	unsigned long long first_seq, last_seq; /* of accepted records */
	int any;
};

static int is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* One batch on its way from the parser to the committer. */
struct slot {
	struct env_msg *msgs;        /* parsed envelopes (batch capacity) */
	struct store_input *in;      /* the same as appended, with seq/duplicate results */
	size_t n;                    /* how many are filled */
	int state;                   /* SLOT_FREE -> SLOT_READY -> (SLOT_COMMITTED) -> SLOT_FREE */
	int last;                    /* 1: no batch follows (end of input or error) */
	int error;                   /* 1: the batch was rejected; msg says why */
	char msg[700];               /* the error, ready to print */
};

enum { SLOT_FREE = 0, SLOT_READY = 1, SLOT_COMMITTED = 2 };

/* State shared by the parser thread and the committer. */
struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot slots[NSLOTS];
	size_t batch;                /* batch capacity */
	struct line_reader *lr;      /* input */
	const char *file;            /* its name for messages */
	const char *source;          /* ingest source */
	int stop;                    /* committer failed: parser should stop */
	unsigned long long lines;    /* non-blank lines parsed so far */
	struct store *st;            /* the archive */
	struct idx *ix;              /* search index, or NULL (--no-index, --check) */
	int index_failed;            /* the indexer hit an error; msg in index_err */
	struct cu_err index_err;
};

/* The indexer thread: adds committed batches to the index in ring order,
 * then frees their slots, until the batch marked last. Batches share one
 * index transaction until it holds INDEX_TXN records or the next batch is
 * not committed yet (so the index is never behind for nothing). */
static void *index_thread(void *arg)
{
	struct pipeline *p = arg;
	size_t k = 0;
	int last;

	pthread_setname_np(pthread_self(), "custos-index"); /* for top -H, ps -L */
	for (;;) {
		struct slot *s = &p->slots[k];
		int ready;

		pthread_mutex_lock(&p->mu);
		while (s->state != SLOT_COMMITTED)
			pthread_cond_wait(&p->cv, &p->mu);
		pthread_mutex_unlock(&p->mu);
		last = s->last;
		/* The index is derived: after a failure, stop indexing (the next
		 * search catches up from the log) but keep archiving. */
		if (s->n && !s->error && !p->index_failed &&
		    idx_add_open(p->ix, p->st, s->in, s->n, &p->index_err) != 0)
			p->index_failed = 1;
		k = (k + 1) % NSLOTS;
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_FREE;
		pthread_cond_broadcast(&p->cv);
		ready = p->slots[k].state == SLOT_COMMITTED;
		pthread_mutex_unlock(&p->mu);
		if ((last || !ready || idx_add_pending(p->ix) >= INDEX_TXN) && !p->index_failed &&
		    idx_add_commit(p->ix, &p->index_err) != 0)
			p->index_failed = 1;
		if (last)
			return NULL;
	}
}

static void slot_publish(struct pipeline *p, struct slot *s)
{
	pthread_mutex_lock(&p->mu);
	s->state = SLOT_READY;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* The parser thread: fills slots in ring order until end of input, a bad
 * line, or the committer says stop. */
static void *parse_thread(void *arg)
{
	struct pipeline *p = arg;
	struct cu_err err;
	const char *line;
	size_t len, k = 0;
	int r, stop, last;

	pthread_setname_np(pthread_self(), "custos-parse"); /* for top -H, ps -L */
	/* The parser runs batches ahead of the committer, whose work (and
	 * zstd's, which it waits for) is the serial path: yield the cores
	 * to them first. Linux gives each thread its own nice value.
	 * Measured on 2 cores: durable ingest 3-5% faster. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PARSER_NICE);
	for (;;) {
		struct slot *s = &p->slots[k];
		pthread_mutex_lock(&p->mu);
		while (s->state != SLOT_FREE && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		/* Freed here rather than by the committer: the memory goes back
		 * to this thread's malloc arena, which is much cheaper. */
		while (s->n > 0)
			env_release(&s->msgs[--s->n]);
		s->last = s->error = 0;
		while (s->n < p->batch) {
			r = lines_next(p->lr, &line, &len);
			if (r == 0) {
				s->last = 1;
				break;
			}
			if (r < 0) {
				snprintf(s->msg, sizeof(s->msg), "%s: line %llu: %s", p->file, p->lr->lineno,
					 r == -1 ? "read error" : "longer than the 1 MiB cap on one envelope");
				s->last = s->error = 1;
				break;
			}
			if (is_blank(line, len))
				continue;
			p->lines++;
			cu_err_clear(&err);
			if (env_parse(line, len, p->source, NULL, &s->msgs[s->n], &err) != 0) {
				snprintf(s->msg, sizeof(s->msg), "%s: line %llu: %s", p->file, p->lr->lineno,
					 err.msg);
				s->last = s->error = 1;
				break;
			}
			s->n++;
		}
		if (s->error)
			while (s->n > 0)
				env_release(&s->msgs[--s->n]);
		/* Read before publishing: from then on the slot is the
		 * committer's, which writes s->last (a data race under TSan). */
		last = s->last;
		slot_publish(p, s);
		if (last)
			return NULL;
		k = (k + 1) % NSLOTS;
	}
}

static int commit_batch(struct store *st, struct env_msg *msgs, struct store_input *in, size_t n,
			struct ingest_totals *t, struct cu_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		in[i] = msgs[i].in;
	rc = st ? store_append(st, in, n, err) : 0;
	for (i = 0; rc == 0 && i < n; i++) { /* a failed batch was not archived */
		if (st && in[i].duplicate) {
			t->duplicates++;
		} else if (st) {
			if (!t->any)
				t->first_seq = in[i].seq;
			t->any = 1;
			t->last_seq = in[i].seq;
			t->accepted++;
		}
	}
	return rc;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"source", required_argument, NULL, 's'},
		{"batch", required_argument, NULL, 'b'},
		{"check", no_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"no-index", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *source = "generic", *file;
	struct ingest_totals t = {0};
	struct pipeline p;
	struct store *st = NULL;
	struct line_reader lr = {0};
	struct cu_err err;
	unsigned long batch = DEFAULT_BATCH;
	pthread_t parser, indexer;
	int started = 0, istarted = 0, failed = 0, check = 0, json = 0, no_index = 0, c;
	int rc = EXIT_FAIL;
	size_t k = 0, i;
	FILE *f = NULL;
	char *end;

	cu_err_clear(&err);
	memset(&p, 0, sizeof(p));
	while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': source = optarg; break;
		case 'b':
			batch = strtoul(optarg, &end, 10);
			if (*end || batch == 0 || batch > MAX_BATCH)
				return cli_usage("ingest", "--batch takes 1..%d", MAX_BATCH);
			break;
		case 'c': check = 1; break;
		case 'j': json = 1; break;
		case 'n': no_index = 1; break;
		case 'h':
			printf("usage: custos ingest [-d DIR] [--source NAME] [--batch N] [--check] [--json]\n"
			       "                     [--no-index] FILE|-\n"
			       "Appends JSON Lines of generic envelopes (docs/FORMAT.md). --check only\n"
			       "validates. Each batch of N lines (default %d) is validated whole, then\n"
			       "written as one durable group commit and added to the search index\n"
			       "(--no-index: the next search catches up instead).\n", DEFAULT_BATCH);
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage("ingest", "expects exactly one FILE (or - for standard input)");
	file = argv[optind];
	if (!*source || strlen(source) > 128)
		return cli_usage("ingest", "--source must be 1..128 characters");
	f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!f) {
		perror(file);
		return EXIT_FAIL;
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.batch = batch;
	p.lr = &lr;
	p.file = file;
	p.source = source;
	failed = lines_init(&lr, f, ENV_MAX_BYTES) != 0;
	for (i = 0; i < NSLOTS; i++) {
		p.slots[i].msgs = calloc(batch, sizeof(struct env_msg));
		p.slots[i].in = calloc(batch, sizeof(struct store_input));
		failed |= !p.slots[i].msgs || !p.slots[i].in;
	}
	if (failed) {
		fprintf(stderr, "custos ingest: out of memory\n");
		goto out;
	}
	if (!check && store_open(cli_datadir(dir), NULL, 0, &st, &err) != 0) {
		cli_fail("ingest", &err);
		failed = 2;
		goto summary;
	}
	p.st = st;
	if (!check && !no_index && idx_open(cli_datadir(dir), 0, &p.ix, &err) != 0) {
		fprintf(stderr, "custos ingest: search index unavailable (%s); archiving without it\n",
			err.msg);
		cu_err_clear(&err);
		p.ix = NULL;
	}
	if (p.ix) {
		if (pthread_create(&indexer, NULL, index_thread, &p) != 0) {
			fprintf(stderr, "custos ingest: cannot start the indexer thread\n");
			goto out;
		}
		istarted = 1;
		/* With the index, indexing is the slowest stage and the store's
		 * (this thread and the zstd workers it starts later, which
		 * inherit its nice value) runs up to NSLOTS batches ahead of it:
		 * let the indexer and its tokenizer have the cores first.
		 * Measured on 2 cores, 1M messages: 8.31 s -> 7.93 s. The
		 * indexer was started before, so it keeps the normal value. */
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), COMMIT_NICE_INDEXED);
	}
	if (pthread_create(&parser, NULL, parse_thread, &p) != 0) {
		fprintf(stderr, "custos ingest: cannot start the parser thread\n");
		goto out;
	}
	started = 1;
	for (;;) {
		struct slot *s = &p.slots[k];
		int last;
		pthread_mutex_lock(&p.mu);
		while (s->state != SLOT_READY)
			pthread_cond_wait(&p.cv, &p.mu);
		pthread_mutex_unlock(&p.mu);
		last = s->last;
		if (s->error) {
			fprintf(stderr, "custos ingest: %s\n", s->msg);
			failed = 1;
		} else if (s->n && commit_batch(st, s->msgs, s->in, s->n, &t, &err) != 0) {
			cli_fail("ingest", &err);
			failed = 2;
			last = 1;
			s->error = 1; /* nothing of it to index; freed at the end */
		}
		pthread_mutex_lock(&p.mu);
		s->last = last;
		s->state = p.ix ? SLOT_COMMITTED : SLOT_FREE;
		if (last)
			p.stop = 1;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		cli_progress("ingest", t.accepted + t.duplicates, 0);
		if (last)
			break;
		k = (k + 1) % NSLOTS;
	}
	cli_progress_done();
	if (istarted) {
		pthread_join(indexer, NULL);
		istarted = 0;
	}
	if (p.index_failed)
		fprintf(stderr, "custos ingest: warning: indexing stopped (%s); everything is archived, "
			"and the next search or `custos reindex` catches the index up\n", p.index_err.msg);
	if (failed == 1 && !check)
		fprintf(stderr, "custos ingest: nothing of the rejected batch was written; %llu messages "
			"from earlier batches are archived (re-running skips them as duplicates)\n",
			t.accepted + t.duplicates);
summary:
	rc = failed ? EXIT_FAIL : EXIT_OK;
	if (json) {
		printf("{\"accepted\": %llu, \"duplicates\": %llu, \"lines\": %llu, \"ok\": %s",
		       t.accepted, t.duplicates, p.lines, rc == EXIT_OK ? "true" : "false");
		if (t.any)
			printf(", \"first_seq\": %llu, \"last_seq\": %llu", t.first_seq, t.last_seq);
		printf("}\n");
	} else if (check) {
		if (rc == EXIT_OK)
			printf("%llu envelopes valid\n", p.lines);
	} else {
		printf("archived %llu messages, %llu duplicates skipped", t.accepted, t.duplicates);
		if (t.any)
			printf(" (seq %llu..%llu)", t.first_seq, t.last_seq);
		printf("\n");
	}
out:
	if (started)
		pthread_join(parser, NULL);
	if (istarted) /* only on a setup failure: no slot will ever be committed */
		pthread_cancel(indexer), pthread_join(indexer, NULL);
	for (i = 0; i < NSLOTS; i++) {
		while (p.slots[i].msgs && p.slots[i].n > 0)
			env_release(&p.slots[i].msgs[--p.slots[i].n]);
		free(p.slots[i].msgs);
		free(p.slots[i].in);
	}
	lines_release(&lr);
	idx_close(p.ix);
	store_close(st);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	if (f && f != stdin)
		fclose(f);
	return rc;
}
