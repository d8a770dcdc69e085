# The operation functions (order_operations, detect_operation_conflicts,
# resolve_operations: executable by every role) read numbers of their jsonb
# arguments without spending time on numbers whose text is huge, and stay
# cancellable while they read. A JSON number such as 1e131071 takes a few bytes
# in jsonb and 131,072 characters as text (numeric_out):
#  1. priorities: each value was turned into its text before it was checked,
#     so 400,000 such values (a column of a few hundred kB) kept the backend busy
#     for about 15 s, deaf to statement_timeout and pg_cancel_backend, to refuse
#     the first one (22023). Now a value that cannot be a priority (not an
#     integer from -9223372036854775807 to 9223372036854775807) is refused
#     without its text;
#  2. ops: the bound of what an element's reading takes (its JSON text) counted
#     the text of every number of the element, all of them, before comparing
#     with max_merge_memory: one element with 400,000 such numbers, the same
#     15 s deaf to cancellation, to refuse it (54000). The count now stops once
#     past the room;
#  3. and reading an element looks for interrupts: with a room larger than
#     the element's text, statement_timeout stops the reading (57014).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use CETest;

my $node = new_node('operations_numbers');
$node->safe_psql('postgres', 'CREATE EXTENSION concurrent_edit');
$node->safe_psql('postgres', 'CREATE ROLE mallory LOGIN');
# Built from text: the numbers' input is short (a numeric's output is not).
$node->safe_psql('postgres', q{
  CREATE TABLE input AS
  SELECT ('{' || string_agg('"k' || i || '": 1e131071', ', ') || '}')::jsonb AS priorities,
         ('[{"opCode": "insert", "blockId": "b", "timestamp": 1, "x": ['
          || string_agg('1e131071', ', ') || ']}]')::jsonb AS ops
  FROM generate_series(1, 400000) i;
  GRANT SELECT ON input TO mallory;});

# Runs `sql` as mallory; returns (SQLSTATE or '', seconds).
sub timed {
    my ($sql, $settings) = @_;
    my $t0 = time;
    my ($rc, $out, $err) = $node->psql('postgres', "$settings\n$sql",
        extra_params => ['-U', 'mallory', '-v', 'VERBOSITY=verbose']);
    my $elapsed = time - $t0;
    my ($state) = $err =~ /ERROR:\s+([0-9A-Z]{5}):/;
    note(sprintf('%.2f s: %s', $elapsed, $err =~ /ERROR:\s+(.*)/ ? $1 : 'no error'));
    return ($state // '', $elapsed);
}

# 1. Priorities that are no priority are refused at once.
for my $f (q{order_operations('[]', priorities)}, q{detect_operation_conflicts('[]', priorities)},
           q{resolve_operations('[]', 'merge', priorities)}) {
    my ($state, $s) = timed("SELECT concurrent_edit.$f FROM input", '');
    is($state, '22023', "$f: the huge number is no priority (22023)");
    cmp_ok($s, '<', 3, "$f: refused in less than 3 s");
}
# Priorities that are integers are still read, in every JSON spelling of one.
is($node->safe_psql('postgres', q{
  SELECT concurrent_edit.order_operations('[{"opCode": "a", "blockId": "x", "timestamp": 1}]',
    '{"a": 1e1, "b": -9223372036854775807, "c": 0.5e1, "d": 9223372036854775807, "e": 0, "f": -0}')::text}),
   '[{"opCode": "a", "blockId": "x", "timestamp": 1}]', 'integers written 1e1, 0.5e1, -0 and the bounds are priorities');
for my $bad ('1.0', '0.5', '9223372036854775808', '-9223372036854775808', '1e-100', '1e100', '"1"') {
    my ($rc, $out, $err) = $node->psql('postgres',
        "SELECT concurrent_edit.order_operations('[]', '{\"a\": $bad}')", extra_params => ['-v', 'VERBOSITY=verbose']);
    like($err, qr/22023: priorities: the priority of "a" must be an integer/, "$bad is no priority");
}

# 2. An element whose text would not fit in max_merge_memory is refused at once.
{
    my ($state, $s) = timed('SELECT concurrent_edit.order_operations(ops) FROM input', '');
    is($state, '54000', 'the element does not fit in max_merge_memory (54000)');
    cmp_ok($s, '<', 3, 'refused in less than 3 s');
}

# 3. With room for it (a superuser's setting), statement_timeout stops its reading.
{
    my $su_t0 = time;
    my ($rc, $out, $err) = $node->psql('postgres',
        "SET concurrent_edit.max_merge_memory = '2000GB'; SET statement_timeout = '500ms';\n"
        . 'SELECT concurrent_edit.order_operations(ops) FROM input', extra_params => ['-v', 'VERBOSITY=verbose']);
    my $su_s = time - $su_t0;
    note(sprintf('%.2f s: %s', $su_s, $err));
    like($err, qr/57014: canceling statement due to statement timeout/, 'statement_timeout cancels the reading');
    cmp_ok($su_s, '<', 3, 'within 3 s');
}

$node->stop;
done_testing();
