#ifndef GEOREPL_CZLIB_SHIM_H
#define GEOREPL_CZLIB_SHIM_H
/* zlib (Debian: zlib1g-dev). */
#include <zlib.h>
#endif
