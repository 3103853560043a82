/* tests/c/api.c: exercises libember's C API end to end; exits 0 when every check passes.
 * Built and run by `cargo test` (tests/all/c_abi.rs), and under valgrind in CI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    ember_db_close(db);
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
    test_exec(db);
    test_scan(db);
    ember_db_close(db);

    test_bad_input();
    test_maxmemory();

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("c api: all checks passed\n");
    return 0;
}
