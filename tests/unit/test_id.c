/* test_id.c - id ordering, uniqueness across threads and nodes, parsing. */
#include "lib/base/id.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

Test(id, increasing_even_when_clock_stands_still_or_goes_back)
{
    int64_t now = 1795957323004LL;
    struct clock c = {clock_fake_now_ms, &now};
    struct idgen g;
    idgen_init(&g, 3, &c);
    uint64_t prev = idgen_next(&g);
    cr_assert_eq(id_ms(prev), now);
    cr_assert_eq(id_node(prev), 3);
    for (int i = 0; i < 10000; i++) { /* more than one millisecond's worth of sequence */
        uint64_t id = idgen_next(&g);
        cr_assert_gt(id, prev);
        prev = id;
    }
    now -= 5000; /* clock steps back */
    cr_assert_gt(idgen_next(&g), prev);
    cr_assert_lt(prev, (uint64_t)INT64_MAX);
}

Test(id, different_nodes_never_collide)
{
    int64_t now = 1000;
    struct clock c = {clock_fake_now_ms, &now};
    struct idgen a, b;
    idgen_init(&a, 1, &c);
    idgen_init(&b, 2, &c);
    for (int i = 0; i < 100; i++)
        cr_assert_neq(idgen_next(&a), idgen_next(&b));
}

#define THREADS 4
#define PER_THREAD 20000

struct worker {
    struct idgen *g;
    uint64_t ids[PER_THREAD];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++)
        w->ids[i] = idgen_next(w->g);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

Test(id, unique_across_threads)
{
    struct idgen g;
    idgen_init(&g, 1, &clock_system);
    static struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].g = &g;
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    static uint64_t all[THREADS * PER_THREAD];
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        memcpy(all + i * PER_THREAD, w[i].ids, sizeof(w[i].ids));
        for (int j = 1; j < PER_THREAD; j++)
            cr_assert_gt(w[i].ids[j], w[i].ids[j - 1]);
    }
    qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp);
    for (int i = 1; i < THREADS * PER_THREAD; i++)
        cr_assert_neq(all[i], all[i - 1]);
}

Test(id, format_and_strict_parse)
{
    char s[ID_STR_LEN];
    uint64_t id;
    id_format(115428000000000001ULL, s);
    cr_assert_str_eq(s, "115428000000000001");
    char edge[ID_STR_LEN];
    id_format(0, edge);
    cr_assert_str_eq(edge, "0");
    id_format(UINT64_MAX, edge);
    cr_assert_str_eq(edge, "18446744073709551615");
    cr_assert(id_parse(s, &id));
    cr_assert_eq(id, 115428000000000001ULL);
    cr_assert_not(id_parse("", &id));
    cr_assert_not(id_parse("-1", &id));
    cr_assert_not(id_parse("12a", &id));
    cr_assert_not(id_parse(" 12", &id));
    cr_assert_not(id_parse("9223372036854775808", &id)); /* INT64_MAX + 1 */
    cr_assert_not(id_parse("99999999999999999999", &id));
    cr_assert(id_parse("9223372036854775807", &id));
    cr_assert_eq(id_from_ms(5) >> 21, 5);
}
