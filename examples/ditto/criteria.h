// criteria.h — the Ditto driver's sections judge their claims with the shared Criterion
// (tools/reproduction.h).
#pragma once
#include "tools/reproduction.h"

namespace nanofed::ditto {
using report::Criterion;
using report::criteria_table;
}  // namespace nanofed::ditto
