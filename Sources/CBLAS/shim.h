#ifndef GEOREPL_CBLAS_SHIM_H
#define GEOREPL_CBLAS_SHIM_H
/* OpenBLAS's CBLAS and reference LAPACKE (Debian: libopenblas-dev, liblapacke-dev). */
#include <cblas.h>
#include <lapacke.h>
#endif
