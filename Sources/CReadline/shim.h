#ifndef GEOREPL_CREADLINE_SHIM_H
#define GEOREPL_CREADLINE_SHIM_H
/* GNU readline (Debian: libreadline-dev). */
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
#endif
