// tests/c/header.cc: the header must compile as C++ (-Wall -Wextra -Werror -pedantic), including
// the array-of-buffers arguments and flag macros of the collection calls.
#include "ember.h"

int main() {
    ember_db *db = nullptr;
    if (ember_db_open(nullptr, &db) != EMBER_OK) return 1;
    const uint8_t *members[2] = {reinterpret_cast<const uint8_t *>("a"),
                                 reinterpret_cast<const uint8_t *>("b")};
    size_t lens[2] = {1, 1};
    double scores[2] = {1.0, 2.0};
    size_t added = 0;
    ember_reply *r = nullptr;
    int ok = ember_zadd(db, members[0], 1, 2, scores, members, lens, &added) == EMBER_OK &&
             added == 2 &&
             ember_zrangebyscore(db, members[0], 1, 1.0, 2.0,
                                 EMBER_ZRANGE_REV | EMBER_ZRANGE_MIN_EXCLUSIVE, 0, 0,
                                 &r) == EMBER_OK;
    ember_reply_free(r);
    ember_db_close(db);
    return ok ? 0 : 1;
}
