#ifndef SEGHUB_CPNG_SHIM_H
#define SEGHUB_CPNG_SHIM_H
#include <png.h>
#endif
