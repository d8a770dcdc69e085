-- Revert: the reverse of a version's change applied on top of the head, as git
-- revert does (docs/reference/revert.md, src/pg/revert.cpp).

CREATE FUNCTION concurrent_edit.revert_version(file_id uuid, version integer, author uuid DEFAULT NULL,
                                               session_id uuid DEFAULT NULL)
    RETURNS concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_revert_version'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.revert_version(uuid, integer, uuid, uuid) IS
    'Undoes the change one version made, keeping every later change: a three-way merge of the head with the version before it, based on the version (git revert). Clean: a new version (status written when the version was the head, merged otherwise, unchanged when there is nothing to undo). Otherwise the conflict is recorded like a write''s (base the reverted version, theirs the version before it) and returned with status conflict. semantic_warnings: the blocks in which both the head (ours) and the undoing (theirs) changed lines, when the merge met no conflict, else [] (docs/reference/semantic.md). Needs write on the project; VC006 for an unknown version.';
CREATE FUNCTION concurrent_edit.revert_author(file_id uuid, author uuid, since timestamptz DEFAULT NULL,
                                              session_id uuid DEFAULT NULL, reverted_by uuid DEFAULT NULL)
    RETURNS SETOF concurrent_edit.write_result
    AS 'MODULE_PATHNAME', 'ce_revert_author'
    LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION concurrent_edit.revert_author(uuid, uuid, timestamptz, uuid, uuid) IS
    'Reverts every change of one author to a file (only those made in session_id when given, only those since `since` when given), newest first, each as its own version like revert_version(); stops at the first conflict, which is recorded and returned. Version 1 (the creation) is not reverted. The new versions are by reverted_by (default: the author). One row per reverted version.';
