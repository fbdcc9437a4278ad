/* xalloc.h - allocation that aborts on out-of-memory, and ASSERT that stays on in release
 * builds. Callers never check these for NULL (as in redis, git and tmux). */
#ifndef LIB_BASE_XALLOC_H
#define LIB_BASE_XALLOC_H

#include <stddef.h>
#include <stdlib.h> /* free() pairs with these */

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Reports file, line and expression on stderr and aborts. */
_Noreturn void assert_fail(const char *expr, const char *file, int line);

#define ASSERT(e) ((e) ? (void)0 : assert_fail(#e, __FILE__, __LINE__))

#endif
