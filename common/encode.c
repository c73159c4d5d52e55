/* encode.c - hex and base64. */
#include "common/encode.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (inlen != 2 * n)
		return CU_EINVAL;
	for (i = 0; i < n; i++) {
		hi = hex_digit_value(in[2 * i]);
		lo = hex_digit_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CU_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *b64_encode(const uint8_t *in, size_t n)
{
	char *out;

	if (n > (size_t)(1u << 30))
		return NULL;
	out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

int b64_decode(const char *in, size_t inlen, size_t max, uint8_t **out, size_t *outlen)
{
	uint8_t *p;
	int n;
	size_t pad = 0;

	*out = NULL;
	*outlen = 0;
	if (inlen % 4 != 0 || inlen > (size_t)(1u << 30))
		return CU_EINVAL;
	if (inlen / 4 * 3 > max + 2)
		return CU_ETOOBIG;
	/* EVP_DecodeBlock accepts whitespace and does not report padding;
	 * reject anything outside the alphabet ourselves. */
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '+' || c == '/' ||
			 (c == '=' && i >= inlen - 2);
		if (!ok)
			return CU_EINVAL;
	}
	if (inlen >= 1 && in[inlen - 1] == '=')
		pad++;
	if (inlen >= 2 && in[inlen - 2] == '=') {
		if (pad == 0)
			return CU_EINVAL;
		pad++;
	}
	p = malloc(inlen / 4 * 3 + 1);
	if (!p)
		return CU_ENOMEM;
	n = inlen ? EVP_DecodeBlock(p, (const unsigned char *)in, (int)inlen) : 0;
	if (n < 0 || (size_t)n < pad) {
		free(p);
		return CU_EINVAL;
	}
	if ((size_t)n - pad > max) {
		free(p);
		return CU_ETOOBIG;
	}
	*out = p;
	*outlen = (size_t)n - pad;
	return 0;
}
