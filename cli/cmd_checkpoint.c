/* cmd_checkpoint.c - `custos checkpoint -d DIR [--size N]`: prints the
 * signed checkpoint (C2SP signed note) for the current or a given size. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "archiver/store.h"
#include "cli/cli.h"

int cmd_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	struct store *st = NULL;
	struct cu_err err;
	char *note = NULL, *end;
	unsigned long long size = 0;
	int have_size = 0, c, rc = EXIT_OK;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's':
			size = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0')
				return cli_usage("checkpoint", "--size needs a number");
			have_size = 1;
			break;
		case 'h':
			printf("usage: custos checkpoint [-d DIR] [--size N]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("checkpoint", "unexpected argument '%s'", argv[optind]);
	if (store_open(cli_datadir(dir), NULL, STORE_RDONLY, &st, &err) != 0)
		return cli_fail("checkpoint", &err);
	if (!have_size)
		size = store_size(st);
	if (store_checkpoint(st, size, &note, &err) != 0)
		rc = cli_fail("checkpoint", &err);
	else
		fputs(note, stdout);
	free(note);
	store_close(st);
	return rc;
}
