#ifndef SEGHUB_SEG_SHIM_H
#define SEGHUB_SEG_SHIM_H
#include <stddef.h>
#include <stdint.h>
#endif
