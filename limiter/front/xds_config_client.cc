#include "limiter/front/xds_config_client.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace rl::limiter {

namespace {

namespace rlsconf = ratelimit::config::ratelimit::v3;
namespace discovery = envoy::service::discovery::v3;
using nlohmann::json;

json DescriptorJson(const rlsconf::RateLimitDescriptor& d) {
  json out = {{"key", d.key()}};
  if (!d.value().empty()) out["value"] = d.value();
  if (d.has_rate_limit()) {
    const rlsconf::RateLimitPolicy& p = d.rate_limit();
    json limit = json::object();
    if (p.unlimited()) {
      limit["unlimited"] = true;
    } else {
      std::string unit = rlsconf::RateLimitUnit_Name(p.unit());
      for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      limit["unit"] = unit;
      limit["requests_per_unit"] = p.requests_per_unit();
    }
    if (!p.name().empty()) limit["name"] = p.name();
    if (p.replaces_size() > 0) {
      limit["replaces"] = json::array();
      for (const auto& r : p.replaces()) limit["replaces"].push_back({{"name", r.name()}});
    }
    out["rate_limit"] = limit;
  }
  if (d.shadow_mode()) out["shadow_mode"] = true;
  if (d.detailed_metric()) out["detailed_metric"] = true;
  if (d.descriptors_size() > 0) {
    out["descriptors"] = json::array();
    for (const auto& child : d.descriptors()) out["descriptors"].push_back(DescriptorJson(child));
  }
  return out;
}

}  // namespace

std::string RateLimitConfigYaml(const rlsconf::RateLimitConfig& config) {
  json out = {{"domain", config.domain()}, {"descriptors", json::array()}};
  for (const auto& d : config.descriptors()) out["descriptors"].push_back(DescriptorJson(d));
  return out.dump();
}

XdsConfigClient::XdsConfigClient(XdsOptions options, PolicyHolder& holder,
                                 const common::Clock& clock, common::MetricsRegistry& metrics)
    : options_(std::move(options)),
      holder_(holder),
      clock_(clock),
      applied_(metrics.AddCounter("rl_xds_config_updates_total",
                                  "Rate limit configs received over xDS, by result",
                                  {{"result", "applied"}})),
      rejected_(metrics.AddCounter("rl_xds_config_updates_total",
                                   "Rate limit configs received over xDS, by result",
                                   {{"result", "rejected"}})),
      connected_(metrics.AddGauge("rl_xds_connected",
                                  "1 while the xDS stream of rate limit configs is open")) {}

XdsConfigClient::~XdsConfigClient() {
  stopping_ = true;
  {
    const std::lock_guard lock(mu_);
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void XdsConfigClient::Start() {
  thread_ = std::thread([this] { Run(); });
}

void XdsConfigClient::Run() {
  while (!stopping_) {
    Stream();
    connected_.Set(0);
    for (int waited = 0; waited < options_.retry_ms && !stopping_; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

common::Result<std::shared_ptr<const ActivePolicy>> XdsConfigClient::PolicyOf(
    const std::vector<rlsconf::RateLimitConfig>& configs) const {
  const std::string source = "xds://" + options_.server;
  if (configs.empty()) {  // no domain at all: a valid answer
    auto active = std::make_shared<ActivePolicy>();
    active->policy.source = source;
    active->policy.version = "xds-empty";
    active->loaded_at_ms = clock_.NowMs();
    return std::shared_ptr<const ActivePolicy>(std::move(active));
  }
  std::vector<BundleFile> files;
  for (const auto& config : configs) {
    files.push_back({(config.name().empty() ? config.domain() : config.name()) + ".yaml",
                     RateLimitConfigYaml(config)});
  }
  const std::string bundle = JoinBundle(files);
  auto policy = ParseLimitsBundle(bundle, source);
  if (!policy.ok()) return policy.status();
  auto active = std::make_shared<ActivePolicy>();
  active->policy = std::move(policy.value());
  active->loaded_at_ms = clock_.NowMs();
  return std::shared_ptr<const ActivePolicy>(std::move(active));
}

void XdsConfigClient::Stream() {
  auto channel = grpc::CreateChannel(options_.server, grpc::InsecureChannelCredentials());
  auto stub = discovery::AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext context;
  {
    const std::lock_guard lock(mu_);
    if (stopping_) return;
    context_ = &context;
  }
  auto stream = stub->StreamAggregatedResources(&context);
  discovery::DiscoveryRequest request;
  request.mutable_node()->set_id(options_.node_id);
  request.set_type_url(kRateLimitConfigTypeUrl);
  std::string acked_version;     // the version in force, sent again on every request
  std::string rejected_version;  // the last version refused
  if (stream->Write(request)) {
    discovery::DiscoveryResponse response;
    while (stream->Read(&response)) {
      connected_.Set(1);
      if (!rejected_version.empty() && response.version_info() == rejected_version) {
        // The server sends a refused version again (go-control-plane's snapshot cache does, to
        // any request that does not name its version): refused again, once per retry interval
        // so that the two never spin, and neither counted nor logged twice.
        for (int waited = 0; waited < options_.retry_ms && !stopping_; waited += 50) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        discovery::DiscoveryRequest again;
        again.mutable_node()->set_id(options_.node_id);
        again.set_type_url(kRateLimitConfigTypeUrl);
        again.set_response_nonce(response.nonce());
        again.set_version_info(acked_version);
        again.mutable_error_detail()->set_code(3);
        again.mutable_error_detail()->set_message("version " + rejected_version +
                                                  " was refused; see the limiter's log");
        if (stopping_ || !stream->Write(again)) break;
        continue;
      }
      std::vector<rlsconf::RateLimitConfig> configs;
      std::string error;
      for (const auto& resource : response.resources()) {
        rlsconf::RateLimitConfig config;
        if (!resource.UnpackTo(&config)) {
          error = "a resource is no " + std::string(kRateLimitConfigTypeUrl) + ": " +
                  resource.type_url();
          break;
        }
        configs.push_back(std::move(config));
      }
      discovery::DiscoveryRequest answer;
      answer.mutable_node()->set_id(options_.node_id);
      answer.set_type_url(kRateLimitConfigTypeUrl);
      answer.set_response_nonce(response.nonce());
      auto policy = error.empty() ? PolicyOf(configs)
                                  : common::Result<std::shared_ptr<const ActivePolicy>>(
                                        common::Status::InvalidArgument(error));
      if (policy.ok()) {
        holder_.Replace(policy.value());
        has_config_ = true;
        acked_version = response.version_info();
        applied_.Inc();
        spdlog::info("xds: rate limit configs version {} applied: {} domains", acked_version,
                     policy.value()->policy.domains.size());
      } else {
        rejected_.Inc();
        rejected_version = response.version_info();
        spdlog::warn("xds: rate limit configs version {} rejected; version {} stays: {}",
                     response.version_info(), acked_version, policy.status().message());
        answer.mutable_error_detail()->set_code(3);  // INVALID_ARGUMENT
        answer.mutable_error_detail()->set_message(policy.status().message());
      }
      answer.set_version_info(acked_version);
      if (!stream->Write(answer)) break;
    }
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  {
    const std::lock_guard lock(mu_);
    context_ = nullptr;
  }
  if (!stopping_) {
    spdlog::warn("xds: the stream of rate limit configs from {} ended ({}); again in {} ms",
                 options_.server, status.error_message().empty() ? "closed"
                                                                 : status.error_message(),
                 options_.retry_ms);
  }
}

}  // namespace rl::limiter
