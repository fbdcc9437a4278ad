/* test_clock.c - RFC 3339 formatting with milliseconds and parsing. */
#include "lib/base/clock.h"

#include <criterion/criterion.h>

Test(clock, formats_with_milliseconds)
{
    char out[CLOCK_ISO_LEN];
    clock_format_iso(0, out);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
    clock_format_iso(1795957323004LL, out);
    cr_assert_str_eq(out, "2026-11-29T13:02:03.004Z");
    clock_format_iso(951782400000LL, out); /* leap day 2000 */
    cr_assert_str_eq(out, "2000-02-29T00:00:00.000Z");
    char date[11];
    clock_format_date(1795957323004LL, date);
    cr_assert_str_eq(date, "2026-11-29");
}

Test(clock, parse_round_trip_and_offsets)
{
    int64_t ms;
    cr_assert(clock_parse_iso("2026-11-29T13:02:03.004Z", &ms));
    cr_assert_eq(ms, 1795957323004LL);
    cr_assert(clock_parse_iso("2026-11-29T14:02:03.004+01:00", &ms));
    cr_assert_eq(ms, 1795957323004LL);
    cr_assert(clock_parse_iso("1970-01-01T00:00:00Z", &ms));
    cr_assert_eq(ms, 0);
}

Test(clock, parse_rejects_garbage)
{
    int64_t ms = 42;
    cr_assert_not(clock_parse_iso("", &ms));
    cr_assert_not(clock_parse_iso("2026-13-01T00:00:00Z", &ms));
    cr_assert_not(clock_parse_iso("2026-11-29 10:22:03Z", &ms));
    cr_assert_not(clock_parse_iso("2026-11-29T10:22:03", &ms));
    cr_assert_not(clock_parse_iso("2026-11-29T10:22:03.Z", &ms));
    cr_assert_not(clock_parse_iso("2026-11-29T10:22:03Zjunk", &ms));
    cr_assert_eq(ms, 42);
}

Test(clock, fake_clock)
{
    int64_t now = 1234;
    struct clock c = {clock_fake_now_ms, &now};
    cr_assert_eq(clock_now_ms(&c), 1234);
    now = 99;
    cr_assert_eq(clock_now_ms(&c), 99);
}

Test(clock, deadline_is_now_plus_ms_normalised)
{
    for (int64_t ms = 0; ms <= 2999; ms += 137) {
        struct timespec before, after;
        clock_gettime(CLOCK_MONOTONIC, &before);
        struct timespec d = clock_deadline(CLOCK_MONOTONIC, ms);
        clock_gettime(CLOCK_MONOTONIC, &after);
        cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L, "tv_nsec %ld", d.tv_nsec);
        int64_t dn = (int64_t)d.tv_sec * 1000000000 + d.tv_nsec;
        int64_t lo = (int64_t)before.tv_sec * 1000000000 + before.tv_nsec + ms * 1000000;
        int64_t hi = (int64_t)after.tv_sec * 1000000000 + after.tv_nsec + ms * 1000000;
        cr_assert(dn >= lo && dn <= hi, "deadline of %lld ms off", (long long)ms);
    }
}
