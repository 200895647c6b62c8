#ifndef SEGHUB_CTIFF_SHIM_H
#define SEGHUB_CTIFF_SHIM_H
#include <tiffio.h>
#endif
