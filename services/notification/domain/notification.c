/* notification.c - type names and the types filter. */
#include "services/notification/domain/notification.h"

#include <string.h>

static const struct {
    enum notification_type type;
    const char *name;
} types[] = {
    {NOTIFICATION_MENTION, "mention"},
    {NOTIFICATION_FAVOURITE, "favourite"},
    {NOTIFICATION_FOLLOW, "follow"},
    {NOTIFICATION_FOLLOW_REQUEST, "follow_request"},
};

const char *notification_type_name(enum notification_type t)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i].type == t)
            return types[i].name;
    return "unknown";
}

bool notification_type_parse(const char *s, enum notification_type *out)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].name, s) == 0) {
            *out = types[i].type;
            return true;
        }
    }
    return false;
}

bool notification_type_has_status(enum notification_type t)
{
    return t == NOTIFICATION_MENTION || t == NOTIFICATION_FAVOURITE;
}

unsigned notification_types_mask(const char *const *names, size_t ntypes,
                                 const char *const *exclude, size_t nexclude)
{
    unsigned mask = ntypes ? 0 : NOTIFICATION_TYPES_ALL;
    enum notification_type t;
    for (size_t i = 0; i < ntypes; i++)
        if (notification_type_parse(names[i], &t))
            mask |= (unsigned)t;
    for (size_t i = 0; i < nexclude; i++)
        if (notification_type_parse(exclude[i], &t))
            mask &= ~(unsigned)t;
    return mask;
}

const char *marker_timeline_name(enum marker_timeline t)
{
    return t == MARKER_HOME ? "home" : "notifications";
}

bool marker_timeline_parse(const char *s, enum marker_timeline *out)
{
    if (strcmp(s, "home") == 0)
        *out = MARKER_HOME;
    else if (strcmp(s, "notifications") == 0)
        *out = MARKER_NOTIFICATIONS;
    else
        return false;
    return true;
}
