// Row images of tables under optimistic concurrency (occ_row_versions).
//
// The security boundary of the OCC triggers lives here: whatever reads a row of
// the caller's table (its key, to_jsonb(row), which may run casts, output
// functions or operators of types the table's owner defined) runs as the caller,
// with search_path pinned. Only the computed values (key and row as jsonb text)
// cross into the extension owner's context, to be stored in or looked up from
// occ_row_versions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/spi.hpp"

namespace ce::pg {

// The relation whose name keys the images of a trigger's table: the table
// enable_occ() was called on (for a partition, the partitioned table the trigger
// was cloned from), so images are found under one name whatever partition a row
// is in.
Oid image_relation(const Trigger* trigger, Relation rel);
// Schema-qualified, quoted name of a relation.
std::string relation_name(Oid relid);
// A row's project from the text of its project column (uuid, text or varchar);
// text that is no uuid: 22P02 naming the table (`relid`, named only then), the
// column and, when given, the row's key (the value is not shown: the caller may
// not be allowed to read it).
pg_uuid_t project_from_text(std::string_view text, Oid relid, const char* column, const std::string* key = nullptr);
// A name (schema nullptr: unqualified) quoted as images and conflicts store it,
// whatever quote_all_identifiers the session set.
std::string stored_name(const char* schema, const char* rel);
// Names of the primary key columns of a relation (from its relcache entry).
std::vector<std::string> primary_key(Relation rel);
// Their attribute numbers, in the same order.
std::vector<int> primary_key_atts(Relation rel);
// The row's key as SQL: a jsonb object of the key columns `atts`, each the
// column of `row` (an alias), or with `row` empty the parameter $1, $2, ... in
// their order. The one rule for keys: the triggers' and occ_refresh_images'.
std::string key_object_sql(TupleDesc desc, const std::vector<int>& atts, const std::string& row);

// Key and images of rows, computed as the caller: key is a JSON object of the
// primary key columns of `a`; a_row and b_row are to_jsonb() of `a` and `b` (when
// asked for; `b` may be nullptr).
struct RowImages {
    std::string key, a_row, b_row;
};
RowImages row_images(Spi& spi, Relation rel, HeapTuple a, HeapTuple b, bool rows);

// In the owner's context: the image of `version` (jsonb text), nullopt when it is
// not kept.
std::optional<std::string> base_image(Spi& spi, const pg_uuid_t& project, const std::string& relation,
                                      const std::string& key, int64 version);
// An image under `key` of a row of the table `relation` (as images name it) must
// fit in occ_row_versions' primary key, whose btree entries hold at most a third
// of a page: 54000 with a JSON DETAIL when it would not (before, the index's own
// 54000, its DETAIL no JSON and the extension's statement in its CONTEXT).
// Measured, as the index forms the entry (compressing long values), for long
// keys only.
void check_image_key(const pg_uuid_t& project, const std::string& relation, const std::string& key);
// In the owner's context: keeps the image of `version` and drops those older than
// the newest `retain`; `inserted` (a new row): drops every other image of the key.
void keep_image(Spi& spi, const pg_uuid_t& project, const std::string& relation, const std::string& key,
                int64 version, const std::string& row, int retain, bool inserted);

// The bytes of a row's values as PostgreSQL holds them uncompressed and in line
// (toast_raw_datum_size for a variable-length value): what its image grows from.
std::size_t row_raw_bytes(TupleDesc desc, HeapTuple tuple);
// Working memory an OCC merge takes per byte of the two rows' values, before its
// own structures are counted: the three images (old, new, the base read back),
// each made by to_jsonb(), turned into text, copied out of SPI, and parsed.
// Measured: a stale update of a row holding a 20 MB text peaked at 474 MB,
// about 12 times the two rows' 40 MB (docs/reference/occ.md).
constexpr std::size_t kMergeImageFactor = 12;

// What keeping a row's image takes per byte of its values (to_jsonb() of the row
// as text, copied out of SPI, stored): measured 267 MB for a row holding a 20 MB
// text, 1.36 GB for 100 MB.
constexpr std::size_t kKeepImageFactor = 14;
// In the owner's context: drops the image of `version` (one kept before under
// the same number) and, for an inserted row, every image of the key.
void drop_images(Spi& spi, const pg_uuid_t& project, const std::string& relation, const std::string& key,
                 int64 version, bool inserted);

// A json or jsonb column, or one of a domain over them.
bool is_json_column(Form_pg_attribute a);

// The SQL expression of a row's image (`row`: "$1" a row-typed parameter, with
// `parenthesize`, or "t" a table alias): to_jsonb() of the row without its json
// and jsonb columns that are NULL (so SQL NULL and JSON null differ).
std::string row_image_sql(TupleDesc desc, const std::string& row, bool parenthesize);

// Computes images as the current user, with the settings images are computed
// with (search_path = pg_catalog, pg_temp, and the output settings of to_jsonb())
// set in a GUC nest level of its own, undone by leave().
class PinnedSearchPath {
public:
    PinnedSearchPath();
    void leave();

private:
    int nest_ = 0;
    bool active_ = false;
};

}  // namespace ce::pg
