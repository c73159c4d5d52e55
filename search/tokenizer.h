/* tokenizer.h - the search tokenizer: splits message text into words,
 * folds case and diacritics, stems German (Snowball via libstemmer) and
 * keeps identifiers whole (docs/SEARCH.md "How text is indexed").
 *
 * One function, tok_run(), turns text into a sequence of tok_word; the
 * FTS5 tokenizer "custos" (registered with tok_register) and the query
 * compiler and snippet builder all use it, so that the index, the query
 * and the highlighting always agree on what a word is.
 *
 * Every word (a maximal run of letters/digits) gets one position and:
 *   exact     the folded, unstemmed form: lower case, ä->ae, ö->oe,
 *             ü->ue, ß->ss, other Latin diacritics removed ("straße" ->
 *             "strasse", "Müller" -> "mueller", "café" -> "cafe");
 *   stem      TOK_STEM_MARK + the German Snowball stem of the word (with
 *             ae/oe/ue read as umlauts first, so "Mueller" and "Müller"
 *             share a stem), for words made of letters only.
 * Words joined by connector characters (- / . @ : + _ ? = & % # ~ ! $ '),
 * or led by a sigil (@ ! # + $), also form a compound: "12-345/2024",
 * "alice@example.org", "@bob:matrix.org", "+49". The compound's folded
 * text is reported on its first word, so that identifiers are found as
 * typed, while the words inside it stay searchable one by one.
 */
#ifndef CUSTOS_SEARCH_TOKENIZER_H
#define CUSTOS_SEARCH_TOKENIZER_H

#include <sqlite3.h>
#include <stddef.h>

#include "common/error.h"

#define TOK_MAX_WORD 64        /* bytes of one folded word; longer words are cut */
#define TOK_MAX_COMPOUND 128   /* bytes of a compound; longer ones keep only their words */
#define TOK_STEM_MARK '~'      /* first byte of every stem token (never starts an exact token) */
#define TOK_VERSION 1          /* bumped whenever tokens change: the index must be rebuilt */

/* One word of the text, valid only during the callback. */
struct tok_word {
	const char *exact;      /* folded unstemmed form, NUL-terminated */
	size_t exact_len;       /* 1..TOK_MAX_WORD bytes */
	const char *stem;       /* TOK_STEM_MARK + stem, NUL-terminated; NULL if not stemmable */
	size_t stem_len;        /* bytes of stem including the mark; 0 when stem is NULL */
	int stem_differs;       /* 1 if stem minus its mark differs from exact (then it is indexed) */
	const char *compound;   /* folded compound text on the compound's first word, else NULL */
	size_t compound_len;    /* bytes of compound; 0 when compound is NULL */
	size_t start, end;      /* byte span of the word in the text */
	size_t cstart, cend;    /* byte span of the whole compound (== start, end if none) */
	unsigned part;          /* 0-based index of the word inside its compound (0 if none) */
	unsigned nparts;        /* words in the compound (1 if none) */
};

/* Called once per word, in text order; a non-zero return stops tok_run
 * and is passed back to its caller. */
typedef int (*tok_word_fn)(void *arg, const struct tok_word *w);

/* Per-thread state: the stemmer and a small cache of stems. Not thread
 * safe; one per thread or SQLite connection. */
struct tok_ctx;

int tok_ctx_new(struct tok_ctx **out, struct cu_err *err) CU_MUST_CHECK;
void tok_ctx_free(struct tok_ctx *tc);

/* Splits text (UTF-8; invalid bytes count as separators) into words and
 * calls fn for each. Returns 0, or the first non-zero value fn returned. */
int tok_run(struct tok_ctx *tc, const char *text, size_t len, tok_word_fn fn, void *arg);

/* Registers the FTS5 tokenizer "custos" and the ranking function
 * custos_rank(fts) on db. In query mode the tokenizer takes its input as
 * already folded tokens separated by single spaces (the query compiler
 * folds the user's words with tok_run), so a query can say exactly which
 * form (exact, stem, compound) it looks for. */
int tok_register(sqlite3 *db, struct cu_err *err) CU_MUST_CHECK;

#endif
