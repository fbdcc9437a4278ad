/* validation.c - collecting field errors. */
#include "services/threadly/domain/validation.h"

void validation_add(struct validation *v, const char *field, const char *code,
                    const char *description)
{
    if (v->n == VALIDATION_MAX)
        return; /* the first errors are enough to report */
    v->items[v->n].field = field;
    v->items[v->n].code = code;
    v->items[v->n].description = description;
    v->n++;
}
