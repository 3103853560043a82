/* benches/c/ffi_bench.c: libember's typed calls and ember_exec() measured from C.
 * Run through benches/ffi-bench, which also runs the same workload on the Rust API
 * (benches/embedded.rs) and prints the ratios. Workload: KEYS keys "key:<i>" with 16-byte values,
 * then GETs of uniformly random keys. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"

#define KEYS 1000000
#define GETS 5000000
#define EXEC_GETS 1000000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void) {
    ember_db *db;
    char key[32];
    const uint8_t *val;
    size_t len, total = 0;
    double t0, t;
    long i;

    if (ember_db_open(NULL, &db) != EMBER_OK) return 1;
    t0 = now_s();
    for (i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "key:%ld", i);
        if (ember_set(db, (const uint8_t *)key, (size_t)n, (const uint8_t *)"0123456789abcdef", 16, 0) != EMBER_OK) return 1;
    }
    t = now_s() - t0;
    printf("c_set_ns %.1f\n", t * 1e9 / KEYS);

    t0 = now_s();
    for (i = 0; i < GETS; i++) {
        int n = snprintf(key, sizeof key, "key:%llu", next_rand() % KEYS);
        if (ember_get(db, (const uint8_t *)key, (size_t)n, &val, &len) != EMBER_OK) return 1;
        total += len;
    }
    t = now_s() - t0;
    printf("c_get_ns %.1f\n", t * 1e9 / GETS);
    printf("c_get_per_s %.0f\n", GETS / t);

    t0 = now_s();
    for (i = 0; i < EXEC_GETS; i++) {
        const uint8_t *argv[2];
        size_t lens[2];
        ember_reply *r;
        int n = snprintf(key, sizeof key, "key:%llu", next_rand() % KEYS);
        argv[0] = (const uint8_t *)"GET";
        lens[0] = 3;
        argv[1] = (const uint8_t *)key;
        lens[1] = (size_t)n;
        if (ember_exec(db, 2, argv, lens, &r) != EMBER_OK) return 1;
        ember_reply_free(r);
    }
    t = now_s() - t0;
    printf("c_exec_get_ns %.1f\n", t * 1e9 / EXEC_GETS);
    printf("checksum %zu\n", total);
    ember_db_close(db);
    return 0;
}
