/* fuzz_threema.c - Threema Gateway callbacks (ingest/threema.h). The
 * input is parsed as a callback form twice: with a source whose API
 * secret is fixed (the MAC check refuses almost everything, which must be
 * CU_EDENIED or a named form error), and through the form decoder, box
 * opening and content decoding directly: the first bytes choose a padding
 * length and the rest is a plaintext that is boxed with fixed keys, so the
 * type handlers (text, file JSON, receipts, protobuf edits) see arbitrary
 * content. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "ingest/threema.h"

#define SECRET "fuzz-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t gw_pk[32], gw_sk[32], user_pk[32], user_sk[32];

static void keys(void)
{
	static int done;
	uint8_t seed[32];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(seed, 1, sizeof(seed));
	crypto_box_seed_keypair(gw_pk, gw_sk, seed);
	memset(seed, 2, sizeof(seed));
	crypto_box_seed_keypair(user_pk, user_sk, seed);
	done = 1;
}

static void source(struct src_entry *e, struct src_peer *peer)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "threema");
	e->type = SRC_THREEMA;
	e->api_secret_len = strlen(SECRET);
	memcpy(e->api_secret, SECRET, e->api_secret_len + 1);
	e->has_private_key = 1;
	memcpy(e->private_key, gw_sk, 32);
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->id, "ECHOECHO", 9);
	memcpy(peer->pub, user_pk, 32);
	e->peers = peer;
	e->npeers = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src_entry src;
	struct src_peer peer;
	struct th_msg m;
	struct cu_err err;
	uint8_t nonce[24] = {0}, *msg = NULL, *box = NULL, mac[32];
	char *form = NULL, *boxhex = NULL, *macin = NULL, nonce_hex[49], mac_hex[65];
	size_t n, i, len;
	int rc;

	keys();
	source(&src, &peer);

	/* 1: the input as the form body. */
	cu_err_clear(&err);
	rc = th_parse_callback((const char *)data, size, &src, &m, &err);
	if (rc == 0)
		th_msg_release(&m);
	else if (!err.msg[0])
		abort();

	/* 2: the input as a plaintext, in a correctly boxed and MACed form. */
	if (size < 1 || size > 4000)
		return 0;
	n = (size_t)(data[0] % 4); /* 0: no padding (invalid), else 1..3 bytes */
	len = size - 1 + n;
	msg = malloc(len + 1);
	box = malloc(len + crypto_box_MACBYTES);
	boxhex = malloc(2 * (len + crypto_box_MACBYTES) + 1);
	if (!msg || !box || !boxhex)
		goto out;
	memcpy(msg, data + 1, size - 1);
	for (i = 0; i < n; i++)
		msg[size - 1 + i] = (uint8_t)n;
	if (len == 0)
		goto out;
	if (crypto_box_easy(box, msg, len, nonce, gw_pk, user_sk) != 0)
		abort();
	hex_encode(box, len + crypto_box_MACBYTES, boxhex);
	hex_encode(nonce, 24, nonce_hex);
	if (asprintf(&macin, "ECHOECHO*GATEWAY00112233445566771714564800%s%s", nonce_hex, boxhex) < 0) {
		macin = NULL;
		goto out;
	}
	if (src_hmac_sha256(SECRET, strlen(SECRET), macin, strlen(macin), mac) != 0)
		abort();
	hex_encode(mac, 32, mac_hex);
	if (asprintf(&form, "from=ECHOECHO&to=*GATEWAY&messageId=0011223344556677&date=1714564800&nonce=%s&box=%s&mac=%s",
		     nonce_hex, boxhex, mac_hex) < 0) {
		form = NULL;
		goto out;
	}
	cu_err_clear(&err);
	if (th_parse_callback(form, strlen(form), &src, &m, &err) != 0)
		abort(); /* a correctly MACed callback is always archived */
	if (n == 0 && !(m.in.rec.flags & REC_F_ENCRYPTED) && msg[len - 1] == 0)
		abort(); /* a zero padding byte is never valid */
	th_msg_release(&m);
out:
	free(msg);
	free(box);
	free(boxhex);
	free(macin);
	free(form);
	return 0;
}
