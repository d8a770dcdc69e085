// The key of the extension's lock tags (see advisory.hpp).
#include "pg/advisory.hpp"

#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg/worker.hpp"

namespace ce::pg {

uint8 lock_key[16];

namespace {

bool loaded = false;
constexpr const char* kKeyFile = "pg_concurrent_edit/lock_key";  // relative to the data directory

// Reads the key; false when there is no file yet.
bool read_key() {
    int fd = open(kKeyFile, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT) return false;
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", kKeyFile)));
    }
    uint8 buf[sizeof lock_key + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not read \"%s\": %m", kKeyFile)));
    }
    if (n != static_cast<ssize_t>(sizeof lock_key))
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("the concurrent_edit lock key \"%s\" is damaged (%zd bytes, not %zu)", kKeyFile, n,
                               sizeof lock_key),
                        errhint("Stop the server, remove the file, and start the server again: a new key is made.")));
    memcpy(lock_key, buf, sizeof lock_key);
    return true;
}

// Makes the key: written whole and synced under a name of this process, then
// linked to its name, which fails when another process made it first (its key
// is then read).
void make_key() {
    if (!make_private_dir(kWorkerFilesDir))
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not create directory \"%s\": %m", kWorkerFilesDir)));
    uint8 fresh[sizeof lock_key];
    if (!pg_strong_random(fresh, sizeof fresh))
        ereport(ERROR, (errcode(CE_ERRCODE_INTERNAL), errmsg("could not generate the concurrent_edit lock key"),
                        errdetail("{\"reason\": \"no strong random bytes\"}")));
    char tmp[MAXPGPATH];
    snprintf(tmp, sizeof tmp, "%s.%d", kKeyFile, static_cast<int>(MyProcPid));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
    bool ok = fd >= 0 && write(fd, fresh, sizeof fresh) == static_cast<ssize_t>(sizeof fresh) && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0) close(fd);
    if (ok && link(tmp, kKeyFile) != 0 && errno != EEXIST) {
        saved = errno;
        ok = false;
    }
    unlink(tmp);
    if (!ok) {
        errno = saved;
        ereport(ERROR, (errcode_for_file_access(), errmsg("could not write \"%s\": %m", kKeyFile)));
    }
    int dir = open(kWorkerFilesDir, O_RDONLY);
    if (dir >= 0) {
        (void)fsync(dir);
        close(dir);
    }
}

}  // namespace

void load_lock_key() {
    if (loaded) return;
    if (!read_key()) {
        make_key();
        if (!read_key())
            ereport(ERROR, (errcode_for_file_access(), errmsg("could not read \"%s\" after making it", kKeyFile)));
    }
    loaded = true;
}

}  // namespace ce::pg
