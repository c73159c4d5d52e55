/* cmd_init.c - `custos init -d DIR [--origin NAME] [--kek FILE]`, and
 * `custos keygen --kek FILE` which makes a key-encryption key. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/crypt.h"
#include "archiver/store.h"
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/layout.h"

/* Turns a new, empty archive into one encrypted at rest under the KEK in
 * kek_file: wraps a fresh data key and records the KEK's path. */
static int enable_encryption(const char *dir, const char *kek_file, struct cu_err *err)
{
	char path[PATH_MAX], abs[PATH_MAX];
	struct crypt_key kek;
	struct buf b;
	json_t *cfg = NULL;
	char *text = NULL;
	int rc;

	buf_init(&b, 1u << 20);
	if (!realpath(kek_file, abs))
		return cu_err_errno(err, errno, "%s", kek_file);
	rc = crypt_kek_load(abs, &kek, err);
	if (rc == 0)
		rc = crypt_dek_create(dir, &kek, err);
	OPENSSL_cleanse(&kek, sizeof(kek));
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "%s/" LAYOUT_CONFIG, dir);
	rc = fio_read_file(path, &b, err);
	if (rc)
		goto out;
	cfg = json_loadb((const char *)b.data, b.len, 0, NULL);
	if (!cfg || json_object_set_new(cfg, "kek_file", json_string(abs)) != 0 ||
	    !(text = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		rc = cu_err_set(err, CU_ENOMEM, "cannot update %s", path);
		goto out;
	}
	rc = fio_atomic_replace(path, text, strlen(text), 0640, err);
out:
	free(text);
	json_decref(cfg);
	buf_release(&b);
	return rc;
}

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"origin", required_argument, NULL, 'o'},
		{"kek", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *origin = NULL, *kek = NULL;
	struct cu_err err;
	int c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': origin = optarg; break;
		case 'k': kek = optarg; break;
		case 'h':
			printf("usage: custos init [-d DIR] [--origin NAME] [--kek FILE]\n"
			       "Creates a data directory: layout, Ed25519 signing key, configuration.\n"
			       "The origin names the archive in its checkpoints (default: generated).\n"
			       "--kek encrypts segments at rest under a key-encryption key made by\n"
			       "`custos keygen --kek FILE` (keep that file off the data disk).\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("init", "unexpected argument '%s'", argv[optind]);
	dir = cli_datadir(dir);
	if (store_init(dir, origin, &err) != 0)
		return cli_fail("init", &err);
	if (kek && enable_encryption(dir, kek, &err) != 0)
		return cli_fail("init", &err);
	printf("initialised archive in %s%s\n", dir, kek ? " (encrypted at rest)" : "");
	return EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"kek", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *kek = NULL;
	struct cu_err err;
	int c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kek = optarg; break;
		case 'h':
			printf("usage: custos keygen --kek FILE\n"
			       "Writes a new 256-bit key-encryption key (hex, mode 0600).\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (!kek || optind != argc)
		return cli_usage("keygen", "expects --kek FILE");
	if (crypt_kek_generate(kek, &err) != 0)
		return cli_fail("keygen", &err);
	printf("wrote key-encryption key %s\n", kek);
	return EXIT_OK;
}
