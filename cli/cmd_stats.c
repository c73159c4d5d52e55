/* cmd_stats.c - `custos stats -d DIR [--json]`: counts and sizes. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "archiver/store.h"
#include "cli/cli.h"

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	struct store *st = NULL;
	struct store_stats s;
	struct cu_err err;
	int json = 0, c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		case 'h': printf("usage: custos stats [-d DIR] [--json]\n"); return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("stats", "unexpected argument '%s'", argv[optind]);
	if (store_open(cli_datadir(dir), NULL, STORE_RDONLY, &st, &err) != 0)
		return cli_fail("stats", &err);
	store_stats(st, &s);
	if (json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "origin", store_origin(st),
				      "records", (json_int_t)s.records, "segments", (json_int_t)s.segments,
				      "segment_bytes", (json_int_t)s.segment_bytes);
		char *text = o ? json_dumps(o, 0) : NULL;
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(o);
	} else
		printf("origin         %s\nrecords        %llu\nsegments       %llu\nsegment bytes  %llu\n",
		       store_origin(st), (unsigned long long)s.records, (unsigned long long)s.segments,
		       (unsigned long long)s.segment_bytes);
	store_close(st);
	return EXIT_OK;
}
