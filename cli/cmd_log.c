/* cmd_log.c - `custos log -d DIR [--from SEQ] [--count N]`: records in seq
 * order as JSON Lines (the same objects as `custos show --json`), for
 * programs that walk the archive. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "archiver/record_json.h"
#include "archiver/store.h"
#include "cli/cli.h"

int cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"from", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long from = 0, count = ~0ull, done = 0;
	const char *dir = NULL;
	struct store *st = NULL;
	struct store_iter *it = NULL;
	struct store_entry e;
	struct cu_err err;
	char *end, *text;
	json_t *o;
	int c, r, rc = EXIT_OK;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f':
			from = strtoull(optarg, &end, 10);
			if (*end || *optarg == '-')
				return cli_usage("log", "--from needs a record number");
			break;
		case 'n':
			count = strtoull(optarg, &end, 10);
			if (*end || *optarg == '-')
				return cli_usage("log", "--count needs a number");
			break;
		case 'h': printf("usage: custos log [-d DIR] [--from SEQ] [--count N]\n"); return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("log", "unexpected argument '%s'", argv[optind]);
	if (store_open(cli_datadir(dir), NULL, STORE_RDONLY, &st, &err) != 0)
		return cli_fail("log", &err);
	if (store_iter_open(st, from, &it, &err) != 0) {
		rc = cli_fail("log", &err);
		goto out;
	}
	while (done < count && (r = store_iter_next(it, &e, &err)) == 1) {
		o = rec_entry_to_json(&e);
		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!text) {
			fprintf(stderr, "custos log: record %llu cannot be decoded\n", (unsigned long long)e.seq);
			rc = EXIT_FAIL;
			goto out;
		}
		puts(text);
		free(text);
		done++;
	}
	if (done < count && r < 0)
		rc = cli_fail("log", &err);
out:
	store_iter_close(it);
	store_close(st);
	return rc;
}
