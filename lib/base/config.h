/* config.h - service configuration from flags and THREADLY_* environment variables.
 * Precedence: flag, then environment, then default. Every value is validated at load. */
#ifndef LIB_BASE_CONFIG_H
#define LIB_BASE_CONFIG_H

#include "lib/base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum config_type { CONFIG_STRING, CONFIG_INT, CONFIG_BOOL };

struct config_option {
    const char *name; /* flag without dashes, e.g. "port" */
    const char *env;  /* environment variable, or NULL */
    enum config_type type;
    const char *def;  /* default as text; NULL means "unset" (strings only) */
    int64_t min, max; /* range of CONFIG_INT */
    const char *help;
};

struct config {
    const struct config_option *opts;
    size_t n;
    char **values;        /* owned; NULL for an unset string */
    const char **sources; /* "flag", "env" or "default", for the startup log */
};

/* Looks up an environment variable; NULL means getenv. Tests pass their own. */
typedef const char *(*config_getenv_fn)(const char *name);

enum { CONFIG_HELP = 1 };

/* Loads opts from argv (skipping argv[0]) and the environment. Returns 0, CONFIG_HELP when
 * --help was given, or ERR_INVALID with err naming the option and the problem. */
int config_load(struct config *c, const struct config_option *opts, size_t n, int argc, char **argv,
                config_getenv_fn getenv_fn, struct err *err);
void config_release(struct config *c);

/* Accessors; asking for an option that is not in the table is a bug (ASSERT). */
const char *config_str(const struct config *c, const char *name);
int64_t config_int(const struct config *c, const char *name);
bool config_bool(const struct config *c, const char *name);

/* Writes the usage text: one paragraph per option with its env variable and default. */
void config_usage(const struct config_option *opts, size_t n, const char *prog, const char *summary,
                  FILE *out);

#endif
