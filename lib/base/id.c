/* id.c - snowflake-style id generator. */
#include "lib/base/id.h"

#include "lib/base/xalloc.h"

#include <stdio.h>

#define SEQ_BITS 12
#define NODE_BITS 9

void idgen_init(struct idgen *g, unsigned node, const struct clock *clock)
{
    ASSERT(node <= ID_NODE_MAX);
    atomic_init(&g->last, 0);
    g->node = node;
    g->clock = clock;
}

uint64_t idgen_next(struct idgen *g)
{
    uint64_t old = atomic_load_explicit(&g->last, memory_order_relaxed);
    uint64_t next;
    do {
        int64_t ms = clock_now_ms(g->clock);
        next = (uint64_t)(ms < 0 ? 0 : ms) << SEQ_BITS;
        /* Same millisecond, or the clock went back: take the next sequence number. When a
         * millisecond's 4096 are used up this borrows from the next millisecond, which keeps
         * ids unique and ordered at the cost of running slightly ahead of the clock. */
        if (next <= old)
            next = old + 1;
    } while (!atomic_compare_exchange_weak_explicit(&g->last, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    uint64_t ms = next >> SEQ_BITS, seq = next & ((1u << SEQ_BITS) - 1);
    return (ms << (SEQ_BITS + NODE_BITS)) | ((uint64_t)g->node << SEQ_BITS) | seq;
}

int64_t id_ms(uint64_t id)
{
    return (int64_t)(id >> (SEQ_BITS + NODE_BITS));
}

unsigned id_node(uint64_t id)
{
    return (unsigned)(id >> SEQ_BITS) & ID_NODE_MAX;
}

uint64_t id_from_ms(int64_t ms)
{
    return (uint64_t)(ms < 0 ? 0 : ms) << (SEQ_BITS + NODE_BITS);
}

void id_format(uint64_t id, char out[ID_STR_LEN])
{
    /* By hand: every id of every rendered entity comes through here. */
    char tmp[ID_STR_LEN];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

bool id_parse(const char *s, uint64_t *id)
{
    uint64_t v = 0;
    int n = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= 19)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *id = v;
    return true;
}
