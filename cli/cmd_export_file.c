/* cmd_export_file.c - `custos export-file [-d DIR] PACKAGE -o FILE`: writes
 * the plain bytes of a package kept in the data directory (an export
 * job's or a transfer offer's), which is encrypted at rest when the
 * archive is (export/atrest.h), for handing it over. Needs the archive's
 * key-encryption key, found as for every command. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "archiver/crypt.h"
#include "cli/cli.h"
#include "common/fileio.h"
#include "export/atrest.h"

static int to_fd(void *arg, const uint8_t *p, size_t n, struct cu_err *err)
{
	return fio_write_all(*(int *)arg, p, n, "the output file", err);
}

int cmd_export_file(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *out = NULL;
	struct crypt_key dek;
	struct cu_err err;
	int c, fd = -1, rc = EXIT_FAIL, encrypted;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case 'h':
			printf("usage: custos export-file [-d DIR] PACKAGE -o FILE\n"
			       "Writes the plain bytes of a package kept in the data directory (exports/, "
			       "transfers/),\nwhich is encrypted at rest when the archive is. FILE must not exist.\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !out)
		return cli_usage("export-file", "needs one PACKAGE and -o FILE");
	dir = cli_datadir(dir);
	encrypted = crypt_archive_encrypted(dir);
	if (encrypted && crypt_open(dir, NULL, &dek, &err) != 0)
		return cli_fail("export-file", &err);
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "custos export-file: cannot create %s: %s\n", out, strerror(errno));
		goto out;
	}
	if (atrest_read_file(argv[optind], encrypted ? &dek : NULL, to_fd, &fd, &err) != 0 ||
	    fio_fsync(fd, out, &err) != 0) {
		cli_fail("export-file", &err);
		unlink(out);
		goto out;
	}
	rc = EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(&dek, sizeof(dek));
	return rc;
}
