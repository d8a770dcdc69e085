// The workers' files of dropped databases (pg_concurrent_edit/: the row
// conflict spools, the sequencer's and the recorder's files), removed by the
// worker's and the recorder's main loops.
#include <cerrno>
#include <cctype>
#include <cstring>
#include <vector>

#include <dirent.h>

#include "pg/worker.hpp"

namespace ce::pg {
namespace {

// The database oid a file of pg_concurrent_edit/ belongs to: conflicts/<oid>,
// sequencer.<oid>[.suffix]; InvalidOid for anything else.
Oid oid_of(const char* name, const char* prefix) {
    std::size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !isdigit(static_cast<unsigned char>(name[n]))) return InvalidOid;
    char* end = nullptr;
    errno = 0;
    unsigned long v = strtoul(name + n, &end, 10);
    if (errno != 0 || v == 0 || v > OID_MAX || (*end != '\0' && *end != '.')) return InvalidOid;
    if (*prefix == '\0' && *end != '\0') return InvalidOid;  // a spool directory is its oid alone
    return static_cast<Oid>(v);
}

struct DatabaseFile {
    Oid db;
    char path[MAXPGPATH];
    bool directory;
};

void list_database_files(const char* dir, const char* prefix, bool directories, std::vector<DatabaseFile>& out) {
    DIR* d = opendir(dir);
    if (d == nullptr) return;
    while (struct dirent* e = readdir(d)) {
        Oid db = oid_of(e->d_name, prefix);
        if (db == InvalidOid) continue;
        DatabaseFile f{db, "", directories};
        snprintf(f.path, sizeof f.path, "%s/%s", dir, e->d_name);
        out.push_back(f);
    }
    closedir(d);
}

// The .json records in a directory.
long long count_records(const char* dir) {
    long long n = 0;
    if (DIR* d = opendir(dir)) {
        while (struct dirent* e = readdir(d)) {
            std::size_t len = strlen(e->d_name);
            if (e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) ++n;
        }
        closedir(d);
    }
    return n;
}

// remove_files_of_dropped_databases() with its C++ objects: it may throw (out of
// memory) but never raises, each PostgreSQL call being in run_reporting_errors.
void remove_files_of_dropped_databases_cxx() {
    std::vector<DatabaseFile> files;
    char conflicts[MAXPGPATH];
    snprintf(conflicts, sizeof conflicts, "%s/conflicts", kWorkerFilesDir);
    list_database_files(conflicts, "", true, files);
    for (const char* kind : {"sequencer.", "recorder."}) list_database_files(kWorkerFilesDir, kind, false, files);
    if (files.empty()) return;
    std::vector<char> exists(files.size(), 1);
    auto look = [&files, &exists] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        // A dropped database's row is gone once its DROP committed; no session
        // of it is left then (DROP DATABASE waits for them), so nothing writes
        // these files again. (A database whose DROP was interrupted is still
        // there, invalid: its files stay.)
        for (std::size_t i = 0; i < files.size(); ++i)
            exists[i] = SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(files[i].db)) ? 1 : 0;
        CommitTransactionCommand();
    };
    if (!run_reporting_errors(look)) return;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (exists[i]) continue;
        const DatabaseFile& f = files[i];
        auto remove = [&f] {
            if (!f.directory) {
                if (unlink(f.path) != 0 && errno != ENOENT)
                    ereport(WARNING, (errcode_for_file_access(),
                                      errmsg("concurrent_edit: could not remove \"%s\" of dropped database %u: %m",
                                             f.path, f.db)));
                return;
            }
            char bad[MAXPGPATH];
            snprintf(bad, sizeof bad, "%s/bad", f.path);
            long long records = count_records(f.path), set_aside = count_records(bad);
            if (rmtree(f.path, true))
                ereport(LOG, (errmsg("concurrent_edit: removed the row conflict spool \"%s\" of dropped database %u "
                                     "(%lld record(s) not recorded, %lld set aside)",
                                     f.path, f.db, records, set_aside)));
            else
                ereport(WARNING, (errmsg("concurrent_edit: could not remove the row conflict spool \"%s\" of "
                                         "dropped database %u", f.path, f.db)));
        };
        (void)run_reporting_errors(remove);
    }
}

}  // namespace

void remove_files_of_dropped_databases() {
    // Called by the worker's and the recorder's main loops, outside any boundary
    // guard: an exception must not leave here (it would abort the process, and
    // with it the server).
    bool failed = false;
    try {
        remove_files_of_dropped_databases_cxx();
    } catch (...) {
        failed = true;
    }
    if (failed)
        ereport(LOG, (errmsg("concurrent_edit: the files of dropped databases were not looked for (out of memory); "
                             "the next round looks again")));
}

}  // namespace ce::pg
