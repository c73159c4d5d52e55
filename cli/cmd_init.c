/* cmd_init.c - `custos init -d DIR [--origin NAME]`. */
#include <getopt.h>
#include <stdio.h>

#include "archiver/store.h"
#include "cli/cli.h"

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"origin", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *origin = NULL;
	struct cu_err err;
	int c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': origin = optarg; break;
		case 'h':
			printf("usage: custos init [-d DIR] [--origin NAME]\n"
			       "Creates a data directory: layout, Ed25519 signing key, configuration.\n"
			       "The origin names the archive in its checkpoints (default: generated).\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("init", "unexpected argument '%s'", argv[optind]);
	dir = cli_datadir(dir);
	if (store_init(dir, origin, &err) != 0)
		return cli_fail("init", &err);
	printf("initialised archive in %s\n", dir);
	return EXIT_OK;
}
