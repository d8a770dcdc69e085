# No call takes memory beyond its bounds (docs/reference/foundation.md,
# concurrent_edit.max_merge_memory); split from 021_bounded.pl, its parts keep
# their numbers there (5 to 12):
#  * prune_history over a whole project takes memory for one file at a time;
#  * an OCC merge of a row too large for max_merge_memory is refused before its
#    row images are made, and occ_refresh_images keeps images in batches that fit
#    in it;
#  * write_many keeps of each write only the hunks it returns, within
#    max_merge_memory;
#  * the operation functions refuse operations and priorities whose text would
#    not fit in max_merge_memory before they make it;
#  * reading a conflict does not read the details of its regions;
#  * changes_since keeps nothing of a batch of events once copied, and
#    revert_author one revert's texts at a time.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use CETest;

my $alice = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

# 5. prune_history over a project takes memory for one file at a time, not for
# every file: the private part of the backend's peak memory (/proc's VmHWM less
# its shared memory) grows as much for 24 files as for 4. Each file has a 1 MB
# text and 60 versions, pruned to 30. Before, each file left about 1 MB behind to
# the end of the call (24 MB more for 24 files; 5 MB a file before 5a345f4).
{
    my $node = new_node('prune_memory');
    $node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
    $node->safe_psql('postgres', q{
      CREATE FUNCTION grow(f uuid, n int) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE t text; BEGIN
        FOR v IN 2..n LOOP
          SELECT content INTO t FROM concurrent_edit.read(f);
          PERFORM concurrent_edit.write(f, replace(t, 'line ' || (v * 37) || ' ', 'edit ' || (v * 37) || ' '), v - 1,
                                        'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa');
        END LOOP;
      END $$;
      CREATE FUNCTION private_peak_kb() RETURNS bigint LANGUAGE sql AS $$
        SELECT (regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint - (regexp_match(s, 'RssShmem:\s+(\d+)'))[1]::bigint
        FROM pg_read_file('/proc/self/status') s $$;});
    my %growth;
    for my $files (4, 24) {
        my $p = sprintf('21212121-0000-0000-0000-%012d', $files);
        $node->safe_psql('postgres', qq{
          SELECT count(grow(concurrent_edit.create_file('$p', 'big' || j || '.txt',
                 (SELECT string_agg('line ' || i || ' ' || repeat('x', 60), E'\n') FROM generate_series(1, 16000) i),
                 '$alice'), 60))
          FROM generate_series(1, $files) j});
        # A new backend: its peak is its own.
        my $out = $node->safe_psql('postgres', qq{
          SELECT private_peak_kb() AS b \\gset
          SELECT concurrent_edit.prune_history(project_id => '$p', keep_versions => 30);
          SELECT private_peak_kb() - :b});
        my ($removed, $kb) = split /\n/, $out;
        is($removed, 30 * $files, "prune_history removes 30 versions of each of $files files");
        $growth{$files} = $kb;
    }
    cmp_ok($growth{24} - $growth{4}, '<', 8 * 1024,
           "its memory does not grow with the files: $growth{4} kB for 4 files, $growth{24} kB for 24");

    # 6. An OCC merge of a row too large for concurrent_edit.max_merge_memory is
    # refused before its row images are made: a stale update of a row holding a
    # 20 MB text under a 16 MB limit. Before, the images (to_jsonb of the old and
    # new rows and the base, as text, copied out of SPI) were made first, and the
    # backend's private memory peaked at about 470 MB before the merge's own
    # structures hit the limit.
    $node->safe_psql('postgres', q{
      CREATE TABLE big (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, t text, j jsonb);
      INSERT INTO big VALUES (1, 1, repeat(E'a line of text\n', 1400000), '{}');
      SELECT concurrent_edit.enable_occ('big', mode => 'merge');
      UPDATE big SET j = '{"a": 1}', version = 1;});
    my ($rc6, $out6, $err6) = $node->psql('postgres', q{
      SELECT private_peak_kb() AS b \gset
      SET concurrent_edit.max_merge_memory = '16MB';
      UPDATE big SET j = '{"b": 1}', version = 1;
      RESET concurrent_edit.max_merge_memory;
      SELECT private_peak_kb() - :b}, extra_params => ['-v', 'VERBOSITY=verbose']);
    like($err6, qr/54000/, 'a stale OCC update of a 20 MB row under a 16 MB max_merge_memory is refused (54000)');
    $node->safe_psql('postgres', 'SELECT 1');
    my ($kb6) = $node->safe_psql('postgres', q{
      SELECT private_peak_kb() AS b \gset
      SET concurrent_edit.max_merge_memory = '16MB';
      DO $$ BEGIN UPDATE big SET j = '{"b": 1}', version = 1; EXCEPTION WHEN program_limit_exceeded THEN NULL; END $$;
      SELECT private_peak_kb() - :b});
    cmp_ok($kb6, '<', 64 * 1024, "before its images are made: the backend's private peak grows by $kb6 kB");
    is($node->safe_psql('postgres', q{SELECT version || ' ' || j::text FROM big}), '2 {"a": 1}', 'the row is unchanged');
    # An update at the current version keeps the new version's image only when
    # making it fits in the setting (14 times the row's bytes): under 16 MB it
    # keeps none, and the update goes through in a few MB; before, it made the
    # image (about 270 MB for this row).
    my ($kb7) = $node->safe_psql('postgres', q{
      SELECT private_peak_kb() AS b \gset
      SET concurrent_edit.max_merge_memory = '16MB';
      UPDATE big SET j = '{"c": 1}', version = 2;
      SELECT private_peak_kb() - :b});
    cmp_ok($kb7, '<', 64 * 1024, "an update at the current version keeps no image too large to make: +$kb7 kB");
    is($node->safe_psql('postgres', q{SELECT string_agg(version::text, ',' ORDER BY version)
      FROM concurrent_edit.occ_row_versions WHERE relation = 'public.big'}), '1,2',
       'version 3 has no image (a stale update from it gets VC001); the older ones stay');

    # 7. write_many keeps of each write only what it returns (the hunks and
    # semantic warnings, counted against max_merge_memory), not the file's text:
    # 100 stale first-write-wins writes of a 4 MB file under a 16 MB setting.
    # Before, every outcome kept the head's text and every lock_file() left the
    # head's detoasted text in the call's SPI context: 800 MB.
    my $wm = $node->safe_psql('postgres', qq{SELECT concurrent_edit.create_file('21212121-0000-0000-0000-000000000007',
      'wm.txt', (SELECT string_agg(md5(i::text), E'\\n') FROM generate_series(1, 120000) i), '$alice')});
    my $small = $node->safe_psql('postgres', qq{SELECT concurrent_edit.create_file('21212121-0000-0000-0000-000000000007',
      'wm_small.txt', (SELECT string_agg(md5(i::text), E'\\n') FROM generate_series(1, 30000) i), '$alice')});
    $node->safe_psql('postgres', 'CREATE TABLE wm (file uuid PRIMARY KEY, w jsonb)');
    $node->safe_psql('postgres', qq{
      SELECT w.status FROM concurrent_edit.read('$_') r, concurrent_edit.write('$_', 'A' || r.content, 1, '$alice') w;
      INSERT INTO wm SELECT '$_', jsonb_agg(jsonb_build_object('file_id', '$_', 'content', 'x', 'base_version', 1,
        'author', '$alice')) FROM generate_series(1, 100);})
      for ($wm, $small);
    my ($rejected, $kb8) = split /\n/, $node->safe_psql('postgres', qq{
      SELECT private_peak_kb() AS b \\gset
      SET concurrent_edit.max_merge_memory = '16MB';
      SELECT count(*) FILTER (WHERE m.status = 'rejected') FROM wm t,
             concurrent_edit.write_many(t.w, 'first-write-wins', false) m WHERE t.file = '$wm';
      SELECT private_peak_kb() - :b});
    is($rejected, 100, 'write_many: 100 stale first-write-wins writes of a 4 MB file are rejected');
    cmp_ok($kb8, '<', 64 * 1024, "without keeping the file's text: the backend's private peak grows by $kb8 kB");
    # Conflicts on a 1 MB file: each keeps its hunks (2 MB) for its row, which
    # count against the setting: refused instead of growing with the writes.
    my ($rc9, $out9, $err9) = $node->psql('postgres', qq{
      SELECT private_peak_kb() AS b \\gset
      SET concurrent_edit.max_merge_memory = '16MB';
      SELECT count(*) FROM wm t, concurrent_edit.write_many(t.w, 'merge', false) m WHERE t.file = '$small';
      SELECT private_peak_kb() - :b AS grown}, extra_params => ['-v', 'VERBOSITY=verbose', '-v', 'ON_ERROR_STOP=0']);
    like($err9, qr/54000/, 'write_many: the hunks of 100 conflicts on a 1 MB file count against max_merge_memory (54000)');
    my ($kb9) = $out9 =~ /(\d+)\s*$/;
    ok(defined $kb9, 'the private peak was measured');
    cmp_ok($kb9 // 1e9, '<', 64 * 1024, "refused within the setting: the private peak grows by @{[$kb9 // '?']} kB");

    # 8. occ_refresh_images (enable_occ runs it) keeps the images of a table's rows
    # in batches whose images fit in max_merge_memory, and none for a row too large
    # for it, as the trigger does: 30 rows of 1 MB and one of 20 MB under 16 MB.
    # Before, a batch was 1,000 rows whatever their size, each made into its image
    # with to_jsonb() of the whole row for its key as well: this refresh grew the
    # backend's private memory by 391 MB and kept the large row's image. (A dropped
    # column is in the table: the rows are rebuilt in its layout.)
    $node->safe_psql('postgres', q{
      CREATE TABLE many (id int PRIMARY KEY, gone int, version int NOT NULL DEFAULT 1, t text, j jsonb);
      ALTER TABLE many DROP COLUMN gone;
      INSERT INTO many SELECT i, 1, (SELECT string_agg(md5((i * 100000 + k)::text), E'\n') FROM generate_series(1, 31000) k),
                              pg_catalog.jsonb_build_object('n', i) FROM generate_series(1, 30) i;
      INSERT INTO many VALUES (31, 1, repeat(E'a line of text\n', 1400000), NULL);
      SELECT concurrent_edit.enable_occ('many', mode => 'merge');});
    my ($rc10, $out10, $err10) = $node->psql('postgres', q{
      SELECT private_peak_kb() AS b \gset
      SET concurrent_edit.max_merge_memory = '16MB';
      SELECT concurrent_edit.occ_refresh_images('many');
      SELECT private_peak_kb() - :b});
    my ($kept10, $kb10) = split /\n/, $out10;
    is($kept10, 30, 'occ_refresh_images under a 16 MB max_merge_memory keeps the images of the 30 rows of 1 MB');
    like($err10, qr/1 row\(s\) of public\.many keep no image/, 'and tells that the row of 20 MB keeps none');
    cmp_ok($kb10, '<', 96 * 1024, "in batches that fit the setting: the backend's private peak grows by $kb10 kB");
    is($node->safe_psql('postgres', q{
      SELECT count(*) FILTER (WHERE v.row_data = pg_catalog.to_jsonb(m) - 'j' || CASE WHEN m.j IS NULL THEN '{}' ELSE
                                     pg_catalog.jsonb_build_object('j', m.j) END) || '/' || count(v.*) || '/' || count(*)
      FROM many m LEFT JOIN concurrent_edit.occ_row_versions v
        ON v.relation = 'public.many' AND v.row_key = pg_catalog.jsonb_build_object('id', m.id) AND v.version = m.version}),
       '30/30/31', 'each kept image is the row as the trigger keeps it (a NULL json column left out); the large row has none');
    # With the default setting the large row keeps its image too.
    is($node->safe_psql('postgres', q{SELECT concurrent_edit.occ_refresh_images('many')}), '31',
       'under the default max_merge_memory every row keeps its image');

    # 9. The operation functions refuse, within max_merge_memory, inputs whose text
    # is far larger than their jsonb: a number such as 1e131071 is 10 bytes of jsonb
    # and 131,072 characters as text. Before, each operation's JSON text (kept for
    # ordering and details) was made before anything was counted, every priority's
    # number was kept as text, and an operation's dependencies were copied twice
    # before they were counted: a 700-byte ops value took 790 MB, a 30 kB priorities
    # object 400 MB and 8 million dependencies 1.2 GB under a 16 MB setting. Nor
    # were priorities counted at all (read before the Budget): 2.5 million small
    # ones took 376 MB.
    $node->safe_psql('postgres', q{
      CREATE TABLE amplified (name text PRIMARY KEY, ops jsonb, prio jsonb);
      INSERT INTO amplified VALUES
        ('numbers', jsonb_build_array(jsonb_build_object('opCode', 'OP_TEXT_EDIT', 'blockId', 'b', 'timestamp', 1,
           'payload', (SELECT jsonb_agg('1e131071'::numeric) FROM generate_series(1, 2000)))), NULL),
        ('priorities', '[]', (SELECT jsonb_object_agg('OP_' || i, '1e131071'::numeric) FROM generate_series(1, 3000) i)),
        ('dependencies', jsonb_build_array(jsonb_build_object('opCode', 'OP_TEXT_EDIT', 'blockId', 'b', 'timestamp', 1,
           'dependencies', (SELECT jsonb_agg('d' || i % 10) FROM generate_series(1, 8000000) i))), NULL),
        -- Many small valid priorities (35 MB of jsonb, under max_input_size): the
        -- map of them was not counted either, 376 MB for these 2.5 million.
        ('many priorities', '[]', (SELECT jsonb_object_agg('O' || i, 1) FROM generate_series(1, 2500000) i));});
    for my $case (['numbers', '54000'], ['priorities', '22023'], ['dependencies', '54000'],
                  ['many priorities', '54000']) {
        my ($name, $code) = @$case;
        my ($rc11, $out11, $err11) = $node->psql('postgres', qq{
          SELECT private_peak_kb() AS b \\gset
          SET concurrent_edit.max_merge_memory = '16MB';
          SELECT concurrent_edit.order_operations(ops, prio) IS NULL FROM amplified WHERE name = '$name';
          SELECT private_peak_kb() - :b AS grown}, on_error_stop => 0, extra_params => ['-v', 'VERBOSITY=verbose']);
        like($err11, qr/$code/, "order_operations: $name refused with $code");
        my ($kb11) = $out11 =~ /(\d+)\s*$/;
        cmp_ok($kb11 // 1e9, '<', 96 * 1024, "$name: refused within the setting, the private peak grows by @{[$kb11 // '?']} kB");
    }

    # 10. Reading a conflict (conflict_texts, conflict_hunks, resolve_conflict,
    # discard_conflict) does not read its details: a content conflict's list its
    # regions, ten times the text of a file of many small conflicts (200,000 in a
    # 2 MB text: 25 MB of JSON). Before, every read converted them to text (one
    # uninterruptible call of several seconds) and copied them: conflict_texts
    # grew the backend by about 200 MB, and a 300 ms statement_timeout ended it
    # seconds late.
    my $many = $node->safe_psql('postgres', qq{
      CREATE TABLE sides AS SELECT s, repeat(E'k\nk\nk\nk\n' || s || E'\n', 200000) AS t FROM unnest(ARRAY['b', 'o', 't']) s;
      SELECT concurrent_edit.create_file('21212121-0000-0000-0000-000000000010', 'many.txt', t, '$alice') FROM sides WHERE s = 'b';});
    $node->safe_psql('postgres', qq{
      SELECT (concurrent_edit.write('$many', t, 1, '$alice')).status FROM sides WHERE s = 'o';
      SELECT (concurrent_edit.write('$many', t, 1, '$alice')).status FROM sides WHERE s = 't';});
    my $cid = $node->safe_psql('postgres', "SELECT id FROM concurrent_edit.conflict_history WHERE file_id = '$many'");
    my ($texts, $kb12) = split /\n/, $node->safe_psql('postgres', qq{
      SELECT private_peak_kb() AS b \\gset
      SELECT count(*) FROM concurrent_edit.conflict_texts('$cid');
      SELECT private_peak_kb() - :b});
    is($texts, 1, 'conflict_texts of a conflict of 200,000 regions');
    cmp_ok($kb12, '<', 96 * 1024, "reads the texts, not the regions' details: the private peak grows by $kb12 kB");
    my $t0 = time;
    my ($rc13, $out13, $err13) = $node->psql('postgres', qq{
      SET statement_timeout = '300ms';
      SELECT count(*) FROM concurrent_edit.conflict_texts('$cid');});
    my $took13 = time - $t0;
    # (Fast enough, it may also end before the timeout.)
    ok($rc13 == 0 ? $out13 eq '1' : $err13 =~ /statement timeout/,
       'under a 300 ms statement_timeout, conflict_texts ends with its result or the timeout') or diag($err13);
    cmp_ok($took13, '<', 2, sprintf('promptly (%.1f s)', $took13));

    # 11. changes_since reads the feed in batches and keeps nothing of a batch it
    # copied into its result: 40,000 events with a 3.8 kB path each (stored out
    # of line, as a long path is). Before, each value fetched out of line to be
    # copied stayed in the call's SPI memory to the end: 170 MB more.
    $node->safe_psql('postgres', q{
      INSERT INTO concurrent_edit.change_log (project_id, cursor, event, path)
      SELECT '21212121-0000-0000-0000-000000000011', i, 'renamed',
             (SELECT string_agg(md5(i || '/' || k), '') FROM generate_series(1, 120) k)
      FROM generate_series(1, 40000) i;});
    my ($events, $kb14) = split /\n/, $node->safe_psql('postgres', q{
      SELECT private_peak_kb() AS b \gset
      SELECT count(*) FROM concurrent_edit.changes_since('21212121-0000-0000-0000-000000000011', 0);
      SELECT private_peak_kb() - :b});
    is($events, 40000, 'changes_since returns the 40,000 events');
    cmp_ok($kb14, '<', 48 * 1024, "keeping no fetched path: the private peak grows by $kb14 kB");

    # 12. revert_author keeps one revert's texts at a time: 59 versions of a 1 MB
    # file reverted under a 16 MB max_merge_memory. Before, every revert's result
    # text and what it allocated on the call's SPI connection stayed to the end of
    # the call: 144 MB more.
    my $rev = $node->safe_psql('postgres', qq{
      SELECT concurrent_edit.create_file('21212121-0000-0000-0000-000000000012', 'rev.txt',
             (SELECT string_agg('line ' || i || ' ' || repeat('x', 60), E'\\n') FROM generate_series(1, 16000) i), '$alice')});
    $node->safe_psql('postgres', "SELECT grow('$rev', 60)");
    my ($reverted, $kb15) = split /\n/, $node->safe_psql('postgres', qq{
      SELECT private_peak_kb() AS b \\gset
      SET concurrent_edit.max_merge_memory = '16MB';
      SELECT count(*) FILTER (WHERE status IN ('written', 'merged')) FROM concurrent_edit.revert_author('$rev', '$alice');
      SELECT private_peak_kb() - :b});
    is($reverted, 59, 'revert_author reverts the 59 versions of a 1 MB file');
    cmp_ok($kb15, '<', 64 * 1024, "one revert at a time: the private peak grows by $kb15 kB");
    is($node->safe_psql('postgres', qq{SELECT (SELECT content FROM concurrent_edit.read('$rev'))
                                            = (SELECT content FROM concurrent_edit.read('$rev', 1))}),
       't', 'and the file is back at its first version');

    # 10. write_many runs each write on an SPI connection of its own: what one
    # allocates there (the new version's text, the rows it read) is freed after it.
    # 100 merged writes of a 2 MB file under a 16 MB setting. Before, each kept
    # about 3 MB to the end of the call: 361 MB for 100 (found by review).
    my $qm = $node->safe_psql('postgres', qq{SELECT concurrent_edit.create_file('21212121-0000-0000-0000-000000000013',
      'queue.txt', E'line1\nline2\nline3\n', '$alice')});
    $node->safe_psql('postgres', qq{
      SELECT status FROM concurrent_edit.write('$qm', E'line1\nline2\nline3\n'
             || (SELECT string_agg(md5(i::text), E'\n') FROM generate_series(1, 60000) i), 1, '$alice');
      INSERT INTO wm SELECT '$qm', jsonb_agg(jsonb_build_object('file_id', '$qm', 'content', 'X' || i || E'\nline2\nline3\n',
        'base_version', 1, 'author', '$alice')) FROM generate_series(1, 100) i;});
    my ($merged, $kb16) = split /\n/, $node->safe_psql('postgres', qq{
      SELECT private_peak_kb() AS b \\gset
      SET concurrent_edit.max_merge_memory = '16MB';
      SELECT count(*) FILTER (WHERE m.status = 'merged') FROM wm t, concurrent_edit.write_many(t.w, 'queue', false) m
      WHERE t.file = '$qm';
      SELECT private_peak_kb() - :b});
    is($merged, 100, 'write_many: 100 queued writes of a 2 MB file are merged');
    cmp_ok($kb16, '<', 96 * 1024, "one write's memory at a time: the private peak grows by $kb16 kB");
    $node->stop;
}

done_testing();
