/* test_config.c - flags over environment over defaults, and validation errors. */
#include "lib/base/config.h"

#include <criterion/criterion.h>
#include <string.h>

static const struct config_option opts[] = {
    {"port", "T_PORT", CONFIG_INT, "8080", 0, 65535, "port"},
    {"name", "T_NAME", CONFIG_STRING, "threadly", 0, 0, "name"},
    {"verbose", "T_VERBOSE", CONFIG_BOOL, "false", 0, 0, "verbose"},
    {"secret", NULL, CONFIG_STRING, NULL, 0, 0, "unset by default"},
};
#define N (sizeof(opts) / sizeof(opts[0]))

static const char *env_port;
static const char *fake_env(const char *name)
{
    return strcmp(name, "T_PORT") == 0 ? env_port : NULL;
}

Test(config, defaults_env_and_flags)
{
    struct config c;
    struct err err = {0};
    char *argv[] = {"prog", "--name=x", "--verbose", NULL};
    env_port = "9000";
    cr_assert_eq(config_load(&c, opts, N, 3, argv, fake_env, &err), 0, "%s", err.msg);
    cr_assert_eq(config_int(&c, "port"), 9000);
    cr_assert_str_eq(config_str(&c, "name"), "x");
    cr_assert(config_bool(&c, "verbose"));
    cr_assert_null(config_str(&c, "secret"));
    config_release(&c);

    char *argv2[] = {"prog", "--port", "81", NULL};
    cr_assert_eq(config_load(&c, opts, N, 3, argv2, fake_env, &err), 0);
    cr_assert_eq(config_int(&c, "port"), 81); /* flag beats env */
    config_release(&c);
}

Test(config, rejects_bad_values_and_unknown_flags)
{
    struct config c;
    struct err err = {0};
    char *bad_int[] = {"prog", "--port=99999", NULL};
    env_port = NULL;
    cr_assert_eq(config_load(&c, opts, N, 2, bad_int, fake_env, &err), ERR_INVALID);
    cr_assert(strstr(err.msg, "--port") != NULL, "%s", err.msg);
    config_release(&c);

    char *unknown[] = {"prog", "--nope", NULL};
    cr_assert_eq(config_load(&c, opts, N, 2, unknown, fake_env, &err), ERR_INVALID);
    cr_assert(strstr(err.msg, "unknown option") != NULL, "%s", err.msg);
    config_release(&c);

    char *missing[] = {"prog", "--name", NULL};
    cr_assert_eq(config_load(&c, opts, N, 2, missing, fake_env, &err), ERR_INVALID);
    config_release(&c);

    char *bad_bool[] = {"prog", "--verbose=maybe", NULL};
    cr_assert_eq(config_load(&c, opts, N, 2, bad_bool, fake_env, &err), ERR_INVALID);
    config_release(&c);

    env_port = "eighty";
    char *none[] = {"prog", NULL};
    cr_assert_eq(config_load(&c, opts, N, 1, none, fake_env, &err), ERR_INVALID);
    cr_assert(strstr(err.msg, "T_PORT") != NULL, "%s", err.msg);
    config_release(&c);
}

Test(config, help)
{
    struct config c;
    char *argv[] = {"prog", "--help", NULL};
    env_port = NULL;
    cr_assert_eq(config_load(&c, opts, N, 2, argv, fake_env, NULL), CONFIG_HELP);
    config_release(&c);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_usage(opts, N, "prog", "summary", f);
    fclose(f);
    cr_assert(strstr(text, "--port N") && strstr(text, "env T_PORT, default 8080"), "%s", text);
    free(text);
}
