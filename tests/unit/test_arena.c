/* test_arena.c - arena allocation, alignment, big blocks and reset. */
#include "lib/base/arena.h"

#include <criterion/criterion.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

Test(arena, allocations_are_aligned_and_distinct)
{
    struct arena a;
    arena_init(&a, 64);
    char *p = arena_alloc(&a, 3);
    char *q = arena_alloc(&a, 5);
    cr_assert_neq(p, q);
    cr_assert_eq((uintptr_t)q % alignof(max_align_t), 0);
    memset(p, 'x', 3);
    memset(q, 'y', 5);
    cr_assert_eq(p[2], 'x');
    arena_release(&a);
}

Test(arena, big_block_keeps_current_chunk_usable)
{
    struct arena a;
    arena_init(&a, 128);
    char *small = arena_alloc(&a, 16);
    char *big = arena_alloc(&a, 10000);
    memset(big, 1, 10000);
    char *next = arena_alloc(&a, 16);
    /* the next small allocation comes from the first chunk, right after `small` */
    cr_assert_eq(next, small + 16);
    arena_release(&a);
}

Test(arena, strings_and_printf)
{
    struct arena a;
    arena_init(&a, 0);
    cr_assert_str_eq(arena_strdup(&a, "hello"), "hello");
    cr_assert_str_eq(arena_strndup(&a, "hello", 2), "he");
    cr_assert_str_eq(arena_sprintf(&a, "%s-%d", "id", 42), "id-42");
    char big[5000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert_eq(strlen(arena_sprintf(&a, "%s", big)), sizeof(big) - 1);
    arena_release(&a);
}

Test(arena, reset_reuses_memory)
{
    struct arena a;
    arena_init(&a, 256);
    char *first = arena_alloc(&a, 32);
    arena_alloc(&a, 1000);
    arena_reset(&a);
    char *again = arena_alloc(&a, 32);
    cr_assert_eq(first, again);
    arena_release(&a);
    arena_release(&a); /* twice is harmless */
}
