// Start markers of the on-demand workers (see start_marker.hpp), and the files
// of the workers written safely (worker.hpp).
#include "pg/start_marker.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg/worker.hpp"

namespace ce::pg {

bool make_private_dir(const char* path) { return mkdir(path, S_IRWXU) == 0 || errno == EEXIST; }

bool write_file_atomically(const char* path, const char* tmp, const char* data, std::size_t len) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, S_IRUSR | S_IWUSR);
    if (fd < 0) return false;
    std::size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            close(fd);
            unlink(tmp);
            return false;
        }
        off += static_cast<std::size_t>(w);
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    return true;
}

WorkerFile worker_file(const char* kind, Oid db, const char* suffix) {
    WorkerFile f;
    snprintf(f.name, sizeof f.name, "%s/%s.%u%s", kWorkerFilesDir, kind, db, suffix);
    return f;
}

StartClaim claim_start_marker(const WorkerFile& marker) {
    const char* path = marker.c_str();
    if (!make_private_dir(kWorkerFilesDir)) return StartClaim::failed;
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR);
        if (fd >= 0) {
            close(fd);
            return StartClaim::claimed;
        }
        if (errno != EEXIST) return StartClaim::failed;
        struct stat st;
        if (stat(path, &st) != 0) continue;  // removed meanwhile
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        // In ms, not whole seconds (which made a marker stale after 1 to 2 s).
        long long age_ms = (static_cast<long long>(now.tv_sec) - st.st_mtim.tv_sec) * 1000 +
                           (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
        if (age_ms >= 0 && age_ms < kStartMarkerMs) return StartClaim::starting;
        // Stale (its worker never started), or from the future (the clock went
        // back).
        char away[96];
        snprintf(away, sizeof away, "%s.%d", path, static_cast<int>(MyProcPid));
        if (rename(path, away) == 0) unlink(away);
    }
    return StartClaim::starting;  // others took the stale marker over and made a new one
}

bool take_worker_lock(LOCKTAG tag, long wait_ms) {
    TimestampTz since = GetCurrentTimestamp();
    while (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL) {
        if (TimestampDifferenceExceeds(since, GetCurrentTimestamp(), static_cast<int>(wait_ms))) return false;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
    return true;
}

}  // namespace ce::pg
