/* instance.c - validation of the instance's public URL. */
#include "services/threadly/domain/instance.h"

#include <string.h>

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']';
}

static void join(char *out, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    memcpy(out, a, na);
    memcpy(out + na, b, nb + 1);
}

int instance_settings_set_url(struct instance_settings *s, const char *url, struct err *err)
{
    const char *rest;
    bool tls;
    if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
        tls = false;
    } else if (strncmp(url, "https://", 8) == 0) {
        rest = url + 8;
        tls = true;
    } else {
        return err_set(err, ERR_INVALID, "public URL '%s' must start with http:// or https://",
                       url);
    }
    size_t n = strlen(rest);
    if (n > 0 && rest[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(s->domain))
        return err_set(err, ERR_INVALID, "public URL '%s' has no host or is too long", url);
    for (size_t i = 0; i < n; i++)
        if (!host_char(rest[i]))
            return err_set(err, ERR_INVALID,
                           "public URL '%s' must be scheme://host[:port] without a path", url);
    /* Lengths were checked above: every copy fits. */
    memcpy(s->domain, rest, n);
    s->domain[n] = '\0';
    join(s->base_url, tls ? "https://" : "http://", s->domain);
    join(s->streaming_url, tls ? "wss://" : "ws://", s->domain);
    return 0;
}
