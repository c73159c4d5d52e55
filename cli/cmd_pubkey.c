/* cmd_pubkey.c - `custos pubkey [-d DIR]`: prints the SubjectPublicKeyInfo
 * PEM of the archive's signing key, the trust anchor that `custos
 * verify-proof --pubkey` (or plain openssl) checks checkpoints with.
 * Only the key file is read, not the store, so this works on any archive
 * directory, even one whose segments are damaged. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "archiver/keys.h"
#include "cli/cli.h"
#include "common/layout.h"

int cmd_pubkey(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	char path[PATH_MAX];
	EVP_PKEY *key = NULL;
	struct cu_err err;
	char *pem = NULL;
	int c, n, rc = EXIT_FAIL;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h':
			printf("usage: custos pubkey [-d DIR]\n"
			       "Prints the archive's Ed25519 public key (SubjectPublicKeyInfo PEM).\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("pubkey", "unexpected argument '%s'", argv[optind]);
	n = snprintf(path, sizeof(path), "%s/" LAYOUT_ARCHIVE_KEY, cli_datadir(dir));
	if (n < 0 || (size_t)n >= sizeof(path))
		return cli_usage("pubkey", "data directory path too long");
	if (key_load_private(path, &key, &err) != 0 || key_public_pem(key, &pem, &err) != 0) {
		rc = cli_fail("pubkey", &err);
		goto out;
	}
	if (fputs(pem, stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, "custos pubkey: write to stdout failed\n");
		goto out;
	}
	rc = EXIT_OK;
out:
	free(pem);
	EVP_PKEY_free(key);
	return rc;
}
