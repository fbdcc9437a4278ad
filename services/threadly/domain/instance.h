/* instance.h - what threadly-service says about itself to clients (Mastodon's Instance
 * entity): identity, limits and counts. Pure data and validation; rendering is the HTTP
 * adapter's job. */
#ifndef SERVICES_THREADLY_DOMAIN_INSTANCE_H
#define SERVICES_THREADLY_DOMAIN_INSTANCE_H

#include "lib/base/err.h"

#include <stdbool.h>
#include <stdint.h>

#define THREADLY_VERSION "0.1.0"
/* Mastodon.py and others gate features on the Mastodon version they parse from this string
 * (up to the first space), so we advertise the API level we implement. */
#define INSTANCE_VERSION_STRING "4.2.0 (compatible; Threadly " THREADLY_VERSION ")"
#define INSTANCE_SOURCE_URL "https://github.com/threadly/threadly"

struct instance_settings {
    char base_url[272];      /* "http://127.0.0.1:8000", no trailing slash */
    char domain[256];        /* "127.0.0.1:8000": host and port of base_url */
    char streaming_url[272]; /* "ws://127.0.0.1:8000" */
    const char *title;
    const char *short_description;
    const char *description;
    const char *email;
    bool registrations;
    bool approval_required;
    int max_characters;
    int max_media_attachments;
    int characters_reserved_per_url;
};

struct instance_stats {
    int64_t user_count;
    int64_t status_count;
    int64_t domain_count;
};

/* Fills the URL-derived fields of s from the public base URL, which must be
 * http(s)://host[:port] with an optional trailing slash and nothing else.
 * ERR_INVALID (with the reason) otherwise. */
int instance_settings_set_url(struct instance_settings *s, const char *public_url, struct err *err);

#endif
