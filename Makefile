# amaml - build, test, install. `make help` lists the targets.
#
# Dependencies come from Debian packages through pkg-config: OpenBLAS (CBLAS)
# for matrix products, LAPACKE for the SVD of the rating data, zlib for the
# checksums of model files, OpenMP for threads. scripts/setup installs them.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
PKG     ?= pkg-config
DEPS    := openblas lapacke zlib

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wpointer-arith -Wcast-qual -Wvla -Wundef -Wdouble-promotion
# No -ffast-math: the derivative checks and the bit-for-bit checkpoint tests
# depend on IEEE arithmetic.
OPT     ?= -O2 -g
SAN     ?=
# -ffp-contract=off: no fused multiply-adds behind our back, so that every
# clone of a kernel (AVX2 or baseline) rounds alike, bit for bit.
ALL_CFLAGS = -std=c11 $(WARN) $(OPT) $(SAN) -ffp-contract=off -fopenmp -fPIC $(CFLAGS)
ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc $(shell $(PKG) --cflags $(DEPS))
LDLIBS  += $(shell $(PKG) --libs $(DEPS)) -fopenmp -lm
# The CLI alone writes and reads JSON (results), with Jansson.
CLI_DEPS := jansson
CLI_CPPFLAGS := $(shell $(PKG) --cflags $(CLI_DEPS))
CLI_LDLIBS := $(shell $(PKG) --libs $(CLI_DEPS))

LIB_SRC := $(sort $(wildcard src/core/*.c src/models/*.c src/ode/*.c src/meta/*.c \
                             src/tasks/*.c src/train/*.c src/io/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TST_OBJ := $(TST_SRC:%.c=$(BUILD)/%.o)

SONAME  := libamaml.so.0

.PHONY: all test check-sanitize check-valgrind bench install uninstall clean format help

all: $(BUILD)/libamaml.a $(BUILD)/libamaml.so $(BUILD)/amaml

$(BUILD)/%.o: %.c include/amaml.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The activation kernels are branch-free only if selects between computed
# values may be evaluated speculatively: -fno-trapping-math lets the loops
# vectorize and changes no result (FP exceptions are never trapped here).
$(BUILD)/src/models/act.o: ALL_CFLAGS += -fno-trapping-math
# The MLP kernels must compute the same bits in each of their clones (AVX2
# and baseline): no contraction of a * b + c into a fused multiply-add.
$(BUILD)/src/models/mlp_kern.o: ALL_CFLAGS += -ffp-contract=off

$(BUILD)/libamaml.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libamaml.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/amaml: $(CLI_OBJ) $(BUILD)/libamaml.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(CLI_LDLIBS) $(LDLIBS)

$(CLI_OBJ): CPPFLAGS += $(CLI_CPPFLAGS)

$(BUILD)/amaml_tests: $(TST_OBJ) $(BUILD)/libamaml.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Timings of the MLP's gradient and HVP (docs/performance.md, "MLP kernels");
# not part of `make test`.
$(BUILD)/mlp_kernels: $(BUILD)/bench/mlp_kernels.o $(BUILD)/libamaml.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The unit suite, then the command-line tests (which need the built CLI);
# one summary line "N passed, N failed" at the end.
test: $(BUILD)/amaml_tests $(BUILD)/amaml
	sh tests/run.sh $(BUILD)

# AddressSanitizer and UndefinedBehaviorSanitizer, in a build tree of its own.
check-sanitize:
	$(MAKE) BUILD=build-san OPT="-O1 -g" SAN="-fsanitize=address,undefined \
	    -fno-sanitize-recover=undefined -fno-omit-frame-pointer" test

check-valgrind: $(BUILD)/amaml_tests $(BUILD)/amaml
	OMP_NUM_THREADS=1 valgrind --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite $(BUILD)/amaml_tests
	OMP_NUM_THREADS=1 valgrind --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite $(BUILD)/amaml gradcheck --arch 2-8-1

bench: $(BUILD)/amaml
	$(BUILD)/amaml bench --out bench/results

amaml.pc: amaml.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n \
	    's/^#define AMAML_VERSION "\(.*\)"/\1/p' include/amaml.h)|' \
	    -e 's|@DEPS@|$(DEPS)|' $< > $@

install: all amaml.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/amaml.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libamaml.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libamaml.so $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libamaml.so
	install -m 644 amaml.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 755 $(BUILD)/amaml $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/amaml.h $(DESTDIR)$(PREFIX)/lib/libamaml.a \
	    $(DESTDIR)$(PREFIX)/lib/libamaml.so $(DESTDIR)$(PREFIX)/lib/$(SONAME) \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/amaml.pc $(DESTDIR)$(PREFIX)/bin/amaml

format:
	clang-format -i include/*.h $(LIB_SRC) $(CLI_SRC) $(TST_SRC) $(wildcard src/*/*.h tests/*.h)

clean:
	rm -rf build build-san amaml.pc

help:
	@echo "make                 libraries and CLI in $(BUILD)/"
	@echo "make test            unit and CLI tests"
	@echo "make check-sanitize  tests under ASan and UBSan"
	@echo "make check-valgrind  tests under valgrind memcheck"
	@echo "make bench           cost benchmark (docs/performance.md)"
	@echo "make install PREFIX=/usr/local"

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TST_OBJ:.o=.d)
