#ifndef GEOREPL_CPNG_SHIM_H
#define GEOREPL_CPNG_SHIM_H
/* libpng (Debian: libpng-dev). */
#include <png.h>
#endif
