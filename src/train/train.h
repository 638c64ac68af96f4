/*
 * train.h - what the files of src/train share inside the library.
 */
#ifndef AMAML_TRAIN_TRAIN_H
#define AMAML_TRAIN_TRAIN_H

#include "amaml.h"

/* Points m's config strings (task.family, task.data, meta.method, ...) at
 * m's own char arrays, after m was copied or read. */
void model_relink(struct amaml_model *m);

#endif
