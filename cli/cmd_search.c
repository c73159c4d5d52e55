/* cmd_search.c - `custos search -d DIR [--json] [--limit N] [--cursor C]
 * [--sort newest|oldest|relevance] QUERY...`: full-text search
 * (docs/SEARCH.md). The index is derived from the log, so the command
 * first brings it up to the log (the store is opened read-only, so a
 * running daemon may keep writing); if another writer holds the index,
 * it searches what is there and says how far behind that is. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/record.h"
#include "archiver/store.h"
#include "cli/cli.h"
#include "common/timeutil.h"
#include "search/index.h"

#define QUERY_MAX 4096

static void progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	cli_progress("indexing", done, total);
}

static int parse_sort(const char *s, enum idx_sort *out)
{
	if (!strcmp(s, "newest"))
		*out = IDX_NEWEST;
	else if (!strcmp(s, "oldest"))
		*out = IDX_OLDEST;
	else if (!strcmp(s, "relevance"))
		*out = IDX_RELEVANCE;
	else
		return -1;
	return 0;
}

static void print_human(const struct idx_result *r, unsigned limit)
{
	char when[40];
	size_t i;

	for (i = 0; i < r->nhits; i++) {
		const struct idx_hit *h = &r->hits[i];

		time_format_rfc3339(h->ts, when, sizeof(when));
		printf("%llu  %s  %s  %s  %s%s\n", (unsigned long long)h->seq, when, h->platform,
		       h->conversation, h->sender,
		       h->duplicate_keys ? "  [payload has duplicate keys]" : "");
		if (h->snippet[0])
			printf("    %s\n", h->snippet);
	}
	printf("%llu result%s", (unsigned long long)r->total, r->total == 1 ? "" : "s");
	if (r->next_cursor)
		printf("; next %u: --cursor %s", limit, r->next_cursor);
	printf("\n");
}

int cmd_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"limit", required_argument, NULL, 'n'},
		{"cursor", required_argument, NULL, 'c'},
		{"sort", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	struct idx_query q = {0};
	struct idx_result r = {0};
	struct store *st = NULL;
	struct idx *ix = NULL;
	struct cu_err err;
	char query[QUERY_MAX + 1];
	size_t qlen = 0, n;
	unsigned long lim;
	int json = 0, c, i, rc = EXIT_FAIL;
	char *end;

	cu_err_clear(&err);
	q.limit = IDX_DEFAULT_LIMIT;
	q.sort = IDX_NEWEST;
	optind = 1;
	/* GNU getopt permutes: options after the query words are options
	 * (never query text); an unknown one is refused; "--" ends the
	 * options, so a query word may start with '-'. */
	while ((c = getopt_long(argc, argv, "d:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'n':
			lim = strtoul(optarg, &end, 10);
			if (*end || lim == 0 || lim > IDX_MAX_LIMIT)
				return cli_usage("search", "--limit takes 1..%d", IDX_MAX_LIMIT);
			q.limit = (unsigned)lim;
			break;
		case 'c': q.cursor = optarg; break;
		case 's':
			if (parse_sort(optarg, &q.sort) != 0)
				return cli_usage("search", "--sort takes newest, oldest or relevance");
			break;
		case 'h':
			printf("usage: custos search [-d DIR] [--json] [--limit N] [--cursor C]\n"
			       "                     [--sort newest|oldest|relevance] QUERY...\n"
			       "Words must all match; \"exact phrases\", OR, -word / NOT, prefix*,\n"
			       "(parentheses), from: in: platform: kind: after: before:\n"
			       "(see docs/SEARCH.md). Newest first by default. Options may come\n"
			       "before or after the query; put -- before a query word that starts\n"
			       "with '-' (custos search -- -word other).\n");
			return EXIT_OK;
		default:
			return cli_usage("search", "see custos search --help (a query word starting with '-' goes after --)");
		}
	}
	if (optind >= argc)
		return cli_usage("search", "a query is required (see custos search --help)");
	/* the words of the query may come as several arguments */
	for (i = optind; i < argc; i++) {
		n = strlen(argv[i]);
		if (qlen + n + 1 > QUERY_MAX)
			return cli_usage("search", "query is longer than %d bytes", QUERY_MAX);
		if (qlen)
			query[qlen++] = ' ';
		memcpy(query + qlen, argv[i], n);
		qlen += n;
	}
	query[qlen] = '\0';
	q.q = query;
	dir = cli_datadir(dir);
	if (store_open(dir, NULL, STORE_RDONLY, &st, &err) != 0)
		goto fail;
	if (idx_open(dir, 0, &ix, &err) != 0) {
		/* no write access (or a rebuild is running): search what is there;
		 * if that fails too, the writer's error is the one that explains */
		struct cu_err first = err;
		cu_err_clear(&err);
		if (idx_open(dir, IDX_RDONLY, &ix, &err) != 0) {
			err = first;
			goto fail;
		}
	} else if (idx_catch_up(ix, st, cli_progress_enabled() ? progress : NULL, NULL, &err) != 0) {
		cli_progress_done();
		if (err.code != CU_ESTATE)
			goto fail;
		fprintf(stderr, "custos search: %s; searching the index as it is\n", err.msg);
		cu_err_clear(&err);
	}
	cli_progress_done();
	if (idx_search(ix, st, &q, &r, &err) != 0) {
		if (err.code == CU_EINVAL || err.code == CU_ETOOBIG) {
			fprintf(stderr, "custos search: %s\n", err.msg);
			rc = EXIT_USAGE;
			goto out;
		}
		goto fail;
	}
	if (r.lag > 0)
		fprintf(stderr, "custos search: the index is %llu record%s behind the log\n",
			(unsigned long long)r.lag, r.lag == 1 ? "" : "s");
	if (json) {
		json_t *o = idx_result_json(&r);

		if (!o || json_dumpf(o, stdout, JSON_COMPACT) != 0) {
			json_decref(o);
			cu_err_set(&err, CU_ENOMEM, "cannot write JSON");
			goto fail;
		}
		json_decref(o);
		fputc('\n', stdout);
	} else {
		print_human(&r, q.limit);
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	goto out;
fail:
	rc = cli_fail("search", &err);
out:
	idx_result_release(&r);
	idx_close(ix);
	store_close(st);
	return rc;
}
