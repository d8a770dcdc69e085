# concurrent_edit -- PGXS build of a C++17 PostgreSQL extension.
#
#   make                 build the extension (needs pg_config and the -dev packages)
#   make install         install into the PostgreSQL that pg_config points at
#   make installcheck    pg_regress + isolation + TAP against a running server
#   make test            install what is missing, then every suite on throwaway clusters
#   make demo            install what is missing, then a scripted scenario on a throwaway cluster
#   make demo-web        install what is missing, then the two-editor web demo (examples/editor)
#   make unit            GoogleTest suite of the pure C++ core (no server)
#   make fuzz            libFuzzer targets (ASan + UBSan) for FUZZ_SECONDS each
#   make bench           benchmarks in test/bench (see docs/benchmarks.md)

MAIN_EXT   = concurrent_edit
# The shard router (docs/scale-out.md): a second extension, for the router
# database, over the same library; its script is generated from src/sql.
EXTENSION  = $(MAIN_EXT) concurrent_edit_router
EXTVERSION = 1.1
MODULE_big = concurrent_edit

# PostgreSQL 15 (Debian 12) unless PG_CONFIG says otherwise.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)

CORE_SRCS := $(sort $(wildcard src/core/*.cpp))
GLUE_SRCS := $(sort $(wildcard src/pg/*.cpp))
CORE_OBJS := $(CORE_SRCS:.cpp=.o)
GLUE_OBJS := $(GLUE_SRCS:.cpp=.o)
OBJS       = $(CORE_OBJS) $(GLUE_OBJS)

# The install script is assembled from ordered fragments (src/sql/NN_*.sql).
SQL_PARTS := $(sort $(wildcard src/sql/*.sql))
# Shipped versions: their install scripts are frozen (src/sql/frozen, never edited;
# TAP 000 checks their sha256), and an update script leads from each to the next
# (docs/upgrading.md). The update script to the current version is generated:
# a hand-written prologue and epilogue (src/sql/upgrade) around the same parts as
# the install script, minus the parts whose 1.0 objects the update keeps in place.
DATA       = src/sql/frozen/$(MAIN_EXT)--1.0.sql
DATA_built = $(MAIN_EXT)--$(EXTVERSION).sql $(MAIN_EXT)--1.0--$(EXTVERSION).sql \
             concurrent_edit_router--$(EXTVERSION).sql
UPGRADE_1_0_KEPT := src/sql/05_vclock.sql

# pg_regress: sql/*.sql with expected/*.out (contrib layout).
REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(MAIN_EXT)
# pg_isolation_regress: test/isolation/specs/*.spec with test/isolation/expected/*.out.
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(MAIN_EXT)
# TAP (prove): test/t/*.pl
TAP_TESTS   = 1
PROVE_TESTS = test/t/*.pl

CE_WARNINGS  = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
PG_CXXFLAGS  = -std=c++17 $(CE_WARNINGS) -Wno-register -fvisibility=hidden
PG_CPPFLAGS  = -I$(CURDIR)/include -I$(CURDIR)/src -DCE_EXTVERSION='"$(EXTVERSION)"'
# ICU (libicuuc): Unicode normalization and case folding of path keys (src/core/path.cpp).
SHLIB_LINK   = -lstdc++ -licuuc

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(wildcard $(PGXS)),)
# A fresh machine without the PostgreSQL development files: only the bootstrapping
# targets work; they install the missing packages and run make again.
.DEFAULT_GOAL := help
.PHONY: help test demo demo-web bench deps
help:
	@echo "PostgreSQL 15 development files not found: run 'make test' or 'make demo' (they install them), or 'make deps'."
	@false
test demo demo-web bench:
	@if [ -n "$(CE_BOOTSTRAPPED)" ]; then echo "bootstrap did not provide $(PG_CONFIG) --pgxs" >&2; exit 1; fi
	scripts/bootstrap.sh
	$(MAKE) CE_BOOTSTRAPPED=1 $@
deps:
	scripts/bootstrap.sh
else
include $(PGXS)

# The C++ standard must also reach the LLVM bitcode (JIT inlining) step. No
# constructor/destructor aliases in the bitcode: PostgreSQL 15's JIT inliner
# aborts the server on a GlobalAlias (seen with an out-of-line constructor).
override BITCODE_CXXFLAGS += -std=c++17 -Wno-register -Xclang -mno-constructor-aliases

# ---------------------------------------------------------------------------
# Layering: the pure core is compiled WITHOUT any PostgreSQL include directory,
# so an #include of a PostgreSQL header in src/core or include/ fails the build.
# check-core-purity additionally names the offending line.
CORE_CPPFLAGS = -I$(CURDIR)/include -D_GNU_SOURCE
$(CORE_OBJS): override CPPFLAGS := $(CORE_CPPFLAGS)
$(CORE_OBJS:.o=.bc): override CPPFLAGS := $(CORE_CPPFLAGS)

PG_HEADER_RE = '^[[:space:]]*\#[[:space:]]*include[[:space:]]*[<"](postgres|postgres_ext|pg_config|fmgr|funcapi|miscadmin|executor/|utils/|access/|catalog/|nodes/|commands/|storage/|lib/|libpq|parser/|tcop/|common/|port/|mb/|replication/|postmaster/|optimizer/|rewrite/|jit/|pgstat)'

.PHONY: check-core-purity
check-core-purity:
	@if grep -rnE $(PG_HEADER_RE) src/core include; then \
	  echo "error: the pure C++ core (src/core, include/) must not include PostgreSQL headers" >&2; exit 1; \
	fi

# No source file over 600 lines (the frozen 1.0 script excepted: it is history).
.PHONY: check-file-size
check-file-size:
	@long=$$(find src include -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.sql' \) -not -path 'src/sql/frozen/*' \
	  -exec awk 'END { if (NR > 600) print FILENAME ": " NR " lines" }' {} \;); \
	if [ -n "$$long" ]; then echo "$$long" >&2; echo "error: a source file is over 600 lines; split it by what it does" >&2; exit 1; fi

$(OBJS): | check-core-purity check-file-size
$(OBJS): $(wildcard include/concurrent_edit/*.hpp) $(wildcard src/core/*.hpp) $(wildcard src/pg/*.hpp)

$(MAIN_EXT)--$(EXTVERSION).sql: $(SQL_PARTS) Makefile
	@echo "-- concurrent_edit $(EXTVERSION): generated from src/sql/*.sql by make; edit those files." > $@
	@printf '%s\n' '\echo Use "CREATE EXTENSION concurrent_edit" to load this file. \quit' >> $@
	@for f in $(SQL_PARTS); do printf '\n-- ---- %s ----\n' "$$f" >> $@; cat "$$f" >> $@; done

# The schema itself is kept by the update (CREATE SCHEMA is the one line left out).
concurrent_edit_router--$(EXTVERSION).sql: scripts/gen-router.pl $(SQL_PARTS) $(wildcard src/sql/router/*.sql) Makefile
	perl scripts/gen-router.pl src/sql > $@.tmp && mv $@.tmp $@

$(MAIN_EXT)--1.0--$(EXTVERSION).sql: src/sql/upgrade/1.0--1.1.pre.sql src/sql/upgrade/1.0--1.1.post.sql $(SQL_PARTS) Makefile
	@echo "-- concurrent_edit 1.0 -> $(EXTVERSION): generated by make from src/sql/upgrade/1.0--1.1.*.sql and src/sql/*.sql; edit those files." > $@
	@printf '%s\n' '\echo Use "ALTER EXTENSION concurrent_edit UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \quit' >> $@
	@printf '\n-- ---- %s ----\n' src/sql/upgrade/1.0--1.1.pre.sql >> $@; cat src/sql/upgrade/1.0--1.1.pre.sql >> $@
	@for f in $(filter-out $(UPGRADE_1_0_KEPT),$(SQL_PARTS)); do \
	  printf '\n-- ---- %s ----\n' "$$f" >> $@; sed '/^CREATE SCHEMA concurrent_edit;$$/d' "$$f" >> $@; done
	@printf '\n-- ---- %s ----\n' src/sql/upgrade/1.0--1.1.post.sql >> $@; cat src/sql/upgrade/1.0--1.1.post.sql >> $@

# ---------------------------------------------------------------------------
# GoogleTest for the core: links the very same core objects, no server.
BUILD_DIR   ?= build
UNIT_SRCS   := $(sort $(wildcard test/unit/*.cpp))
UNIT_OBJS   := $(patsubst test/unit/%.cpp,$(BUILD_DIR)/unit/%.o,$(UNIT_SRCS))
UNIT_BIN    := $(BUILD_DIR)/unit_tests

$(BUILD_DIR)/unit/%.o: test/unit/%.cpp $(wildcard include/concurrent_edit/*.hpp) $(wildcard test/unit/*.hpp)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(CE_WARNINGS) -O2 -g -I$(CURDIR)/include -I/usr/src/googletest/googletest/include \
	    -DCE_TEST_DATA='"$(CURDIR)/test/data"' -c $< -o $@

# PostgreSQL's own pglz (libpgcommon, the frontend build) is the oracle of the
# pglz decoder's tests (test/unit/pglz_test.cpp, test/fuzz/pglz_fuzz.cpp).
# Debian keeps it in --pkglibdir, a source install in --libdir.
PGCOMMON_LIB = $(firstword $(wildcard $(shell $(PG_CONFIG) --libdir 2>/dev/null)/libpgcommon.a \
                                      $(shell $(PG_CONFIG) --pkglibdir 2>/dev/null)/libpgcommon.a))

$(UNIT_BIN): $(UNIT_OBJS) $(CORE_OBJS)
	$(CXX) -o $@ $^ $(PGCOMMON_LIB) -lgtest -lgtest_main -pthread -licuuc

.PHONY: unit
unit: $(UNIT_BIN)
	$(UNIT_BIN)

# ---------------------------------------------------------------------------
# Fuzzing (clang libFuzzer + ASan + UBSan) of the core.
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++-14
FUZZ_FLAGS    = -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$(CURDIR)/include
FUZZ_SRCS    := $(sort $(wildcard test/fuzz/*.cpp))
FUZZ_BINS    := $(patsubst test/fuzz/%.cpp,$(BUILD_DIR)/fuzz/%,$(FUZZ_SRCS))

$(BUILD_DIR)/fuzz/%: test/fuzz/%.cpp $(CORE_SRCS) $(wildcard include/concurrent_edit/*.hpp) $(wildcard test/fuzz/*.hpp)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $< $(CORE_SRCS) $(FUZZ_LIBS) -licuuc -o $@
$(BUILD_DIR)/fuzz/pglz_fuzz: FUZZ_LIBS = $(PGCOMMON_LIB)

.PHONY: fuzz-build fuzz
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzzers.sh $(FUZZ_BINS)

# ---------------------------------------------------------------------------
# The two README commands.  Both bootstrap missing packages first.
.PHONY: deps test demo demo-web bench
deps:
	scripts/bootstrap.sh

test: deps
	scripts/test.sh

demo: deps
	scripts/demo.sh

demo-web: deps
	scripts/demo-web.sh

bench: deps
	scripts/bench.sh && scripts/bench-charts.sh

EXTRA_CLEAN = $(BUILD_DIR) results output_iso tmp_check tmp_check_iso regression.diffs regression.out log

endif  # PGXS found
