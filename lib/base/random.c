/* random.c - system randomness and token encoding. */
#include "lib/base/random.h"

#include "lib/base/xalloc.h"

#include <errno.h>
#include <sys/random.h>

static void random_system_fill(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        ASSERT(got > 0);
        p += got;
        n -= (size_t)got;
    }
}

const struct random random_system = {random_system_fill, NULL};

void random_token(const struct random *r, size_t nbytes, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[96];
    ASSERT(nbytes <= sizeof(bytes));
    random_fill(r, bytes, nbytes);
    size_t o = 0;
    for (size_t i = 0; i < nbytes; i += 3) {
        unsigned v = (unsigned)bytes[i] << 16;
        size_t left = nbytes - i;
        if (left > 1)
            v |= (unsigned)bytes[i + 1] << 8;
        if (left > 2)
            v |= bytes[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (left > 1)
            out[o++] = alphabet[(v >> 6) & 63];
        if (left > 2)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}
