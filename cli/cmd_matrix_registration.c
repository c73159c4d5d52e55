/* cmd_matrix_registration.c - `custos matrix-registration -d DIR --url URL`:
 * writes the Application Service registration file a homeserver needs
 * (Synapse: app_service_config_files) and registers its hs_token with the
 * archive as a Matrix source (docs/INTEGRATIONS.md "Matrix").
 *
 * The namespace is one non-exclusive room regex that matches every room,
 * so the homeserver pushes every event of every room to the archive; the
 * archive claims no users and no aliases besides its own sender. Both
 * tokens are fresh random values; the archive keeps only the SHA-256 of
 * the hs_token (it never calls the homeserver, so it needs no as_token).
 * The file is written 0600: it holds both tokens. */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/layout.h"
#include "ingest/sources.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: custos matrix-registration [-d DIR] --url URL [--source NAME] [--id ID]\n"
		"                                  [--sender-localpart NAME] [-o FILE] [--force]\n"
		"Writes the Application Service registration (default DIR/matrix-registration.yaml)\n"
		"and registers its hs_token as source NAME (default \"matrix\"). URL is how the\n"
		"homeserver reaches custos serve, e.g. http://127.0.0.1:8080. --force replaces an\n"
		"existing registration with new tokens.\n");
}

/* A YAML double-quoted scalar of plain text (URL, ids): escapes \ and ". */
static int yaml_quoted(struct buf *b, const char *s)
{
	int rc = buf_append_byte(b, '"');

	for (; rc == 0 && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = buf_append_byte(b, '\\');
		if (rc == 0)
			rc = buf_append_byte(b, (uint8_t)*s);
	}
	return rc ? rc : buf_append_byte(b, '"');
}

static int localpart_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("._=-/", s[i])))
			return 0;
	return 1;
}

int cmd_matrix_registration(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"url", required_argument, NULL, 'u'},
		{"source", required_argument, NULL, 's'},
		{"id", required_argument, NULL, 'i'},
		{"sender-localpart", required_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *url = NULL, *source = "matrix", *id = "custos", *localpart = "custos", *out = NULL;
	char path[4096], as_token[48], hs_token[48];
	struct src_entry e;
	struct cu_err err;
	struct buf y;
	struct stat sb;
	int c, force = 0, rc = EXIT_FAIL;

	cu_err_clear(&err);
	memset(&e, 0, sizeof(e));
	buf_init(&y, 64 * 1024);
	as_token[0] = hs_token[0] = '\0';
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'u': url = optarg; break;
		case 's': source = optarg; break;
		case 'i': id = optarg; break;
		case 'l': localpart = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); rc = EXIT_OK; goto done;
		default: usage(stderr); rc = EXIT_USAGE; goto done;
		}
	}
	if (optind != argc || !url) {
		usage(stderr);
		rc = EXIT_USAGE;
		goto done;
	}
	if ((strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || strlen(url) >= sizeof(e.url) ||
	    strpbrk(url, " \t\r\n")) {
		rc = cli_usage("matrix-registration", "--url must be an http:// or https:// URL");
		goto done;
	}
	if (!src_name_valid(source) || !src_name_valid(id)) {
		rc = cli_usage("matrix-registration", "--source and --id must be 1-%d characters of A-Z a-z 0-9 . _ @ : -",
			       SRC_NAME_MAX);
		goto done;
	}
	if (!localpart_valid(localpart)) {
		rc = cli_usage("matrix-registration", "--sender-localpart must be 1-64 characters of a-z 0-9 . _ = - /");
		goto done;
	}
	dir = cli_datadir(dir);
	if (out)
		snprintf(path, sizeof(path), "%s", out);
	else
		snprintf(path, sizeof(path), "%s/" LAYOUT_MATRIX_REGISTRATION, dir);
	if (!force && stat(path, &sb) == 0) {
		cu_err_set(&err, CU_EEXIST, "%s exists; --force replaces it with new tokens", path);
		goto fail;
	}
	if (src_random_secret(as_token) != 0 || src_random_secret(hs_token) != 0) {
		cu_err_set(&err, CU_ECRYPTO, "no randomness");
		goto fail;
	}
	snprintf(e.name, sizeof(e.name), "%s", source);
	e.type = SRC_MATRIX;
	e.has_hs_token = 1;
	if (hash_sha256(hs_token, strlen(hs_token), e.hs_token_sha256) != 0) {
		cu_err_set(&err, CU_ECRYPTO, "hash failed");
		goto fail;
	}
	snprintf(e.as_id, sizeof(e.as_id), "%s", id);
	snprintf(e.url, sizeof(e.url), "%s", url);

	if (buf_append_str(&y, "# Matrix Application Service registration of the custos archive.\n"
			       "# Written by `custos matrix-registration`; holds secrets (mode 0600).\n"
			       "# Synapse: list this file under app_service_config_files and restart.\n"
			       "id: ") ||
	    yaml_quoted(&y, id) || buf_append_str(&y, "\nurl: ") || yaml_quoted(&y, url) ||
	    buf_printf(&y, "\nas_token: \"%s\"\nhs_token: \"%s\"\nsender_localpart: ", as_token, hs_token) ||
	    yaml_quoted(&y, localpart) ||
	    buf_append_str(&y, "\nrate_limited: false\n"
			       "# Every room, non-exclusively: the archive receives all events and\n"
			       "# claims no users or aliases.\n"
			       "namespaces:\n"
			       "  users: []\n"
			       "  aliases: []\n"
			       "  rooms:\n"
			       "    - exclusive: false\n"
			       "      regex: \".*\"\n")) {
		cu_err_set(&err, CU_ENOMEM, "out of memory");
		goto fail;
	}
	/* The source first: a registration file with a token the archive does
	 * not know would make the homeserver's pushes fail. */
	if (src_add(dir, &e, force, &err) != 0)
		goto fail;
	if (fio_atomic_replace(path, y.data, y.len, 0600, &err) != 0)
		goto fail;
	printf("%s\n", path);
	fprintf(stderr,
		"custos matrix-registration: wrote %s and registered source '%s'.\n"
		"Next: copy it to the homeserver, add it to app_service_config_files\n"
		"(Synapse) and restart the homeserver.\n",
		path, source);
	rc = EXIT_OK;
	goto done;
fail:
	rc = cli_fail("matrix-registration", &err);
done:
	if (y.data)
		OPENSSL_cleanse(y.data, y.len);
	buf_release(&y);
	OPENSSL_cleanse(as_token, sizeof(as_token));
	OPENSSL_cleanse(hs_token, sizeof(hs_token));
	src_entry_release(&e);
	return rc;
}
