/* fuzz_util.h - helpers shared by the libFuzzer targets in tests/fuzz/:
 * the fixed Ed25519 key that the committed proof and checkpoint seeds are
 * signed with (tests/fuzz/make_seeds.sh writes the same key into the
 * archive it generates them from), and a temporary data directory created
 * once per process.
 *
 * The key is a test key published here on purpose: it signs nothing but
 * fuzz seeds.
 */
#ifndef CUSTOS_TESTS_FUZZ_UTIL_H
#define CUSTOS_TESTS_FUZZ_UTIL_H

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 32-byte Ed25519 private key seed: bytes 0x00..0x1f. make_seeds.sh
 * builds the PKCS#8 PEM of the same seed. */
static inline EVP_PKEY *fuzz_key(void)
{
	static EVP_PKEY *key;
	uint8_t seed[32];
	int i;

	if (!key) {
		for (i = 0; i < 32; i++)
			seed[i] = (uint8_t)i;
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
		if (!key) {
			fprintf(stderr, "fuzz: cannot make the Ed25519 key\n");
			abort();
		}
	}
	return key;
}

/* The origin (= checkpoint key name) the seeds use. */
#define FUZZ_ORIGIN "fuzz.example/custos"

/* A fresh directory under $TMPDIR (or /tmp), made once per process and
 * left behind on exit (libFuzzer exits through many paths). */
static inline const char *fuzz_tmpdir(const char *tag)
{
	static char dir[512];
	const char *t = getenv("TMPDIR");

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/custos-fuzz-%s-XXXXXX", t && *t ? t : "/tmp", tag);
		if (!mkdtemp(dir)) {
			perror("fuzz: mkdtemp");
			abort();
		}
	}
	return dir;
}

#endif
