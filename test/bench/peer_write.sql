-- The hand-written peer of write(): optimistic concurrency in PL/pgSQL, each
-- version stored in full (UPDATE ... WHERE version = base, INSERT the history
-- row, sha256, pg_notify). Used by writes.sh and history.sh.
SET client_min_messages = warning;
DROP TABLE IF EXISTS peer_files, peer_versions;
CREATE TABLE peer_files (id uuid PRIMARY KEY, project_id uuid NOT NULL, head_version int NOT NULL,
                         head_hash text NOT NULL, updated_by uuid, updated_at timestamptz);
CREATE TABLE peer_versions (file_id uuid, version int, content text NOT NULL, content_hash text NOT NULL,
                            created_by uuid, created_at timestamptz DEFAULT now(), PRIMARY KEY (file_id, version));
-- The peer: optimistic concurrency written by hand in PL/pgSQL.
CREATE OR REPLACE FUNCTION peer_write(f uuid, body text, base int, author uuid) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  h text := encode(sha256(convert_to(body, 'UTF8')), 'hex');
  v int;
  p uuid;
BEGIN
  UPDATE peer_files SET head_version = head_version + 1, head_hash = h, updated_by = author, updated_at = now()
   WHERE id = f AND head_version = base RETURNING head_version, project_id INTO v, p;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'stale' USING ERRCODE = '40001';
  END IF;
  INSERT INTO peer_versions (file_id, version, content, content_hash, created_by) VALUES (f, v, body, h, author);
  PERFORM pg_notify('peer_' || replace(p::text, '-', ''),
                    json_build_object('event', 'version', 'file_id', f, 'version', v, 'content_hash', h)::text);
  RETURN v;
END $$;
