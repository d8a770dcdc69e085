#!/usr/bin/perl
# Writes the install script of concurrent_edit_router, the shard router
# (docs/scale-out.md), from the fragments of concurrent_edit itself, so that the
# router's functions have exactly the names, arguments, defaults and result
# types of the functions they route:
#   1. the pure parts, verbatim: the schema, vclock, merge, JSON merge and
#      operations (they run on the router itself);
#   2. every composite type of the API, with its comments;
#   3. the router's own objects (src/sql/router/*.sql);
#   4. for each routed function, an internal PL/Proxy function that runs it on
#      one partition (concurrent_edit._px_NAME, the partition's hash first) and,
#      under the function's own name and arguments, a PL/pgSQL function that
#      finds the hash of the call's project and calls it. A shard's error reaches
#      the caller as the shard raised it (SQLSTATE, message, JSON detail, hint);
#      an unreachable shard is SQLSTATE 08006 naming it (concurrent_edit._raise_routed).
# Usage: gen-router.pl SRC_SQL_DIR > concurrent_edit_router--VERSION.sql
use strict;
use warnings;

my $dir = shift or die "usage: $0 src/sql\n";
my @pure = qw(00_foundation.sql 05_vclock.sql 15_merge.sql 18_json_merge.sql 60_operations.sql);

# How each routed function finds its project: the argument that names it, by
# kind (project, file, session, conflict, or write_many's array of writes); with
# several, the first one not NULL.
my %route = (
    (map { $_ => [ [ project => 'project_id' ] ] }
        qw(create_file list_files file_at set_retention set_project_options project_options project_sessions
           changes_since feed_position channel_name grant_project revoke_project has_project_right open_session)),
    (map { $_ => [ [ file => 'file_id' ] ] }
        qw(read history diff_versions delete_file rename_file write preview_write revert_version revert_author
           acquire_lock release_lock extend_lock lock_status force_release_lock file_editors)),
    (map { $_ => [ [ session => 'session_id' ] ] }
        qw(touch_session close_session open_file close_file save_draft discard_draft commit_draft session_drafts
           release_session_locks)),
    (map { $_ => [ [ conflict => 'conflict_id' ] ] }
        qw(resolve_conflict discard_conflict conflict_hunks conflict_texts)),
    list_conflicts => [ [ project => 'project_id' ], [ file => 'file_id' ] ],
    # The shard of the first element's file (concurrent_edit._write_many_hash).
    write_many => [ [ writes => 'writes' ] ],
);

# Set-returning functions whose project argument may name the nil project, which
# is on every shard (row conflicts of OCC tables without a project column): with
# it, the call runs on every shard, and the rows are merged in the order given
# (the function's own order). An unreachable shard fails the call (08006).
my %every_shard_for_nil = (list_conflicts => [ 'project_id', 'created_at, conflict_id' ]);

# Functions that make an id a caller may choose: that id is checked to be new on
# every shard first (concurrent_edit._route('new_$kind', ...)), and the id made is
# kept in the directory at once, before any other call names it (a twin made on
# another shard afterwards then routes nowhere but here).
my %makes = (create_file => [ file => 'file_id' ]);

sub slurp { my ($f) = @_; open my $fh, '<', $f or die "$f: $!"; local $/; return <$fh>; }

# SQL statements of a script: split at ';' outside quotes, dollar quotes and comments.
sub statements {
    my ($sql) = @_;
    my (@out, $cur);
    $cur = '';
    my $i = 0;
    my $n = length $sql;
    while ($i < $n) {
        my $c = substr($sql, $i, 1);
        if ($c eq "'") {
            my $j = $i + 1;
            while ($j < $n) {
                if (substr($sql, $j, 1) eq "'") {
                    if (substr($sql, $j + 1, 1) eq "'") { $j += 2; next; }
                    last;
                }
                $j++;
            }
            $cur .= substr($sql, $i, $j - $i + 1); $i = $j + 1; next;
        }
        if ($c eq '-' && substr($sql, $i, 2) eq '--') {
            my $j = index($sql, "\n", $i); $j = $n if $j < 0;
            $cur .= substr($sql, $i, $j - $i); $i = $j; next;
        }
        if ($c eq '$' && substr($sql, $i) =~ /^(\$[A-Za-z_]*\$)/) {
            my $tag = $1;
            my $j = index($sql, $tag, $i + length $tag);
            die "unterminated $tag" if $j < 0;
            $cur .= substr($sql, $i, $j + length($tag) - $i); $i = $j + length $tag; next;
        }
        if ($c eq ';') { push @out, $cur; $cur = ''; $i++; next; }
        $cur .= $c; $i++;
    }
    return @out;
}

# Strips leading comment lines and blank space.
sub body_of { my ($s) = @_; $s =~ s/^(\s*--[^\n]*\n|\s+)*//; return $s; }

# Splits a parameter list at top-level commas.
sub split_top {
    my ($s) = @_;
    my (@parts, $depth, $cur, $q);
    ($depth, $cur, $q) = (0, '', 0);
    for my $c (split //, $s) {
        if ($c eq "'") { $q = !$q; }
        if (!$q) {
            $depth++ if $c eq '(';
            $depth-- if $c eq ')';
            if ($c eq ',' && $depth == 0) { push @parts, $cur; $cur = ''; next; }
        }
        $cur .= $c;
    }
    push @parts, $cur if $cur =~ /\S/;
    s/^\s+|\s+$//g for @parts;
    s/\s+/ /g for @parts;
    return @parts;
}

my (@types, %functions, %comments);
opendir my $dh, $dir or die "$dir: $!";
my @files = sort grep { /^\d\d_.*\.sql$/ } readdir $dh;
closedir $dh;
my $out = "-- Generated by scripts/gen-router.pl from src/sql: do not edit.\n"
        . "\\echo Use \"CREATE EXTENSION concurrent_edit_router\" to load this file. \\quit\n\n";
for my $f (@pure) { $out .= "-- ===== $f (as in concurrent_edit) =====\n" . slurp("$dir/$f") . "\n"; }

my %is_pure = map { $_ => 1 } @pure;
for my $f (@files) {
    next if $is_pure{$f};
    for my $st (statements(slurp("$dir/$f"))) {
        my $b = body_of($st);
        if ($b =~ /^CREATE TYPE concurrent_edit\.(\w+) AS \(/) { push @types, [ $1, "$b;\n" ]; next; }
        if ($b =~ /^COMMENT ON (?:TYPE|COLUMN) concurrent_edit\.(\w+)/) {
            my $t = $1;
            for my $ty (@types) { $ty->[1] .= "$b;\n" if $ty->[0] eq $t; }
            next;
        }
        if ($b =~ /^CREATE FUNCTION concurrent_edit\.(\w+)\(/ && $route{$1}) { $functions{$1} = $b; next; }
        if ($b =~ /^COMMENT ON FUNCTION concurrent_edit\.(\w+)\((.*?)\) IS\s+'(.*)'\s*$/s && $route{$1}) {
            $comments{$1} = [ $2, $3 ];
        }
    }
}
$out .= "-- ===== the composite types of the API (as in concurrent_edit) =====\n";
$out .= $_->[1] . "\n" for @types;

opendir $dh, "$dir/router" or die "$dir/router: $!";
for my $f (sort grep { /\.sql$/ } readdir $dh) { $out .= "-- ===== router/$f =====\n" . slurp("$dir/router/$f") . "\n"; }
closedir $dh;

$out .= "-- ===== routed functions =====\n";
for my $name (sort keys %route) {
    my $def = $functions{$name} or die "routed function $name not found in $dir\n";
    my $c = $comments{$name} or die "no COMMENT ON FUNCTION for $name\n";
    $def =~ /^CREATE FUNCTION concurrent_edit\.\w+\((.*?)\)\s*RETURNS\s+(.*?)\s+(?:AS|LANGUAGE)\s/s
        or die "cannot parse $name\n";
    my ($params, $returns) = ($1, $2);
    $returns =~ s/\s+ROWS\s+\d+//;
    $returns =~ s/\s+/ /g;
    my $strict = $def =~ /\bSTRICT\b/ ? ' STRICT' : '';
    my ($volatility) = $def =~ /\b(IMMUTABLE|STABLE|VOLATILE)\b/;
    $volatility //= 'VOLATILE';
    my (@in, @out_cols);
    for my $p (split_top($params)) {
        if ($p =~ /^OUT\s/) { push @out_cols, $p; next; }
        $p =~ /^(\w+)\s+(.*?)(?:\s+DEFAULT\s+(.*))?$/ or die "cannot parse parameter '$p' of $name\n";
        push @in, { name => $1, type => $2, full => $p };
    }
    die "$name: OUT parameters are not routed\n" if @out_cols;
    my %argno = map { $in[$_]{name} => $_ + 1 } 0 .. $#in;
    my $set = $returns =~ /^(SETOF|TABLE)\b/;
    my $void = $returns eq 'void';
    # The internal proxy: the partition hash, then the same arguments without defaults.
    my $args = join(', ', 'partition_hash integer', map { "$_->{name} $_->{type}" } @in);
    my $call = join(', ', map { '$' . ($_ + 2) . '::' . $in[$_]{type} } 0 .. $#in);
    my $remote = $set || $returns =~ /^concurrent_edit\./ ? "SELECT * FROM concurrent_edit.$name($call)"
                                                          : "SELECT concurrent_edit.$name($call)";
    # A function routed by its project runs on that project's partition, whatever
    # hash it is given: the _px_ functions are executable by every role (the
    # routed function's caller), and a direct call naming another partition put a
    # project's rows on a shard that does not serve it (create_file: a twin of
    # another shard's file id, refused to everyone, 21000). (PL/Proxy's RUN ON
    # takes a function of the arguments; not one that calls PL/Proxy itself.)
    # The hash given must name a partition: NULL is 22004 (PL/Proxy's own
    # "hash function returned NULL" was XX000, for a direct call).
    my $run_on = 'concurrent_edit._given_hash(partition_hash)';
    my @own = @{ $route{$name} };
    $run_on = "concurrent_edit._project_partition_hash($own[0][1])" if @own == 1 && $own[0][0] eq 'project';
    # PL/Proxy sends the arguments and reads the results as text: in the
    # caller's DateStyle, '03/04/2026' was read on the shard as another day.
    # (The shard's session is pinned the same way: _shard_conninfo.)
    $out .= "CREATE FUNCTION concurrent_edit._px_$name($args)\n    RETURNS $returns\n"
          . "    SET DateStyle = 'ISO, MDY' SET IntervalStyle = 'postgres'\n"
          . "    LANGUAGE plproxy AS \$\$\n        CLUSTER 'concurrent_edit_shards';\n        RUN ON $run_on;\n"
          . "        $remote;\n\$\$;\n"
          . "COMMENT ON FUNCTION concurrent_edit._px_$name(" . join(', ', 'integer', map { $_->{type} } @in) . ") IS\n"
          . ($run_on =~ /_given_hash/
             ? "    'Internal: runs concurrent_edit.$name on the partition of the hash given first (PL/Proxy), as the calling role, whose rights the shard checks. Not part of the API.';\n"
             : "    'Internal: runs concurrent_edit.$name on the partition of its project (PL/Proxy; the hash given first is not used), as the calling role, whose rights the shard checks. Not part of the API.';\n");
    # The routed function, under the API's name and arguments.
    my @routes = @{ $route{$name} };
    my $hash = '';
    for my $r (@routes) {
        my ($kind, $arg) = @$r;
        die "$name: no argument $arg\n" unless $argno{$arg};
        my $expr = $kind eq 'project' ? "concurrent_edit.project_hash(\$$argno{$arg})"
                 : $kind eq 'writes'  ? "concurrent_edit._write_many_hash(\$$argno{$arg})"
                 :                      "concurrent_edit._route('$kind', \$$argno{$arg})";
        $hash .= @routes > 1 ? "        WHEN \$$argno{$arg} IS NOT NULL THEN $expr\n" : $expr;
    }
    # A NULL routing argument names no shard: 22004, as the shard would say.
    # (_write_many_hash never returns NULL: input that names no file goes to a
    # fixed partition, whose shard reports it.)
    my $names = join(', ', map { "'$_->[1]'" } @routes);
    $hash = @routes > 1                 ? "CASE\n$hash        ELSE concurrent_edit._no_route(ARRAY[$names]) END"
          : $routes[0][0] eq 'writes' ? $hash
          :                             "coalesce($hash, concurrent_edit._no_route(ARRAY[$names]))";
    my $pass = join(', ', 'h', map { '$' . $_ } 1 .. @in);
    my $stmt = $set ? "RETURN QUERY SELECT * FROM concurrent_edit._px_$name($pass);"
             : $void ? "PERFORM concurrent_edit._px_$name($pass);\n    RETURN;"
             : "RETURN concurrent_edit._px_$name($pass);";
    my ($declare, $check) = ('', '');
    if (my $e = $every_shard_for_nil{$name}) {
        my ($arg, $order) = @$e;
        die "$name: no argument $arg\n" unless $argno{$arg};
        die "$name: only a set is gathered from every shard\n" unless $set && $returns =~ /^SETOF (concurrent_edit\.\w+)$/;
        my $type = $1;
        $declare = "    s record;\n    gathered $type\[\] := '{}';\n";
        # h is each shard's first partition in turn: an error names that shard.
        $stmt = "IF \$$argno{$arg} = '00000000-0000-0000-0000-000000000000' THEN\n"
              . "        FOR s IN SELECT sp.partition AS part FROM concurrent_edit._shard_partitions() sp LOOP\n"
              . "            h := s.part;\n"
              . "            gathered := gathered || ARRAY(SELECT r FROM concurrent_edit._px_$name($pass) r);\n"
              . "        END LOOP;\n"
              . "        RETURN QUERY SELECT * FROM unnest(gathered) ORDER BY $order;\n"
              . "        RETURN;\n    END IF;\n    $stmt";
    }
    if (my $m = $makes{$name}) {
        my ($kind, $arg) = @$m;
        die "$name: no argument $arg\n" unless $argno{$arg};
        die "$name: makes an id, so it must return it\n" if $set || $void;
        $declare = "    made $returns;\n";
        # After the hash: a NULL project is 22004 first, as without a chosen id.
        # The id is kept unless a shard of another project claims it by then, a
        # shard is down (_route keeps nothing then) or the directory cannot be
        # written: the id is made and returned either way (a cancel still ends the
        # call: OTHERS does not catch it).
        $check = "\n    PERFORM concurrent_edit._route('new_$kind', \$$argno{$arg});";
        $stmt = "made := concurrent_edit._px_$name($pass);\n    BEGIN\n"
              . "        PERFORM concurrent_edit._route('$kind', made);\n"
              . "    EXCEPTION WHEN OTHERS THEN\n        NULL;\n    END;\n"
              . "    RETURN made;";
    }
    # The hash is computed inside the block: an error of _route (a shard's, or
    # PL/Proxy's) is then raised again by _raise_routed like any other.
    my $body = "AS \$\$\nDECLARE\n    h integer;\n$declare    e_state text;\n    e_message text;\n    e_detail text;\n"
             . "    e_hint text;\nBEGIN\n    h := $hash;$check\n    $stmt\nEXCEPTION WHEN OTHERS THEN\n"
             . "    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,\n"
             . "                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;\n"
             . "    PERFORM concurrent_edit._raise_routed(h, e_state, e_message, e_detail, e_hint);\nEND\n\$\$;\n";
    my $attrs = "LANGUAGE plpgsql $volatility$strict\n    SET search_path = pg_catalog, pg_temp\n";
    my %out_names = map { /^(\w+)\s/ ? ($1 => 1) : () } ($returns =~ /^TABLE\s*\((.*)\)$/ ? split_top($1) : ());
    if (grep { $out_names{$_->{name}} } @in) {
        # An argument named like a result column (set_retention's project_id): a
        # PL/pgSQL function cannot have both, so the routed body takes its
        # arguments unnamed and an SQL function keeps the API's names.
        my $types = join(', ', map { $_->{type} } @in);
        $out .= "CREATE FUNCTION concurrent_edit._rt_$name($types)\n    RETURNS $returns\n    $attrs$body"
              . "COMMENT ON FUNCTION concurrent_edit._rt_$name($types) IS\n"
              . "    'Internal: the routed body of concurrent_edit.$name, whose arguments are named like its result columns. Not part of the API.';\n";
        $body = "AS \$\$ SELECT * FROM concurrent_edit._rt_$name(" . join(', ', map { '$' . $_ } 1 .. @in) . ") \$\$;\n";
        $attrs = "LANGUAGE sql $volatility$strict\n    SET search_path = pg_catalog, pg_temp\n";
    }
    $out .= "CREATE FUNCTION concurrent_edit.$name(" . join(', ', map { $_->{full} } @in) . ")\n"
          . "    RETURNS $returns\n    $attrs$body";
    (my $text = $c->[1]) =~ s/\s+/ /g;
    my $where = $name eq 'write_many'
        ? "the shard of the first element''s file, where every file of the call must be (docs/scale-out.md)"
        : $every_shard_for_nil{$name}
        ? 'the shard that owns the project, or every shard for the nil project, the rows merged oldest first (docs/scale-out.md)'
        : 'the shard that owns the project (docs/scale-out.md)';
    $out .= "COMMENT ON FUNCTION concurrent_edit.$name($c->[0]) IS\n"
          . "    'Routed to $where; there: $text';\n\n";
}
print $out;
