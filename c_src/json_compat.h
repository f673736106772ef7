/*
 * json-c declares its own "struct printbuf", which clashes with ours.
 * Include json-c through here: its struct is renamed in this translation
 * unit only (struct tags do not reach the linker).
 */
#ifndef BCH_JSON_COMPAT_H
#define BCH_JSON_COMPAT_H

#define printbuf json_c_printbuf
#include <json.h>
#undef printbuf

#endif
