/* The benchmark workload: a tight loop of one syscall, optionally paced to a rate.
 * usage: bench_load getppid|open N [RATE_PER_SEC]   (RATE 0 or absent: as fast as possible)
 * "open" opens /nonexistent/pytrace-bench (fails with ENOENT; the openat still happens). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int open_mode = strcmp(argv[1], "open") == 0;
    long n = atol(argv[2]);
    double rate = argc > 3 ? atof(argv[3]) : 0;
    double start = now();
    for (long i = 0; i < n; i++) {
        if (open_mode) open("/nonexistent/pytrace-bench", O_RDONLY);
        else getppid();
        if (rate > 0 && i % 100 == 99) {
            double ahead = (i + 1) / rate - (now() - start);
            if (ahead > 0) {
                struct timespec ts = {(time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
    }
    return 0;
}
