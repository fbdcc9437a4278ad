/* id.h - sortable 64-bit ids: 42 bits of Unix milliseconds, 9 bits of node, 12 bits of
 * sequence (63 bits, so they fit a signed BIGINT). Ids of one generator strictly increase;
 * generators with different node numbers (one per service instance) never collide. */
#ifndef LIB_BASE_ID_H
#define LIB_BASE_ID_H

#include "lib/base/clock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ID_NODE_MAX 511
#define ID_STR_LEN 21 /* 19 digits + NUL, rounded */

struct idgen {
    _Atomic uint64_t last; /* (ms << 12) | seq of the last id issued */
    unsigned node;
    const struct clock *clock;
};

/* node must be <= ID_NODE_MAX. clock must outlive the generator. */
void idgen_init(struct idgen *g, unsigned node, const struct clock *clock);
/* A new id, greater than every id this generator issued before. Thread-safe, lock-free. */
uint64_t idgen_next(struct idgen *g);

/* The millisecond timestamp an id was made at. */
int64_t id_ms(uint64_t id);
/* The node that made an id. */
unsigned id_node(uint64_t id);
/* The smallest id that could be made at ms (for time-based cursors). */
uint64_t id_from_ms(int64_t ms);
/* Decimal form; ids are strings of digits on the wire. */
void id_format(uint64_t id, char out[ID_STR_LEN]);
/* Strict decimal parse: 1-19 digits, no sign or spaces, no overflow past INT64_MAX. */
bool id_parse(const char *s, uint64_t *id);

#endif
