#include "gateway/dashboard.h"

#include <string>
#include <string_view>

#include "gateway/dashboard/dashboard_css.h"
#include "gateway/dashboard/dashboard_js.h"
#include "gateway/dashboard/index_html.h"
#include "gateway/dashboard/vendor/uPlot_LICENSE.h"
#include "gateway/dashboard/vendor/uPlot_css.h"
#include "gateway/dashboard/vendor/uPlot_js.h"

namespace rl::gateway {

namespace {

struct Asset {
  std::string_view name;
  std::string_view content;
  const char* type;
};

constexpr Asset kAssets[] = {
    {"dashboard.js", kDashboardJs, "text/javascript; charset=utf-8"},
    {"dashboard.css", kDashboardCss, "text/css; charset=utf-8"},
    {"uPlot.iife.min.js", kUplotJs, "text/javascript; charset=utf-8"},
    {"uPlot.min.css", kUplotCss, "text/css; charset=utf-8"},
    {"uPlot.LICENSE", kUplotLicense, "text/plain; charset=utf-8"},
};

void Send(std::string_view content, const char* type, common::HttpAnswer& answer) {
  // Everything the page loads comes from here: no inline script, no other origin.
  answer.SetHeader("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
  answer.SetHeader("X-Content-Type-Options", "nosniff");
  answer.SetHeader("Cache-Control", "no-cache");
  answer.body = std::string(content);
  answer.content_type = type;
}

}  // namespace

void AddDashboardRoutes(common::RouteTable& routes) {
  routes.Get("/dashboard", [](const common::HttpRequestView&, common::HttpAnswer& answer) {
    Send(kDashboardHtml, "text/html; charset=utf-8", answer);
  });
  routes.Get(R"(/dashboard/assets/([A-Za-z0-9._-]{1,64}))",
             [](const common::HttpRequestView& request, common::HttpAnswer& answer) {
               const std::string& name = request.path_params.front();
               for (const Asset& asset : kAssets) {
                 if (asset.name == name) return Send(asset.content, asset.type, answer);
               }
               answer.Error(404, "not_found", "no such dashboard asset");
             });
}

}  // namespace rl::gateway
