/* encode.h - hex and base64 text encodings (base64 through OpenSSL EVP). */
#ifndef CUSTOS_COMMON_ENCODE_H
#define CUSTOS_COMMON_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Writes 2*n lowercase hex digits and a NUL to out (size >= 2*n+1). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly n bytes from 2*n hex digits; CU_EINVAL otherwise. */
int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n) CU_MUST_CHECK;
/* The value of one hex digit (either case), -1 for any other character. */
int hex_digit_value(char c);

/* Standard base64 with padding. Returns a malloc'd NUL-terminated string. */
char *b64_encode(const uint8_t *in, size_t n);
/* Decodes standard base64 (padding required) into a malloc'd buffer of at
 * most max bytes; CU_EINVAL on bad input, CU_ETOOBIG over max. */
int b64_decode(const char *in, size_t inlen, size_t max, uint8_t **out, size_t *outlen) CU_MUST_CHECK;

#endif
