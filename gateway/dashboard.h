#pragma once
// The live dashboard: GET /dashboard (a page) and GET /dashboard/assets/<file> (its script, style
// and the vendored chart library, uPlot), served from memory. The page holds no data: it reads
// the /analytics endpoints, which keep their ANALYTICS_TOKEN rule (the page asks for the token).

#include "common/http/http_exchange.h"

namespace rl::gateway {

void AddDashboardRoutes(common::RouteTable& routes);

}  // namespace rl::gateway
