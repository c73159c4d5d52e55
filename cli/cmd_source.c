/* cmd_source.c - `custos source add|list|remove|peer-key -d DIR ...`: the
 * messenger hooks and how each authenticates (ingest/sources.h,
 * docs/INTEGRATIONS.md). A generated secret is printed once, on a line of
 * its own. The daemon rereads DIR/sources.json on every hook request, so
 * no reload is needed. Matrix sources are made by `custos
 * matrix-registration`. */
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/encode.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "ingest/sources.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: custos source add [-d DIR] NAME --type xmpp [--secret TEXT] [--replace]\n"
		"       custos source add [-d DIR] NAME --type generic (--ed25519-key FILE|HEX | --hmac [--secret TEXT]) [--replace]\n"
		"       custos source add [-d DIR] NAME --type threema --identity '*GATEWAY' --api-secret TEXT\n"
		"                         --private-key FILE|HEX [--replace]\n"
		"       custos source peer-key [-d DIR] NAME THREEMA-ID PUBLIC-KEY-HEX\n"
		"       custos source list [-d DIR] [--json]\n"
		"       custos source remove [-d DIR] NAME\n"
		"A generated secret is printed once. Matrix sources: custos matrix-registration.\n");
}

/* A key given as hex (or Threema's "private:"/"public:" hex) or as a file
 * holding that text or (Ed25519) a PEM public key. A private key's file is
 * a secrets file (fio_read_secret: 0600, the caller's, no symlink). */
static int read_key(const char *arg, int pem_ed25519, int secret, uint8_t out[SRC_KEY_LEN], struct cu_err *err)
{
	struct buf b;
	const char *t = arg;
	size_t n;
	int rc;

	buf_init(&b, 64 * 1024);
	if (strlen(arg) != 64 && strncmp(arg, "private:", 8) && strncmp(arg, "public:", 7)) {
		rc = secret ? fio_read_secret(arg, &b, 0, err) : fio_read_file(arg, &b, err);
		if (rc)
			goto out;
		t = (const char *)b.data;
		if (pem_ed25519 && strstr(t, "-----BEGIN PUBLIC KEY-----")) {
			BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
			EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

			n = SRC_KEY_LEN;
			rc = pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519 &&
					     EVP_PKEY_get_raw_public_key(pk, out, &n) == 1 && n == SRC_KEY_LEN
				     ? 0
				     : cu_err_set(err, CU_EINVAL, "%s: not an Ed25519 public key", arg);
			EVP_PKEY_free(pk);
			BIO_free(bio);
			goto out;
		}
	}
	while (*t == ' ' || *t == '\n')
		t++;
	if (!strncmp(t, "private:", 8))
		t += 8;
	else if (!strncmp(t, "public:", 7))
		t += 7;
	n = strcspn(t, " \r\n");
	rc = hex_decode(t, n, out, SRC_KEY_LEN) == 0 ? 0
						     : cu_err_set(err, CU_EINVAL, "%s: expected a key of 64 hex digits", arg);
out:
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	buf_release(&b);
	return rc;
}

static int set_secret(char *dst, size_t *len, const char *text, const char *what, struct cu_err *err)
{
	size_t n = strlen(text);

	if (n == 0 || n > SRC_SECRET_MAX)
		return cu_err_set(err, CU_EINVAL, "%s must be 1-%d bytes", what, SRC_SECRET_MAX);
	memcpy(dst, text, n + 1);
	*len = n;
	return 0;
}

static int source_add(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"type", required_argument, NULL, 't'},
		{"secret", required_argument, NULL, 's'},
		{"hmac", no_argument, NULL, 'H'},
		{"ed25519-key", required_argument, NULL, 'e'},
		{"identity", required_argument, NULL, 'i'},
		{"api-secret", required_argument, NULL, 'a'},
		{"private-key", required_argument, NULL, 'k'},
		{"replace", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	const char *type = NULL, *secret = NULL, *edkey = NULL, *identity = NULL, *api = NULL, *priv = NULL;
	char generated[48];
	struct src_entry e;
	struct cu_err err;
	int c, hmac = 0, replace = 0, printed = 0, rc = EXIT_FAIL;

	cu_err_clear(&err);
	memset(&e, 0, sizeof(e));
	generated[0] = '\0';
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': type = optarg; break;
		case 's': secret = optarg; break;
		case 'H': hmac = 1; break;
		case 'e': edkey = optarg; break;
		case 'i': identity = optarg; break;
		case 'a': api = optarg; break;
		case 'k': priv = optarg; break;
		case 'R': replace = 1; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage("source", "add takes exactly one NAME");
	if (!src_name_valid(argv[optind]))
		return cli_usage("source", "source name must be 1-%d characters of A-Z a-z 0-9 . _ @ : -",
				 SRC_NAME_MAX);
	snprintf(e.name, sizeof(e.name), "%s", argv[optind]);
	e.type = src_type_from_name(type);
	switch (e.type) {
	case SRC_XMPP:
		if (edkey || identity || api || priv)
			return cli_usage("source", "an xmpp source takes only --secret");
		hmac = 1;
		break;
	case SRC_GENERIC:
		if (identity || api || priv)
			return cli_usage("source", "a generic source takes --ed25519-key or --hmac/--secret");
		if (secret)
			hmac = 1;
		if (!edkey && !hmac)
			return cli_usage("source", "a generic source needs --ed25519-key FILE|HEX or --hmac");
		if (edkey && hmac)
			return cli_usage("source", "choose one of --ed25519-key and --hmac");
		break;
	case SRC_THREEMA:
		if (edkey || hmac || secret)
			return cli_usage("source", "a threema source takes --identity, --api-secret, --private-key");
		if (!api || !priv)
			return cli_usage("source", "a threema source needs --api-secret and --private-key");
		break;
	case SRC_MATRIX:
		return cli_usage("source", "Matrix sources are made by: custos matrix-registration -d DIR --url URL");
	default:
		return cli_usage("source", "--type must be xmpp, generic or threema");
	}
	if (hmac) {
		if (!secret) {
			if (src_random_secret(generated) != 0) {
				cu_err_set(&err, CU_ECRYPTO, "no randomness");
				goto fail;
			}
			secret = generated;
			printed = 1;
		}
		if (set_secret(e.hmac_secret, &e.hmac_secret_len, secret, "--secret", &err))
			goto fail;
	}
	if (edkey) {
		if (read_key(edkey, 1, 0, e.ed25519_pub, &err))
			goto fail;
		e.has_ed25519 = 1;
	}
	if (identity) {
		if (!src_threema_id_valid(identity)) {
			rc = cli_usage("source", "--identity must be a Threema ID (8 characters A-Z 0-9 *)");
			goto out;
		}
		memcpy(e.identity, identity, SRC_THREEMA_ID_LEN + 1);
	}
	if (api && set_secret(e.api_secret, &e.api_secret_len, api, "--api-secret", &err))
		goto fail;
	if (priv) {
		if (read_key(priv, 0, 1, e.private_key, &err))
			goto fail;
		e.has_private_key = 1;
	}
	if (src_add(cli_datadir(dir), &e, replace, &err) != 0)
		goto fail;
	if (printed)
		printf("%s\n", generated);
	fprintf(stderr, "custos source: added %s source '%s'%s\n", src_type_name(e.type), e.name,
		printed ? "; its secret (above) is shown only now" : "");
	rc = EXIT_OK;
	goto out;
fail:
	rc = cli_fail("source", &err);
out:
	OPENSSL_cleanse(generated, sizeof(generated));
	src_entry_release(&e);
	return rc;
}

static int source_peer(const char *dir, int argc, char **argv)
{
	uint8_t pub[SRC_KEY_LEN];
	struct cu_err err;
	int c;
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 3 != argc)
		return cli_usage("source", "peer-key takes NAME THREEMA-ID PUBLIC-KEY");
	if (read_key(argv[optind + 2], 0, 0, pub, &err) != 0 ||
	    src_set_peer(cli_datadir(dir), argv[optind], argv[optind + 1], pub, &err) != 0)
		return cli_fail("source", &err);
	fprintf(stderr, "custos source: %s: public key of %s stored\n", argv[optind], argv[optind + 1]);
	return EXIT_OK;
}

static json_t *entry_summary(const struct src_entry *e)
{
	char ts[32], hex[2 * SRC_KEY_LEN + 1];
	json_t *o;

	time_format_rfc3339(e->created_ms, ts, sizeof(ts));
	o = json_pack("{s:s, s:s, s:s}", "name", e->name, "type", src_type_name(e->type), "created", ts);
	if (!o)
		return NULL;
	/* Secrets are never printed: only whether they are set. */
	if (e->has_hs_token)
		json_object_set_new(o, "hs_token", json_string("set"));
	if (e->as_id[0])
		json_object_set_new(o, "as_id", json_string(e->as_id));
	if (e->url[0])
		json_object_set_new(o, "url", json_string(e->url));
	if (e->hmac_secret_len)
		json_object_set_new(o, "hmac_secret", json_string("set"));
	if (e->has_ed25519) {
		hex_encode(e->ed25519_pub, SRC_KEY_LEN, hex);
		json_object_set_new(o, "ed25519_public_key", json_string(hex));
	}
	if (e->identity[0])
		json_object_set_new(o, "identity", json_string(e->identity));
	if (e->api_secret_len)
		json_object_set_new(o, "api_secret", json_string("set"));
	if (e->has_private_key)
		json_object_set_new(o, "private_key", json_string("set"));
	if (e->type == SRC_THREEMA)
		json_object_set_new(o, "peer_keys", json_integer((json_int_t)e->npeers));
	return o;
}

static int source_list(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct src_set s;
	struct cu_err err;
	size_t i;
	int c, json = 0;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': json = 1; break;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage("source", "list takes no arguments");
	if (src_load(cli_datadir(dir), &s, &err) != 0)
		return cli_fail("source", &err);
	for (i = 0; i < s.n; i++) {
		json_t *o = entry_summary(&s.v[i]);

		if (!o)
			continue;
		if (json) {
			char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

			if (t)
				printf("%s\n", t);
			free(t);
		} else {
			const char *k;
			json_t *v;

			printf("%-20s %-8s", s.v[i].name, src_type_name(s.v[i].type));
			json_object_foreach(o, k, v) {
				if (!strcmp(k, "name") || !strcmp(k, "type"))
					continue;
				if (json_is_string(v))
					printf(" %s=%s", k, json_string_value(v));
				else if (json_is_integer(v))
					printf(" %s=%" JSON_INTEGER_FORMAT, k, json_integer_value(v));
			}
			printf("\n");
		}
		json_decref(o);
	}
	src_set_release(&s);
	return EXIT_OK;
}

static int source_remove(const char *dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct cu_err err;
	int c;

	cu_err_clear(&err);
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_usage("source", "remove takes exactly one NAME");
	if (src_remove(cli_datadir(dir), argv[optind], &err) != 0)
		return cli_fail("source", &err);
	fprintf(stderr, "custos source: removed '%s' (its records stay in the archive)\n", argv[optind]);
	return EXIT_OK;
}

int cmd_source(int argc, char **argv)
{
	const char *sub;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	sub = argv[1];
	optind = 1;
	if (!strcmp(sub, "add"))
		return source_add(NULL, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return source_list(NULL, argc - 1, argv + 1);
	if (!strcmp(sub, "remove"))
		return source_remove(NULL, argc - 1, argv + 1);
	if (!strcmp(sub, "peer-key"))
		return source_peer(NULL, argc - 1, argv + 1);
	usage(stderr);
	return EXIT_USAGE;
}
