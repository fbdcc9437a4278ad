/* test_parse.c - booleans as clients send them, strict integers. */
#include "lib/base/parse.h"

#include <criterion/criterion.h>

Test(parse, booleans_in_every_client_spelling)
{
    const char *yes[] = {"true", "True", "TRUE", "1", "yes", "on"};
    const char *no[] = {"false", "False", "0", "no", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        bool b = false;
        cr_assert(parse_bool(yes[i], &b), "%s", yes[i]);
        cr_assert(b, "%s", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        bool b = true;
        cr_assert(parse_bool(no[i], &b), "%s", no[i]);
        cr_assert_not(b, "%s", no[i]);
    }
    bool b = true;
    cr_assert_not(parse_bool("", &b));
    cr_assert_not(parse_bool("2", &b));
    cr_assert_not(parse_bool("truee", &b));
    cr_assert_not(parse_bool(NULL, &b));
    cr_assert(b);
}

Test(parse, integers)
{
    int64_t v = 7;
    cr_assert(parse_int64("40", 1, 80, &v));
    cr_assert_eq(v, 40);
    cr_assert(parse_int64("-3", -5, 5, &v));
    cr_assert_not(parse_int64("81", 1, 80, &v));
    cr_assert_not(parse_int64("4x", 1, 80, &v));
    cr_assert_not(parse_int64("", 1, 80, &v));
    cr_assert_not(parse_int64(" 4", 1, 80, &v));
    cr_assert_not(parse_int64("99999999999999999999", 0, INT64_MAX, &v));
    cr_assert_eq(v, -3);
}
