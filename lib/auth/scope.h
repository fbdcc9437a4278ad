/* scope.h - OAuth scope checks on a granted scope list, as Mastodon reads them
 * (mastodon/documentation api/oauth-scopes.md): "read" covers every "read:x", "write" every
 * "write:x", a granular scope covers itself. Only the check; which scopes exist and what a
 * route needs are the services' business. */
#ifndef LIB_AUTH_SCOPE_H
#define LIB_AUTH_SCOPE_H

#include <stdbool.h>

/* True if `granted` (space- or '+'-separated) allows `needed`, one scope such as
 * "read:notifications". */
bool auth_scope_allows(const char *granted, const char *needed);

#endif
