# custos - one non-recursive Makefile. `make` builds ./custos, `make test`
# runs every test, `make SAN=1 test` does the same under ASan+UBSan (built
# in build/san so it never mixes with the normal objects), `make TSAN=1
# test-tsan` runs the tests that drive the daemon with concurrent requests
# under ThreadSanitizer (built in build/tsan).

PKGS := libzstd openssl sqlite3 libmicrohttpd libarchive jansson yajl expat libsodium
CC ?= cc
CFLAGS_WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g -I. $(CFLAGS_WARN) $(shell pkg-config --cflags $(PKGS))
LIBS := $(shell pkg-config --libs $(PKGS)) -lstemmer -lpthread -lm
TEST_LIBS := $(shell pkg-config --libs cmocka)

ifeq ($(TSAN),1)
BUILD := build/tsan
CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=thread
LDFLAGS_SAN := -fsanitize=thread
BIN := $(BUILD)/custos
else ifeq ($(SAN),1)
BUILD := build/san
CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
BIN := $(BUILD)/custos
else
BUILD := build/rel
CFLAGS_OPT := -O2
LDFLAGS_SAN :=
BIN := custos
endif
CFLAGS := $(CFLAGS_BASE) $(CFLAGS_OPT) $(EXTRA_CFLAGS)

LIB_SRC := $(sort $(wildcard common/*.c archiver/*.c ingest/*.c search/*.c retention/*.c export/*.c api/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIB := $(BUILD)/libcustos.a

.PHONY: all deps run test unit integration layers static-state test-tsan bench clean fuzz fuzz-run fuzz-replay valgrind
all: $(BIN)

deps:
	bash scripts/deps.sh

# Installs, builds, creates ./data on first use and starts the archive on
# its embedded default (127.0.0.1:8080).
run: deps
	$(MAKE) all
	@[ -f data/custos.json ] || ./custos init -d data
	./custos serve -d data

# The commit for `custos --version`; main.o is rebuilt when it changes
# (the stamp is rewritten only then).
COMMIT := $(shell git describe --always --dirty 2>/dev/null)
ifeq ($(COMMIT),)
COMMIT := unknown (not built from git)
endif
$(BUILD)/commit.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(COMMIT)' | cmp -s - $@ || echo '$(COMMIT)' > $@
$(BUILD)/cli/main.o: $(BUILD)/commit.stamp
$(BUILD)/cli/main.o: CFLAGS += -DCUSTOS_COMMIT='"$(COMMIT)"'
FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS_SAN) -o $@ $(CLI_OBJ) $(LIB) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS_SAN) -o $@ $< $(LIB) $(LIBS) $(TEST_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS_SAN) -o $@ $< $(LIB) $(LIBS)

unit: $(UNIT_BIN)
	@bash tests/run_unit.sh $(UNIT_BIN)

integration: $(BIN) $(BENCH_BIN)
	@CUSTOS=$(abspath $(BIN)) GEN=$(abspath $(BUILD)/bench/gen_messages) bash tests/run_integration.sh

# No mutable file-scope or function-scope static in the library objects
# outside the commented allow-list in the script.
static-state: $(LIB)
	@bash tests/check_static_state.sh $(BUILD)

# No #include against the layers or into another module's internal header
# (docs/ARCHITECTURE.md "Dependency direction"); reads the sources only.
layers:
	@bash tests/check_layers.sh

test: layers static-state unit integration

# The integration tests whose daemon serves concurrent requests, on the
# ThreadSanitizer build (use with TSAN=1); any report fails the test
# (tests/tsan_run.sh). TSAN_TESTS overrides the list.
TSAN_TESTS ?= test_tsan_races test_api_basic test_api_roles test_export_api test_api_limits \
	test_api_index_lag test_api_retention test_api_shutdown test_api_crash test_matrix test_threema \
	test_signed_ingest
test-tsan: $(BIN) $(BENCH_BIN)
	@CUSTOS=$(abspath $(BIN)) GEN=$(abspath $(BUILD)/bench/gen_messages) TESTS="$(TSAN_TESTS)" \
		bash tests/tsan_run.sh

bench: $(BIN) $(BENCH_BIN)
	@CUSTOS=$(abspath $(BIN)) GEN=$(abspath $(BUILD)/bench/gen_messages) bash bench/run_all.sh

# ---- fuzzing and valgrind ---------------------------------------------
# `make fuzz` builds every tests/fuzz/fuzz_*.c as a libFuzzer binary in
# build/fuzz (clang; the library is rebuilt there with
# -fsanitize=fuzzer-no-link so its code is instrumented for coverage).
# `make fuzz-run` runs each target for FUZZ_SECONDS over its committed
# corpus and replays its regression inputs (tests/fuzz/run.sh).
# `make valgrind` runs the unit tests under valgrind; any error or
# definite leak fails it.
FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(CFLAGS_BASE) -O1 -fno-omit-frame-pointer $(FUZZ_SANFLAGS)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB := $(FUZZ_BUILD)/libcustos.a

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz: $(FUZZ_BIN)

fuzz-run: fuzz
	@bash tests/fuzz/run.sh $(FUZZ_BIN)

# The same targets with a plain main (tests/fuzz/replay.c) in the normal
# build (gcc; ASan+UBSan with SAN=1): replays every seed and regression
# input without clang or libFuzzer.
FUZZ_REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)

$(BUILD)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS_SAN) -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS)

fuzz-replay: $(FUZZ_REPLAY_BIN)
	@bash tests/fuzz/run.sh --replay $(FUZZ_REPLAY_BIN)

# --track-origins=yes (slower) helps to find where an uninitialised value came from.
VALGRIND_FLAGS ?=
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --quiet $(VALGRIND_FLAGS)

valgrind: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
		start=$$(date +%s); \
		if $(VALGRIND) $$t >$$t.valgrind.log 2>&1; then \
			echo "ok   $$t ($$(( $$(date +%s) - start ))s)"; \
		else fail=1; echo "FAIL $$t -- $$t.valgrind.log:"; tail -n 40 $$t.valgrind.log; fi; \
	done; [ $$fail -eq 0 ] && echo "valgrind: all unit tests clean"

clean:
	rm -rf build custos

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d) $(BENCH_BIN:=.d)
-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BIN:=.d) $(FUZZ_REPLAY_BIN:=.d)
