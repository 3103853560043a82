// tests/c/header.cc: the header must compile as C++ (-Wall -Wextra -Werror -pedantic).
#include "ember.h"

int main() {
    ember_db *db = nullptr;
    if (ember_db_open(nullptr, &db) != EMBER_OK) return 1;
    ember_db_close(db);
    return 0;
}
