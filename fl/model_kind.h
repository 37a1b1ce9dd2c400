// model_kind.h — which of a client's models is meant: the server's (global) or its own
// (personal). A unit of its own so that strategies (fl/strategy.h) and the simulation name it
// without including each other.
#pragma once

namespace nanofed::fl {

enum class ModelKind { global, personal };
inline const char* to_string(ModelKind kind) { return kind == ModelKind::global ? "global" : "personal"; }

}  // namespace nanofed::fl
