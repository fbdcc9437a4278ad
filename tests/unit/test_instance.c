/* test_instance.c - the instance's public URL gives its domain and streaming URL. */
#include "services/threadly/domain/instance.h"

#include <criterion/criterion.h>
#include <string.h>

Test(instance, url_derived_fields)
{
    struct instance_settings s = {0};
    cr_assert_eq(instance_settings_set_url(&s, "http://127.0.0.1:8000/", NULL), 0);
    cr_assert_str_eq(s.domain, "127.0.0.1:8000");
    cr_assert_str_eq(s.base_url, "http://127.0.0.1:8000");
    cr_assert_str_eq(s.streaming_url, "ws://127.0.0.1:8000");
    cr_assert_eq(instance_settings_set_url(&s, "https://threadly.example", NULL), 0);
    cr_assert_str_eq(s.streaming_url, "wss://threadly.example");
}

Test(instance, bad_urls_rejected)
{
    struct instance_settings s = {0};
    struct err err = {0};
    const char *bad[] = {"",
                         "ftp://x",
                         "http://",
                         "http://host/path",
                         "http://ho st",
                         "http://host?x=1",
                         "threadly.example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(instance_settings_set_url(&s, bad[i], &err), ERR_INVALID, "accepted '%s'",
                     bad[i]);
}

Test(instance, version_string_is_what_clients_parse)
{
    /* Mastodon.py cuts at the first space and parses semver. */
    cr_assert(strncmp(INSTANCE_VERSION_STRING, "4.2.0 (compatible; Threadly ", 28) == 0);
}
