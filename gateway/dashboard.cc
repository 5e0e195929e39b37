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

void Send(httplib::Response& res, std::string_view content, const char* type) {
  // Everything the page loads comes from here: no inline script, no other origin.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(content), type);
}

}  // namespace

void RegisterDashboardRoutes(common::Routes& routes) {
  routes.Get("/dashboard", [](const httplib::Request&, httplib::Response& res) {
    Send(res, kDashboardHtml, "text/html; charset=utf-8");
  });
  routes.Get(R"(/dashboard/assets/([A-Za-z0-9._-]{1,64}))",
             [](const httplib::Request& req, httplib::Response& res) {
               const std::string name = req.matches[1];
               for (const Asset& asset : kAssets) {
                 if (asset.name == name) return Send(res, asset.content, asset.type);
               }
               common::SendError(res, 404, "not_found", "no such dashboard asset");
             });
}

}  // namespace rl::gateway
