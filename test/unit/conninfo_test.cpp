// Where a libpq connection string points (include/concurrent_edit/conninfo.hpp).
#include <gtest/gtest.h>

#include "concurrent_edit/conninfo.hpp"

using ce::conninfo_location;
using ce::shard_conninfo;
using ce::ShardConninfo;

TEST(Conninfo, KeepsHostAndPortOnly) {
    EXPECT_EQ(conninfo_location("host=/tmp/primary port=5433 user=replicator password=s3cret dbname=postgres"),
              "host=/tmp/primary port=5433");
    EXPECT_EQ(conninfo_location("port=5432"), "port=5432");
    EXPECT_EQ(conninfo_location("hostaddr=10.0.0.7 port=6000 sslpassword=x"), "hostaddr=10.0.0.7 port=6000");
    EXPECT_EQ(conninfo_location("host=db1 hostaddr=10.0.0.7"), "host=db1");
}

TEST(Conninfo, QuotedValuesAndSpacesAroundEquals) {
    EXPECT_EQ(conninfo_location("host = 'my host' port= '5 4' password='it''s'"), "");  // '' is not libpq syntax
    EXPECT_EQ(conninfo_location("host = 'my host' port= 5432 password='it\\'s'"), "host=my host port=5432");
}

TEST(Conninfo, NeverReturnsASecret) {
    for (const char* s : {"password=secret", "password='sec ret' host=h", "host=h password=secret port=1",
                          "postgresql://u:secret@h:1/db", "postgresql://u:secret@/db?host=/tmp",
                          // libpq takes a "?" or ":" before the "@" as part of the password
                          "postgresql://postgres:secret?x@/postgres?host=/tmp&port=5612",
                          "postgresql://u:se:cret?@h:1/db", "postgres://u:secret?a=b@h"}) {
        EXPECT_EQ(conninfo_location(s).find("secret"), std::string::npos) << s;
    }
}

TEST(Conninfo, Uris) {
    EXPECT_EQ(conninfo_location("postgresql://rep:pw@primary.example:5433/postgres?sslmode=require"),
              "host=primary.example port=5433");
    EXPECT_EQ(conninfo_location("postgres://[::1]:6543/db"), "host=::1 port=6543");
    EXPECT_EQ(conninfo_location("postgresql://primary"), "host=primary");
    EXPECT_EQ(conninfo_location("postgresql://u:pa:ss?w@h:1/db"), "host=h port=1");
    EXPECT_EQ(conninfo_location("postgresql://h:2?sslmode=require"), "host=h port=2");
}

TEST(Conninfo, UnparsableOrEmptyGivesNothing) {
    EXPECT_EQ(conninfo_location(""), "");
    EXPECT_EQ(conninfo_location("host='unterminated"), "");
    EXPECT_EQ(conninfo_location("justaword"), "");
    EXPECT_EQ(conninfo_location("user=replicator"), "");
}

TEST(ShardConninfo, PinsSearchPathAndAddsTimeout) {
    ShardConninfo c = shard_conninfo("host=h port=5432 dbname=s1", 5);
    EXPECT_EQ(c.error, "");
    EXPECT_EQ(c.conninfo,
              "host='h' port='5432' dbname='s1' connect_timeout='5' options='-c search_path=pg_catalog,pg_temp -c role=none -c DateStyle=ISO,MDY -c IntervalStyle=postgres'");
    EXPECT_EQ(shard_conninfo("dbname=s1 connect_timeout=2", 5).conninfo,
              "dbname='s1' connect_timeout='2' options='-c search_path=pg_catalog,pg_temp -c role=none -c DateStyle=ISO,MDY -c IntervalStyle=postgres'");
    // A name that only contains the key does not count as it.
    EXPECT_NE(shard_conninfo("dbname=s1 application_name=no_connect_timeout", 5).conninfo.find("connect_timeout='5'"),
              std::string::npos);
}

TEST(ShardConninfo, AcceptsWhereAndHowToConnect) {
    ShardConninfo c = shard_conninfo("hostaddr=10.0.0.1 port=5433 dbname=s1 sslmode=verify-full sslrootcert=/etc/ca.crt "
                                     "keepalives_idle=30 target_session_attrs=read-write",
                                     5);
    EXPECT_EQ(c.error, "");
    EXPECT_NE(c.conninfo.find("sslrootcert='/etc/ca.crt'"), std::string::npos);
}

TEST(ShardConninfo, ValuesAreQuotedSoNothingCanBeAppendedToThem) {
    // A trailing backslash would escape the space before the added keys.
    ShardConninfo c = shard_conninfo("dbname=s1\\", 5);
    EXPECT_EQ(c.conninfo.substr(0, 14), "dbname='s1\\\\' ");
    EXPECT_EQ(shard_conninfo("dbname='it\\'s'", 5).conninfo.substr(0, 15), "dbname='it\\'s' ");
}

TEST(ShardConninfo, RefusesRoleChoosingKeysUrisAndGarbage) {
    // Keys that name a role or a secret, and keys the accepted list does not know.
    for (const char* key : {"user", "password", "service", "options", "passfile", "sslpassword", "replication",
                            "require_auth", "no_such_key"}) {
        ShardConninfo c = shard_conninfo(std::string("dbname=s1 ") + key + "=x", 5);
        EXPECT_EQ(c.key, key);
        EXPECT_EQ(c.conninfo, "");
        EXPECT_NE(c.error, "");
    }
    // A value holding "user=": PL/Proxy would then not add the caller's name.
    for (const char* s : {"dbname=s1 application_name=ce_user=router", "dbname='x user=postgres'",
                          "host=h sslkey=/k/user=1"}) {
        ShardConninfo c = shard_conninfo(s, 5);
        EXPECT_EQ(c.conninfo, "") << s;
        EXPECT_NE(c.error.find("user="), std::string::npos) << s;
        EXPECT_NE(c.key, "") << s;
    }
    EXPECT_EQ(shard_conninfo("dbname=s1 application_name=username", 5).error, "");
    for (const char* s : {"postgresql:///s1?host=/tmp", "postgres://h/db", "this is garbage", "", "dbname='open"}) {
        ShardConninfo c = shard_conninfo(s, 5);
        EXPECT_EQ(c.conninfo, "") << s;
        EXPECT_NE(c.error, "") << s;
    }
}
