/* notification_json.c - the Notification entity (mastodon/documentation entities/Notification.md)
 * from a stored notification: the actor and status JSON are copied as stored. */
#include "services/notification/adapters/json/notification_json.h"

#include "lib/base/clock.h"
#include "lib/base/id.h"

#include <string.h>

void notification_json_write(struct jsonw *w, const struct notification *n)
{
    char iso[CLOCK_ISO_LEN], id[ID_STR_LEN];
    clock_format_iso(n->created_at_ms, iso);
    id_format(n->id, id);
    jsonw_object_begin(w);
    jsonw_field_str(w, "id", id);
    jsonw_field_str(w, "type", notification_type_name(n->type));
    jsonw_field_str(w, "created_at", iso);
    jsonw_key(w, "group_key");
    jsonw_str_begin(w);
    jsonw_str_part(w, "ungrouped-", 10);
    jsonw_str_part(w, id, strlen(id));
    jsonw_str_end(w);
    jsonw_key(w, "account");
    jsonw_raw(w, n->account_json, strlen(n->account_json));
    if (notification_type_has_status(n->type) && n->status_json) {
        jsonw_key(w, "status");
        jsonw_raw(w, n->status_json, strlen(n->status_json));
    }
    jsonw_object_end(w);
}
