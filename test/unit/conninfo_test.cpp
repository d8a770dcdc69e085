// Where a libpq connection string points (include/concurrent_edit/conninfo.hpp).
#include <gtest/gtest.h>

#include "concurrent_edit/conninfo.hpp"

using ce::conninfo_location;

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
                          "postgresql://u:secret@h:1/db", "postgresql://u:secret@/db?host=/tmp"}) {
        EXPECT_EQ(conninfo_location(s).find("secret"), std::string::npos) << s;
    }
}

TEST(Conninfo, Uris) {
    EXPECT_EQ(conninfo_location("postgresql://rep:pw@primary.example:5433/postgres?sslmode=require"),
              "host=primary.example port=5433");
    EXPECT_EQ(conninfo_location("postgres://[::1]:6543/db"), "host=::1 port=6543");
    EXPECT_EQ(conninfo_location("postgresql://primary"), "host=primary");
}

TEST(Conninfo, UnparsableOrEmptyGivesNothing) {
    EXPECT_EQ(conninfo_location(""), "");
    EXPECT_EQ(conninfo_location("host='unterminated"), "");
    EXPECT_EQ(conninfo_location("justaword"), "");
    EXPECT_EQ(conninfo_location("user=replicator"), "");
}
