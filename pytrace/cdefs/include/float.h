/* pytrace's own <float.h> (no floating point in BPF: nothing but the guard). */
#ifndef _PYTRACE_FLOAT_H
#define _PYTRACE_FLOAT_H
#endif
