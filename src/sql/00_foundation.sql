-- Foundation: helper functions used by the tables, and internal diagnostics.
--
-- Security rules for this script (docs/architecture.md#security):
--   * no CREATE OR REPLACE and no IF NOT EXISTS: a pre-existing object with one of
--     our names makes CREATE EXTENSION fail instead of adopting it;
--   * every reference is schema-qualified; functions that run SQL pin
--     search_path = pg_catalog, pg_temp;
--   * every object has a COMMENT.

-- The script creates the schema itself, so it is a member of the extension: a
-- schema "concurrent_edit" that already exists (whoever made it could have planted
-- objects in it) makes CREATE EXTENSION fail, and DROP EXTENSION removes it.
CREATE SCHEMA concurrent_edit;
COMMENT ON SCHEMA concurrent_edit IS
    'concurrent_edit: versioned files, three-way merge, vector clocks, locks and edit sessions (extension schema)';

GRANT USAGE ON SCHEMA concurrent_edit TO PUBLIC;

CREATE FUNCTION concurrent_edit.normalize_path(path text, case_insensitive boolean DEFAULT false,
                                               unicode_normalization text DEFAULT 'NFC') RETURNS text
    AS 'MODULE_PATHNAME', 'ce_normalize_path'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.normalize_path(text, boolean, text) IS
    'The key of a project-relative path under a project''s options (docs/reference/paths.md): backslashes to "/", repeated, leading and trailing slashes and "." segments removed, ".." resolved; with unicode_normalization NFC (the default) composed to NFC; with case_insensitive full Unicode case folding. Spaces and everything else kept. Errors: 22023 (empty, escapes the root, not UTF-8, a control, C1, bidirectional or invisible (default-ignorable) character, unknown unicode_normalization), 54000 (path over 4096 bytes, key over 2048).';

CREATE FUNCTION concurrent_edit.content_hash(content text) RETURNS text
    AS 'MODULE_PATHNAME', 'ce_content_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.content_hash(text) IS
    'Lowercase hex SHA-256 of the text''s bytes in the database encoding; the hash stored as content_hash and head_hash, and accepted as expected_hash (ETag) by write().';

CREATE FUNCTION concurrent_edit.is_sha256_hex(value text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'ce_is_sha256_hex'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit.is_sha256_hex(text) IS
    'True when value is 64 lowercase hex digits, the form content_hash() returns; the check of the domain sha256_hex (the type of content_hash and head_hash columns).';

CREATE FUNCTION concurrent_edit._setting(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'ce_setting'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION concurrent_edit._setting(text) IS
    'Internal: current value of a concurrent_edit.* setting, as current_setting() gives it; calling it loads the library that defines the settings (the PL/pgSQL functions read settings through it). Not part of the API.';

CREATE FUNCTION concurrent_edit._boundary_probe(kind text, arg integer DEFAULT 0) RETURNS bigint
    AS 'MODULE_PATHNAME', 'ce_boundary_probe'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION concurrent_edit._boundary_probe(text, integer) IS
    'Internal diagnostics: raises each kind of C++ exception and PostgreSQL error through the C++/PostgreSQL boundary (used by the regression tests). Not part of the API.';
REVOKE ALL ON FUNCTION concurrent_edit._boundary_probe(text, integer) FROM PUBLIC;
