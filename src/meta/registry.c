/*
 * registry.c - the table of meta-gradient methods. A new method is a file
 * defining a `const struct meta_method` and one line here.
 */
#include "meta/meta.h"

#include <string.h>

extern const struct meta_method meta_method_amaml, meta_method_maml, meta_method_maml1,
    meta_method_fomaml, meta_method_reptile, meta_method_imaml;

static const struct meta_method *const methods[] = {
    &meta_method_amaml,  &meta_method_maml,    &meta_method_maml1,
    &meta_method_fomaml, &meta_method_reptile, &meta_method_imaml,
};

#define NMETHODS (sizeof methods / sizeof methods[0])

const struct meta_method *meta_method_find(const char *name)
{
    for (size_t i = 0; name && i < NMETHODS; i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    return NULL;
}

const char *amaml_method_name(size_t i)
{
    return i < NMETHODS ? methods[i]->name : NULL;
}

const char *amaml_method_summary(size_t i)
{
    return i < NMETHODS ? methods[i]->summary : NULL;
}
