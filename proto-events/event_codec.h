#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto-events/decision.pb.h"

namespace rl::events {

// Names used in JSON bodies, metrics labels and logs ("allowed", "fail_open", ...).
std::string_view OutcomeName(v1::Outcome outcome);

// Whether the outcome admitted the request (common::OutcomeNameAdmits, the one definition).
bool OutcomeAdmits(v1::Outcome outcome);

// Serialises a Decision to the bytes published to Kafka.
std::string EncodeDecision(const v1::Decision& decision);

// Parses Kafka bytes; nullopt for anything that is not a well-formed Decision with a user_id.
std::optional<v1::Decision> DecodeDecision(std::string_view bytes);

}  // namespace rl::events
