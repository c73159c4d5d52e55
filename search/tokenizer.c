/* tokenizer.c - words, folding, German stemming and compounds for the
 * search index (see tokenizer.h and docs/SEARCH.md). */
#include "search/tokenizer.h"

#include <libstemmer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

#define STEM_CACHE_SLOTS 16384 /* direct-mapped; a power of two */
#define STEM_KEY_MAX TOK_MAX_WORD
#define STEM_SLOT_KEY 28       /* longer words (rare) bypass the cache */

/* One cached stem: key is the stemmer input, val the folded stem. A slot
 * is one cache line (64 bytes), so that a lookup costs one memory access:
 * the cache is larger than the CPU's caches and every word looks it up. */
struct stem_slot {
	uint8_t klen;               /* bytes of key; 0 = empty slot */
	uint8_t vlen;               /* bytes of val */
	uint32_t sink_gen;          /* the word went to the sink in this generation (0: not yet) */
	char key[STEM_SLOT_KEY];    /* stemmer input (lower case, umlauts kept) */
	char val[STEM_SLOT_KEY];    /* folded stem */
};

struct tok_ctx {
	struct sb_stemmer *stemmer;            /* libstemmer "german", UTF-8 */
	const struct tok_sink *sink;           /* FTS5 instances: where stemmable words go */
	struct stem_slot *last_slot;           /* slot of the word being emitted (NULL: not cached) */
	struct stem_slot cache[STEM_CACHE_SLOTS]; /* words repeat a lot: skip the stemmer */
};

/* Character classes. */
enum { CL_OTHER = 0, CL_WORD = 1, CL_CONN = 2 };

/* Classes of the ASCII bytes, for the fast path through plain ASCII text
 * (most of every message): '0' other, '1' letter or digit, '2' connector,
 * '3' the comma (a connector only between two digits). Must agree with
 * cls_of() below. */
static const char ascii_cls[129] =
	"0000000000000000"
	"0000000000000000"
	"0202222200023222"
	"1111111111200202"
	"2111111111111111"
	"1111111111100002"
	"0111111111111111"
	"1111111111100020";

#define ACL(c) (ascii_cls[(unsigned char)(c)] - '0')
enum { ACL_OTHER = 0, ACL_WORD = 1, ACL_CONN = 2, ACL_COMMA = 3 };

/* ---- UTF-8 ---------------------------------------------------------- */

/* Decodes one code point at s[*i]; advances *i. Returns the code point or
 * UINT32_MAX for an invalid byte (skipped as a separator). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	uint32_t cp;
	size_t n;

	if (s[*i] < 0x80) /* the common case, without a call */
		return s[(*i)++];
	n = utf8_decode(s + *i, len - *i, &cp);
	if (n == 0) {
		(*i)++; /* invalid or truncated: one byte is skipped */
		return UINT32_MAX;
	}
	*i += n;
	return cp;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* ---- classes -------------------------------------------------------- */

static int is_combining(uint32_t cp)
{
	return (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
	       (cp >= 0x1DC0 && cp <= 0x1DFF);
}

/* Letters and digits of every script count as word characters; the
 * ranges below are punctuation, symbols, emoji, spaces and private use. */
static int cls_of(uint32_t cp)
{
	if (cp < 0x80) {
		if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
			return CL_WORD;
		switch (cp) {
		case '-': case '/': case '.': case '@': case ':': case '+': case '_':
		case '?': case '=': case '&': case '%': case '#': case '~': case '!':
		case '$': case '\'':
			return CL_CONN;
		default:
			return CL_OTHER;
		}
	}
	if (cp == UINT32_MAX)
		return CL_OTHER;
	if (cp < 0xC0)
		return (cp == 0xAA || cp == 0xB5 || cp == 0xBA) ? CL_WORD : CL_OTHER;
	if (cp == 0xD7 || cp == 0xF7)
		return CL_OTHER;
	if (cp < 0x370)
		return CL_WORD;
	if (cp == 0x37E || cp == 0x387 || (cp >= 0x55A && cp <= 0x55F) || cp == 0x589 ||
	    cp == 0x5BE || cp == 0x5C0 || cp == 0x5C3 || cp == 0x5C6 || cp == 0x5F3 || cp == 0x5F4 ||
	    (cp >= 0x600 && cp <= 0x60F && cp != 0x610) || cp == 0x61B || cp == 0x61F ||
	    (cp >= 0x66A && cp <= 0x66D) || cp == 0x6D4 || cp == 0x964 || cp == 0x965 ||
	    cp == 0x970 || cp == 0xE4F || cp == 0xE5A || cp == 0xE5B || cp == 0x10FB ||
	    cp == 0x1680 || (cp >= 0x166D && cp <= 0x166E) || (cp >= 0x16EB && cp <= 0x16ED))
		return CL_OTHER;
	if (cp == 0x2010 || cp == 0x2011 || cp == 0x2019)
		return CL_CONN; /* hyphen, non-breaking hyphen, typographic apostrophe */
	if (cp < 0x2000)
		return CL_WORD;
	if (cp < 0x2C00)
		return CL_OTHER; /* punctuation, symbols, arrows, math, box drawing ... */
	if (cp < 0x2E00)
		return CL_WORD;
	if (cp < 0x2E80)
		return CL_OTHER;
	if (cp < 0x3000)
		return CL_WORD;
	if (cp < 0x3040)
		return CL_OTHER; /* CJK punctuation, ideographic space */
	if (cp < 0xD800)
		return CL_WORD;
	if (cp < 0xF900)
		return CL_OTHER; /* surrogates, private use */
	if (cp < 0xFE00)
		return (cp == 0xFD3E || cp == 0xFD3F) ? CL_OTHER : CL_WORD;
	if (cp < 0xFE70)
		return CL_OTHER; /* variation selectors, vertical and small forms */
	if (cp < 0xFEFF)
		return CL_WORD;
	if (cp < 0xFF00)
		return CL_OTHER;
	if ((cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) ||
	    (cp >= 0xFF41 && cp <= 0xFF5A) || (cp >= 0xFF66 && cp <= 0xFFDC))
		return CL_WORD;
	if (cp < 0x10000)
		return CL_OTHER;
	if (cp < 0x1F000)
		return CL_WORD;
	if (cp < 0x20000)
		return CL_OTHER; /* emoji and pictographs */
	if (cp < 0x40000)
		return CL_WORD;
	return CL_OTHER; /* tags, variation selectors, private use */
}

static int is_digit_cp(uint32_t cp)
{
	return cp >= '0' && cp <= '9';
}

static int is_sigil(uint32_t cp)
{
	return cp == '@' || cp == '!' || cp == '#' || cp == '+' || cp == '$';
}

/* ---- folding -------------------------------------------------------- */

/* Base letters of U+0100..U+017F (Latin Extended-A), both cases; '*'
 * marks the ligatures Ĳ ĳ Œ œ handled separately. */
static const char ext_a_base[129] =
	"aaaaaaccccccccdd" "ddeeeeeeeeeegggg" "gggghhhhiiiiiiii" "ii**jjkkklllllll"
	"lllnnnnnnnnnoooo" "oo**rrrrrrssssss" "sstttttttuuuuuuu" "uuuuwwyyyzzzzzzs";

/* Base letters of U+00C0..U+00FF, lower and upper alike; '*' = special. */
static const char latin1_base[65] =
	"aaaa*a*ceeeeiiii" "dnooooo*ouuu*y**" "aaaa*a*ceeeeiiii" "dnooooo*ouuu*y*y";

/* The folded forms of one code point. */
struct fold {
	char exact[8];     /* bytes for the exact token */
	size_t exact_len;
	char stem[8];      /* bytes for the stemmer input (umlauts and ß kept) */
	size_t stem_len;
	int german;        /* 1 if the stem bytes are a-z, ä, ö, ü or ß */
};

static void fold_set(struct fold *f, const char *ex, const char *st, int german)
{
	f->exact_len = strlen(ex);
	memcpy(f->exact, ex, f->exact_len);
	f->stem_len = strlen(st);
	memcpy(f->stem, st, f->stem_len);
	f->german = german;
}

static uint32_t lower_cp(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
		return cp + 32; /* Greek */
	if (cp >= 0x410 && cp <= 0x42F)
		return cp + 32; /* Cyrillic */
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 80;
	if (cp >= 0x460 && cp <= 0x4FF && !(cp & 1) && !(cp >= 0x482 && cp <= 0x489))
		return cp + 1;
	if (cp >= 0xFF21 && cp <= 0xFF3A)
		return cp - 0xFF21 + 'a'; /* fullwidth Latin */
	if (cp >= 0xFF41 && cp <= 0xFF5A)
		return cp - 0xFF41 + 'a';
	if (cp >= 0xFF10 && cp <= 0xFF19)
		return cp - 0xFF10 + '0';
	return cp;
}

/* Folds one word code point. Combining marks fold to nothing (the caller
 * handles U+0308 after a, o, u as an umlaut). */
static void fold_cp(uint32_t cp, struct fold *f)
{
	char c[2] = {0, 0};
	char u[5];
	size_t n;

	if (cp < 0x80) {
		/* the common case, without string functions */
		f->exact[0] = f->stem[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
		f->exact_len = f->stem_len = 1;
		f->german = 1;
		return;
	}
	cp = lower_cp(cp);
	if (is_combining(cp)) {
		fold_set(f, "", "", 1);
		return;
	}
	if (cp >= 0xC0 && cp <= 0xFF) {
		switch (cp) {
		case 0xC4: case 0xE4: fold_set(f, "ae", "\xc3\xa4", 1); return;
		case 0xD6: case 0xF6: fold_set(f, "oe", "\xc3\xb6", 1); return;
		case 0xDC: case 0xFC: fold_set(f, "ue", "\xc3\xbc", 1); return;
		case 0xDF: fold_set(f, "ss", "\xc3\x9f", 1); return;
		case 0xC6: case 0xE6: fold_set(f, "ae", "ae", 1); return;
		case 0xDE: case 0xFE: fold_set(f, "th", "th", 1); return;
		default:
			c[0] = latin1_base[cp - 0xC0];
			fold_set(f, c, c, 1);
			return;
		}
	}
	if (cp == 0xAA) {
		fold_set(f, "a", "a", 1);
		return;
	}
	if (cp == 0xBA) {
		fold_set(f, "o", "o", 1);
		return;
	}
	if (cp == 0xB5)
		cp = 0x3BC; /* micro sign -> Greek mu */
	if (cp >= 0x100 && cp <= 0x17F) {
		switch (cp) {
		case 0x132: case 0x133: fold_set(f, "ij", "ij", 1); return;
		case 0x152: case 0x153: fold_set(f, "oe", "oe", 1); return;
		default:
			c[0] = ext_a_base[cp - 0x100];
			fold_set(f, c, c, 1);
			return;
		}
	}
	if (cp == 0x1E9E) {
		fold_set(f, "ss", "\xc3\x9f", 1); /* capital sharp s */
		return;
	}
	if (cp >= 0xFB00 && cp <= 0xFB06) {
		static const char *const lig[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
		fold_set(f, lig[cp - 0xFB00], lig[cp - 0xFB00], 1);
		return;
	}
	n = utf8_put(u, cp);
	u[n] = '\0';
	fold_set(f, u, u, 0);
}

/* ---- stemming ------------------------------------------------------- */

/* Reads ae, oe, ue (not after q) as umlauts, as Snowball's german2
 * variant does, so that "Mueller" and "Müller" stem alike. */
static size_t german2_prelude(const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (i + 1 < n && in[i] == 'q' && in[i + 1] == 'u') {
			out[o++] = 'q';
			out[o++] = 'u';
			i += 2;
		} else if (i + 1 < n && in[i + 1] == 'e' &&
			   (in[i] == 'a' || in[i] == 'o' || in[i] == 'u')) {
			out[o++] = '\xc3';
			out[o++] = in[i] == 'a' ? '\xa4' : in[i] == 'o' ? '\xb6' : '\xbc';
			i += 2;
		} else {
			out[o++] = in[i++];
		}
	}
	return o;
}

static uint32_t fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

/* Stems in (stemmer input, <= STEM_KEY_MAX bytes) into out (folded),
 * returning its length (0 if the stemmer failed). */
static size_t stem_word(struct tok_ctx *tc, const char *in, size_t n, char *out)
{
	struct stem_slot *s;
	char pre[STEM_KEY_MAX];
	const sb_symbol *r;
	size_t pn, rn, i, o;
	struct fold f;

	s = NULL;
	tc->last_slot = NULL;
	if (n <= STEM_SLOT_KEY) {
		s = &tc->cache[fnv1a(in, n) & (STEM_CACHE_SLOTS - 1)];
		if (s->klen == n && !memcmp(s->key, in, n)) {
			memcpy(out, s->val, s->vlen);
			tc->last_slot = s;
			return s->vlen;
		}
	}
	pn = german2_prelude(in, n, pre);
	r = sb_stemmer_stem(tc->stemmer, (const sb_symbol *)pre, (int)pn);
	if (!r)
		return 0;
	rn = (size_t)sb_stemmer_length(tc->stemmer);
	/* The stemmer maps umlauts back to plain vowels; fold anything left. */
	for (i = 0, o = 0; i < rn;) {
		uint32_t cp = utf8_next(r, rn, &i);

		if (cp == UINT32_MAX)
			continue;
		fold_cp(cp, &f);
		if (o + f.exact_len > STEM_KEY_MAX)
			break;
		memcpy(out + o, f.exact, f.exact_len);
		o += f.exact_len;
	}
	if (s && o <= STEM_SLOT_KEY) {
		s->klen = (uint8_t)n;
		memcpy(s->key, in, n);
		s->vlen = (uint8_t)o;
		memcpy(s->val, out, o);
		s->sink_gen = 0;
		tc->last_slot = s;
	}
	return o;
}

/* ---- the word splitter ---------------------------------------------- */

/* State while emitting the words of one chunk. */
struct chunk {
	struct tok_ctx *tc;
	const unsigned char *s;   /* the whole text */
	size_t len;               /* its length */
	tok_word_fn fn;
	void *arg;
	char compound[TOK_MAX_COMPOUND + 1]; /* folded compound text */
	size_t compound_len;      /* 0 if the chunk is not a compound */
	size_t cstart, cend;      /* compound span */
	unsigned nparts;          /* words in the chunk */
};

/* Classifies the code point at i (consuming it), with the rule that a
 * comma between two digits joins a number ("1.234,56"). */
static int cls_at(const unsigned char *s, size_t len, size_t *i, uint32_t prev, uint32_t *cp_out)
{
	uint32_t cp;
	int cl;

	if (s[*i] < 0x80 && s[*i] != ',') {
		cp = s[(*i)++];
		*cp_out = cp;
		return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') ?
		       CL_WORD : cls_of(cp);
	}
	cp = utf8_next(s, len, i);
	cl = cls_of(cp);

	if (cp == ',' && is_digit_cp(prev) && *i < len && is_digit_cp(s[*i]))
		cl = CL_CONN;
	*cp_out = cp;
	return cl;
}

/* Stems and reports one folded word (exact[0..en), room for a NUL after
 * it); sin is the stemmer input, NULL if the word is not stemmed. */
static int finish_word(struct chunk *ch, char *exact, size_t en, const char *sin, size_t sn,
		       size_t ws, size_t we, unsigned part)
{
	char stem[TOK_MAX_WORD + 1];
	struct tok_word w;
	size_t stn;

	exact[en] = '\0';
	memset(&w, 0, sizeof(w));
	w.exact = exact;
	w.exact_len = en;
	ch->tc->last_slot = NULL;
	if (sin) {
		stn = stem_word(ch->tc, sin, sn, stem);
		if (stn > 0) {
			stem[stn] = '\0';
			w.stem = stem;
			w.stem_len = stn;
			w.stem_differs = stn != en || memcmp(stem, exact, en) != 0;
		}
	}
	w.start = ws;
	w.end = we;
	w.part = part;
	w.nparts = ch->nparts;
	if (ch->compound_len && part == 0) {
		w.compound = ch->compound;
		w.compound_len = ch->compound_len;
	}
	w.cstart = ch->compound_len ? ch->cstart : ws;
	w.cend = ch->compound_len ? ch->cend : we;
	return ch->fn(ch->arg, &w);
}

/* Emits one word (a run of word characters [ws, we)). */
static int emit_word(struct chunk *ch, size_t ws, size_t we, unsigned part)
{
	char exact[TOK_MAX_WORD + 1], sin[TOK_MAX_WORD + 1];
	size_t en = 0, sn = 0, i = ws;
	int german = 1, last_plain_vowel = 0, full = 0;
	struct fold f;

	while (i < we) {
		uint32_t cp = utf8_next(ch->s, we, &i);

		if (cp == UINT32_MAX)
			continue;
		if (cp == 0x308 && last_plain_vowel && !full) {
			/* combining diaeresis: a + U+0308 is ä */
			if (en + 1 > TOK_MAX_WORD) {
				full = 1;
				continue;
			}
			exact[en++] = 'e';
			if (sn + 1 <= TOK_MAX_WORD) {
				char v = sin[sn - 1];

				sin[sn - 1] = '\xc3';
				sin[sn++] = v == 'a' ? '\xa4' : v == 'o' ? '\xb6' : '\xbc';
			}
			last_plain_vowel = 0;
			continue;
		}
		fold_cp(cp, &f);
		if (f.exact_len == 0 || full)
			continue;
		if (en + f.exact_len > TOK_MAX_WORD || sn + f.stem_len > TOK_MAX_WORD) {
			full = 1; /* cut long words at a character boundary */
			continue;
		}
		memcpy(exact + en, f.exact, f.exact_len);
		en += f.exact_len;
		memcpy(sin + sn, f.stem, f.stem_len);
		sn += f.stem_len;
		german &= f.german;
		last_plain_vowel = f.exact_len == 1 && (f.exact[0] == 'a' || f.exact[0] == 'o' ||
							f.exact[0] == 'u') && cp < 0x80;
		if (cp >= '0' && cp <= '9')
			german = 0; /* numbers and codes are not stemmed */
	}
	if (en == 0)
		return 0;
	return finish_word(ch, exact, en, german ? sin : NULL, sn, ws, we, part);
}

/* A word run is empty when it holds only combining marks. */
static int run_has_base(const unsigned char *s, size_t a, size_t b)
{
	size_t i = a;

	if (a < b && s[a] < 0x80)
		return 1; /* an ASCII letter or digit */

	while (i < b) {
		uint32_t cp = utf8_next(s, b, &i);

		if (cp != UINT32_MAX && !is_combining(cp))
			return 1;
	}
	return 0;
}

/* Handles one chunk [a, b): a run of word and connector characters. */
static int do_chunk(struct chunk *ch, size_t a, size_t b)
{
	size_t i, j, fw = b, lw = a, ws, start;
	uint32_t cp, prev = 0, last_conn = 0;
	unsigned parts = 0, part;
	int cl, in_word = 0, sigil = 0, rc;
	struct fold f;

	/* Pass 1: first and last word character, sigil, word count. */
	for (i = a; i < b;) {
		j = i;
		cl = cls_at(ch->s, b, &i, prev, &cp);
		if (cl == CL_WORD) {
			if (fw == b) {
				fw = j;
				sigil = is_sigil(last_conn) && j > a && ch->s[j - 1] == last_conn;
			}
			lw = i;
		} else {
			last_conn = cp;
		}
		prev = cp;
	}
	if (fw == b)
		return 0; /* only connectors */
	start = sigil ? fw - 1 : fw;
	prev = 0;
	for (i = fw, ws = fw; i <= lw;) {
		j = i;
		cl = i < lw ? cls_at(ch->s, lw, &i, prev, &cp) : CL_OTHER;
		if (i == j)
			i++;
		if (cl == CL_WORD && !in_word) {
			in_word = 1;
			ws = j;
		} else if (cl != CL_WORD && in_word) {
			in_word = 0;
			parts += (unsigned)run_has_base(ch->s, ws, j);
		}
		prev = cp;
	}
	ch->nparts = parts ? parts : 1;
	ch->compound_len = 0;
	if (parts >= 2 || (sigil && parts >= 1)) {
		/* Build the folded compound, dropped when it is too long. */
		size_t o = 0;
		int ok = 1;

		prev = 0;
		for (i = start; i < lw && ok;) {
			cl = cls_at(ch->s, lw, &i, prev, &cp);
			prev = cp;
			if (cl == CL_WORD) {
				fold_cp(cp, &f);
				if (cp == 0x308 && o > 0 && (ch->compound[o - 1] == 'a' ||
							     ch->compound[o - 1] == 'o' ||
							     ch->compound[o - 1] == 'u')) {
					f.exact[0] = 'e';
					f.exact_len = 1;
				}
			} else {
				f.exact[0] = cp == 0x2019 ? '\'' : (cp == 0x2010 || cp == 0x2011) ? '-' : (char)cp;
				f.exact_len = 1;
			}
			if (o + f.exact_len > TOK_MAX_COMPOUND)
				ok = 0;
			else {
				memcpy(ch->compound + o, f.exact, f.exact_len);
				o += f.exact_len;
			}
		}
		if (ok && o > 0) {
			ch->compound[o] = '\0';
			ch->compound_len = o;
			ch->cstart = start;
			ch->cend = lw;
		}
	}
	/* Pass 2: the words. */
	prev = 0;
	in_word = 0;
	part = 0;
	for (i = fw, ws = fw; i <= lw;) {
		j = i;
		cl = i < lw ? cls_at(ch->s, lw, &i, prev, &cp) : CL_OTHER;
		if (i == j)
			i++;
		if (cl == CL_WORD && !in_word) {
			in_word = 1;
			ws = j;
		} else if (cl != CL_WORD && in_word) {
			in_word = 0;
			if (run_has_base(ch->s, ws, j)) {
				rc = emit_word(ch, ws, j, part);
				if (rc)
					return rc;
				part++;
			}
		}
		prev = cp;
	}
	return 0;
}

/* ---- the ASCII fast path --------------------------------------------- */

/* 1 if the comma at s[i] joins two digits (the rule of cls_at). */
static int comma_joins(const unsigned char *s, size_t len, size_t i, uint32_t prev)
{
	return is_digit_cp(prev) && i + 1 < len && is_digit_cp(s[i + 1]);
}

/* Emits one word of ASCII letters and digits [ws, we): what emit_word
 * does for such a run, without decoding or folding tables. */
static int emit_ascii(struct chunk *ch, size_t ws, size_t we, unsigned part)
{
	char exact[TOK_MAX_WORD + 1];
	size_t en = we - ws > TOK_MAX_WORD ? TOK_MAX_WORD : we - ws, k;
	int german = 1;

	for (k = 0; k < en; k++) {
		unsigned char c = ch->s[ws + k];

		if (c <= '9')
			german = 0; /* numbers and codes are not stemmed */
		exact[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	return finish_word(ch, exact, en, german ? exact : NULL, en, ws, we, part);
}

/* do_chunk for a chunk [a, b) of ASCII letters, digits and connectors
 * only (commas in it join digits): the same words and compound. */
static int do_chunk_ascii(struct chunk *ch, size_t a, size_t b)
{
	const unsigned char *s = ch->s;
	size_t fw = a, lw = b, i, ws, start;
	unsigned parts = 0, part = 0;
	int sigil, rc;

	while (fw < b && ACL(s[fw]) != ACL_WORD)
		fw++;
	if (fw == b)
		return 0; /* only connectors */
	while (ACL(s[lw - 1]) != ACL_WORD)
		lw--;
	sigil = fw > a && is_sigil(s[fw - 1]);
	start = sigil ? fw - 1 : fw;
	for (i = fw; i < lw; i++)
		parts += ACL(s[i]) == ACL_WORD && (i == fw || ACL(s[i - 1]) != ACL_WORD);
	ch->nparts = parts;
	ch->compound_len = 0;
	if ((parts >= 2 || sigil) && lw - start <= TOK_MAX_COMPOUND) {
		for (i = start; i < lw; i++)
			ch->compound[i - start] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
		ch->compound[lw - start] = '\0';
		ch->compound_len = lw - start;
		ch->cstart = start;
		ch->cend = lw;
	}
	for (i = fw; i < lw;) {
		ws = i;
		while (i < lw && ACL(s[i]) == ACL_WORD)
			i++;
		rc = emit_ascii(ch, ws, i, part++);
		if (rc)
			return rc;
		while (i < lw && ACL(s[i]) != ACL_WORD)
			i++;
	}
	return 0;
}

int tok_run(struct tok_ctx *tc, const char *text, size_t len, tok_word_fn fn, void *arg)
{
	const unsigned char *s = (const unsigned char *)text;
	struct chunk ch;
	size_t i = 0, j, a;
	uint32_t cp, prev = 0;
	int cl, rc;

	ch.tc = tc;
	ch.s = s;
	ch.len = len;
	ch.fn = fn;
	ch.arg = arg;
	while (i < len) {
		if (s[i] < 0x80) {
			/* ASCII: separators are skipped and a chunk that turns out
			 * to be all ASCII is handled without decoding */
			int k = ACL(s[i]);

			if (k == ACL_OTHER || (k == ACL_COMMA && !comma_joins(s, len, i, prev))) {
				prev = s[i++];
				continue;
			}
			for (j = i; j < len && s[j] < 0x80; j++) {
				k = ACL(s[j]);
				if (k == ACL_OTHER || (k == ACL_COMMA && !comma_joins(s, len, j, s[j - 1])))
					break;
			}
			if (j == len || s[j] < 0x80) {
				rc = do_chunk_ascii(&ch, i, j);
				if (rc)
					return rc;
				if (j < len)
					prev = s[j++]; /* the separator that ended the chunk */
				i = j;
				continue;
			}
			/* a non-ASCII character in the chunk: the general path */
		}
		j = i;
		cl = cls_at(s, len, &i, prev, &cp);
		prev = cp;
		if (cl == CL_OTHER)
			continue;
		a = j;
		/* extend the chunk over word and connector characters */
		while (i < len) {
			j = i;
			cl = cls_at(s, len, &i, prev, &cp);
			if (cl == CL_OTHER) {
				i = j;
				break;
			}
			prev = cp;
		}
		rc = do_chunk(&ch, a, i);
		if (rc)
			return rc;
		if (i < len) {
			/* consume the separator that ended the chunk */
			cl = cls_at(s, len, &i, prev, &cp);
			prev = cp;
		}
	}
	return 0;
}

int tok_ctx_new(struct tok_ctx **out, struct cu_err *err)
{
	struct tok_ctx *tc;

	*out = NULL;
	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return cu_err_set(err, CU_ENOMEM, "tokenizer: out of memory");
	tc->stemmer = sb_stemmer_new("german", "UTF_8");
	if (!tc->stemmer) {
		free(tc);
		return cu_err_set(err, CU_ENOMEM, "tokenizer: cannot create the German stemmer");
	}
	*out = tc;
	return 0;
}

void tok_ctx_free(struct tok_ctx *tc)
{
	if (!tc)
		return;
	sb_stemmer_delete(tc->stemmer);
	free(tc);
}

/* ---- FTS5 glue ------------------------------------------------------ */

/* Arguments of tok_run's callback when feeding FTS5. */
struct fts_feed {
	struct tok_ctx *tc;
	void *ctx;   /* FTS5's pCtx */
	int (*x_token)(void *, int, const char *, int, int, int);
	const struct tok_sink *sink;
};

static int feed_word(void *arg, const struct tok_word *w)
{
	struct fts_feed *ff = arg;
	int rc;

	rc = ff->x_token(ff->ctx, 0, w->exact, (int)w->exact_len, (int)w->start, (int)w->end);
	if (rc == SQLITE_OK && w->stem && ff->sink) {
		struct stem_slot *slot = ff->tc->last_slot;

		if (!slot || !ff->sink->gen || slot->sink_gen != ff->sink->gen) {
			rc = ff->sink->fn(ff->sink->arg, w);
			if (slot && rc == SQLITE_OK)
				slot->sink_gen = ff->sink->gen;
		}
	}
	if (rc == SQLITE_OK && w->compound)
		rc = ff->x_token(ff->ctx, FTS5_TOKEN_COLOCATED, w->compound, (int)w->compound_len,
				 (int)w->cstart, (int)w->cend);
	return rc;
}

/* ---- tokens computed ahead ----------------------------------------- */

void tok_pre_clear(struct tok_pre *pre, uint32_t gen)
{
	pre->ndocs = pre->nev = pre->nbytes = 0;
	pre->gen = gen;
	pre->failed = 0;
	pre->ready = 0;
}

void tok_pre_free(struct tok_pre *pre)
{
	free(pre->docs);
	free(pre->ev);
	free(pre->bytes);
	memset(pre, 0, sizeof(*pre));
}

/* Grows an array to hold need elements of size sz. */
static int grow(void **p, size_t *cap, size_t need, size_t sz)
{
	size_t nc = *cap ? *cap : 1024;
	void *np;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * sz);
	if (!np)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

int tok_pre_text(struct tok_pre *pre, const char *text, size_t len)
{
	struct tok_doc *d;

	if (grow((void **)&pre->docs, &pre->doccap, pre->ndocs + 1, sizeof(*pre->docs)) != 0)
		return CU_ENOMEM;
	d = &pre->docs[pre->ndocs++];
	d->text = text;
	d->len = len;
	d->ev0 = d->nev = 0;
	d->used = 0;
	return 0;
}

/* Copies s[0..n) and a NUL into pre's bytes; its offset in *off. */
static int pre_bytes(struct tok_pre *pre, const char *s, size_t n, uint32_t *off)
{
	if (pre->nbytes + n + 1 > UINT32_MAX ||
	    grow((void **)&pre->bytes, &pre->bytecap, pre->nbytes + n + 1, 1) != 0)
		return -1;
	memcpy(pre->bytes + pre->nbytes, s, n);
	pre->bytes[pre->nbytes + n] = '\0';
	*off = (uint32_t)pre->nbytes;
	pre->nbytes += n + 1;
	return 0;
}

static int pre_event(struct tok_pre *pre, int flags, const char *tok, size_t n, size_t start,
		     size_t end, struct tok_ev **out)
{
	struct tok_ev *e;

	if (grow((void **)&pre->ev, &pre->evcap, pre->nev + 1, sizeof(*pre->ev)) != 0)
		return -1;
	e = &pre->ev[pre->nev];
	memset(e, 0, sizeof(*e));
	if (pre_bytes(pre, tok, n, &e->off) != 0)
		return -1;
	e->len = (uint8_t)n;
	e->start = (int32_t)start;
	e->end = (int32_t)end;
	e->flags = (uint8_t)flags;
	pre->nev++;
	*out = e;
	return 0;
}

struct pre_feed {
	struct tok_ctx *tc;
	struct tok_pre *pre;
};

/* What feed_word does, recorded: the same tokens, and the sink's words
 * decided by the same test of the stem cache (marked as reported). */
static int pre_word(void *arg, const struct tok_word *w)
{
	struct pre_feed *pf = arg;
	struct tok_pre *pre = pf->pre;
	struct stem_slot *slot = pf->tc->last_slot;
	struct tok_ev *e;
	uint32_t soff;

	if (pre_event(pre, 0, w->exact, w->exact_len, w->start, w->end, &e) != 0)
		return -1;
	if (w->stem && (!slot || !pre->gen || slot->sink_gen != pre->gen)) {
		if (pre_bytes(pre, w->stem, w->stem_len, &soff) != 0)
			return -1;
		e = &pre->ev[pre->nev - 1]; /* (pre_bytes does not move ev) */
		e->flags |= TEV_SINK;
		e->stem_off = soff;
		e->stem_len = (uint8_t)w->stem_len;
		if (slot)
			slot->sink_gen = pre->gen;
	}
	if (w->compound &&
	    pre_event(pre, TEV_COLOCATED, w->compound, w->compound_len, w->cstart, w->cend, &e) != 0)
		return -1;
	return 0;
}

void tok_pre_run(struct tok_ctx *tc, struct tok_pre *pre)
{
	struct pre_feed pf = {tc, pre};
	size_t i;

	for (i = 0; i < pre->ndocs && !pre->failed; i++) {
		struct tok_doc *d = &pre->docs[i];

		d->ev0 = pre->nev;
		if (d->len > INT32_MAX || tok_run(tc, d->text, d->len, pre_word, &pf) != 0)
			pre->failed = 1;
		d->nev = pre->nev - d->ev0;
	}
	pre->ready = 1;
}

/* Gives FTS5 the recorded calls of a document. */
static int replay(const struct tok_sink *sink, void *ctx,
		  int (*x_token)(void *, int, const char *, int, int, int))
{
	const struct tok_pre *pre = sink->pre;
	struct tok_doc *d = sink->doc;
	struct tok_word w;
	size_t i;
	int rc;

	d->used = 1;
	memset(&w, 0, sizeof(w));
	w.nparts = 1;
	for (i = 0; i < d->nev; i++) {
		const struct tok_ev *e = &pre->ev[d->ev0 + i];
		const char *tok = pre->bytes + e->off;

		rc = x_token(ctx, (e->flags & TEV_COLOCATED) ? FTS5_TOKEN_COLOCATED : 0, tok, e->len,
			     e->start, e->end);
		if (rc == SQLITE_OK && (e->flags & TEV_SINK)) {
			w.exact = tok;
			w.exact_len = e->len;
			w.stem = pre->bytes + e->stem_off;
			w.stem_len = e->stem_len;
			w.stem_differs = e->stem_len != e->len || memcmp(w.stem, tok, e->len) != 0;
			w.start = w.cstart = (size_t)e->start;
			w.end = w.cend = (size_t)e->end;
			rc = sink->fn(sink->arg, &w);
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* 1 if the sink holds recorded tokens for exactly this document. */
static int can_replay(const struct tok_sink *sink, const char *text, int n)
{
	const struct tok_doc *d = sink->doc;

	return d && sink->pre && sink->pre->ready && !sink->pre->failed && !d->used &&
	       sink->pre->gen == sink->gen && d->len == (size_t)n &&
	       (d->text == text || memcmp(d->text, text, (size_t)n) == 0);
}

static int fts_create(void *sink, const char **argv, int argc, Fts5Tokenizer **out)
{
	struct tok_ctx *tc;

	(void)argv;
	if (argc != 0)
		return SQLITE_ERROR;
	if (tok_ctx_new(&tc, NULL) != 0)
		return SQLITE_NOMEM;
	tc->sink = sink;
	*out = (Fts5Tokenizer *)tc;
	return SQLITE_OK;
}

static void fts_delete(Fts5Tokenizer *t)
{
	tok_ctx_free((struct tok_ctx *)t);
}

/* Passes on the tokens of text, separated by spaces, as they are; with
 * their spans in text, or at offset at (when >= 0: tags after a text, where
 * a token written "+T" is T at the position of the one before). */
static int emit_spaced(const char *text, int n, int at, void *ctx,
		       int (*x_token)(void *, int, const char *, int, int, int))
{
	int i, s, rc;

	for (i = 0; i < n;) {
		while (i < n && text[i] == ' ')
			i++;
		s = i;
		while (i < n && text[i] != ' ')
			i++;
		if (i == s)
			continue;
		if (at >= 0 && i > s + 1 && text[s] == '+')
			rc = x_token(ctx, FTS5_TOKEN_COLOCATED, text + s + 1, i - s - 1, at, at);
		else
			rc = x_token(ctx, 0, text + s, i - s, at < 0 ? s : at, at < 0 ? i : at);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int fts_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int n,
			int (*x_token)(void *, int, const char *, int, int, int))
{
	struct fts_feed ff;
	int rc;

	if (n < 0)
		return SQLITE_ERROR;
	if (flags & FTS5_TOKENIZE_QUERY) /* already folded tokens separated by spaces */
		return emit_spaced(text, n, -1, ctx, x_token);
	ff.tc = (struct tok_ctx *)t;
	ff.ctx = ctx;
	ff.x_token = x_token;
	ff.sink = (flags & FTS5_TOKENIZE_DOCUMENT) ? ((struct tok_ctx *)t)->sink : NULL;
	if (ff.sink && can_replay(ff.sink, text, n))
		rc = replay(ff.sink, ctx, x_token);
	else
		rc = tok_run((struct tok_ctx *)t, text, (size_t)n, feed_word, &ff);
	if (rc == SQLITE_OK && ff.sink && ff.sink->tags)
		rc = emit_spaced(ff.sink->tags, (int)strlen(ff.sink->tags), n, ctx, x_token);
	return rc;
}

/* custos_rank(fts): term frequency scaled by message length (BM25's
 * shape without the collection statistics), so a message's score never
 * changes as the archive grows and relevance paging stays stable. */
static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fctx, sqlite3_context *ctx,
		    int nval, sqlite3_value **val)
{
	int counts[64];
	int nphrase, ninst = 0, i, ip, ic, io, dl = 0;
	double score = 0.0, norm;

	(void)nval;
	(void)val;
	nphrase = api->xPhraseCount(fctx);
	if (nphrase > 64)
		nphrase = 64;
	memset(counts, 0, sizeof(counts));
	if (api->xInstCount(fctx, &ninst) != SQLITE_OK)
		ninst = 0;
	/* the message's words, without the index's tags after them */
	if (api->xColumnSize(fctx, 0, &dl) != SQLITE_OK || dl < TOK_RANK_TAGS)
		dl = 16 + TOK_RANK_TAGS;
	dl -= TOK_RANK_TAGS;
	for (i = 0; i < ninst; i++)
		if (api->xInst(fctx, i, &ip, &ic, &io) == SQLITE_OK && ip >= 0 && ip < nphrase && io < dl)
			counts[ip]++;
	norm = 1.2 * (0.25 + 0.75 * (double)dl / 16.0);
	for (i = 0; i < nphrase; i++)
		if (counts[i] > 0)
			score += counts[i] * 2.2 / (counts[i] + norm);
	sqlite3_result_double(ctx, score);
}

int tok_register(sqlite3 *db, const struct tok_sink *sink, struct cu_err *err)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;
	fts5_tokenizer t;
	int rc = 0;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK) {
		rc = cu_err_set(err, CU_EIO, "index: FTS5 is not available: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_pointer(st, 1, &api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	if (!api || api->iVersion < 2) {
		rc = cu_err_set(err, CU_EIO, "index: FTS5 API version 2 is not available");
		goto out;
	}
	t.xCreate = fts_create;
	t.xDelete = fts_delete;
	t.xTokenize = fts_tokenize;
	if (api->xCreateTokenizer(api, "custos", (void *)sink, &t, NULL) != SQLITE_OK ||
	    api->xCreateFunction(api, "custos_rank", NULL, rank_fn, NULL) != SQLITE_OK)
		rc = cu_err_set(err, CU_EIO, "index: cannot register the tokenizer: %s",
				sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	return rc;
}
