#pragma once
// The settings of the reference service (envoyproxy/ratelimit, src/settings/settings.go), accepted
// by their names beside this limiter's, so that a Deployment of the reference keeps its
// environment, ConfigMap and probes when it swaps the image. Each one is translated into this
// limiter's setting, or accepted and ignored with a note saying why, or refused when this limiter
// cannot do what it asks (Sentinel, memcache, TLS to Redis, the xDS config source). A setting given
// both ways to different values is an error. docs/configuration.md has the table.

#include <map>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace rl::limiter {

// The settings that say an environment is the reference's: only one with at least one of them is
// translated (PORT, HOST or LOG_LEVEL alone may mean anything to anyone else). Every Deployment
// of the reference names its config directory (RUNTIME_ROOT or RUNTIME_SUBDIRECTORY).
extern const char* const kReferenceMarkers[7];

struct TranslatedSettings {
  std::map<std::string, std::string> vars;  // the environment, the translations added
  std::vector<std::string> notes;           // one line per reference setting seen, for the log
};

// Translates the reference's settings found in `env` (a process environment), when it has one of
// kReferenceMarkers; else `env` unchanged. Pure.
common::Result<TranslatedSettings> TranslateReferenceSettings(
    const std::map<std::string, std::string>& env);

}  // namespace rl::limiter
