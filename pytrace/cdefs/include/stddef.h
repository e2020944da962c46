/* pytrace's own <stddef.h>: what a compiler provides, for headers parsed by pytrace. */
#ifndef _PYTRACE_STDDEF_H
#define _PYTRACE_STDDEF_H
typedef long unsigned int size_t;
typedef long int ptrdiff_t;
typedef int wchar_t;
typedef struct { long long __ll; long double __ld; } max_align_t;
#ifndef NULL
#define NULL ((void *)0)
#endif
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
