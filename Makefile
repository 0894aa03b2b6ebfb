# strait: top-level build. See README.md.
#
#   make            build every binary into build/bin
#   make check      unit tests under ASan+UBSan, fuzzers briefly, then the
#                   integration tests; ends with "N passed, N failed"
#   make demo       the demo (run as root)
#   make deps       install the Debian packages strait needs
#   make bench      the benchmarks (figures, not assertions)
#
# Variants share these rules with another BUILD folder: SAN=1 adds ASan and
# UBSan, FUZZ=1 builds libFuzzer targets with clang.

BUILD   ?= build
CC      ?= cc
SAN     ?=
FUZZ    ?=

PKGS     := libuv libprotobuf-c yaml-0.1 sqlite3 libxxhash libmnl libnetfilter_queue
CPPFLAGS := -D_GNU_SOURCE -Ilib -I$(BUILD)/gen
CFLAGS   := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wno-missing-field-initializers -O2 -g -MMD -MP
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

ifeq ($(SAN),1)
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CC      := clang
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -DSTRAIT_FUZZ=1
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

# ---- sources ----
PROTOS    := $(wildcard proto/*.proto)
PROTO_C   := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
PROTO_H   := $(PROTO_C:.c=.h)
LIB_SRC   := $(wildcard lib/*.c)
DAEMONS   := $(patsubst %/main.c,%,$(wildcard */main.c))
OBJ        = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# Every daemon folder X with X/main.c becomes build/bin/strait-X, except ctl,
# which is straitctl. The folder's other files form build/libX.a so that unit
# tests link the modules without main().
binname    = $(if $(filter ctl,$(1)),straitctl,strait-$(1))
BINS      := $(foreach d,$(DAEMONS),$(BUILD)/bin/$(call binname,$(d)))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bin/%,$(BENCH_SRC))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
HELP_SRC  := $(wildcard tests/helpers/*.c)
HELP_BIN  := $(patsubst tests/helpers/%.c,$(BUILD)/bin/%,$(HELP_SRC))

.SECONDARY:
.PHONY: deps-ok all check unit fuzz fuzzers demo deps bench clean format
all: deps-ok $(BINS) $(BENCH_BIN) $(HELP_BIN)

# Installs missing packages only; silent when everything is there.
deps-ok:
	@scripts/deps.sh --quiet
deps:
	@scripts/deps.sh

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

$(BUILD)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Generated code is not ours to hold to -Wextra's standard.
$(BUILD)/obj/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -Wextra -Werror,$(CFLAGS)) -c -o $@ $<

$(BUILD)/libstrait.a: $(call OBJ,$(LIB_SRC)) $(call OBJ,$(PROTO_C))
	@rm -f $@
	ar rcs $@ $^

modsrc = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
modlib = $(if $(call modsrc,$(1)),$(BUILD)/lib$(1).a)
define daemon_rules
ifneq ($(call modsrc,$(1)),)
$(BUILD)/lib$(1).a: $(call OBJ,$(call modsrc,$(1)))
	@rm -f $$@
	ar rcs $$@ $$^
endif
$(BUILD)/bin/$(call binname,$(1)): $(call OBJ,$(1)/main.c) $(call modlib,$(1)) $(BUILD)/libstrait.a
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

DAEMON_LIBS = $(foreach d,$(DAEMONS),$(call modlib,$(d)))

$(BUILD)/bin/%: $(BUILD)/obj/bench/%.o $(DAEMON_LIBS) $(BUILD)/libstrait.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/%: $(BUILD)/obj/tests/helpers/%.o $(DAEMON_LIBS) $(BUILD)/libstrait.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(DAEMON_LIBS) $(BUILD)/libstrait.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(DAEMON_LIBS) $(BUILD)/libstrait.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN)
fuzzers: $(FUZZ_BIN)

# The test command. Each stage builds its own variant folder, then one runner
# runs every test it finds and prints the closing count.
check: deps-ok
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit
	$(MAKE) --no-print-directory BUILD=build/fuzz FUZZ=1 fuzzers
	tests/run

demo: deps-ok all
	scripts/demo.sh

bench: deps-ok all
	bench/run

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
