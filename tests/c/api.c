/* tests/c/api.c: exercises libember's C API end to end; exits 0 when every check passes.
 * Built and run by `cargo test` (tests/all/c_abi.rs), and under valgrind in CI. */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"

static int failures = 0;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                           \
        }                                                                         \
    } while (0)

#define S(str) (const uint8_t *)(str), strlen(str)

static uint64_t fake_now = 1700000000000ULL;

static uint64_t fake_clock(void *ctx) {
    (void)ctx;
    return fake_now;
}

/* Runs a command given as C strings; returns the status and the reply (NULL on failure). */
static ember_status run(ember_db *db, ember_reply **out, size_t argc, const char **args) {
    const uint8_t *argv[16];
    size_t lens[16];
    size_t i;
    for (i = 0; i < argc; i++) {
        argv[i] = (const uint8_t *)args[i];
        lens[i] = strlen(args[i]);
    }
    *out = NULL;
    return ember_exec(db, argc, argv, lens, out);
}

static int reply_is_bytes(const ember_reply *r, const char *expected) {
    const uint8_t *p;
    size_t n;
    if (ember_reply_bytes(r, &p, &n) != EMBER_OK) return 0;
    return n == strlen(expected) && memcmp(p, expected, n) == 0;
}

/* Parallel pointer/length arrays for the multi-element calls. */
typedef struct {
    const uint8_t *ptrs[8];
    size_t lens[8];
    size_t n;
} bufs;

/* bufs from `n` C strings. */
static bufs B(size_t n, ...) {
    bufs b;
    size_t i;
    va_list ap;
    memset(&b, 0, sizeof b);
    va_start(ap, n);
    for (i = 0; i < n && i < 8; i++) {
        const char *str = va_arg(ap, const char *);
        b.ptrs[i] = (const uint8_t *)str;
        b.lens[i] = strlen(str);
    }
    va_end(ap);
    b.n = i;
    return b;
}

/* 1 when the string or status reply at index `i` of an aggregate reply is `expected`. */
static int element_is(const ember_reply *r, size_t i, const char *expected) {
    const ember_reply *e;
    return ember_reply_element(r, i, &e) == EMBER_OK && reply_is_bytes(e, expected);
}

/* 1 when an aggregate reply holds exactly the `n` strings `want`, in order. */
static int reply_is_list(const ember_reply *r, size_t n, const char *const *want) {
    size_t len, i;
    if (ember_reply_len(r, &len) != EMBER_OK || len != n) return 0;
    for (i = 0; i < n; i++)
        if (!element_is(r, i, want[i])) return 0;
    return 1;
}

static int errmsg_is(ember_db *db, const char *expected) {
    return strcmp(ember_errmsg(db), expected) == 0;
}

static const char *WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

static void test_typed(ember_db *db) {
    const uint8_t *val;
    size_t len;
    int32_t flag;
    int64_t n, ttl;

    CHECK(ember_set(db, S("greeting"), S("hello"), 0) == EMBER_OK);
    CHECK(ember_get(db, S("greeting"), &val, &len) == EMBER_OK);
    CHECK(len == 5 && memcmp(val, "hello", 5) == 0);
    CHECK(ember_get(db, S("missing"), &val, &len) == EMBER_ERR_NOT_FOUND);

    /* Binary-safe keys and values, including NUL bytes. */
    CHECK(ember_set(db, (const uint8_t *)"k\0y", 3, (const uint8_t *)"v\0\1", 3, 0) == EMBER_OK);
    CHECK(ember_get(db, (const uint8_t *)"k\0y", 3, &val, &len) == EMBER_OK);
    CHECK(len == 3 && memcmp(val, "v\0\1", 3) == 0);

    CHECK(ember_incr(db, S("counter"), 5, &n) == EMBER_OK && n == 5);
    CHECK(ember_incr(db, S("counter"), -7, &n) == EMBER_OK && n == -2);
    CHECK(ember_get(db, S("counter"), &val, &len) == EMBER_OK);
    CHECK(len == 2 && memcmp(val, "-2", 2) == 0);
    CHECK(ember_incr(db, S("greeting"), 1, &n) == EMBER_ERR_COMMAND);
    CHECK(strstr(ember_errmsg(db), "not an integer") != NULL);

    CHECK(ember_exists(db, S("greeting"), &flag) == EMBER_OK && flag == 1);
    CHECK(strcmp(ember_errmsg(db), "") == 0); /* a success clears the last error */
    CHECK(ember_del(db, S("greeting"), &flag) == EMBER_OK && flag == 1);
    CHECK(ember_del(db, S("greeting"), &flag) == EMBER_OK && flag == 0);
    CHECK(ember_exists(db, S("greeting"), &flag) == EMBER_OK && flag == 0);

    /* Expiry under the host's clock. */
    CHECK(ember_db_set_clock(db, fake_clock, NULL) == EMBER_OK);
    CHECK(ember_set(db, S("session"), S("abc"), 1000) == EMBER_OK);
    CHECK(ember_ttl(db, S("session"), &ttl) == EMBER_OK && ttl == 1000);
    fake_now += 999;
    CHECK(ember_get(db, S("session"), &val, &len) == EMBER_OK);
    fake_now += 1;
    CHECK(ember_get(db, S("session"), &val, &len) == EMBER_ERR_NOT_FOUND);
    CHECK(ember_ttl(db, S("session"), &ttl) == EMBER_OK && ttl == -2);
    CHECK(ember_ttl(db, S("counter"), &ttl) == EMBER_OK && ttl == -1);
    CHECK(ember_expire(db, S("counter"), 50, &flag) == EMBER_OK && flag == 1);
    fake_now += 100;
    CHECK(ember_db_tick(db, 1000) == EMBER_OK); /* active expiry removes it without a read */
    {
        ember_memory_stats m;
        CHECK(ember_db_memory(db, &m) == EMBER_OK);
        CHECK(m.expired_keys >= 2);
        CHECK(m.keys == 1); /* only "k\0y" is left */
        CHECK(m.bytes > 0);
    }
    CHECK(ember_set(db, S("neg"), S("x"), -5) == EMBER_ERR_INVALID);
}

static void test_hashes(ember_db *db) {
    bufs f = B(2, "f1", "f2"), v = B(2, "v1", "v2"), f2 = B(2, "f1", "f3"), v2 = B(2, "x", "y");
    bufs gone = B(2, "f1", "nope");
    const uint8_t *val;
    size_t n, len;
    int32_t flag;

    CHECK(ember_hset(db, S("h"), f.n, f.ptrs, f.lens, v.ptrs, v.lens, &n) == EMBER_OK && n == 2);
    CHECK(ember_hset(db, S("h"), f2.n, f2.ptrs, f2.lens, v2.ptrs, v2.lens, &n) == EMBER_OK && n == 1);
    CHECK(ember_hset(db, S("h"), 1, f.ptrs, f.lens, v.ptrs, v.lens, NULL) == EMBER_OK);
    CHECK(ember_hget(db, S("h"), S("f1"), &val, &len) == EMBER_OK);
    CHECK(len == 2 && memcmp(val, "v1", 2) == 0);
    CHECK(ember_hget(db, S("h"), S("f3"), &val, &len) == EMBER_OK && len == 1 && val[0] == 'y');
    /* No value is not an error: NOT_FOUND with an empty message, for a missing field or key. */
    CHECK(ember_hget(db, S("h"), S("nope"), &val, &len) == EMBER_ERR_NOT_FOUND);
    CHECK(errmsg_is(db, ""));
    CHECK(ember_hget(db, S("nohash"), S("f1"), &val, &len) == EMBER_ERR_NOT_FOUND);

    /* Binary-safe fields, and a lent value passed straight back as an argument. */
    {
        const uint8_t *bf[1] = {(const uint8_t *)"a\0b"};
        size_t bfl[1] = {3};
        CHECK(ember_hset(db, S("h"), 1, bf, bfl, bf, bfl, &n) == EMBER_OK && n == 1);
        CHECK(ember_hget(db, S("h"), bf[0], 3, &val, &len) == EMBER_OK);
        CHECK(len == 3 && memcmp(val, "a\0b", 3) == 0);
        CHECK(ember_hset(db, S("copy"), 1, &val, &len, &val, &len, &n) == EMBER_OK && n == 1);
        CHECK(ember_hget(db, S("copy"), bf[0], 3, &val, &len) == EMBER_OK);
        CHECK(len == 3 && memcmp(val, "a\0b", 3) == 0);
    }

    CHECK(ember_hdel(db, S("h"), gone.n, gone.ptrs, gone.lens, &n) == EMBER_OK && n == 1);
    CHECK(ember_hdel(db, S("nohash"), gone.n, gone.ptrs, gone.lens, &n) == EMBER_OK && n == 0);
    {
        const uint8_t *bf[1] = {(const uint8_t *)"a\0b"};
        size_t bfl[1] = {3};
        CHECK(ember_hdel(db, S("copy"), 1, bf, bfl, &n) == EMBER_OK && n == 1);
        CHECK(ember_exists(db, S("copy"), &flag) == EMBER_OK && flag == 0); /* last field gone */
    }

    /* Bad input: nothing runs. */
    CHECK(ember_hset(db, S("h"), 0, f.ptrs, f.lens, v.ptrs, v.lens, &n) == EMBER_ERR_INVALID);
    CHECK(errmsg_is(db, "ERR wrong number of arguments for 'hset' command"));
    CHECK(ember_hset(db, S("h"), 2, NULL, f.lens, v.ptrs, v.lens, &n) == EMBER_ERR_NULL);
    CHECK(ember_hset(db, S("h"), 2, f.ptrs, f.lens, v.ptrs, NULL, &n) == EMBER_ERR_NULL);
    {
        const uint8_t *nullval[2] = {(const uint8_t *)"n1", NULL};
        size_t lens[2] = {2, 5};
        bufs nf = B(2, "n1", "n2");
        CHECK(ember_hset(db, S("h"), 2, nf.ptrs, nf.lens, nullval, lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_hget(db, S("h"), S("n1"), &val, &len) == EMBER_ERR_NOT_FOUND);
        lens[1] = 0; /* NULL with length 0 is an empty buffer */
        CHECK(ember_hset(db, S("h"), 2, nf.ptrs, nf.lens, nullval, lens, &n) == EMBER_OK && n == 2);
        CHECK(ember_hget(db, S("h"), S("n2"), &val, &len) == EMBER_OK && len == 0);
    }
    CHECK(ember_hdel(db, S("h"), 0, NULL, NULL, &n) == EMBER_ERR_INVALID);
    CHECK(ember_hget(db, S("h"), NULL, 2, &val, &len) == EMBER_ERR_NULL);
    CHECK(ember_hget(db, S("h"), S("f1"), NULL, &len) == EMBER_ERR_NULL);
    CHECK(ember_hget(db, NULL, 1, S("f1"), &val, &len) == EMBER_ERR_NULL);

    /* The command path's type checks. */
    CHECK(ember_set(db, S("str"), S("x"), 0) == EMBER_OK);
    CHECK(ember_hset(db, S("str"), f.n, f.ptrs, f.lens, v.ptrs, v.lens, &n) == EMBER_ERR_WRONGTYPE);
    CHECK(errmsg_is(db, WRONGTYPE));
    CHECK(ember_hget(db, S("str"), S("f1"), &val, &len) == EMBER_ERR_WRONGTYPE);
    CHECK(ember_hdel(db, S("str"), f.n, f.ptrs, f.lens, &n) == EMBER_ERR_WRONGTYPE);
    CHECK(ember_hget(db, S("h"), S("f2"), &val, &len) == EMBER_OK);
    CHECK(errmsg_is(db, "")); /* a success clears the last error */
}

static void test_lists(ember_db *db) {
    bufs abc = B(3, "a", "b", "c"), xy = B(2, "x", "y");
    const char *all[] = {"y", "x", "a", "b", "c"};
    const char *middle[] = {"x", "a", "b"};
    ember_reply *r;
    const uint8_t *val;
    size_t n, len;
    int32_t flag;

    CHECK(ember_rpush(db, S("l"), abc.n, abc.ptrs, abc.lens, &n) == EMBER_OK && n == 3);
    CHECK(ember_lpush(db, S("l"), xy.n, xy.ptrs, xy.lens, &n) == EMBER_OK && n == 5);
    CHECK(ember_lrange(db, S("l"), 0, -1, &r) == EMBER_OK);
    CHECK(ember_reply_type(r) == EMBER_REPLY_ARRAY && reply_is_list(r, 5, all));
    ember_reply_free(r);
    CHECK(ember_lrange(db, S("l"), 1, -2, &r) == EMBER_OK && reply_is_list(r, 3, middle));
    ember_reply_free(r);
    CHECK(ember_lrange(db, S("l"), 10, 20, &r) == EMBER_OK && reply_is_list(r, 0, NULL));
    ember_reply_free(r);
    CHECK(ember_lrange(db, S("nolist"), 0, -1, &r) == EMBER_OK && reply_is_list(r, 0, NULL));
    ember_reply_free(r);

    CHECK(ember_lpop(db, S("l"), &val, &len) == EMBER_OK && len == 1 && val[0] == 'y');
    CHECK(ember_rpop(db, S("l"), &val, &len) == EMBER_OK && len == 1 && val[0] == 'c');
    /* A popped value passed straight to the next call. */
    CHECK(ember_rpush(db, S("l2"), 1, &val, &len, &n) == EMBER_OK && n == 1);
    CHECK(ember_lpop(db, S("l2"), &val, &len) == EMBER_OK && len == 1 && val[0] == 'c');
    CHECK(ember_exists(db, S("l2"), &flag) == EMBER_OK && flag == 0); /* emptied: deleted */
    CHECK(ember_lpop(db, S("l2"), &val, &len) == EMBER_ERR_NOT_FOUND && errmsg_is(db, ""));
    CHECK(ember_rpop(db, S("nolist"), &val, &len) == EMBER_ERR_NOT_FOUND && errmsg_is(db, ""));

    /* Expiry under the host clock, as with ember_exec. */
    CHECK(ember_expire(db, S("l"), 10, &flag) == EMBER_OK && flag == 1);
    fake_now += 11;
    CHECK(ember_lpop(db, S("l"), &val, &len) == EMBER_ERR_NOT_FOUND);
    CHECK(ember_lpush(db, S("l"), xy.n, xy.ptrs, xy.lens, &n) == EMBER_OK && n == 2);

    /* Bad input. */
    CHECK(ember_lpush(db, S("l"), 0, xy.ptrs, xy.lens, &n) == EMBER_ERR_INVALID);
    CHECK(errmsg_is(db, "ERR wrong number of arguments for 'lpush' command"));
    CHECK(ember_rpush(db, S("l"), 2, xy.ptrs, NULL, &n) == EMBER_ERR_NULL);
    CHECK(ember_lpop(db, S("l"), NULL, &len) == EMBER_ERR_NULL);
    CHECK(ember_rpop(db, S("l"), &val, NULL) == EMBER_ERR_NULL);
    CHECK(ember_lrange(db, S("l"), 0, -1, NULL) == EMBER_ERR_NULL);
    CHECK(ember_lpop(db, NULL, 3, &val, &len) == EMBER_ERR_NULL);
    CHECK(ember_lrange(db, S("l"), 0, -1, &r) == EMBER_OK && reply_is_list(r, 2, all));
    ember_reply_free(r);

    /* Wrong types; the reply is not written. */
    CHECK(ember_lpush(db, S("str"), xy.n, xy.ptrs, xy.lens, &n) == EMBER_ERR_WRONGTYPE);
    CHECK(errmsg_is(db, WRONGTYPE));
    CHECK(ember_lpop(db, S("h"), &val, &len) == EMBER_ERR_WRONGTYPE);
    r = NULL;
    CHECK(ember_lrange(db, S("h"), 0, -1, &r) == EMBER_ERR_WRONGTYPE && r == NULL);
}

static void test_sets(ember_db *db) {
    bufs aba = B(3, "a", "b", "a"), bc = B(2, "b", "c"), az = B(2, "a", "z");
    ember_reply *r;
    size_t n, i;
    int32_t flag;

    CHECK(ember_sadd(db, S("s"), aba.n, aba.ptrs, aba.lens, &n) == EMBER_OK && n == 2);
    CHECK(ember_sadd(db, S("s"), bc.n, bc.ptrs, bc.lens, &n) == EMBER_OK && n == 1);
    CHECK(ember_sismember(db, S("s"), S("a"), &flag) == EMBER_OK && flag == 1);
    CHECK(ember_sismember(db, S("s"), S("z"), &flag) == EMBER_OK && flag == 0);
    CHECK(ember_sismember(db, S("noset"), S("a"), &flag) == EMBER_OK && flag == 0);
    CHECK(ember_smembers(db, S("s"), &r) == EMBER_OK);
    CHECK(ember_reply_type(r) == EMBER_REPLY_SET);
    CHECK(ember_reply_len(r, &n) == EMBER_OK && n == 3);
    {
        int seen = 0;
        for (i = 0; i < n; i++) {
            const ember_reply *e;
            const uint8_t *p;
            size_t len;
            CHECK(ember_reply_element(r, i, &e) == EMBER_OK);
            CHECK(ember_reply_bytes(e, &p, &len) == EMBER_OK && len == 1);
            seen |= 1 << (p[0] - 'a');
        }
        CHECK(seen == 7);
    }
    ember_reply_free(r);
    CHECK(ember_srem(db, S("s"), az.n, az.ptrs, az.lens, &n) == EMBER_OK && n == 1);
    CHECK(ember_srem(db, S("noset"), az.n, az.ptrs, az.lens, &n) == EMBER_OK && n == 0);
    CHECK(ember_smembers(db, S("noset"), &r) == EMBER_OK && reply_is_list(r, 0, NULL));
    ember_reply_free(r);

    CHECK(ember_sadd(db, S("s"), 0, NULL, NULL, &n) == EMBER_ERR_INVALID);
    CHECK(errmsg_is(db, "ERR wrong number of arguments for 'sadd' command"));
    CHECK(ember_srem(db, S("s"), 1, NULL, az.lens, &n) == EMBER_ERR_NULL);
    CHECK(ember_sismember(db, S("s"), S("a"), NULL) == EMBER_ERR_NULL);
    CHECK(ember_sismember(db, S("s"), NULL, 1, &flag) == EMBER_ERR_NULL);
    CHECK(ember_smembers(db, S("s"), NULL) == EMBER_ERR_NULL);

    CHECK(ember_sadd(db, S("l"), bc.n, bc.ptrs, bc.lens, &n) == EMBER_ERR_WRONGTYPE);
    CHECK(errmsg_is(db, WRONGTYPE));
    CHECK(ember_sismember(db, S("h"), S("a"), &flag) == EMBER_ERR_WRONGTYPE);
    r = NULL;
    CHECK(ember_smembers(db, S("str"), &r) == EMBER_ERR_WRONGTYPE && r == NULL);
}

/* Checks a ZRANGE reply of plain members. */
static int zrange_is(ember_db *db, double min, double max, uint32_t flags, size_t offset,
                     size_t count, size_t n, const char *const *want) {
    ember_reply *r;
    int ok;
    if (ember_zrangebyscore(db, S("z"), min, max, flags, offset, count, &r) != EMBER_OK) return 0;
    ok = ember_reply_type(r) == EMBER_REPLY_ARRAY && reply_is_list(r, n, want);
    ember_reply_free(r);
    return ok;
}

static void test_zsets(ember_db *db) {
    bufs abc = B(3, "a", "b", "c"), ad = B(2, "a", "d");
    double s123[3] = {1, 2, 3}, s_ad[2] = {2.5, 4}, nan1[1] = {NAN}, inf1[1] = {INFINITY};
    const char *asc[] = {"b", "a", "c", "d"};
    const char *desc[] = {"d", "c", "a", "b"};
    const char *ac[] = {"a", "c"}, *cd[] = {"c", "d"}, *c_only[] = {"c"}, *ca[] = {"c", "a"};
    const char *acd[] = {"a", "c", "d"}, *dca[] = {"d", "c", "a"};
    ember_reply *r;
    const ember_reply *pair, *e;
    size_t n;
    double score;

    CHECK(ember_zadd(db, S("z"), 3, s123, abc.ptrs, abc.lens, &n) == EMBER_OK && n == 3);
    CHECK(ember_zadd(db, S("z"), 2, s_ad, ad.ptrs, ad.lens, &n) == EMBER_OK && n == 1);
    CHECK(ember_zscore(db, S("z"), S("a"), &score) == EMBER_OK && score == 2.5);
    CHECK(ember_zscore(db, S("z"), S("q"), &score) == EMBER_ERR_NOT_FOUND && errmsg_is(db, ""));
    CHECK(ember_zscore(db, S("noz"), S("a"), &score) == EMBER_ERR_NOT_FOUND);
    CHECK(ember_zrank(db, S("z"), S("b"), &n) == EMBER_OK && n == 0);
    CHECK(ember_zrank(db, S("z"), S("d"), &n) == EMBER_OK && n == 3);
    CHECK(ember_zrank(db, S("z"), S("q"), &n) == EMBER_ERR_NOT_FOUND && errmsg_is(db, ""));
    CHECK(ember_zrank(db, S("noz"), S("q"), &n) == EMBER_ERR_NOT_FOUND);

    /* By rank. */
    CHECK(ember_zrange(db, S("z"), 0, -1, 0, &r) == EMBER_OK && reply_is_list(r, 4, asc));
    ember_reply_free(r);
    CHECK(ember_zrange(db, S("z"), 0, -1, EMBER_ZRANGE_REV, &r) == EMBER_OK && reply_is_list(r, 4, desc));
    ember_reply_free(r);
    CHECK(ember_zrange(db, S("z"), -1, -1, EMBER_ZRANGE_WITHSCORES, &r) == EMBER_OK);
    CHECK(ember_reply_len(r, &n) == EMBER_OK && n == 1);
    CHECK(ember_reply_element(r, 0, &pair) == EMBER_OK && ember_reply_type(pair) == EMBER_REPLY_ARRAY);
    CHECK(element_is(pair, 0, "d"));
    CHECK(ember_reply_element(pair, 1, &e) == EMBER_OK && ember_reply_type(e) == EMBER_REPLY_DOUBLE);
    CHECK(ember_reply_double(e, &score) == EMBER_OK && score == 4.0);
    ember_reply_free(r);
    CHECK(ember_zrange(db, S("noz"), 0, -1, 0, &r) == EMBER_OK && reply_is_list(r, 0, NULL));
    ember_reply_free(r);

    /* By score: closed, half-open, reversed, paged. */
    CHECK(zrange_is(db, 2.5, 4, 0, 0, 0, 3, acd));
    CHECK(zrange_is(db, 2.5, 4, EMBER_ZRANGE_MIN_EXCLUSIVE, 0, 0, 2, cd));
    CHECK(zrange_is(db, 2.5, 4, EMBER_ZRANGE_MAX_EXCLUSIVE, 0, 0, 2, ac));
    CHECK(zrange_is(db, 2.5, 4, EMBER_ZRANGE_REV, 0, 0, 3, dca));
    CHECK(zrange_is(db, 2.5, 4, 0, 1, 1, 1, c_only));
    CHECK(zrange_is(db, 2.5, 4, EMBER_ZRANGE_REV, 1, 0, 2, ca));
    CHECK(zrange_is(db, -INFINITY, INFINITY, 0, 0, 0, 4, asc));
    CHECK(zrange_is(db, 4, 2.5, 0, 0, 0, 0, NULL)); /* min > max */
    CHECK(zrange_is(db, 0, 1e300, 0, (size_t)-1, 0, 0, NULL));
    CHECK(ember_zrangebyscore(db, S("z"), 2.5, 4, EMBER_ZRANGE_WITHSCORES, 0, 1, &r) == EMBER_OK);
    CHECK(ember_reply_element(r, 0, &pair) == EMBER_OK && element_is(pair, 0, "a"));
    CHECK(ember_reply_element(pair, 1, &e) == EMBER_OK && ember_reply_double(e, &score) == EMBER_OK);
    CHECK(score == 2.5);
    ember_reply_free(r);

    /* Infinite scores round-trip. */
    CHECK(ember_zadd(db, S("z"), 1, inf1, abc.ptrs, abc.lens, &n) == EMBER_OK && n == 0);
    CHECK(ember_zscore(db, S("z"), S("a"), &score) == EMBER_OK && isinf(score) && score > 0);

    /* Bad input: nothing runs. */
    CHECK(ember_zadd(db, S("z"), 1, nan1, ad.ptrs, ad.lens, &n) == EMBER_ERR_INVALID);
    CHECK(errmsg_is(db, "ERR value is not a valid float"));
    CHECK(ember_zadd(db, S("z"), 0, s123, abc.ptrs, abc.lens, &n) == EMBER_ERR_INVALID);
    CHECK(ember_zadd(db, S("z"), 1, NULL, abc.ptrs, abc.lens, &n) == EMBER_ERR_NULL);
    CHECK(ember_zscore(db, S("z"), S("a"), NULL) == EMBER_ERR_NULL);
    CHECK(ember_zrank(db, S("z"), S("a"), NULL) == EMBER_ERR_NULL);
    CHECK(ember_zrange(db, S("z"), 0, -1, 0, NULL) == EMBER_ERR_NULL);
    CHECK(ember_zrange(db, S("z"), 0, -1, EMBER_ZRANGE_MIN_EXCLUSIVE, &r) == EMBER_ERR_INVALID);
    CHECK(ember_zrangebyscore(db, S("z"), NAN, 1, 0, 0, 0, &r) == EMBER_ERR_INVALID);
    CHECK(errmsg_is(db, "ERR min or max is not a float"));
    CHECK(ember_zrangebyscore(db, S("z"), 0, 1, 1u << 9, 0, 0, &r) == EMBER_ERR_INVALID);
    CHECK(ember_zscore(db, S("z"), S("d"), &score) == EMBER_OK && score == 4.0);

    CHECK(ember_zadd(db, S("s"), 3, s123, abc.ptrs, abc.lens, &n) == EMBER_ERR_WRONGTYPE);
    CHECK(errmsg_is(db, WRONGTYPE));
    CHECK(ember_zscore(db, S("h"), S("a"), &score) == EMBER_ERR_WRONGTYPE);
    CHECK(ember_zrank(db, S("l"), S("a"), &n) == EMBER_ERR_WRONGTYPE);
    CHECK(ember_zrange(db, S("str"), 0, -1, 0, &r) == EMBER_ERR_WRONGTYPE);
    CHECK(ember_zrangebyscore(db, S("s"), 0, 1, 0, 0, 0, &r) == EMBER_ERR_WRONGTYPE);
}

/* The collection calls and ember_exec see the same data and the same rules. */
static void test_collections_with_exec(ember_db *db) {
    const char *hget[] = {"HGET", "h", "f2"};
    const char *rpush[] = {"RPUSH", "viaexec", "p", "q"};
    const char *type[] = {"TYPE", "z"};
    ember_reply *r;
    const uint8_t *val;
    size_t len;

    CHECK(run(db, &r, 3, hget) == EMBER_OK && reply_is_bytes(r, "v2"));
    ember_reply_free(r);
    CHECK(run(db, &r, 4, rpush) == EMBER_OK);
    ember_reply_free(r);
    CHECK(ember_rpop(db, S("viaexec"), &val, &len) == EMBER_OK && len == 1 && val[0] == 'q');
    CHECK(run(db, &r, 2, type) == EMBER_OK && reply_is_bytes(r, "zset"));
    ember_reply_free(r);
}

static void test_exec(ember_db *db) {
    ember_reply *r;
    const ember_reply *e, *k, *v;
    int64_t n;
    double d;
    size_t len;
    const char *set[] = {"SET", "lang", "C", "EX", "100"};
    const char *get[] = {"GET", "lang"};
    const char *mget[] = {"MGET", "lang", "nope"};
    const char *incrf[] = {"INCRBYFLOAT", "f", "1.5"};
    const char *lcs[] = {"LCS", "lang", "lang", "IDX"};
    const char *bad[] = {"NOSUCHCOMMAND", "x"};
    const char *arity[] = {"GET"};

    CHECK(run(db, &r, 5, set) == EMBER_OK);
    CHECK(ember_reply_type(r) == EMBER_REPLY_STATUS && reply_is_bytes(r, "OK"));
    ember_reply_free(r);

    CHECK(run(db, &r, 2, get) == EMBER_OK);
    CHECK(ember_reply_type(r) == EMBER_REPLY_STRING && reply_is_bytes(r, "C"));
    ember_reply_free(r);

    CHECK(run(db, &r, 3, mget) == EMBER_OK);
    CHECK(ember_reply_type(r) == EMBER_REPLY_ARRAY);
    CHECK(ember_reply_len(r, &len) == EMBER_OK && len == 2);
    CHECK(ember_reply_element(r, 0, &e) == EMBER_OK && reply_is_bytes(e, "C"));
    CHECK(ember_reply_element(r, 1, &e) == EMBER_OK && ember_reply_type(e) == EMBER_REPLY_NULL);
    CHECK(ember_reply_element(r, 2, &e) == EMBER_ERR_RANGE);
    CHECK(ember_reply_integer(r, &n) == EMBER_ERR_TYPE);
    ember_reply_free(r);

    CHECK(run(db, &r, 3, incrf) == EMBER_OK);
    CHECK(reply_is_bytes(r, "1.5"));
    ember_reply_free(r);

    CHECK(run(db, &r, 4, lcs) == EMBER_OK);
    CHECK(ember_reply_type(r) == EMBER_REPLY_MAP);
    CHECK(ember_reply_len(r, &len) == EMBER_OK && len == 2);
    CHECK(ember_reply_map_entry(r, 1, &k, &v) == EMBER_OK);
    CHECK(reply_is_bytes(k, "len") && ember_reply_integer(v, &n) == EMBER_OK && n == 1);
    CHECK(ember_reply_double(v, &d) == EMBER_OK && d == 1.0);
    ember_reply_free(r);

    r = (ember_reply *)0x1;
    CHECK(run(db, &r, 2, bad) == EMBER_ERR_COMMAND);
    CHECK(r == NULL); /* run() cleared it; ember_exec did not write it */
    CHECK(strstr(ember_errmsg(db), "unknown command") != NULL);
    CHECK(run(db, &r, 1, arity) == EMBER_ERR_COMMAND);
    CHECK(strcmp(ember_errmsg(db), "ERR wrong number of arguments for 'get' command") == 0);
    CHECK(ember_exec(db, 0, NULL, NULL, &r) == EMBER_ERR_INVALID);

    {
        const char *set_str[] = {"SET", "str", "x"};
        const char *incr_str[] = {"INCR", "str"};
        const char *lpush[] = {"LPUSH", "list", "x"};
        const char *get_list[] = {"GET", "list"};
        const uint8_t *val;
        CHECK(run(db, &r, 3, set_str) == EMBER_OK);
        ember_reply_free(r);
        CHECK(run(db, &r, 2, incr_str) == EMBER_ERR_COMMAND);
        CHECK(run(db, &r, 3, lpush) == EMBER_OK);
        ember_reply_free(r);
        CHECK(run(db, &r, 2, get_list) == EMBER_ERR_WRONGTYPE);
        CHECK(strncmp(ember_errmsg(db), "WRONGTYPE ", 10) == 0);
        CHECK(ember_get(db, S("list"), &val, &len) == EMBER_ERR_WRONGTYPE);
    }

    /* The same command as raw RESP bytes. */
    {
        const uint8_t *argv[2] = {(const uint8_t *)"GET", (const uint8_t *)"nope"};
        size_t lens[2] = {3, 4};
        uint8_t *bytes;
        size_t blen;
        CHECK(ember_exec_resp(db, 2, argv, lens, 2, &bytes, &blen) == EMBER_OK);
        CHECK(blen == 5 && memcmp(bytes, "$-1\r\n", 5) == 0);
        ember_bytes_free(bytes, blen);
        CHECK(ember_exec_resp(db, 2, argv, lens, 3, &bytes, &blen) == EMBER_OK);
        CHECK(blen == 3 && memcmp(bytes, "_\r\n", 3) == 0);
        ember_bytes_free(bytes, blen);
        CHECK(ember_exec_resp(db, 2, argv, lens, 4, &bytes, &blen) == EMBER_ERR_INVALID);
        /* An error reply is returned as bytes too, and the call succeeds. */
        CHECK(ember_exec_resp(db, 1, argv, lens, 2, &bytes, &blen) == EMBER_OK);
        CHECK(blen == 50 && memcmp(bytes, "-ERR wrong number of arguments for 'get' command\r\n", 50) == 0);
        CHECK(strcmp(ember_errmsg(db), "") == 0);
        ember_bytes_free(bytes, blen);
    }
}

static void test_scan(ember_db *db) {
    int i, seen = 0;
    uint64_t cursor = 0;
    char key[32];
    CHECK(ember_db_select(db, 3) == EMBER_OK);
    for (i = 0; i < 500; i++) {
        int n = snprintf(key, sizeof key, "user:%d", i);
        CHECK(ember_set(db, (const uint8_t *)key, (size_t)n, S("v"), 0) == EMBER_OK);
    }
    CHECK(ember_set(db, S("other"), S("v"), 0) == EMBER_OK);
    do {
        ember_reply *keys;
        size_t len;
        CHECK(ember_scan(db, cursor, S("user:*"), "string", 50, &cursor, &keys) == EMBER_OK);
        CHECK(ember_reply_len(keys, &len) == EMBER_OK);
        seen += (int)len;
        ember_reply_free(keys);
    } while (cursor != 0);
    CHECK(seen == 500);
    CHECK(ember_db_select(db, 99) == EMBER_ERR_INVALID);
    CHECK(ember_db_select(db, 0) == EMBER_OK);
}

static void test_bad_input(void) {
    ember_db *db = NULL;
    ember_options opts;
    const uint8_t *val;
    size_t len;
    CHECK(ember_db_open(NULL, NULL) == EMBER_ERR_NULL);
    memset(&opts, 0, sizeof opts);
    opts.databases = EMBER_DATABASES_MAX + 1;
    CHECK(ember_db_open(&opts, &db) == EMBER_ERR_INVALID && db == NULL);
    CHECK(ember_get(NULL, S("k"), &val, &len) == EMBER_ERR_NULL);
    CHECK(ember_set(NULL, S("k"), S("v"), 0) == EMBER_ERR_NULL);
    {
        bufs one = B(1, "m");
        double score = 1;
        size_t n;
        int32_t flag;
        ember_reply *r;
        CHECK(ember_hset(NULL, S("k"), 1, one.ptrs, one.lens, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_hget(NULL, S("k"), S("f"), &val, &len) == EMBER_ERR_NULL);
        CHECK(ember_hdel(NULL, S("k"), 1, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_lpush(NULL, S("k"), 1, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_rpush(NULL, S("k"), 1, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_lpop(NULL, S("k"), &val, &len) == EMBER_ERR_NULL);
        CHECK(ember_rpop(NULL, S("k"), &val, &len) == EMBER_ERR_NULL);
        CHECK(ember_lrange(NULL, S("k"), 0, -1, &r) == EMBER_ERR_NULL);
        CHECK(ember_sadd(NULL, S("k"), 1, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_srem(NULL, S("k"), 1, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_sismember(NULL, S("k"), S("m"), &flag) == EMBER_ERR_NULL);
        CHECK(ember_smembers(NULL, S("k"), &r) == EMBER_ERR_NULL);
        CHECK(ember_zadd(NULL, S("k"), 1, &score, one.ptrs, one.lens, &n) == EMBER_ERR_NULL);
        CHECK(ember_zscore(NULL, S("k"), S("m"), &score) == EMBER_ERR_NULL);
        CHECK(ember_zrank(NULL, S("k"), S("m"), &n) == EMBER_ERR_NULL);
        CHECK(ember_zrange(NULL, S("k"), 0, -1, 0, &r) == EMBER_ERR_NULL);
        CHECK(ember_zrangebyscore(NULL, S("k"), 0, 1, 0, 0, 0, &r) == EMBER_ERR_NULL);
    }
    CHECK(strcmp(ember_errmsg(NULL), "") == 0);
    CHECK(ember_reply_type(NULL) == EMBER_REPLY_NULL);
    ember_db_close(NULL);
    ember_reply_free(NULL);
    ember_bytes_free(NULL, 0);
}

static void test_maxmemory(void) {
    ember_db *db;
    ember_options opts;
    ember_memory_stats m;
    int i;
    char key[32];
    memset(&opts, 0, sizeof opts);
    opts.maxmemory = 64 * 1024;
    opts.policy = EMBER_POLICY_ALLKEYS_RANDOM;
    CHECK(ember_db_open(&opts, &db) == EMBER_OK);
    for (i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        CHECK(ember_set(db, (const uint8_t *)key, (size_t)n, S("0123456789abcdef"), 0) == EMBER_OK);
    }
    CHECK(ember_db_memory(db, &m) == EMBER_OK);
    CHECK(m.evicted_keys > 0);
    CHECK(m.bytes <= opts.maxmemory + 4096);
    ember_db_close(db);

    opts.policy = EMBER_POLICY_NOEVICTION;
    CHECK(ember_db_open(&opts, &db) == EMBER_OK);
    for (i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        if (ember_set(db, (const uint8_t *)key, (size_t)n, S("0123456789abcdef"), 0) != EMBER_OK) break;
    }
    CHECK(i < 5000);
    CHECK(strstr(ember_errmsg(db), "OOM") != NULL);
    {
        /* The collection calls go through the same memory check as ember_exec. */
        bufs m = B(2, "0123456789abcdef", "fedcba9876543210");
        double scores[2] = {1, 2};
        size_t n;
        CHECK(ember_rpush(db, S("list"), m.n, m.ptrs, m.lens, &n) == EMBER_ERR_OOM);
        CHECK(strstr(ember_errmsg(db), "OOM") != NULL);
        CHECK(ember_hset(db, S("hash"), m.n, m.ptrs, m.lens, m.ptrs, m.lens, &n) == EMBER_ERR_OOM);
        CHECK(ember_sadd(db, S("set"), m.n, m.ptrs, m.lens, &n) == EMBER_ERR_OOM);
        CHECK(ember_zadd(db, S("zset"), m.n, scores, m.ptrs, m.lens, &n) == EMBER_ERR_OOM);
        CHECK(ember_srem(db, S("set"), m.n, m.ptrs, m.lens, &n) == EMBER_OK && n == 0);
    }
    ember_db_close(db);
}

/* Saving to an RDB file and loading it into another handle; a damaged file changes nothing. */
static void test_save_load(void) {
    ember_db *a = NULL, *b = NULL;
    const uint8_t *val;
    size_t len;
    char path[] = "/tmp/ember-c-api-XXXXXX";
    char file[64];
    int fd = mkstemp(path);
    FILE *f;

    CHECK(fd >= 0);
    close(fd);
    snprintf(file, sizeof file, "%s", path);
    CHECK(ember_db_open(NULL, &a) == EMBER_OK);
    CHECK(ember_set(a, S("saved"), S("value"), 0) == EMBER_OK);
    CHECK(ember_set(a, S("with-ttl"), S("v"), 100000) == EMBER_OK);
    CHECK(ember_db_save(a, (const uint8_t *)file, strlen(file)) == EMBER_OK);
    CHECK(ember_db_open(NULL, &b) == EMBER_OK);
    CHECK(ember_set(b, S("replaced"), S("x"), 0) == EMBER_OK);
    CHECK(ember_db_load(b, (const uint8_t *)file, strlen(file)) == EMBER_OK);
    CHECK(ember_get(b, S("saved"), &val, &len) == EMBER_OK && len == 5);
    CHECK(ember_get(b, S("replaced"), &val, &len) == EMBER_ERR_NOT_FOUND);
    /* A flipped byte breaks the checksum: an error, and the data stays. */
    f = fopen(file, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 12, SEEK_SET);
        fputc(0x7f, f);
        fclose(f);
    }
    CHECK(ember_db_load(b, (const uint8_t *)file, strlen(file)) == EMBER_ERR_CORRUPT);
    CHECK(strstr(ember_errmsg(b), "offset") != NULL);
    CHECK(ember_get(b, S("saved"), &val, &len) == EMBER_OK);
    CHECK(ember_db_load(b, S("/nonexistent/dir/file.rdb")) == EMBER_ERR_IO);
    CHECK(ember_db_save(b, S("/nonexistent/dir/file.rdb")) == EMBER_ERR_IO);
    CHECK(ember_db_save(NULL, S("x")) == EMBER_ERR_NULL);
    remove(file);
    ember_db_close(a);
    ember_db_close(b);
}

int main(void) {
    ember_db *db = NULL;
    ember_options opts;

    CHECK(strlen(ember_version()) > 0);
    CHECK(EMBER_VERSION_MAJOR == 0);
    CHECK(ember_threadsafe() == 0);

    memset(&opts, 0, sizeof opts);
    opts.databases = 4;
    CHECK(ember_db_open(&opts, &db) == EMBER_OK && db != NULL);
    test_typed(db);
    test_hashes(db);
    test_lists(db);
    test_sets(db);
    test_zsets(db);
    test_collections_with_exec(db);
    test_exec(db);
    test_scan(db);
    ember_db_close(db);

    test_bad_input();
    test_maxmemory();
    test_save_load();

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("c api: all checks passed\n");
    return 0;
}
