/* examples/c/cache.c: a tiny in-process cache on libember.
 *
 *   cc -std=c99 -Iinclude examples/c/cache.c target/release/libember.a -lpthread -ldl -lm -o cache
 *   ./cache
 *
 * It caches the result of an "expensive" function for a few seconds, counts hits with INCR, and
 * uses ember_exec() for a command that has no typed call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

static long expensive_square(long x) {
    return x * x; /* imagine a database query here */
}

static long cached_square(ember_db *db, long x) {
    char key[32], val[32];
    const uint8_t *hit;
    size_t hitlen;
    int klen = snprintf(key, sizeof key, "square:%ld", x);
    if (ember_get(db, (const uint8_t *)key, (size_t)klen, &hit, &hitlen) == EMBER_OK) {
        char buf[32];
        size_t n = hitlen < sizeof buf - 1 ? hitlen : sizeof buf - 1;
        memcpy(buf, hit, n); /* borrowed until the next call on db: copy it */
        buf[n] = '\0';
        ember_incr(db, (const uint8_t *)"stats:hits", 10, 1, NULL);
        return strtol(buf, NULL, 10);
    }
    {
        long result = expensive_square(x);
        int vlen = snprintf(val, sizeof val, "%ld", result);
        ember_set(db, (const uint8_t *)key, (size_t)klen, (const uint8_t *)val, (size_t)vlen, 5000);
        ember_incr(db, (const uint8_t *)"stats:misses", 12, 1, NULL);
        return result;
    }
}

int main(void) {
    ember_db *db;
    ember_reply *reply;
    const uint8_t *argv[3] = {(const uint8_t *)"MGET", (const uint8_t *)"stats:hits", (const uint8_t *)"stats:misses"};
    size_t lens[3] = {4, 10, 12};
    size_t i, n;
    long x;

    if (ember_db_open(NULL, &db) != EMBER_OK) {
        fprintf(stderr, "cannot open ember\n");
        return 1;
    }
    for (x = 0; x < 1000; x++) {
        if (cached_square(db, x % 10) != (x % 10) * (x % 10)) {
            fprintf(stderr, "wrong result\n");
            return 1;
        }
    }
    if (ember_exec(db, 3, argv, lens, &reply) != EMBER_OK) {
        fprintf(stderr, "MGET failed: %s\n", ember_errmsg(db));
        return 1;
    }
    ember_reply_len(reply, &n);
    for (i = 0; i < n; i++) {
        const ember_reply *e;
        const uint8_t *p;
        size_t len;
        ember_reply_element(reply, i, &e);
        if (ember_reply_bytes(e, &p, &len) == EMBER_OK) {
            printf("%s: %.*s\n", i == 0 ? "hits" : "misses", (int)len, (const char *)p);
        }
    }
    ember_reply_free(reply);
    ember_db_close(db);
    return 0;
}
