/* search_latency.c - runs a fixed set of custos queries against an
 * archive's index in one process and prints the latency of every run, for
 * bench/bench_search.sh:
 *
 *   search_latency -d DIR -f QUERIES.tsv [-r REPS] [-w WARMUP]
 *
 * QUERIES.tsv has one query per line: name TAB category TAB custos query
 * (further columns are ignored). Each query runs WARMUP times unmeasured
 * and REPS times measured, newest first with limit 50 and snippets, the
 * way `custos search` and GET /v1/search run it; the output is one line
 * per measured run: name TAB category TAB milliseconds TAB total. The
 * index is brought up to the log first (not measured).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/store.h"
#include "common/timeutil.h"
#include "search/index.h"

#define LINE_MAX_LEN 8192

int main(int argc, char **argv)
{
	const char *dir = NULL, *file = NULL;
	unsigned reps = 20, warm = 2, i;
	struct store *st = NULL;
	struct idx *ix = NULL;
	struct cu_err err;
	char line[LINE_MAX_LEN];
	FILE *f;
	int c, rc = 1;

	cu_err_clear(&err);
	while ((c = getopt(argc, argv, "d:f:r:w:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': file = optarg; break;
		case 'r': reps = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': warm = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: search_latency -d DIR -f QUERIES.tsv [-r REPS] [-w WARMUP]\n");
			return 2;
		}
	}
	if (!dir || !file) {
		fprintf(stderr, "usage: search_latency -d DIR -f QUERIES.tsv [-r REPS] [-w WARMUP]\n");
		return 2;
	}
	f = fopen(file, "r");
	if (!f) {
		perror(file);
		return 1;
	}
	if (store_open(dir, NULL, STORE_RDONLY, &st, &err) != 0 ||
	    idx_open(dir, 0, &ix, &err) != 0 || idx_catch_up(ix, st, NULL, NULL, &err) != 0) {
		fprintf(stderr, "search_latency: %s\n", err.msg);
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *cat, *q, *t;
		struct idx_query iq = {0};
		struct idx_result r;

		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		cat = strchr(name, '\t');
		q = cat ? strchr(cat + 1, '\t') : NULL;
		if (!q) {
			fprintf(stderr, "search_latency: bad line: %s\n", line);
			goto out;
		}
		*cat++ = '\0';
		*q++ = '\0';
		t = strchr(q, '\t');
		if (t)
			*t = '\0';
		iq.q = q;
		iq.sort = IDX_NEWEST;
		iq.limit = 50;
		for (i = 0; i < warm + reps; i++) {
			uint64_t t0 = time_mono_ns(), t1;

			if (idx_search(ix, st, &iq, &r, &err) != 0) {
				fprintf(stderr, "search_latency: %s: %s\n", name, err.msg);
				goto out;
			}
			t1 = time_mono_ns();
			if (i >= warm)
				printf("%s\t%s\t%.3f\t%llu\n", name, cat, (double)(t1 - t0) / 1e6,
				       (unsigned long long)r.total);
			idx_result_release(&r);
		}
	}
	rc = 0;
out:
	fclose(f);
	idx_close(ix);
	store_close(st);
	return rc;
}
