/* cmd_erase.c - `custos erase`: an erasure order (GDPR Art. 17, a court
 * order) for named records, stored as a plan that a second person must
 * approve (`custos retention approve`) before `custos retention execute`
 * deletes them. Refused, with the holds named, if any record is under a
 * legal hold (docs/RETENTION.md "Erasure orders").
 *
 *   custos erase -d DIR (--seq N[,N...])... | --query Q  --reason TEXT --by NAME [--json]
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/store.h"
#include "cli/cli.h"
#include "common/timeutil.h"
#include "retention/retention.h"

#define MAX_SEQS 20000

static void usage(FILE *f)
{
	fprintf(f, "usage: custos erase [-d DIR] (--seq N[,N...])... | --query Q  --reason TEXT --by NAME\n"
		   "                    [--no-edits] [--no-reactions] [--json]\n"
		   "Stores an erasure order for the records named and those derived from them (edits,\n"
		   "reactions, redactions, replies quoting them; --no-edits and --no-reactions keep\n"
		   "edits or reactions); a second person approves it with custos retention approve,\n"
		   "then custos retention execute deletes the records for real.\n");
}

/* Adds the comma-separated seqs in s. */
static int add_seqs(const char *s, uint64_t *v, size_t *n)
{
	char *end;

	while (*s) {
		if (*s < '0' || *s > '9')
			return -1;
		if (*n == MAX_SEQS)
			return -2;
		v[(*n)++] = strtoull(s, &end, 10);
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return 0;
}

int cmd_erase(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"seq", required_argument, NULL, 's'},
		{"query", required_argument, NULL, 'q'},
		{"reason", required_argument, NULL, 'r'},
		{"by", required_argument, NULL, 'b'},
		{"json", no_argument, NULL, 'j'},
		{"no-edits", no_argument, NULL, 'E'},
		{"no-reactions", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *query = NULL, *reason = NULL, *by = NULL;
	struct store *st = NULL;
	struct ret_erase_opts eo = {0, 0};
	struct cu_err err;
	uint64_t *seqs = calloc(MAX_SEQS, sizeof(*seqs)), plan = 0;
	size_t nseqs = 0, i;
	json_t *j = NULL;
	char *t;
	int c, json = 0, r, rc = EXIT_USAGE;

	cu_err_clear(&err);
	if (!seqs) {
		fprintf(stderr, "custos erase: out of memory\n");
		return EXIT_FAIL;
	}
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's':
			r = add_seqs(optarg, seqs, &nseqs);
			if (r) {
				cli_usage("erase", r == -2 ? "at most %d records in one order" :
					  "--seq takes record numbers separated by commas (%d at most)", MAX_SEQS);
				goto out;
			}
			break;
		case 'q': query = optarg; break;
		case 'r': reason = optarg; break;
		case 'b': by = optarg; break;
		case 'j': json = 1; break;
		case 'E': eo.exclude_edits = 1; break;
		case 'R': eo.exclude_reactions = 1; break;
		case 'h': usage(stdout); rc = EXIT_OK; goto out;
		default: goto out;
		}
	}
	if (optind != argc) {
		cli_usage("erase", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((!nseqs && !query) || !reason || !by) {
		cli_usage("erase", "needs --seq or --query, and --reason and --by");
		goto out;
	}
	if (store_open(cli_datadir(dir), NULL, 0, &st, &err) != 0) {
		rc = cli_fail("erase", &err);
		goto out;
	}
	if (ret_erase_order_opts(st, NULL, seqs, nseqs, query, reason, by, &eo, time_now_ms(), &plan, &j, &err) !=
	    0) {
		rc = err.code == CU_EINVAL ? EXIT_USAGE : EXIT_FAIL;
		cli_fail("erase", &err);
		if (j && json) {
			t = json_dumps(j, JSON_INDENT(2));
			if (t)
				printf("%s\n", t);
			free(t);
		} else if (j) {
			json_t *arr = json_object_get(j, "refused");
			for (i = 0; i < json_array_size(arr); i++) {
				json_t *x = json_array_get(arr, i), *h = json_object_get(x, "holds");
				size_t k;
				fprintf(stderr, "  record %lld is under",
					(long long)json_integer_value(json_object_get(x, "seq")));
				for (k = 0; k < json_array_size(h); k++)
					fprintf(stderr, "%s hold %lld (matter %s)", k ? "," : "",
						(long long)json_integer_value(json_object_get(json_array_get(h, k), "id")),
						json_string_value(json_object_get(json_array_get(h, k), "matter")));
				fprintf(stderr, "\n");
			}
		}
		goto out;
	}
	if (json) {
		t = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		if (t)
			printf("%s\n", t);
		free(t);
	} else {
		cli_print_derived(j);
		printf("erasure order stored as plan %llu for %lld records\n"
		       "next: a person other than %s approves it: custos retention approve %llu --by NAME\n"
		       "then: custos retention execute %llu\n", (unsigned long long)plan,
		       (long long)json_integer_value(json_object_get(j, "count")), by, (unsigned long long)plan,
		       (unsigned long long)plan);
	}
	rc = EXIT_OK;
out:
	json_decref(j);
	store_close(st);
	free(seqs);
	return rc;
}
