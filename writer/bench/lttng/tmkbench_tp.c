/* The probes of the provider, linked statically into the benchmark. */
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "tmkbench_tp.h"
