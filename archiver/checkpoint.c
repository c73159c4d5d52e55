/* checkpoint.c - C2SP tlog-checkpoint notes signed per C2SP signed-note
 * with the archive's Ed25519 key (docs/PROOFS.md "Checkpoints").
 *
 * The parser is deliberately strict, because a checkpoint is evidence: a
 * note is accepted only if every byte is where the specifications put it.
 * Rules beyond the specifications (all documented in docs/PROOFS.md):
 *   - exactly three body lines: custos never writes extension lines, so a
 *     note with any is not one of ours;
 *   - the root line is the canonical base64 of exactly 32 bytes;
 *   - our own key name (the origin) is printable ASCII without space or '+'.
 * Signature lines from other keys (witness cosignatures, an older archive
 * key under the same name) are syntax-checked and otherwise ignored, as the
 * signed-note specification requires.
 */
#include "archiver/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/keys.h"
#include "common/bytes.h"
#include "common/encode.h"
#include "common/utf8.h"

#define EM_DASH_SP "\xe2\x80\x94 " /* U+2014 EM DASH then a space */
#define EM_DASH_SP_LEN 4
#define ROOT_B64_LEN 44            /* base64 of 32 bytes, with one '=' */
#define SIG_ED25519_LEN (4 + KEY_SIG_LEN) /* key id || signature */

/* Unicode White_Space code points (what Go's unicode.IsSpace matches). */
static int is_unicode_space(uint32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

/* signed-note: the note is valid UTF-8 with no control character other
 * than newline. */
static int check_note_bytes(const char *note, size_t len, struct cu_err *err)
{
	const uint8_t *p = (const uint8_t *)note;
	size_t i = 0, k;
	uint32_t c;

	while (i < len) {
		k = utf8_decode(p + i, len - i, &c);
		if (k == 0)
			return cu_err_set(err, CU_EINVAL,
					  "checkpoint is not valid UTF-8 (byte %zu)", i);
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return cu_err_set(err, CU_EINVAL,
					  "checkpoint contains control character 0x%02x (byte %zu)",
					  (unsigned)c, i);
		i += k;
	}
	return 0;
}

/* A key name per signed-note: non-empty, no Unicode space, no '+'. The
 * bytes are already known to be valid UTF-8. */
static int valid_key_name(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, k;
	uint32_t c;

	if (n == 0)
		return 0;
	while (i < n) {
		k = utf8_decode(p + i, n - i, &c);
		if (k == 0 || is_unicode_space(c) || c == '+')
			return 0;
		i += k;
	}
	return 1;
}

/* Our own key names (= origins we sign under): 1..255 bytes of printable
 * ASCII other than space and '+'. Narrower than signed-note on purpose, so
 * no look-alike Unicode name can pass for the archive's. */
static int valid_own_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= sizeof(((struct checkpoint *)0)->origin))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '+')
			return 0;
	return 1;
}

/* Strict base64: padding required, alphabet only, and canonical (the
 * unused low bits of the last character are zero), checked by re-encoding.
 * Without the last rule two different strings would carry one value. */
static int b64_strict(const char *in, size_t inlen, size_t max, uint8_t **out, size_t *outlen)
{
	char *again;
	int rc;

	rc = b64_decode(in, inlen, max, out, outlen);
	if (rc)
		return rc;
	again = b64_encode(*out, *outlen);
	if (!again || strlen(again) != inlen || memcmp(again, in, inlen) != 0) {
		free(*out);
		*out = NULL;
		*outlen = 0;
		rc = again ? CU_EINVAL : CU_ENOMEM;
	}
	free(again);
	return rc;
}

/* Finds the end of the line starting at *pos; the line must end in '\n'. */
static int next_line(const char *note, size_t len, size_t *pos, const char **line,
		     size_t *line_len)
{
	const char *nl;

	if (*pos >= len)
		return CU_EINVAL;
	nl = memchr(note + *pos, '\n', len - *pos);
	if (!nl)
		return CU_EINVAL;
	*line = note + *pos;
	*line_len = (size_t)(nl - *line);
	*pos = (size_t)(nl - note) + 1;
	return 0;
}

/* ASCII decimal, no sign, no leading zeros (except "0"), fits in 64 bits. */
static int parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return CU_EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return CU_EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return CU_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Parses the note text; *body_len is the length of the signed text (the
 * three lines with their newlines), *sigs the offset of the first signature
 * line. Every signature line is syntax-checked here. */
static int parse_note(const char *note, size_t len, struct checkpoint *out, size_t *body_len,
		      size_t *sigs, struct cu_err *err)
{
	const char *line;
	size_t line_len, pos = 0, nsig = 0;
	uint8_t *root = NULL;
	size_t root_len = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > CKPT_MAX_LEN) {
		rc = cu_err_set(err, CU_ETOOBIG, "checkpoint larger than %d bytes", CKPT_MAX_LEN);
		goto out;
	}
	if (len == 0 || note[len - 1] != '\n') {
		rc = cu_err_set(err, CU_EINVAL, "checkpoint does not end with a newline");
		goto out;
	}
	rc = check_note_bytes(note, len, err);
	if (rc)
		goto out;

	/* Line 1: origin. */
	if (next_line(note, len, &pos, &line, &line_len) != 0 || line_len == 0) {
		rc = cu_err_set(err, CU_EINVAL, "checkpoint origin line is empty");
		goto out;
	}
	if (line_len >= sizeof(out->origin)) {
		rc = cu_err_set(err, CU_EINVAL, "checkpoint origin longer than %zu bytes",
				sizeof(out->origin) - 1);
		goto out;
	}
	memcpy(out->origin, line, line_len);
	out->origin[line_len] = '\0';

	/* Line 2: tree size. */
	if (next_line(note, len, &pos, &line, &line_len) != 0 ||
	    parse_size(line, line_len, &out->size) != 0) {
		rc = cu_err_set(err, CU_EINVAL,
				"checkpoint tree size line is not a decimal number without "
				"leading zeros");
		goto out;
	}

	/* Line 3: root hash. */
	if (next_line(note, len, &pos, &line, &line_len) != 0 || line_len != ROOT_B64_LEN ||
	    b64_strict(line, line_len, HASH_LEN, &root, &root_len) != 0 || root_len != HASH_LEN) {
		rc = cu_err_set(err, CU_EINVAL,
				"checkpoint root hash line is not the base64 of 32 bytes");
		goto out;
	}
	memcpy(out->root, root, HASH_LEN);
	*body_len = pos;

	/* Then the blank separator line: no extension lines in our notes. */
	if (next_line(note, len, &pos, &line, &line_len) != 0) {
		rc = cu_err_set(err, CU_EINVAL, "checkpoint has no signature lines");
		goto out;
	}
	if (line_len != 0) {
		rc = cu_err_set(err, CU_EINVAL,
				"checkpoint has a fourth line before the blank line "
				"(custos checkpoints have no extension lines)");
		goto out;
	}
	*sigs = pos;

	/* Signature lines: "— <name> <base64>\n", at least one. */
	while (pos < len) {
		const char *sp;
		uint8_t *sig = NULL;
		size_t sig_len = 0, name_len;

		if (next_line(note, len, &pos, &line, &line_len) != 0) {
			rc = cu_err_set(err, CU_EINVAL, "checkpoint signature line %zu is not terminated",
					nsig + 1);
			goto out;
		}
		nsig++;
		if (line_len < EM_DASH_SP_LEN || memcmp(line, EM_DASH_SP, EM_DASH_SP_LEN) != 0) {
			rc = cu_err_set(err, CU_EINVAL,
					"checkpoint signature line %zu does not start with an em dash "
					"(U+2014) and a space",
					nsig);
			goto out;
		}
		line += EM_DASH_SP_LEN;
		line_len -= EM_DASH_SP_LEN;
		sp = memchr(line, ' ', line_len);
		name_len = sp ? (size_t)(sp - line) : 0;
		if (!sp || !valid_key_name(line, name_len)) {
			rc = cu_err_set(err, CU_EINVAL,
					"checkpoint signature line %zu has no valid key name", nsig);
			goto out;
		}
		if (b64_strict(sp + 1, line_len - name_len - 1, CKPT_MAX_LEN, &sig, &sig_len) != 0 ||
		    sig_len < 5) {
			free(sig);
			rc = cu_err_set(err, CU_EINVAL,
					"checkpoint signature line %zu: signature is not base64 of a "
					"key id and a signature",
					nsig);
			goto out;
		}
		free(sig);
	}
	if (nsig == 0) {
		rc = cu_err_set(err, CU_EINVAL, "checkpoint has no signature lines");
		goto out;
	}
out:
	free(root);
	return rc;
}

int ckpt_key_id(const char *name, EVP_PKEY *pub, uint8_t out[4])
{
	uint8_t msg[256 + 2 + KEY_PUB_LEN];
	uint8_t digest[HASH_LEN];
	size_t n;
	int rc;

	if (!name)
		return CU_EINVAL;
	n = strlen(name);
	if (n == 0 || n > 256)
		return CU_EINVAL;
	memcpy(msg, name, n);
	msg[n] = '\n';
	msg[n + 1] = 0x01; /* signed-note signature type: Ed25519 */
	rc = key_public_raw(pub, msg + n + 2);
	if (rc)
		return rc;
	rc = hash_sha256(msg, n + 2 + KEY_PUB_LEN, digest);
	if (rc)
		return rc;
	memcpy(out, digest, 4);
	return 0;
}

int ckpt_sign(const struct checkpoint *c, EVP_PKEY *key, char **note_out, struct cu_err *err)
{
	char body[sizeof(c->origin) + 24 + ROOT_B64_LEN + 2];
	uint8_t blob[SIG_ED25519_LEN];
	char *root_b64 = NULL, *sig_b64 = NULL, *note = NULL;
	size_t origin_len, note_cap;
	int n, rc = 0;

	*note_out = NULL;
	origin_len = strnlen(c->origin, sizeof(c->origin));
	if (!valid_own_name(c->origin, origin_len)) {
		rc = cu_err_set(err, CU_EINVAL,
				"checkpoint origin must be 1-255 bytes of printable ASCII "
				"without spaces or '+'");
		goto out;
	}
	root_b64 = b64_encode(c->root, HASH_LEN);
	if (!root_b64) {
		rc = cu_err_set(err, CU_ENOMEM, "checkpoint: out of memory");
		goto out;
	}
	n = snprintf(body, sizeof(body), "%s\n%llu\n%s\n", c->origin,
		     (unsigned long long)c->size, root_b64);
	if (n < 0 || (size_t)n >= sizeof(body)) {
		rc = cu_err_set(err, CU_EINVAL, "checkpoint body too long");
		goto out;
	}
	rc = ckpt_key_id(c->origin, key, blob);
	if (rc) {
		rc = cu_err_set(err, rc, "checkpoint: key is not an Ed25519 key");
		goto out;
	}
	rc = key_sign(key, body, (size_t)n, blob + 4);
	if (rc) {
		rc = cu_err_set(err, rc, "checkpoint: signing failed");
		goto out;
	}
	sig_b64 = b64_encode(blob, sizeof(blob));
	if (!sig_b64) {
		rc = cu_err_set(err, CU_ENOMEM, "checkpoint: out of memory");
		goto out;
	}
	note_cap = (size_t)n + 1 + EM_DASH_SP_LEN + origin_len + 1 + strlen(sig_b64) + 2;
	note = malloc(note_cap);
	if (!note) {
		rc = cu_err_set(err, CU_ENOMEM, "checkpoint: out of memory");
		goto out;
	}
	snprintf(note, note_cap, "%s\n" EM_DASH_SP "%s %s\n", body, c->origin, sig_b64);
	*note_out = note;
	note = NULL;
out:
	free(root_b64);
	free(sig_b64);
	free(note);
	return rc;
}

int ckpt_parse(const char *note, size_t len, struct checkpoint *out, struct cu_err *err)
{
	size_t body_len, sigs;

	return parse_note(note, len, out, &body_len, &sigs, err);
}

/* The verification proper, for ckpt_verify (key name = origin) and
 * ckpt_verify_named. */
static int verify_note(const char *note, size_t len, EVP_PKEY *pub, const char *key_name,
		       struct checkpoint *out, struct cu_err *err)
{
	struct checkpoint c;
	uint8_t want_id[4];
	size_t body_len = 0, pos = 0, name_len, good = 0;
	uint32_t other_id = 0;
	int other_id_seen = 0, rc;

	memset(out, 0, sizeof(*out));
	rc = parse_note(note, len, &c, &body_len, &pos, err);
	if (rc)
		goto out;
	if (!key_name) {
		/* Our own checkpoints: the key name is the origin, held to the
		 * narrower rules ckpt_sign enforces. */
		key_name = c.origin;
		name_len = strlen(key_name);
		if (!valid_own_name(key_name, name_len)) {
			rc = cu_err_set(err, CU_EINVAL,
					"checkpoint origin \"%s\" is not a valid key name "
					"(printable ASCII without spaces or '+')",
					key_name);
			goto out;
		}
	} else {
		name_len = strlen(key_name);
		if (!valid_key_name(key_name, name_len) || name_len > 256) {
			rc = cu_err_set(err, CU_EINVAL, "\"%s\" is not a valid key name",
					key_name);
			goto out;
		}
	}
	if (ckpt_key_id(key_name, pub, want_id) != 0) {
		rc = cu_err_set(err, CU_EINVAL, "the public key is not an Ed25519 key");
		goto out;
	}
	/* parse_note has checked the syntax of every line already. */
	while (pos < len) {
		const char *line = note + pos + EM_DASH_SP_LEN;
		const char *nl = memchr(line, '\n', len - pos - EM_DASH_SP_LEN);
		const char *sp = memchr(line, ' ', (size_t)(nl - line));
		uint8_t *blob = NULL;
		size_t blob_len = 0;

		pos = (size_t)(nl - note) + 1;
		if ((size_t)(sp - line) != name_len || memcmp(line, key_name, name_len) != 0)
			continue; /* another key's line: a witness cosignature */
		if (b64_strict(sp + 1, (size_t)(nl - sp - 1), CKPT_MAX_LEN, &blob, &blob_len) != 0) {
			rc = cu_err_set(err, CU_EINVAL, "checkpoint signature line is not base64");
			goto out;
		}
		if (memcmp(blob, want_id, 4) != 0) {
			/* Same name, other key (e.g. before a key rotation): the
			 * spec says to ignore it. Remember it for the message. */
			other_id = get_be32(blob);
			other_id_seen = 1;
			free(blob);
			continue;
		}
		if (blob_len != SIG_ED25519_LEN ||
		    key_verify(pub, note, body_len, blob + 4) != 0) {
			free(blob);
			rc = cu_err_set(err, CU_ECRYPTO,
					"checkpoint signature invalid: the signature line of key "
					"%s+%08x does not verify",
					key_name, get_be32(want_id));
			goto out;
		}
		free(blob);
		good++;
	}
	if (good == 0) {
		if (other_id_seen)
			rc = cu_err_set(err, CU_ECRYPTO,
					"checkpoint signature invalid: it is signed by key %s+%08x, "
					"not by the given public key (key id %08x)",
					key_name, other_id, get_be32(want_id));
		else
			rc = cu_err_set(err, CU_ECRYPTO,
					"checkpoint signature invalid: no signature line by key %s+%08x",
					key_name, get_be32(want_id));
		goto out;
	}
	*out = c;
out:
	return rc;
}

int ckpt_verify(const char *note, size_t len, EVP_PKEY *pub, struct checkpoint *out,
		struct cu_err *err)
{
	return verify_note(note, len, pub, NULL, out, err);
}

int ckpt_verify_named(const char *note, size_t len, EVP_PKEY *pub, const char *key_name,
		      struct checkpoint *out, struct cu_err *err)
{
	if (!key_name)
		return cu_err_set(err, CU_EINVAL, "checkpoint: no key name given");
	return verify_note(note, len, pub, key_name, out, err);
}
