#pragma once
// Decision events are published through common/events (the gateway publishes its own fail-mode
// answers too); the limiter names the port here.

#include "common/events/event_publisher.h"

namespace rl::limiter {

using common::EventPublisher;

}  // namespace rl::limiter
