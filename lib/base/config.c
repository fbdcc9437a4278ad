/* config.c - flag and environment parsing with validation. */
#include "lib/base/config.h"

#include "lib/base/parse.h"
#include "lib/base/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *default_getenv(const char *name)
{
    return getenv(name);
}

static long find(const struct config_option *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

static int check(const struct config_option *o, const char *v, const char *from, struct err *err)
{
    int64_t i;
    bool b;
    if (o->type == CONFIG_INT && !parse_int64(v, o->min, o->max, &i))
        return err_set(err, ERR_INVALID, "%s --%s: '%s' is not an integer in [%lld, %lld]", from,
                       o->name, v, (long long)o->min, (long long)o->max);
    if (o->type == CONFIG_BOOL && !parse_bool(v, &b))
        return err_set(err, ERR_INVALID, "%s --%s: '%s' is not a boolean (true/false)", from,
                       o->name, v);
    return 0;
}

static void set(struct config *c, size_t i, const char *v, const char *source)
{
    free(c->values[i]);
    c->values[i] = v ? xstrdup(v) : NULL;
    c->sources[i] = source;
}

int config_load(struct config *c, const struct config_option *opts, size_t n, int argc, char **argv,
                config_getenv_fn getenv_fn, struct err *err)
{
    c->opts = opts;
    c->n = n;
    c->values = xcalloc(n, sizeof(*c->values));
    c->sources = xcalloc(n, sizeof(*c->sources));
    if (!getenv_fn)
        getenv_fn = default_getenv;

    for (size_t i = 0; i < n; i++) {
        const char *v = opts[i].env ? getenv_fn(opts[i].env) : NULL;
        if (v) {
            char from[96];
            snprintf(from, sizeof(from), "environment %s for", opts[i].env);
            if (check(&opts[i], v, from, err))
                return ERR_INVALID;
            set(c, i, v, "env");
        } else {
            set(c, i, opts[i].def, "default");
        }
    }

    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CONFIG_HELP;
        if (strncmp(arg, "--", 2) != 0)
            return err_set(err, ERR_INVALID, "unexpected argument '%s' (see --help)", arg);
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        long i = find(opts, n, name, len);
        if (i < 0)
            return err_set(err, ERR_INVALID, "unknown option '%.*s' (see --help)", (int)len + 2,
                           arg);
        const char *v = eq ? eq + 1 : NULL;
        if (!v && opts[i].type == CONFIG_BOOL)
            v = "true";
        else if (!v && a + 1 < argc)
            v = argv[++a];
        else if (!v)
            return err_set(err, ERR_INVALID, "option --%s needs a value", opts[i].name);
        if (check(&opts[i], v, "flag", err))
            return ERR_INVALID;
        set(c, (size_t)i, v, "flag");
    }
    return 0;
}

void config_release(struct config *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->values[i]);
    free(c->values);
    free(c->sources);
    c->values = NULL;
    c->sources = NULL;
}

static size_t index_of(const struct config *c, const char *name)
{
    long i = find(c->opts, c->n, name, strlen(name));
    ASSERT(i >= 0);
    return (size_t)i;
}

const char *config_str(const struct config *c, const char *name)
{
    return c->values[index_of(c, name)];
}

int64_t config_int(const struct config *c, const char *name)
{
    size_t i = index_of(c, name);
    int64_t v = 0;
    ASSERT(c->opts[i].type == CONFIG_INT);
    ASSERT(parse_int64(c->values[i], c->opts[i].min, c->opts[i].max, &v));
    return v;
}

bool config_bool(const struct config *c, const char *name)
{
    size_t i = index_of(c, name);
    bool v = false;
    ASSERT(c->opts[i].type == CONFIG_BOOL);
    ASSERT(parse_bool(c->values[i], &v));
    return v;
}

void config_usage(const struct config_option *opts, size_t n, const char *prog, const char *summary,
                  FILE *out)
{
    fprintf(out, "Usage: %s [--option value | --option=value]...\n%s\n\nOptions:\n", prog, summary);
    for (size_t i = 0; i < n; i++) {
        const struct config_option *o = &opts[i];
        const char *arg = o->type == CONFIG_INT ? " N" : o->type == CONFIG_BOOL ? "[=BOOL]" : " S";
        fprintf(out, "  --%s%s\n      %s\n", o->name, arg, o->help);
        fprintf(out, "      env %s, default %s\n", o->env ? o->env : "(none)",
                o->def ? o->def : "(unset)");
    }
    fprintf(out, "  --help\n      Print this text and exit.\n");
}
