/* test_ratelimit.c - fixed windows per key, bounded memory. */
#include "lib/base/ratelimit.h"

#include <criterion/criterion.h>
#include <stdio.h>

Test(ratelimit, window_per_key)
{
    struct ratelimit *rl = ratelimit_new(3, 1000, 16);
    struct ratelimit_state st;
    for (int i = 0; i < 3; i++) {
        cr_assert(ratelimit_hit(rl, "1.2.3.4", 100, &st));
        cr_assert_eq(st.remaining, 2 - i);
    }
    cr_assert_not(ratelimit_hit(rl, "1.2.3.4", 200, &st));
    cr_assert_eq(st.remaining, 0);
    cr_assert_eq(st.reset_ms, 1100);
    cr_assert(ratelimit_hit(rl, "5.6.7.8", 200, &st));  /* other keys are unaffected */
    cr_assert(ratelimit_hit(rl, "1.2.3.4", 1100, &st)); /* a new window */
    cr_assert_eq(st.remaining, 2);
    ratelimit_free(rl);
}

Test(ratelimit, many_keys_stay_bounded_and_correct)
{
    struct ratelimit *rl = ratelimit_new(1, 1000, 8);
    struct ratelimit_state st;
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
        cr_assert(ratelimit_hit(rl, key, i, &st), "%s", key);
    }
    /* the newest key is still tracked */
    cr_assert_not(ratelimit_hit(rl, key, 10000, &st));
    ratelimit_free(rl);
}
