// The one place where the glue includes PostgreSQL's C headers.
//
// Symbols default to hidden (-fvisibility=hidden); PGDLLEXPORT marks what
// PostgreSQL must find with dlsym: _PG_init, Pg_magic_func, the SQL-callable
// functions and their pg_finfo_ records.
#pragma once

#ifndef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

// Declares an SQL-callable C function with C linkage and default visibility.
// Its body must follow the boundary rules of src/pg/boundary.hpp.
#define CE_FUNCTION(name)                         \
    extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS); \
    extern "C" {                                  \
    PG_FUNCTION_INFO_V1(name);                    \
    }                                             \
    Datum name(PG_FUNCTION_ARGS)
