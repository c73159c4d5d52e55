/* idmap.c - the duplicate map, (platform, source, id) -> seq, as a small
 * log-structured merge tree in DIR/idmap/ (docs/FORMAT.md "idmap/"):
 *
 * - new keys go to an in-memory hash table, the active table;
 * - once it holds run_keys keys, the end of a batch freezes it and a
 *   worker thread (custos-idmap) writes it out as a sorted run file
 *   (idmap_run.c) while a new active table takes the next keys;
 * - the worker merges the newest pair of neighbouring runs whose newer
 *   run holds at least half as many keys as the older, so an archive of n
 *   keys has about log2(n / run_keys) runs; a lookup probes each run's
 *   Bloom filter (mapped from its file) and reads one 4 KiB block of the
 *   few runs that may hold the key.
 *
 * Writes are sequential and each key is rewritten about log2(n / run_keys)
 * times in all. The SQLite B-tree this replaces rewrote pages all over
 * the table at every commit (the keys are hashes), so its once-a-second
 * commit took longer the larger the archive (195 ms at 2.5M keys,
 * measured) and held acknowledgements up.
 *
 * Derived data: the run files reflect the log records [0, hwm); keys still
 * in the tables are lost in a crash, and the store replays them from the
 * log on open (at most about 2 x run_keys records).
 */
#include "archiver/idmap.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/hash.h"
#include "archiver/idmap_run.h"
#include "common/fileio.h"
#include "common/timeutil.h"

#define EMPTY UINT64_MAX              /* seq of a free table slot */
#define RETRY_NS 1000000000ull        /* a failed run write is tried again after this */
#define MERGE_RETRY_NS 10000000000ull /* ... a failed merge after this */
#define STOP_CHECK 4096               /* a merge looks for work and stop this often */

/* Open addressing, linear probing; keys are hashes, so their first bytes
 * are the slot. */
struct table {
	struct id_entry *e;
	size_t cap, n;                    /* cap: a power of two, at most half full */
	uint64_t hwm;                     /* frozen: the log records it reflects */
};

struct idmap {
	char dir[PATH_MAX];
	size_t run_keys;
	/* The committer's (the store's write lock). */
	struct table active;
	uint64_t pending_hwm;             /* log records the committed batches reflect */
	int in_batch;
	uint8_t (*undo)[IDMAP_KEY_LEN];   /* keys the open batch inserted */
	size_t nundo, undo_cap;

	pthread_mutex_t mu;               /* guards what follows */
	pthread_cond_t work;              /* to the worker */
	pthread_cond_t done;              /* from the worker */
	struct table *frozen;             /* being written as a run, or NULL */
	struct id_run **runs;             /* oldest first, covering [0, hwm) */
	size_t nruns, runs_cap;
	uint64_t hwm;
	unsigned attempts;                /* run writes the worker has tried */
	unsigned damaged;                 /* run files found damaged at open */
	int failed;                       /* the last one failed (err) */
	int retry_now;                    /* the committer waits for a new attempt */
	int flushing;                     /* the worker is writing frozen */
	int merging;
	uint64_t retry_ns, merge_retry_ns;
	struct cu_err err;
	_Atomic int stop;
	_Atomic int frozen_ready;         /* frozen is to be written now (a merge looks) */
	pthread_t thread;
	int started;
};

/* ---- the tables --------------------------------------------------------- */

static int table_init(struct table *t, size_t want)
{
	size_t cap = 1024;

	while (cap < 2 * want)
		cap <<= 1;
	t->e = big_alloc(cap * sizeof(*t->e));
	if (!t->e)
		return CU_ENOMEM;
	memset(t->e, 0xff, cap * sizeof(*t->e)); /* every seq EMPTY */
	t->cap = cap;
	t->n = 0;
	t->hwm = 0;
	return 0;
}

static size_t slot_of(const struct table *t, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (t->cap - 1);
}

static struct id_entry *table_find(const struct table *t, const uint8_t *key)
{
	size_t i;

	for (i = slot_of(t, key);; i = (i + 1) & (t->cap - 1)) {
		if (t->e[i].seq == EMPTY)
			return NULL;
		if (!memcmp(t->e[i].key, key, IDMAP_KEY_LEN))
			return &t->e[i];
	}
}

static void table_place(struct table *t, const uint8_t *key, uint64_t seq)
{
	size_t i;

	for (i = slot_of(t, key); t->e[i].seq != EMPTY; i = (i + 1) & (t->cap - 1))
		;
	memcpy(t->e[i].key, key, IDMAP_KEY_LEN);
	t->e[i].seq = seq;
	t->n++;
}

static int table_put(struct table *t, const uint8_t *key, uint64_t seq)
{
	if (2 * (t->n + 1) > t->cap) {
		struct table g;
		size_t i;
		if (table_init(&g, t->cap))
			return CU_ENOMEM;
		for (i = 0; i < t->cap; i++)
			if (t->e[i].seq != EMPTY)
				table_place(&g, t->e[i].key, t->e[i].seq);
		g.hwm = t->hwm;
		big_free(t->e, t->cap * sizeof(*t->e));
		*t = g;
	}
	table_place(t, key, seq);
	return 0;
}

/* Removes key, shifting back the entries after it that probed past it. */
static void table_del(struct table *t, const uint8_t *key)
{
	size_t mask = t->cap - 1, i, j, k;
	struct id_entry *e = table_find(t, key);

	if (!e)
		return;
	i = (size_t)(e - t->e);
	for (j = (i + 1) & mask; t->e[j].seq != EMPTY; j = (j + 1) & mask) {
		k = slot_of(t, t->e[j].key);
		/* e[j] may fill the hole at i unless its home lies in (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->e[i] = t->e[j];
			i = j;
		}
	}
	memset(&t->e[i], 0xff, sizeof(t->e[i]));
	t->n--;
}

static void table_free(struct table *t)
{
	big_free(t->e, t->cap * sizeof(*t->e));
	t->e = NULL;
	t->cap = t->n = 0;
}

/* ---- the worker --------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct id_entry *)a)->key, ((const struct id_entry *)b)->key, IDMAP_KEY_LEN);
}

/* Appends r as the newest run (mu held). */
static int runs_push(struct idmap *m, struct id_run *r)
{
	if (m->nruns == m->runs_cap) {
		size_t cap = m->runs_cap ? 2 * m->runs_cap : 16;
		struct id_run **p = realloc(m->runs, cap * sizeof(*p));
		if (!p)
			return CU_ENOMEM;
		m->runs = p;
		m->runs_cap = cap;
	}
	m->runs[m->nruns++] = r;
	m->hwm = r->hi;
	return 0;
}

/* Writes the frozen table as a run and publishes it; on failure keeps the
 * table (lookups still see it) for a later attempt. */
static void flush_frozen(struct idmap *m)
{
	struct run_writer w;
	struct id_entry *sorted = NULL;
	struct id_run *r = NULL;
	struct table *t;
	struct cu_err err;
	uint64_t lo;
	size_t i, n = 0;
	int rc = 0;

	cu_err_clear(&err);
	pthread_mutex_lock(&m->mu);
	t = m->frozen; /* while flushing, no one else takes it away */
	lo = m->hwm;
	m->flushing = 1;
	pthread_mutex_unlock(&m->mu);
	if (t->n || t->hwm > lo) {
		sorted = big_alloc(t->n * sizeof(*sorted));
		if (!sorted)
			rc = cu_err_set(&err, CU_ENOMEM, "id map: out of memory");
		for (i = 0; !rc && i < t->cap; i++)
			if (t->e[i].seq != EMPTY)
				sorted[n++] = t->e[i];
		if (!rc)
			qsort(sorted, n, sizeof(*sorted), entry_cmp);
		if (!rc)
			rc = run_writer_open(&w, m->dir, lo, t->hwm, n, &err);
		for (i = 0; !rc && i < n; i++)
			if ((rc = run_writer_add(&w, &sorted[i], &err)))
				run_writer_abort(&w);
		if (!rc)
			rc = run_writer_finish(&w, &r, &err);
		big_free(sorted, t->n * sizeof(*sorted));
	}
	pthread_mutex_lock(&m->mu);
	m->attempts++;
	m->flushing = 0;
	if (!rc && r && (rc = runs_push(m, r)) != 0) {
		run_free(r, 1);
		cu_err_set(&err, rc, "id map: out of memory");
	}
	if (rc) {
		m->failed = 1;
		m->err = err;
		m->retry_ns = time_mono_ns() + RETRY_NS;
		atomic_store(&m->frozen_ready, 0); /* not again at once (await_attempt asks) */
	} else {
		m->failed = 0;
		m->frozen = NULL;
		atomic_store(&m->frozen_ready, 0);
		table_free(t);
		free(t);
	}
	pthread_cond_broadcast(&m->done);
	pthread_mutex_unlock(&m->mu);
}

/* Merges runs a and b (adjacent, a older) into one, writing any frozen
 * table that comes up meanwhile first. 0, 1 if stopped, or an error. */
static int merge(struct idmap *m, struct id_run *a, struct id_run *b, struct cu_err *err)
{
	struct run_reader ra, rb;
	struct run_writer w;
	struct id_entry ea, eb;
	struct id_run *c = NULL;
	uint64_t k = 0;
	size_t i;
	int rc, ha, hb, c2;

	if ((rc = run_reader_open(&ra, a, err)))
		return rc;
	if ((rc = run_reader_open(&rb, b, err))) {
		run_reader_close(&ra);
		return rc;
	}
	rc = run_writer_open(&w, m->dir, a->lo, b->hi, a->count + b->count, err);
	if (rc)
		goto out;
	ha = run_reader_next(&ra, &ea, err);
	hb = ha < 0 ? 0 : run_reader_next(&rb, &eb, err);
	while (!rc && ha >= 0 && hb >= 0 && (ha || hb)) {
		if (++k % STOP_CHECK == 0) {
			if (atomic_load(&m->stop)) {
				rc = 1;
				break;
			}
			if (atomic_load(&m->frozen_ready))
				flush_frozen(m);
		}
		c2 = !ha ? 1 : !hb ? -1 : memcmp(ea.key, eb.key, IDMAP_KEY_LEN);
		if (c2 == 0 && eb.seq < ea.seq) /* in both (never written so): keep the first */
			ea.seq = eb.seq;
		rc = run_writer_add(&w, c2 <= 0 ? &ea : &eb, err);
		if (c2 <= 0)
			ha = run_reader_next(&ra, &ea, err);
		if (c2 >= 0)
			hb = run_reader_next(&rb, &eb, err);
	}
	if (!rc && (ha < 0 || hb < 0))
		rc = ha < 0 ? ha : hb;
	if (!rc)
		rc = run_writer_finish(&w, &c, err);
	else
		run_writer_abort(&w);
	if (!rc) {
		pthread_mutex_lock(&m->mu);
		for (i = 0; i + 1 < m->nruns && m->runs[i] != a; i++)
			;
		m->runs[i] = c;
		memmove(&m->runs[i + 1], &m->runs[i + 2], (m->nruns - i - 2) * sizeof(*m->runs));
		m->nruns--;
		pthread_mutex_unlock(&m->mu);
		run_free(a, 1);
		run_free(b, 1);
	}
out:
	run_reader_close(&ra);
	run_reader_close(&rb);
	return rc;
}

static void *worker_main(void *arg)
{
	struct idmap *m = arg;
	struct timespec until;
	struct id_run *a, *b;
	struct cu_err err;
	size_t i;
	int rc;

	pthread_setname_np(pthread_self(), "custos-idmap"); /* for top -H, ps -L */
	fio_fault_exempt_thread();
	pthread_mutex_lock(&m->mu);
	for (;;) {
		if (m->frozen && (!m->failed || m->retry_now || time_mono_ns() >= m->retry_ns)) {
			m->retry_now = 0;
			pthread_mutex_unlock(&m->mu);
			flush_frozen(m);
			pthread_mutex_lock(&m->mu);
			continue;
		}
		if (atomic_load(&m->stop))
			break;
		/* The newest pair of neighbours whose newer run is at least half
		 * the older (a merge that a close interrupted leaves such pairs
		 * behind a smaller newest run). */
		for (i = m->nruns; i-- > 1;)
			if (2 * m->runs[i]->count >= m->runs[i - 1]->count)
				break;
		if (i > 0 && i < m->nruns && time_mono_ns() >= m->merge_retry_ns) {
			a = m->runs[i - 1];
			b = m->runs[i];
			m->merging = 1;
			pthread_mutex_unlock(&m->mu);
			cu_err_clear(&err);
			rc = merge(m, a, b, &err);
			pthread_mutex_lock(&m->mu);
			m->merging = 0;
			if (rc < 0) /* the runs stay as they are; lookups only probe one more */
				m->merge_retry_ns = time_mono_ns() + MERGE_RETRY_NS;
			pthread_cond_broadcast(&m->done);
			continue;
		}
		if (m->frozen || m->merge_retry_ns) {
			time_deadline_ms(&until, 100);
			pthread_cond_timedwait(&m->work, &m->mu, &until);
		} else {
			pthread_cond_wait(&m->work, &m->mu);
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* ---- open and close ----------------------------------------------------- */

static int run_order(const void *x, const void *y)
{
	const struct id_run *a = *(struct id_run *const *)x, *b = *(struct id_run *const *)y;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->hi > b->hi ? -1 : a->hi < b->hi; /* the longest first */
}

/* Loads the run files: whole runs that chain from 0 without a gap count;
 * the rest (left over from a merge or a crash) are deleted. */
static int load_runs(struct idmap *m, struct cu_err *err)
{
	struct id_run **all = NULL, *r;
	struct dirent *d;
	size_t n = 0, cap = 0, i;
	char path[PATH_MAX + 300];
	uint64_t lo, hi, cur = 0;
	DIR *dp;
	int rc = 0;

	dp = opendir(m->dir);
	if (!dp)
		return cu_err_errno(err, errno, "id map: open directory %s", m->dir);
	while (!rc && (d = readdir(dp))) {
		size_t len = strlen(d->d_name);
		snprintf(path, sizeof(path), "%s/%s", m->dir, d->d_name);
		if (len > 4 && !strcmp(d->d_name + len - 4, ".tmp")) {
			unlink(path); /* a run not finished */
			continue;
		}
		if (!run_name_parse(d->d_name, &lo, &hi))
			continue;
		rc = run_load(path, &r, err);
		if (rc == CU_ECORRUPT) {
			/* Damaged, or an older format: its keys (and those of
			 * the runs after it, which no longer chain from 0) are
			 * replayed from the log by the store. */
			fprintf(stderr, "custos: warning: %s; the duplicate map is rebuilt from the "
				"segments\n", err->msg);
			m->damaged++;
			unlink(path);
			cu_err_clear(err);
			rc = 0;
			continue;
		}
		if (!rc && n == cap) {
			struct id_run **p = realloc(all, (cap = cap ? 2 * cap : 16) * sizeof(*p));
			if (!p) {
				run_free(r, 0);
				rc = cu_err_set(err, CU_ENOMEM, "id map: out of memory");
				break;
			}
			all = p;
		}
		if (!rc)
			all[n++] = r;
	}
	closedir(dp);
	if (n)
		qsort(all, n, sizeof(*all), run_order);
	for (i = 0; i < n; i++) {
		if (!rc && all[i]->lo == cur && all[i]->hi > cur && !(rc = runs_push(m, all[i]))) {
			cur = all[i]->hi;
			continue;
		}
		run_free(all[i], !rc);
	}
	free(all);
	return rc;
}

int idmap_open(const char *dir, size_t run_keys, struct idmap **out, struct cu_err *err)
{
	struct idmap *m;
	int rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return cu_err_set(err, CU_ENOMEM, "out of memory");
	if (strlen(dir) + 64 >= sizeof(m->dir)) {
		free(m);
		return cu_err_set(err, CU_EINVAL, "id map: path too long: %s", dir);
	}
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	m->run_keys = run_keys ? run_keys : IDMAP_RUN_KEYS;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->work, NULL);
	pthread_cond_init(&m->done, NULL);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		rc = cu_err_errno(err, errno, "id map: create %s", dir);
		goto out;
	}
	if ((rc = load_runs(m, err)))
		goto out;
	m->pending_hwm = m->hwm;
	if (table_init(&m->active, m->run_keys)) {
		rc = cu_err_set(err, CU_ENOMEM, "id map: out of memory");
		goto out;
	}
	rc = pthread_create(&m->thread, NULL, worker_main, m);
	if (rc) {
		rc = cu_err_errno(err, rc, "id map: cannot start its thread");
		goto out;
	}
	m->started = 1;
out:
	if (rc)
		idmap_close(m);
	else
		*out = m;
	return rc;
}

unsigned idmap_damaged(const struct idmap *m)
{
	return m->damaged;
}

int idmap_check(const char *dir, char *msg, size_t len)
{
	struct dirent *d;
	struct cu_err err;
	struct id_run *r;
	char path[PATH_MAX + 300];
	uint64_t lo, hi;
	DIR *dp = opendir(dir);
	int bad = 0, rc;

	if (!dp)
		return 0; /* no map yet: nothing to be damaged */
	while ((d = readdir(dp))) {
		if (!run_name_parse(d->d_name, &lo, &hi))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		cu_err_clear(&err);
		rc = run_load(path, &r, &err);
		if (rc == 0)
			run_free(r, 0);
		if (rc != CU_ECORRUPT) /* gone meanwhile (a merge) is not damage */
			continue;
		if (!bad++)
			snprintf(msg, len, "%s", err.msg);
	}
	closedir(dp);
	return bad;
}

void idmap_close(struct idmap *m)
{
	size_t i;

	if (!m)
		return;
	if (m->in_batch)
		(void)!idmap_rollback(m);
	if (m->started) {
		(void)!idmap_flush(m, NULL); /* a failure only means a replay at the next open */
		pthread_mutex_lock(&m->mu);
		atomic_store(&m->stop, 1);
		pthread_cond_signal(&m->work);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	for (i = 0; i < m->nruns; i++)
		run_free(m->runs[i], 0);
	free(m->runs);
	if (m->frozen) {
		table_free(m->frozen);
		free(m->frozen);
	}
	table_free(&m->active);
	free(m->undo);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->work);
	pthread_cond_destroy(&m->done);
	free(m);
}

/* ---- the map ------------------------------------------------------------ */

int idmap_key(const char *platform, size_t plen, const char *source, size_t slen,
	      const char *id, size_t idlen, uint8_t key[IDMAP_KEY_LEN])
{
	uint8_t digest[HASH_LEN], small[512];
	uint8_t *tmp = small;
	size_t n = plen + 1 + slen + 1 + idlen;
	int rc;

	if (n > sizeof(small) && !(tmp = malloc(n)))
		return CU_ENOMEM;
	memcpy(tmp, platform, plen);
	tmp[plen] = 0;
	memcpy(tmp + plen + 1, source, slen);
	tmp[plen + 1 + slen] = 0;
	memcpy(tmp + plen + slen + 2, id, idlen);
	rc = hash_sha256(tmp, n, digest);
	if (tmp != small)
		free(tmp);
	if (rc == 0)
		memcpy(key, digest, IDMAP_KEY_LEN);
	return rc;
}

uint64_t idmap_hwm(struct idmap *m)
{
	uint64_t h;

	pthread_mutex_lock(&m->mu);
	h = m->hwm;
	pthread_mutex_unlock(&m->mu);
	return h;
}

/* Waits for the worker's next attempt at the frozen table (mu held). */
static void await_attempt(struct idmap *m)
{
	unsigned a = m->attempts;

	m->retry_now = 1;
	atomic_store(&m->frozen_ready, 1);
	pthread_cond_signal(&m->work);
	while (m->frozen && m->attempts == a)
		pthread_cond_wait(&m->done, &m->mu);
}

int idmap_begin(struct idmap *m, struct cu_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	/* Back-pressure: a full active table waits for the frozen one to be
	 * written (up to 4 x run_keys keys, then the batch waits), or fails
	 * with the worker's error (a full disk) after one more attempt. */
	if (m->frozen && m->active.n >= m->run_keys) {
		if (m->failed)
			await_attempt(m);
		while (m->frozen && !m->failed && m->active.n >= 4 * m->run_keys)
			pthread_cond_wait(&m->done, &m->mu);
		if (m->frozen && m->failed)
			rc = cu_err_set(err, m->err.code, "%s", m->err.msg);
	}
	pthread_mutex_unlock(&m->mu);
	if (rc)
		return rc;
	m->in_batch = 1;
	m->nundo = 0;
	return 0;
}

/* The frozen table and the runs, newest first: 1 found, 0 not, < 0. */
static int find_older(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq, struct cu_err *err)
{
	struct id_entry *e;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	if (m->frozen && (e = table_find(m->frozen, key))) {
		*seq = e->seq;
		rc = 1;
	}
	for (i = m->nruns; !rc && i-- > 0;)
		rc = run_find(m->runs[i], key, seq, err);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int idmap_lookup(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t *seq)
{
	struct id_entry *e = table_find(&m->active, key);
	struct cu_err err;

	if (e) {
		*seq = e->seq;
		return 1;
	}
	cu_err_clear(&err);
	return find_older(m, key, seq, &err);
}

void idmap_prefetch(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN])
{
	__builtin_prefetch(&m->active.e[slot_of(&m->active, key)]);
}

int idmap_insert(struct idmap *m, const uint8_t key[IDMAP_KEY_LEN], uint64_t seq,
		 uint64_t *existing, struct cu_err *err)
{
	struct id_entry *e = table_find(&m->active, key);
	int rc;

	if (e) {
		*existing = e->seq;
		return 0;
	}
	rc = find_older(m, key, existing, err);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (m->nundo == m->undo_cap) {
		size_t cap = m->undo_cap ? 2 * m->undo_cap : 256;
		void *p = realloc(m->undo, cap * sizeof(*m->undo));
		if (!p)
			return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
		m->undo = p;
		m->undo_cap = cap;
	}
	if (table_put(&m->active, key, seq))
		return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	memcpy(m->undo[m->nundo++], key, IDMAP_KEY_LEN);
	return 1;
}

/* Hands the active table to the worker unless it is still busy with the
 * last one. */
static int freeze(struct idmap *m)
{
	struct table *t = malloc(sizeof(*t)), fresh;

	if (!t || table_init(&fresh, m->run_keys)) {
		free(t);
		return CU_ENOMEM;
	}
	pthread_mutex_lock(&m->mu);
	if (m->frozen) {
		pthread_mutex_unlock(&m->mu);
		table_free(&fresh);
		free(t);
		return 0;
	}
	*t = m->active;
	t->hwm = m->pending_hwm;
	m->active = fresh;
	m->frozen = t;
	atomic_store(&m->frozen_ready, 1);
	pthread_cond_signal(&m->work);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

int idmap_commit(struct idmap *m, uint64_t hwm, struct cu_err *err)
{
	m->in_batch = 0;
	m->nundo = 0;
	m->pending_hwm = hwm;
	/* Without memory for a new table the keys stay in the old one. */
	(void)err;
	if (m->active.n >= m->run_keys)
		(void)freeze(m);
	return 0;
}

int idmap_rollback(struct idmap *m)
{
	while (m->nundo)
		table_del(&m->active, m->undo[--m->nundo]);
	m->in_batch = 0;
	return 0;
}

int idmap_flush(struct idmap *m, struct cu_err *err)
{
	int rc = 0;

	if (m->in_batch)
		return 0;
	pthread_mutex_lock(&m->mu);
	while (m->frozen && !m->failed)
		pthread_cond_wait(&m->done, &m->mu);
	if (m->frozen)
		await_attempt(m);
	if (!m->frozen && (m->active.n || m->pending_hwm > m->hwm)) {
		pthread_mutex_unlock(&m->mu);
		if (freeze(m))
			return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
		pthread_mutex_lock(&m->mu);
		while (m->frozen && !m->failed)
			pthread_cond_wait(&m->done, &m->mu);
	}
	if (m->frozen)
		rc = cu_err_set(err, m->err.code, "%s", m->err.msg);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Rewrites run r without the keys of records from `from` on (mu held). */
static int run_cut(struct idmap *m, size_t i, uint64_t from, struct cu_err *err)
{
	struct id_run *r = m->runs[i], *c = NULL;
	struct run_reader rd;
	struct run_writer w;
	struct id_entry e;
	int rc;

	if ((rc = run_reader_open(&rd, r, err)))
		return rc;
	if ((rc = run_writer_open(&w, m->dir, r->lo, from, r->count, err))) {
		run_reader_close(&rd);
		return rc;
	}
	while ((rc = run_reader_next(&rd, &e, err)) == 1)
		if (e.seq < from && (rc = run_writer_add(&w, &e, err)))
			break;
	run_reader_close(&rd);
	if (rc == 0)
		rc = run_writer_finish(&w, &c, err);
	else
		run_writer_abort(&w);
	if (rc)
		return rc;
	m->runs[i] = c;
	run_free(r, 1);
	return 0;
}

int idmap_forget_from(struct idmap *m, uint64_t from, struct cu_err *err)
{
	struct table t;
	size_t i;
	int rc = 0;

	if (table_init(&t, m->run_keys))
		return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
	for (i = 0; i < m->active.cap; i++)
		if (m->active.e[i].seq != EMPTY && m->active.e[i].seq < from &&
		    table_put(&t, m->active.e[i].key, m->active.e[i].seq)) {
			table_free(&t);
			return cu_err_set(err, CU_ENOMEM, "id map: out of memory");
		}
	table_free(&m->active);
	m->active = t;
	m->nundo = 0;
	pthread_mutex_lock(&m->mu);
	while (m->merging || m->flushing || (m->frozen && !m->failed))
		pthread_cond_wait(&m->done, &m->mu);
	if (m->frozen) { /* never written: its keys are replayed like the rest */
		table_free(m->frozen);
		free(m->frozen);
		m->frozen = NULL;
		atomic_store(&m->frozen_ready, 0);
		m->failed = 0;
	}
	while (rc == 0 && m->nruns && m->runs[m->nruns - 1]->hi > from) {
		if (m->runs[m->nruns - 1]->lo >= from) {
			run_free(m->runs[--m->nruns], 1);
			continue;
		}
		rc = run_cut(m, m->nruns - 1, from, err);
		break;
	}
	m->hwm = m->nruns ? m->runs[m->nruns - 1]->hi : 0;
	pthread_mutex_unlock(&m->mu);
	if (m->pending_hwm > from)
		m->pending_hwm = from;
	return rc;
}
