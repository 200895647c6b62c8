#ifndef SEGHUB_CJPEG_SHIM_H
#define SEGHUB_CJPEG_SHIM_H
#include <stdio.h>
#include <stddef.h>
#include <jpeglib.h>
#endif
